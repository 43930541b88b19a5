package source_test

import (
	"context"
	"errors"
	"github.com/respond-dev/respond/rotate/journal"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/source"
)

// The records left pending are merged run after run: a closed record leaves the list, a record
// left again keeps the time it was first left, records a run did not look at stay.
func TestUpdatePending(t *testing.T) {
	dir := stateDir(t)
	if ps, err := source.LoadPending(dir); err != nil || len(ps) != 0 {
		t.Fatalf("no file: %v %v", ps, err)
	}
	// Nothing left and nothing to forget: no file is written.
	if _, err := source.UpdatePending(context.Background(), dir, nil, []source.Record{{AccountID: "1", ID: 9}}, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, source.PendingFile)); !os.IsNotExist(err) {
		t.Fatalf("a file was written for nothing: %v", err)
	}
	key, err := accesskey.ParseID("LTAI5tFAKEBILLING0LEAK01")
	if err != nil {
		t.Fatal(err)
	}
	rec := func(acct string, id int64) source.Record {
		return source.Record{AccountID: acct, ID: id, KeyID: key, Status: "pending"}
	}
	t1 := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Hour)
	if _, err := source.UpdatePending(context.Background(), dir, []source.Pending{
		{Record: rec("2", 5), Reason: "root-account key"},
		{Record: rec("1", 7), Reason: "not remediated: failed"},
		{Record: rec("1", 3), Reason: "not confirmed"},
	}, nil, t1); err != nil {
		t.Fatal(err)
	}
	ps, err := source.UpdatePending(context.Background(), dir, []source.Pending{{Record: rec("2", 5), Reason: "root-account key, still"}},
		[]source.Record{rec("1", 3)}, t2)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := source.LoadPending(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, got := range [][]source.Pending{ps, loaded} {
		if len(got) != 2 || got[0].Record.ID != 7 || got[1].Record.ID != 5 {
			t.Fatalf("pending %+v, want records 1/7 and 2/5 in that order", got)
		}
		if got[1].Reason != "root-account key, still" || !got[1].Since.Equal(t1) || !got[1].Updated.Equal(t2) {
			t.Errorf("record left again: %+v (since %s, updated %s)", got[1], t1, t2)
		}
		if got[0].Reason != "not remediated: failed" || !got[0].Updated.Equal(t1) {
			t.Errorf("record not looked at: %+v", got[0])
		}
	}
	fi, err := os.Lstat(filepath.Join(dir, source.PendingFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", fi, err)
	}
}

func TestPendingRefusesLinksAndForeignJSON(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("O_NOFOLLOW")
	}
	dir := stateDir(t)
	target := filepath.Join(t.TempDir(), "elsewhere.json")
	if err := os.WriteFile(target, []byte(`{"records":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, source.PendingFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := source.LoadPending(dir); err == nil {
		t.Fatal("read through a symbolic link")
	}
	dir = stateDir(t)
	if err := os.WriteFile(filepath.Join(dir, source.PendingFile), []byte(`{"records":[],"x":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := source.LoadPending(dir); err == nil {
		t.Fatal("accepted a field respond does not write")
	}
}

// FuzzLoadPending reads arbitrary files: never a panic, never the planted secret in an error,
// and what it accepts it can write back.
func FuzzLoadPending(f *testing.F) {
	f.Add([]byte(`{"records":[{"record":{"account_id":"1","id":5,"key_id":"LTAI5tFAKEBILLING0LEAK01","status":"pending","detailed":false,"token_valid":0},"reason":"root","since":"2026-11-30T08:00:00Z","updated":"2026-11-30T08:00:00Z"}]}`))
	f.Add([]byte(`{"records":[{"reason":"FakeBillingLeakedSecret0000001"}],"x":1}`))
	f.Add([]byte(`{"records":[{"record":{"key_id":"FakeBillingLeakedSecret0000001"}}]}`))
	f.Add([]byte(`{"records":null}`))
	f.Add([]byte(`[`))
	dir := filepath.Join(f.TempDir(), "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, source.PendingFile), b, 0o600); err != nil {
			t.Fatal(err)
		}
		ps, err := source.LoadPending(dir)
		if err != nil {
			if strings.Contains(err.Error(), "FakeBillingLeakedSecret0000001") {
				t.Fatalf("error quotes the file: %v", err)
			}
			return
		}
		if _, err := source.UpdatePending(context.Background(), dir, ps, nil, time.Now()); err != nil {
			t.Fatalf("accepted records could not be written back: %v", err)
		}
	})
}

// Concurrent updates of the list (respond serve and a CLI poll are two processes; each update
// here opens the lock file anew, as another process would) all land: none is lost to another's
// read-then-rewrite.
func TestUpdatePendingConcurrent(t *testing.T) {
	dir := stateDir(t)
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := source.UpdatePending(context.Background(), dir, []source.Pending{{Record: source.Record{AccountID: "1", ID: int64(i + 1), KeyID: accesskey.MustParseID("LTAI5tFAKEBILLING0LEAK01"), Status: "pending"}, Reason: "left"}}, nil, time.Now())
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	ps, err := source.LoadPending(dir)
	if err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, source.PendingFile))
		t.Fatalf("%v: %s", err, b)
	}
	if len(ps) != n {
		t.Fatalf("%d records on the list after %d concurrent updates, want all", len(ps), n)
	}
}

// An update waits for another respond's, and gives up with ctx.
func TestUpdatePendingWaitsForTheLock(t *testing.T) {
	dir := stateDir(t)
	l, err := journal.LockFile(context.Background(), dir, source.PendingFile)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = source.UpdatePending(ctx, dir, []source.Pending{{Record: source.Record{AccountID: "1", ID: 1, KeyID: accesskey.MustParseID("LTAI5tFAKEBILLING0LEAK01"), Status: "pending"}}}, nil, time.Now())
	var le *journal.LockedError
	if !errors.As(err, &le) || !errors.Is(err, context.Canceled) {
		t.Fatalf("update while another holds the lock = %v, want a LockedError and the context's", err)
	}
	if ps, _ := source.LoadPending(dir); len(ps) != 0 {
		t.Fatalf("the update was written without the lock: %v", ps)
	}
}
