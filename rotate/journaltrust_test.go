package rotate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/journal"
)

const (
	auditorKey = "LTAI5tFAKEAUDITOR0000001"
	unknownKey = "LTAI5tFAKEUNKNOWN0000001"
)

// plant writes a journal for id by hand, as someone who can write to the state directory would.
func plant(t *testing.T, dir, id string, lines ...string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, id+".jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func rec(seq int, at time.Time, kind, id, user, extra string) string {
	return fmt.Sprintf(`{"seq":%d,"time":%q,"run_id":"r1","kind":%q,"key_id":%q,"account_id":"1","user_name":%q%s}`,
		seq, at.UTC().Format(time.RFC3339Nano), kind, id, user, extra)
}

// Design §6 rule 9: the cloud is the authority, the journal a memory. Each case plants a journal
// (as the reproductions did) and checks what the plan decides and that nothing the cloud
// did not confirm is touched.
func TestJournalTrust(t *testing.T) {
	began := time.Now().Add(-time.Hour)
	createResult := func(seq int, id, user, newKey string) string {
		return rec(seq, began.Add(time.Second), journal.KindResult, id, user, `,"step":"create","action":"ram:CreateAccessKey","new_key_id":"`+newKey+`","outcome":"done"`)
	}
	createIntent := func(seq int, id, user string, before ...string) string {
		b := `[]`
		if len(before) > 0 {
			b = `["` + strings.Join(before, `","`) + `"]`
		}
		return rec(seq, began.Add(time.Second/2), journal.KindIntent, id, user, `,"step":"create","action":"ram:CreateAccessKey","before":`+b)
	}
	tests := []struct {
		name     string
		key      string // the finding
		journal  []string
		prepare  func(e *env)
		decision Decision
		doubt    string // in the plan's reason
		outcome  journal.Outcome
	}{
		{"planted two lines for an unknown key", unknownKey, []string{
			rec(1, began, journal.KindBegin, unknownKey, "auditor", ""),
			createResult(2, unknownKey, "auditor", auditorKey),
		}, nil, DecisionOwnerNotFound, "does not look like one respond wrote", journal.OutcomeNotFound},
		{"planted begin for an unknown key", unknownKey, []string{
			rec(1, began, journal.KindBegin, unknownKey, "auditor", ""),
		}, nil, DecisionOwnerNotFound, "neither on that user nor in a recycle bin", journal.OutcomeNotFound},
		{"planted begin, the key in another user's bin", unknownKey, []string{
			rec(1, began, journal.KindBegin, unknownKey, "auditor", ""),
		}, func(e *env) { e.f.bin = map[string]string{unknownKey: "someone-else"} },
			DecisionOwnerNotFound, `the recycle bin holding it is user someone-else's`, journal.OutcomeNotFound},
		{"a journal naming another owner of a live key", leakedID, []string{
			rec(1, began, journal.KindBegin, leakedID, "auditor", ""),
		}, nil, DecisionJournalUnconfirmed, "names user auditor in account 1, but the cloud says the key belongs to user ci-deploy", journal.OutcomeRefused},
		{"a planted create of the user's other key", leakedID, []string{
			rec(1, began, journal.KindBegin, leakedID, user, ""),
			createResult(2, leakedID, user, otherID),
		}, nil, DecisionJournalUnconfirmed, "with no intent to create before it", journal.OutcomeRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, leakedID, otherID)
			e.f.keys["auditor"] = []ram.AccessKey{{ID: accesskey.MustParseID(auditorKey), Status: ram.StatusActive}}
			if tt.prepare != nil {
				tt.prepare(e)
			}
			plant(t, e.dir, tt.key, tt.journal...)
			ctx := context.Background()
			f := e.finding(tt.key)
			d := e.deps()
			p := NewPlan(f, Inspect(ctx, f, d), e.s)
			if p.Decision != tt.decision || !strings.Contains(p.Reason, tt.doubt) {
				t.Fatalf("decision %s (%s), want %s with %q", p.Decision, p.Reason, tt.decision, tt.doubt)
			}
			if p.Resuming {
				t.Error("the plan resumes an unconfirmed journal")
			}
			r := Execute(ctx, p, d)
			if r.Outcome != tt.outcome {
				t.Errorf("outcome %s (%v), want %s", r.Outcome, r.Err, tt.outcome)
			}
			for _, c := range e.f.calls {
				if strings.HasPrefix(c, "CreateAccessKey") || strings.HasPrefix(c, "DeleteAccessKey") {
					t.Errorf("a mutation: %s (calls %v)", c, e.f.calls)
				}
			}
			if ids := e.f.ids("auditor"); !slices.Equal(ids, []string{auditorKey}) {
				t.Errorf("auditor's keys are now %v", ids)
			}
			if ids := e.f.ids(user); !slices.Equal(ids, []string{leakedID, otherID}) {
				t.Errorf("%s's keys are now %v", user, ids)
			}
		})
	}

	// A journal respond could have written (intent, result, the owner the cloud confirms) that
	// claims the user's other key: the cloud dates that key before the rotation began, so it is
	// not respond's. The rotation goes on and never touches it.
	t.Run("a claimed key older than the journal", func(t *testing.T) {
		e := newEnv(t, leakedID, otherID)
		e.f.keys[user][1].CreateDate = began.Add(-24 * time.Hour)
		plant(t, e.dir, leakedID,
			rec(1, began, journal.KindBegin, leakedID, user, ""),
			createIntent(2, leakedID, user),
			createResult(3, leakedID, user, otherID))
		r := e.run(context.Background(), leakedID)
		if r.Outcome != journal.OutcomeRemediated {
			t.Fatalf("outcome %s %v", r.Outcome, r.Err)
		}
		e.converged(otherID)
		if !slices.ContainsFunc(r.Warnings, func(w string) bool { return strings.Contains(w, otherID) && strings.Contains(w, "not touched") }) {
			t.Errorf("no warning about %s: %v", otherID, r.Warnings)
		}
	})

	// The same claim, but the key was created after the journal began and was not on the user at
	// the create: respond's own orphan (its secret was never stored), deleted and made again.
	t.Run("an orphan the cloud dates after the begin", func(t *testing.T) {
		e := newEnv(t, leakedID, otherID)
		e.f.keys[user][1].CreateDate = began.Add(2 * time.Second)
		plant(t, e.dir, leakedID,
			rec(1, began, journal.KindBegin, leakedID, user, ""),
			createIntent(2, leakedID, user, leakedID),
			createResult(3, leakedID, user, otherID))
		r := e.run(context.Background(), leakedID)
		if r.Outcome != journal.OutcomeRemediated {
			t.Fatalf("outcome %s %v", r.Outcome, r.Err)
		}
		e.converged()
		if !stepSaysFake(r, "deleted orphan "+otherID) {
			t.Errorf("the orphan was not deleted: %+v", r.Steps)
		}
	})
}

