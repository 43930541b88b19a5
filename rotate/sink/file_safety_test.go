package sink

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

// TestFile_removesStaleTemps: a temporary file that a respond killed at the rename left behind
// holds the whole credential; the next Store to that path removes it, and nothing else.
func TestFile_removesStaleTemps(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "creds")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "app.json")
	victim := filepath.Join(root, "victim.txt")
	mustWrite(t, victim, "keep me")
	stale := []string{".app.json.respond-1234567", ".app.json.respond-0"}
	for _, n := range stale {
		mustWrite(t, filepath.Join(dir, n), `{"AccessKeyId":"LTAI5tOldKey","AccessKeySecret":"`+testSecret+`","written_by":"respond"}`)
	}
	keep := []string{
		".app.json.respond-",        // no digits: not os.CreateTemp's
		".app.json.respond-12x",     // not digits
		".app.json.respond-1.bak",   // longer
		".other.json.respond-123",   // another target's
		"app.json.respond-123",      // no leading dot
		".app.json.respond-99.json", // longer
	}
	for _, n := range keep {
		mustWrite(t, filepath.Join(dir, n), "x")
	}
	// a symlink named like a temp: removing it is not ours to do, following it never
	if err := os.Symlink(victim, filepath.Join(dir, ".app.json.respond-777")); err != nil {
		t.Fatal(err)
	}
	keep = append(keep, ".app.json.respond-777")
	// a directory named like a temp
	if err := os.Mkdir(filepath.Join(dir, ".app.json.respond-888"), 0o700); err != nil {
		t.Fatal(err)
	}
	keep = append(keep, ".app.json.respond-888")
	// a temp a live respond is writing: it holds an flock on it
	live := filepath.Join(dir, ".app.json.respond-555")
	mustWrite(t, live, "in progress")
	lf, err := os.Open(live)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	if err := syscall.Flock(int(lf.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	keep = append(keep, ".app.json.respond-555")

	f, err := NewFile("app", path, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Store(context.Background(), testCred()); err != nil {
		t.Fatal(err)
	}
	var got []string
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		got = append(got, e.Name())
	}
	for _, n := range stale {
		if slices.Contains(got, n) {
			t.Errorf("stale temporary file %s (holding a secret) survived the next Store", n)
		}
	}
	for _, n := range append(keep, "app.json") {
		if !slices.Contains(got, n) {
			t.Errorf("%s was removed; only respond's own stale temporary files may be", n)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep me" {
		t.Errorf("symlink target changed: %q", b)
	}
	if len(got) != len(keep)+1 {
		t.Errorf("directory holds %v, want the target and %v", got, keep)
	}

	t.Run("exported, on resume", func(t *testing.T) {
		n := filepath.Join(dir, ".app.json.respond-42")
		mustWrite(t, n, testSecret)
		removed, err := RemoveStaleTemps(context.Background(), path)
		if err != nil || !slices.Equal(removed, []string{n}) {
			t.Errorf("RemoveStaleTemps = %v, %v; want [%s]", removed, err, n)
		}
		if removed, err := RemoveStaleTemps(context.Background(), filepath.Join(root, "none", "x.json")); err != nil || removed != nil {
			t.Errorf("missing directory: %v %v", removed, err)
		}
	})
}

func mustWrite(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestFile_refusesNonRegular: a symlink (even to a file respond wrote) or a FIFO at the target
// is not ours, and a FIFO never blocks the check.
func TestFile_refusesNonRegular(t *testing.T) {
	ours := `{"written_by":"respond"}`
	cases := map[string]func(t *testing.T, path, other string){
		"symlink to our file": func(t *testing.T, path, other string) {
			mustWrite(t, other, ours)
			if err := os.Symlink(other, path); err != nil {
				t.Fatal(err)
			}
		},
		"fifo": func(t *testing.T, path, _ string) {
			if err := syscall.Mkfifo(path, 0o600); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, setup := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path, other := filepath.Join(dir, "creds.json"), filepath.Join(dir, "elsewhere.json")
			setup(t, path, other)
			f, _ := NewFile("app", path, "")
			if _, err := f.Store(context.Background(), testCred()); !errors.Is(err, ErrNotOurs) {
				t.Fatalf("err = %v, want ErrNotOurs", err)
			}
			if b, err := os.ReadFile(other); err == nil && string(b) != ours {
				t.Errorf("symlink target rewritten: %q", b)
			}
		})
	}
}

// TestFile_fifoSwappedIn: the target is swapped between a file of ours and a FIFO while Store
// runs. A check by name then a read by name blocks forever on the FIFO when the swap lands
// between them; a check of the handle it reads never blocks.
func TestFile_fifoSwappedIn(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "creds.json")
	mustWrite(t, path, `{"written_by":"respond"}`)
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		reg, fifo := filepath.Join(dir, "reg"), filepath.Join(dir, "fifo")
		for !stop.Load() {
			_ = os.WriteFile(reg, []byte(`{"written_by":"respond"}`), 0o600)
			_ = os.Rename(reg, path)
			_ = syscall.Mkfifo(fifo, 0o600)
			_ = os.Rename(fifo, path)
		}
	}()
	f, _ := NewFile("app", path, "")
	// checkOurs is Store's look at the existing file (Store itself spends its time in fsync,
	// leaving the race too narrow to hit); Store once at the end.
	for range 20000 {
		if err := f.checkOurs(); err != nil && !errors.Is(err, ErrNotOurs) {
			t.Fatalf("checkOurs: %v", err)
		}
	}
	_, err := f.Store(context.Background(), testCred())
	if err != nil && !errors.Is(err, ErrNotOurs) {
		t.Errorf("Store: %v", err)
	}
	stop.Store(true)
	wg.Wait()
}

func TestNewFile_refusesDotDot(t *testing.T) {
	for _, p := range []string{"/srv/creds/../key.env", "../key.env", "/srv/creds/..", "a/../../b"} {
		_, err := NewFile("app", p, "")
		if err == nil || !strings.Contains(err.Error(), `".."`) {
			t.Errorf("NewFile(%q) = %v, want a refusal naming \"..\"", p, err)
		}
	}
	for _, p := range []string{"/srv/creds/..key.env", "/srv/creds/key..env", "./key.env", "/srv/.../x"} {
		if _, err := NewFile("app", p, ""); err != nil {
			t.Errorf("NewFile(%q) = %v, want accepted", p, err)
		}
	}
}
