package journal

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/respond-dev/respond/ram/accesskey"
)

var leaked = accesskey.MustParseID("LTAI5tMYCr1pxcx4vz2o7riE")

func TestAppendRecordsFsyncMode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	j, err := Open(dir, leaked)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(Record{Kind: KindBegin, RunID: "r1", AccountID: "1", UserName: "u"}); err != nil {
		t.Fatal(err)
	}
	r, err := j.Append(Record{Kind: KindIntent, Step: "delete", Action: "ram:DeleteAccessKey"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Seq != 2 || r.KeyID != leaked.String() {
		t.Errorf("seq/key = %d/%s", r.Seq, r.KeyID)
	}
	j.Close()
	st, err := os.Stat(j.Path())
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("journal mode = %v, want 0600", st.Mode().Perm())
	}
	// reopen continues the sequence
	j2, err := Open(dir, leaked)
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	r, _ = j2.Append(Record{Kind: KindResult, Step: "delete", Action: "ram:DeleteAccessKey", Outcome: OutcomeDone, RequestID: "req"})
	if r.Seq != 3 {
		t.Errorf("seq after reopen = %d, want 3", r.Seq)
	}
	s, err := j2.State()
	if err != nil {
		t.Fatal(err)
	}
	if !s.LeakedDeleted || s.InFlight != nil || s.Runs != 1 || s.UserName != "u" {
		t.Errorf("state = %+v", s)
	}
}

func TestTornLastLine(t *testing.T) {
	b, err := os.ReadFile("../../testdata/rotate/journal/torn.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := ParseRecords(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("torn last line must be tolerated: %v", err)
	}
	if len(recs) != 3 {
		t.Fatalf("got %d records, want 3", len(recs))
	}
	// a bad line in the middle is an error
	bad := "{\"seq\":1}\nnot json\n{\"seq\":2}\n"
	if _, err := ParseRecords(strings.NewReader(bad)); err == nil {
		t.Error("bad middle line accepted")
	}
	// appending after a torn line starts a fresh line
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName(leaked)), b, 0o600); err != nil {
		t.Fatal(err)
	}
	j, err := Open(dir, leaked)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if _, err := j.Append(Record{Kind: KindEnd, Outcome: "partial"}); err != nil {
		t.Fatal(err)
	}
	recs, err = j.Records()
	if err != nil {
		t.Fatalf("after repair: %v", err)
	}
	if len(recs) != 4 || recs[3].Seq != 4 {
		t.Errorf("records after repair = %d, last seq %d", len(recs), recs[len(recs)-1].Seq)
	}
}

func TestSummarize(t *testing.T) {
	newID := "LTAI5tNEWKEY000000000001"
	recs := []Record{
		{Seq: 1, Kind: KindBegin, KeyID: leaked.String(), AccountID: "1", UserName: "u", Sinks: []string{"a", "b"}},
		{Seq: 2, Kind: KindIntent, Step: "create", Action: "ram:CreateAccessKey", Before: []string{leaked.String(), "LTAIOTHER000000000000000"}},
		{Seq: 3, Kind: KindResult, Step: "create", Action: "ram:CreateAccessKey", NewKeyID: newID, Outcome: OutcomeDone},
		{Seq: 4, Kind: KindIntent, Step: "store", Action: "sink:Store", NewKeyID: newID, Sink: "a"},
		{Seq: 5, Kind: KindResult, Step: "store", Action: "sink:Store", NewKeyID: newID, Sink: "a", Outcome: OutcomeDone},
		{Seq: 6, Kind: KindIntent, Step: "store", Action: "sink:Store", NewKeyID: newID, Sink: "b"},
	}
	tests := []struct {
		name string
		n    int
		chk  func(State) string
	}{
		{"after create", 3, func(s State) string {
			k, ok := s.Key(newID)
			if !ok || !k.Created || k.StoredIn([]string{"a"}) || s.PendingCreate {
				return "want created, not stored, no pending create"
			}
			return ""
		}},
		{"pending create", 2, func(s State) string {
			if !s.PendingCreate || len(s.PendingBefore) != 2 || s.InFlight == nil || s.InFlight.Seq != 2 {
				return "want a pending create in flight"
			}
			return ""
		}},
		{"partly stored", 6, func(s State) string {
			k, _ := s.Key(newID)
			if !k.StoredIn([]string{"a"}) || k.StoredIn(s.Sinks) || s.InFlight == nil || s.InFlight.Sink != "b" {
				return "want stored in a only, store b in flight"
			}
			if !s.Unfinished() {
				return "want unfinished"
			}
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if msg := tt.chk(Summarize(recs[:tt.n])); msg != "" {
				t.Errorf("%s: %+v", msg, Summarize(recs[:tt.n]))
			}
		})
	}
	done := append(append([]Record(nil), recs...), Record{Seq: 7, Kind: KindEnd, Outcome: "remediated"})
	if s := Summarize(done); !s.Done || s.Unfinished() {
		t.Errorf("want done: %+v", s)
	}
}