// A rotation that deleted the leaked key and was then interrupted resumes when the cloud confirms
// the journal (the key is in its user's recycle bin); once the bin no longer holds it (purged),
// the journal is not acted on: owner not found, nothing created.
func TestJournalResumeNeedsTheBin(t *testing.T) {
	for _, purged := range []bool{false, true} {
		t.Run(fmt.Sprintf("purged=%v", purged), func(t *testing.T) {
			e := newEnv(t, leakedID)
			e.s.Steps = builtinSteps("contain-first")
			// The purge fails, so the journal holds no purge of respond's: only the bin can confirm
			// its owner (a key respond purged itself is confirmed by its journaled purge).
			e.f.fault = func(action string, nth int) (error, bool) {
				if strings.HasPrefix(action, "DeleteAccessKeyInRecycleBin") {
					return &ram.Error{Action: action, Code: "NoPermission", Status: 403, Class: ram.ErrNoPermission}, false
				}
				return nil, false
			}
			if r := e.run(context.Background(), leakedID); r.Outcome != journal.OutcomePartial {
				t.Fatalf("first run: %s %v", r.Outcome, r.Err)
			}
			e.f.fault = nil
			if purged {
				e.f.bin = nil
			}
			ctx := context.Background()
			f := e.finding(leakedID)
			d := e.deps()
			snap := Inspect(ctx, f, d)
			p := NewPlan(f, snap, e.s)
			r := Execute(ctx, p, d)
			if purged {
				if p.Decision != DecisionOwnerNotFound || !strings.Contains(p.Reason, "the journal is not acted on") ||
					r.Outcome != journal.OutcomeNotFound || len(e.f.ids(user)) != 0 {
					t.Fatalf("decision %s (%s), outcome %s, keys %v", p.Decision, p.Reason, r.Outcome, e.f.ids(user))
				}
				return
			}
			if !p.Resuming || p.Owner == nil || p.Owner.Strategy != "journal" || r.Outcome != journal.OutcomeRemediated {
				t.Fatalf("resume: %+v %s %v", p, r.Outcome, r.Err)
			}
			e.converged()
		})
	}
}

// Execute itself refuses a journal that names another owner, whoever planned.
func TestExecuteChecksTheJournal(t *testing.T) {
	e := newEnv(t, leakedID)
	plant(t, e.dir, leakedID, rec(1, time.Now(), journal.KindBegin, leakedID, "auditor", ""))
	ctx := context.Background()
	f := e.finding(leakedID)
	snap := Inspect(ctx, f, e.deps())
	snap.Resume, snap.JournalDoubt = nil, "" // a caller that did not look
	r := Execute(ctx, NewPlan(f, snap, e.s), e.deps())
	if r.Outcome != journal.OutcomeFailed || !strings.Contains(r.Error, "names user auditor") {
		t.Fatalf("%s %v", r.Outcome, r.Err)
	}
	if !slices.Equal(e.f.ids(user), []string{leakedID}) || slices.ContainsFunc(e.f.calls, func(c string) bool { return strings.HasPrefix(c, "CreateAccessKey") }) {
		t.Errorf("acted: %v", e.f.calls)
	}
	b, _ := os.ReadFile(filepath.Join(e.dir, journal.FileName(accesskey.MustParseID(leakedID))))
	if strings.Count(string(b), "\n") != 1 {
		t.Errorf("the journal was written to:\n%s", b)
	}
	var se *StepError
	if !errors.As(r.Err, &se) || se.Step != playbooks.StepLocate {
		t.Errorf("error %v", r.Err)
	}
}

func stepSaysFake(r Result, s string) bool {
	return slices.ContainsFunc(r.Steps, func(st StepResult) bool { return strings.Contains(st.Detail, s) })
}
