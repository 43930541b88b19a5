package serve

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func logFiles(t *testing.T, sp *Spool) []string {
	t.Helper()
	list, err := os.ReadDir(sp.log.dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, de := range list {
		out = append(out, de.Name())
	}
	return out
}

func newEntry(i int, now time.Time) *Entry {
	return &Entry{ID: fmt.Sprintf("f-%s-%04d", now.Format("20060102T150405"), i), Received: now.Add(time.Duration(i)), Source: SourceFindings,
		Finding: &Finding{KeyID: fmt.Sprintf("LTAI5tFAKELOAD%010d", i), Secret: fmt.Sprintf("FakeLoadSecret%016d", i)}, KeyID: fmt.Sprintf("LTAI5tFAKELOAD%010d", i)}
}

// Concurrent appends share writes (group commit), every one is on disk when append returns, and
// a restart resumes exactly the entries that have no file of their own: one tried again (its
// pending file wins), one ended (done) are not taken from the log; a line cut by a crash is
// skipped. A log file is removed, secrets and all, once none of its entries is needed.
func TestIntakeGroupCommitAndRecovery(t *testing.T) {
	dir := t.TempDir()
	sp, err := OpenSpool(dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 4, 11, 0, 0, 0, time.UTC)
	const n = 64
	es := make([]*Entry, n)
	// The first write waits until every other request is queued behind it: they all go in the
	// second write.
	var first sync.Once
	sp.log.hook = func() {
		first.Do(func() {
			for {
				sp.log.mu.Lock()
				q := len(sp.log.queued)
				sp.log.mu.Unlock()
				if q == n-1 {
					return
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		es[i] = newEntry(i, now)
		wg.Go(func() { errs[i] = sp.Append([]*Entry{es[i]}) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	if sp.log.writes != 2 {
		t.Errorf("%d appends took %d writes, want 2", n, sp.log.writes)
	}
	if files := logFiles(t, sp); len(files) != 1 {
		t.Fatalf("log files %v, want one", files)
	}
	b, _ := os.ReadFile(filepath.Join(sp.log.dir, "00000001.jsonl"))
	if got := bytes.Count(b, []byte("\n")); got != n {
		t.Fatalf("the log holds %d lines, want %d", got, n)
	}
	if g, err := sp.Get(es[3].ID); err != nil || g.ID != es[3].ID || g.Finding.Secret != "" {
		t.Errorf("Get of a logged entry: %+v %v", g, err)
	}
	// A retry writes the entry's own file; an end writes its done record.
	es[1].Attempts = 1
	if err := sp.Update(es[1]); err != nil {
		t.Fatal(err)
	}
	if err := sp.Finish(es[2]); err != nil {
		t.Fatal(err)
	}
	// A crash cut the last write: its line is not whole.
	f, err := os.OpenFile(filepath.Join(sp.log.dir, "00000001.jsonl"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(f, `{"id":"f-20260304T110000-cut","received":"2026-03-04T11:00:00Z","sou`)
	f.Close()

	sp2, err := OpenSpool(dir)
	if err != nil {
		t.Fatal(err)
	}
	pending, err := sp2.Pending()
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != n-1 {
		t.Fatalf("restart resumed %d entries, want %d", len(pending), n-1)
	}
	seen := map[string]*Entry{}
	for _, e := range pending {
		if seen[e.ID] != nil {
			t.Fatalf("%s resumed twice", e.ID)
		}
		seen[e.ID] = e
	}
	if seen[es[2].ID] != nil || seen[es[1].ID] == nil || seen[es[1].ID].Attempts != 1 || seen[es[5].ID].Finding.Secret == "" {
		t.Fatalf("resumed the wrong entries: done %v, retried %+v", seen[es[2].ID] != nil, seen[es[1].ID])
	}
	// Every entry ends: the log file goes, with the secrets.
	for _, e := range pending {
		if err := sp2.Finish(e); err != nil {
			t.Fatal(err)
		}
	}
	if files := logFiles(t, sp2); len(files) != 0 {
		t.Errorf("log files left after every entry ended: %v", files)
	}
	// A new write starts a new file, never the number of one a crash may have left.
	if err := sp2.Append([]*Entry{newEntry(n, now)}); err != nil {
		t.Fatal(err)
	}
	if files := logFiles(t, sp2); fmt.Sprint(files) != "[00000002.jsonl]" {
		t.Errorf("log files %v", files)
	}
}

// A log file that cannot be written (the log's directory is gone, a file in its place) fails the
// append: nothing is accepted, and the next append starts a new file once the directory is back.
func TestIntakeWriteFailure(t *testing.T) {
	dir := t.TempDir()
	sp, err := OpenSpool(dir)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 4, 11, 0, 0, 0, time.UTC)
	if err := os.Remove(sp.log.dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sp.log.dir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := sp.Append([]*Entry{newEntry(1, now)}); err == nil {
		t.Fatal("append to a read-only directory succeeded")
	}
	if _, err := sp.Get(newEntry(1, now).ID); err == nil {
		t.Error("a refused entry can be read")
	}
	if err := os.Remove(sp.log.dir); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(sp.log.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := sp.Append([]*Entry{newEntry(2, now)}); err != nil {
		t.Fatal(err)
	}
	sp2, err := OpenSpool(dir)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := sp2.Pending(); err != nil || len(p) != 1 || p[0].ID != newEntry(2, now).ID {
		t.Errorf("after a restart: %v %v, want only the accepted entry", ids(p), err)
	}
}
