package rotate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/respond-dev/respond/rotate/journal"
	"github.com/respond-dev/respond/rotate/sink"
)

// Issue 12 §2: a temporary file of the file sink left by a run killed at the rename holds the
// secret; the resume removes it when it does not store to that file again (a store cleans up its
// own target first). Only the sink's own pattern is removed.
func TestResumeRemovesStaleTemps(t *testing.T) {
	e := newEnv(t, leakedID)
	dir := filepath.Join(t.TempDir(), "creds")
	target := filepath.Join(dir, "app.json")
	fileSink, err := sink.NewFile("app-file", target, sink.FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	// The first run's store fails (the directory is missing): its intent names the target.
	d := e.deps()
	d.Sinks = []sink.Sink{fileSink}
	r := e.runWith(context.Background(), leakedID, d)
	if r.Outcome != journal.OutcomePartial {
		t.Fatalf("first run: %s %v", r.Outcome, r.Err)
	}
	// What a write killed at the rename leaves, and files that are not the sink's.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(dir, ".app.json.respond-4242")
	kept := []string{filepath.Join(dir, ".other.json.respond-4242"), filepath.Join(dir, ".app.json.respond-x"), filepath.Join(dir, "app.json.bak")}
	for _, p := range append(kept, stale) {
		if err := os.WriteFile(p, []byte(`{"AccessKeySecret":"secret"}`), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The resume stores elsewhere (the configuration changed): the stale file goes.
	r = e.run(context.Background(), leakedID)
	if r.Outcome != journal.OutcomeRemediated {
		t.Fatalf("resume: %s %v", r.Outcome, r.Err)
	}
	if _, err := os.Lstat(stale); !os.IsNotExist(err) {
		t.Errorf("the stale temporary file is still there (%v)", err)
	}
	for _, p := range kept {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
	if !stepSaysFake(r, "removed the temporary file(s) an interrupted write left behind: "+stale) {
		t.Errorf("the resume does not say so: %+v", r.Steps)
	}
	if st, _ := onlyJournalState(t, e.dir); !strings.Contains(strings.Join(st.FileTargets, ","), target) {
		t.Errorf("the journal's file targets %v", st.FileTargets)
	}
}

func onlyJournalState(t *testing.T, dir string) (journal.State, bool) {
	t.Helper()
	ls, err := journal.List(dir)
	if err != nil || len(ls) == 0 {
		t.Fatalf("journals: %v %v", ls, err)
	}
	return ls[0], true
}