func TestLockAcrossOpenFiles(t *testing.T) {
	dir := t.TempDir()
	l1, err := TryLock(dir, leaked)
	if err != nil {
		t.Fatal(err)
	}
	_, err = TryLock(dir, leaked)
	var le *LockedError
	if !errors.As(err, &le) || le.KeyID != leaked {
		t.Fatalf("second lock: %v, want *LockedError", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Millisecond)
	defer cancel()
	if _, err := Lock(ctx, dir, leaked); !errors.As(err, &le) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiting lock: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		l, err := Lock(context.Background(), dir, leaked)
		if err == nil {
			err = l.Unlock()
		}
		done <- err
	}()
	if err := l1.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("lock after release: %v", err)
	}
}

func TestListAndAudit(t *testing.T) {
	dir := t.TempDir()
	for _, id := range []string{"LTAI5tBBBBBBBBBBBBBBBBBB", "LTAI5tAAAAAAAAAAAAAAAAAA"} {
		j, err := Open(dir, accesskey.MustParseID(id))
		if err != nil {
			t.Fatal(err)
		}
		j.Append(Record{Kind: KindBegin, RunID: "r"})
		j.Close()
	}
	a, err := OpenAudit(filepath.Join(dir, AuditFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Write(AuditEntry{RunID: "r", KeyID: leaked.String(), Event: "start"}); err != nil {
		t.Fatal(err)
	}
	a.Close()
	st, _ := os.Stat(filepath.Join(dir, AuditFile))
	if st.Mode().Perm() != 0o600 {
		t.Errorf("audit mode %v", st.Mode().Perm())
	}
	ls, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 2 || ls[0].KeyID != "LTAI5tAAAAAAAAAAAAAAAAAA" || !ls[0].Unfinished() {
		t.Errorf("List = %+v", ls)
	}
	if ls, err := List(filepath.Join(dir, "nope")); err != nil || ls != nil {
		t.Errorf("missing dir: %v %v", ls, err)
	}
}

func TestDefaultDir(t *testing.T) {
	home := func() (string, error) { return "/home/x", nil }
	env := map[string]string{}
	get := func(k string) string { return env[k] }
	if d, _ := DefaultDir(get, home); d != "/home/x/.local/state/respond" {
		t.Errorf("default = %s", d)
	}
	env["XDG_STATE_HOME"] = "/var/st"
	if d, _ := DefaultDir(get, home); d != "/var/st/respond" {
		t.Errorf("xdg = %s", d)
	}
	env["XDG_STATE_HOME"] = "relative"
	if d, _ := DefaultDir(get, home); d != "/home/x/.local/state/respond" {
		t.Errorf("relative xdg must be ignored, got %s", d)
	}
}

// StateDir: the flag, then the configuration's, then a sandbox's fresh one, then the environment.
func TestStateDir(t *testing.T) {
	env := map[string]string{"HOME": "/home/x", "RESPOND_STATE_DIR": "/env"}
	get := func(k string) string { return env[k] }
	for _, tc := range []struct{ flag, config, fresh, want string }{
		{"/flag", "/conf", "/fresh", "/flag"},
		{"", "/conf", "/fresh", "/conf"},
		{"", "", "/fresh", "/fresh"},
		{"", "", "", "/env"},
	} {
		if d, err := StateDir(tc.flag, tc.config, tc.fresh, get); err != nil || d != tc.want {
			t.Errorf("StateDir(%q, %q, %q) = %q, %v; want %q", tc.flag, tc.config, tc.fresh, d, err, tc.want)
		}
	}
	delete(env, "RESPOND_STATE_DIR")
	if d, _ := StateDir("", "", "", get); d != "/home/x/.local/state/respond" {
		t.Errorf("default = %s", d)
	}
}

// TestSummarizeLostCreates: creates whose answer never came are counted (Record.Lost, and a
// create intent left without a result), matched by late keys deleted (Record.Late), and dated.
func TestSummarizeLostCreates(t *testing.T) {
	b, err := os.ReadFile("../../testdata/rotate/journal/lost-create.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := ParseRecords(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time { return time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC).Add(mustDur(t, s)) }
	tests := []struct {
		n                 int
		lost, found, pend int
		first, last       time.Time
		before            []string
	}{
		{n: 2, lost: 1, found: 0, pend: 1, first: at("1s"), last: at("1s"), before: []string{"LTAI5tFAKECIDEPLOY000001"}}, // crash in the create
		{n: 3, lost: 1, found: 0, pend: 1, first: at("1s"), last: at("2s")},                                               // answered after a lost attempt
		{n: 4, lost: 1, found: 0, pend: 1, first: at("1s"), last: at("2s")},                                               // the late key's delete in flight
		{n: 5, lost: 1, found: 1, pend: 0, first: at("1s"), last: at("2s")},                                               // the late key deleted
		{n: 7, lost: 2, found: 1, pend: 1, first: at("1s"), last: at("5m1s")},                                             // a second run crashed in its create
	}
	for _, tt := range tests {
		s := Summarize(recs[:tt.n])
		if s.LostCreates != tt.lost || s.LateFound != tt.found || s.LostPending() != tt.pend ||
			!s.FirstCreate.Equal(tt.first) || !s.LastLost.Equal(tt.last) {
			t.Errorf("%d records: lost %d found %d pending %d first %s last %s, want %d %d %d %s %s", tt.n,
				s.LostCreates, s.LateFound, s.LostPending(), s.FirstCreate, s.LastLost, tt.lost, tt.found, tt.pend, tt.first, tt.last)
		}
		if tt.before != nil && strings.Join(s.Before, ",") != strings.Join(tt.before, ",") {
			t.Errorf("%d records: before %v, want %v", tt.n, s.Before, tt.before)
		}
		if _, ok := s.Key("LTAI5tLATEKEY00000000001"); ok {
			t.Errorf("%d records: a late key counted as a replacement", tt.n)
		}
	}
}

func mustDur(t *testing.T, s string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func FuzzParseRecords(f *testing.F) {
	for _, name := range []string{"torn.jsonl", "lost-create.jsonl"} {
		b, err := os.ReadFile("../../testdata/rotate/journal/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("{}\n{\"seq\":\"x\"}"))
	f.Fuzz(func(t *testing.T, in []byte) {
		recs, err := ParseRecords(bytes.NewReader(in))
		if err == nil {
			_ = Summarize(recs)
		}
	})
}

// Read and List agree on a journal whose records name another key than its file: the file's
// key, marked Suspect (a moved or planted journal is not acted on).
func TestReadAndListAgreeOnAMovedJournal(t *testing.T) {
	dir := t.TempDir()
	a, b := accesskey.MustParseID("LTAI5tAAAAAAAAAAAAAAAAAA"), accesskey.MustParseID("LTAI5tBBBBBBBBBBBBBBBBBB")
	j, err := Open(dir, b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Append(Record{Kind: KindBegin, RunID: "r"}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	if err := os.Rename(filepath.Join(dir, FileName(b)), filepath.Join(dir, FileName(a))); err != nil {
		t.Fatal(err)
	}
	st, err := Read(dir, a)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := List(dir)
	if err != nil || len(ls) != 1 {
		t.Fatalf("List = %+v, %v", ls, err)
	}
	for _, s := range []State{st, ls[0]} {
		if s.KeyID != a.String() || len(s.Suspect) != 1 || !strings.Contains(s.Suspect[0], b.String()) {
			t.Errorf("state = key %s, suspect %q; want key %s, suspect naming %s", s.KeyID, s.Suspect, a, b)
		}
	}
	if st, err := Read(dir, b); err != nil || st.Runs != 0 || len(st.Suspect) != 0 {
		t.Errorf("Read of a key without a journal = %+v, %v", st, err)
	}
}
