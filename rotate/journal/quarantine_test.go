package journal

import (
	"testing"
	"time"
)

// The journal remembers the deny policies a rotation attached: an intent alone may have taken
// effect (kept as active, not attached), a result confirms it, a lift removes it; the first run's
// id names them.
func TestSummarize_quarantines(t *testing.T) {
	exp := time.Date(2026, 11, 28, 21, 0, 0, 0, time.UTC)
	recs := []Record{
		{Seq: 1, RunID: "run-1", Kind: KindBegin},
		{Seq: 2, RunID: "run-1", Kind: KindIntent, Step: "contain", Action: ActionQuarantine, Policy: "respond-quarantine-run-1", Target: "user/deploy-bot", Expires: exp},
		{Seq: 3, RunID: "run-1", Kind: KindResult, Step: "contain", Action: ActionQuarantine, Policy: "respond-quarantine-run-1", Target: "user/deploy-bot", Expires: exp, Outcome: OutcomeDone},
		{Seq: 4, RunID: "run-1", Kind: KindIntent, Step: "eradicate", Action: ActionDenyRole, Policy: "respond-deny-ops-admin-run-1", Target: "role/ops-admin", Expires: exp},
		// a crash: no result for the role deny
		{Seq: 5, RunID: "run-2", Kind: KindBegin},
		{Seq: 6, RunID: "run-2", Kind: KindIntent, Step: "contain", Action: ActionLift, Policy: "respond-quarantine-run-1", Target: "user/deploy-bot"},
		{Seq: 7, RunID: "run-2", Kind: KindResult, Step: "contain", Action: ActionLift, Policy: "respond-quarantine-run-1", Target: "user/deploy-bot", Outcome: OutcomeDone},
		{Seq: 8, RunID: "run-2", Kind: KindIntent, Step: "eradicate", Action: "eradicate:delete-key", Target: "key:LTAI5tINCSVCBACKUP000001"},
	}
	s := Summarize(recs)
	if s.RunID != "run-1" {
		t.Errorf("RunID %q, want the first run's", s.RunID)
	}
	if len(s.Quarantines) != 2 {
		t.Fatalf("quarantines %+v", s.Quarantines)
	}
	q, r := s.Quarantines[0], s.Quarantines[1]
	if !q.Attached || !q.Removed || q.Active() || q.Step != "contain" || !q.Expires.Equal(exp) {
		t.Errorf("owner quarantine %+v: want attached, then removed", q)
	}
	if r.Attached || r.Removed || !r.Active() || r.Target != "role/ops-admin" {
		t.Errorf("role deny %+v: want active (its intent may have taken effect), not confirmed", r)
	}
	if a := s.ActiveQuarantines(); len(a) != 1 || a[0].Policy != "respond-deny-ops-admin-run-1" {
		t.Errorf("active %+v", a)
	}
	if s.InFlight == nil || s.InFlight.Seq != 8 {
		t.Errorf("in flight %+v, want the eradicate intent (targets tell intents of one action apart)", s.InFlight)
	}
}
