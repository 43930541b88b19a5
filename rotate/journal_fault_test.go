package rotate

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/journal"
)

// brokenJournal is a journal whose writes fail from the first record that matches breakAt on (a
// full disk, a state directory gone read-only). At the break it notes how far the cloud's
// request log and the sink had got.
type brokenJournal struct {
	journalFile
	breakAt func(journal.Record) bool
	onBreak func()

	mu     sync.Mutex
	broken bool
	after  int // Append calls after the break
}

func (b *brokenJournal) Append(r journal.Record) (journal.Record, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.broken {
		b.after++
		return journal.Record{}, errors.New("write: no space left on device")
	}
	if b.breakAt(r) {
		b.broken = true
		b.onBreak()
		return journal.Record{}, errors.New("write: no space left on device")
	}
	return b.journalFile.Append(r)
}

// A journal that cannot be written stops the run before its next mutation, and the run ends
// partial (exit 4, a *PartialError with the command to run again); once the journal can be
// written again, the re-run converges: the leaked key gone, exactly one replacement, stored and
// working, no orphan (the key of a create whose result was never recorded is swept as the late
// result of a lost create).
func TestJournalWriteFailureStopsBeforeTheNextMutation(t *testing.T) {
	is := func(kind, step, action string) func(journal.Record) bool {
		return func(r journal.Record) bool {
			return r.Kind == kind && (step == "" || r.Step == step) && (action == "" || r.Action == action)
		}
	}
	tests := []struct {
		name    string
		breakAt func(journal.Record) bool
	}{
		{"begin", is(journal.KindBegin, "", "")},
		{"create intent", is(journal.KindIntent, "create", "ram:CreateAccessKey")},
		{"create result", is(journal.KindResult, "create", "ram:CreateAccessKey")},
		{"store intent", is(journal.KindIntent, "store", "sink:Store")},
		{"store result", is(journal.KindResult, "store", "sink:Store")},
		{"delete intent", is(journal.KindIntent, "delete", "ram:DeleteAccessKey")},
		{"delete result", is(journal.KindResult, "delete", "ram:DeleteAccessKey")},
		{"notify result", is(journal.KindResult, "notify", "")},
		{"end", is(journal.KindEnd, "", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newRealEmu(t)
			s := e.settings()
			stores := 0
			e.sink.hook = func() { stores++ }
			var logAt, storesAt int
			var bj *brokenJournal
			e.deps.openJournal = func(dir string, id accesskey.ID) (journalFile, error) {
				j, err := journal.Open(dir, id)
				if err != nil {
					return nil, err
				}
				bj = &brokenJournal{journalFile: j, breakAt: tt.breakAt, onBreak: func() {
					logAt, storesAt = len(e.s.RequestLog()), stores
				}}
				return bj, nil
			}
			_, r := e.run(t, ciKey, s)
			e.deps.openJournal = nil
			if bj == nil || !bj.broken {
				t.Fatalf("the journal never broke: %s %v", r.Outcome, r.Err)
			}
			var pe *PartialError
			if r.Outcome != journal.OutcomePartial || !errors.As(r.Err, &pe) || !strings.Contains(r.Error, "journal") ||
				!strings.Contains(r.Error, "respond --key-id "+ciKey) {
				t.Fatalf("outcome %s, err %v: want partial with the journal's error and the resume command", r.Outcome, r.Err)
			}
			if m := mutationsIn(e.s.RequestLog()[logAt:]); len(m) > 0 {
				t.Errorf("mutations after the journal broke: %v", m)
			}
			if stores != storesAt {
				t.Errorf("%d sink store(s) after the journal broke", stores-storesAt)
			}
			if bj.after > 0 {
				t.Errorf("%d journal write(s) tried after the first failed", bj.after)
			}

			_, r2 := e.run(t, ciKey, s)
			if r2.Outcome != journal.OutcomeRemediated || r2.NewKeyID == "" {
				t.Fatalf("re-run: %s %v %+v", r2.Outcome, r2.Err, r2.Steps)
			}
			e.convergedSDK(t, ciUser, ciKey, r2.NewKeyID)
			if ls, _ := journal.List(e.deps.StateDir); len(ls) != 1 || ls[0].Unfinished() {
				t.Errorf("journal after the re-run: %+v", ls)
			}
		})
	}
}
