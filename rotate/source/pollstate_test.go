package source_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/respond-dev/respond/rotate/source"
)

func stateDir(t *testing.T) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(d, 0o700); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestPollStateRoundTrip(t *testing.T) {
	dir := stateDir(t)
	st, err := source.LoadPollState(dir)
	if err != nil || !st.LastSuccess.IsZero() {
		t.Fatalf("no file: %+v %v", st, err)
	}
	at := time.Date(2026, 11, 30, 8, 0, 0, 123, time.FixedZone("X", 3600))
	for range 2 { // the second save replaces the first
		if err := source.SavePollState(dir, source.PollState{LastSuccess: at}); err != nil {
			t.Fatal(err)
		}
	}
	st, err = source.LoadPollState(dir)
	if err != nil || !st.LastSuccess.Equal(at) {
		t.Fatalf("loaded %+v %v", st, err)
	}
	fi, err := os.Stat(filepath.Join(dir, source.PollStateFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v %v", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("left behind: %v", entries)
	}
}

func TestPollStateRefusesLinksAndOpenDirectories(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("unix permissions and O_NOFOLLOW")
	}
	dir := stateDir(t)
	target := filepath.Join(t.TempDir(), "elsewhere.json")
	if err := os.WriteFile(target, []byte(`{"last_success":"2026-01-01T00:00:00Z"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, source.PollStateFile)
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if _, err := source.LoadPollState(dir); err == nil {
		t.Fatal("read the poll state through a symbolic link")
	}
	// Saving replaces the link itself; the file it pointed to is untouched.
	if err := source.SavePollState(dir, source.PollState{LastSuccess: time.Unix(0, 0)}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink != 0 {
		t.Fatalf("after save: %v %v", fi, err)
	}
	if b, _ := os.ReadFile(target); !strings.Contains(string(b), "2026-01-01") {
		t.Fatalf("the link's target was written: %s", b)
	}
	// A linked or group-writable state directory is refused.
	linkDir := filepath.Join(t.TempDir(), "linked")
	if err := os.Symlink(dir, linkDir); err != nil {
		t.Fatal(err)
	}
	if _, err := source.LoadPollState(linkDir); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Fatalf("linked dir: %v", err)
	}
	if err := os.Chmod(dir, 0o770); err != nil {
		t.Fatal(err)
	}
	if err := source.SavePollState(dir, source.PollState{}); err == nil || !strings.Contains(err.Error(), "writable by group or others") {
		t.Fatalf("open dir: %v", err)
	}
	if _, err := source.LoadPollState(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing dir: %v", err)
	}
}

func TestPollStateBadFile(t *testing.T) {
	dir := stateDir(t)
	for _, body := range []string{`not json LTAI5tSECRETLOOKING00001`, `{"last_success":"LTAI5tSECRETLOOKING00001"}`, `{"other":1}`, strings.Repeat(" ", 70<<10)} {
		if err := os.WriteFile(filepath.Join(dir, source.PollStateFile), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := source.LoadPollState(dir)
		if err == nil || strings.Contains(err.Error(), "LTAI5tSECRET") {
			t.Fatalf("%.30q: %v", body, err)
		}
	}
}

func TestSince(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	last := now.Add(-30 * time.Minute)
	for _, tc := range []struct {
		name string
		st   source.PollState
		flag time.Duration
		want time.Time
	}{
		{"first poll: every pending record", source.PollState{}, 0, time.Time{}},
		{"the last poll, less the overlap", source.PollState{LastSuccess: last}, 0, last.Add(-source.PollOverlap)},
		{"--since wins", source.PollState{LastSuccess: last}, 48 * time.Hour, now.Add(-48 * time.Hour)},
		{"--since without a state", source.PollState{}, time.Hour, now.Add(-time.Hour)},
	} {
		if got := source.Since(tc.st, tc.flag, now); !got.Equal(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// FuzzLoadPollState reads arbitrary files: never a panic, never the planted secret in an error.
func FuzzLoadPollState(f *testing.F) {
	f.Add([]byte(`{"last_success":"2026-11-30T08:00:00Z"}`))
	f.Add([]byte(`{"last_success":"FakeBillingLeakedSecret0000001"}`))
	f.Add([]byte(`[`))
	f.Add([]byte(`{"last_success":"2026-11-30T08:00:00Z","FakeBillingLeakedSecret0000001":1}`))
	f.Add([]byte(`{"last_success":2026,"x":"FakeBillingLeakedSecret0000001"}`))
	dir := filepath.Join(f.TempDir(), "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, source.PollStateFile), b, 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := source.LoadPollState(dir)
		if err != nil && strings.Contains(err.Error(), "FakeBillingLeakedSecret0000001") {
			t.Fatalf("error quotes the file: %v", err)
		}
	})
}
