package rotate

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/journal"
)

// binned makes the snapshot's key one someone already deleted: in its user's recycle bin.
func binned(f *detect.Finding, s *Snapshot) {
	rec := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	b := &ram.BinnedKey{ID: f.KeyID, UserID: "2444000000000002", UserName: "ci-deploy", UserPrincipalName: "ci-deploy@prod.onaliyun.com",
		CreateDate: s.Keys[0].CreateDate, RecycleDate: rec, DeleteDate: rec.Add(30 * 24 * time.Hour)}
	s.Keys = nil
	s.Found, s.AlreadyGone = false, true
	s.Owner.Strategy, s.Owner.RecycleBin, s.Owner.UserID = ram.StrategyRecycleBin, b, b.UserID
	s.Owner.Key = ram.AccessKey{ID: f.KeyID, CreateDate: b.CreateDate}
	s.LastUsed = time.Time{}
	s.Binned = b
}

// The plans of a key already deleted: purge it, with a replacement only when the user has none
// newer than the leak; and a key gone whose recycle bin could not be asked.
func TestPlanGoldenRecycleBin(t *testing.T) {
	newer := ram.AccessKey{ID: accesskey.MustParseID(otherID), Status: ram.StatusActive, CreateDate: time.Date(2026, 11, 20, 9, 5, 0, 0, time.UTC)}
	tests := []struct {
		name     string
		mod      func(*detect.Finding, *Snapshot, *Settings)
		decision Decision
		steps    []playbooks.StepID
	}{
		{"purge", func(f *detect.Finding, s *Snapshot, st *Settings) { binned(f, s) }, DecisionPurge, builtinSteps("standard")},
		{"purge-newer-key", func(f *detect.Finding, s *Snapshot, st *Settings) {
			binned(f, s)
			s.Keys = []ram.AccessKey{newer}
		}, DecisionPurge, []playbooks.StepID{"locate", "assess", "hunt", "delete", "verify", "close", "notify"}},
		{"purge-user-deleted", func(f *detect.Finding, s *Snapshot, st *Settings) {
			binned(f, s)
			s.Binned.UserRecycled = true
		}, DecisionPurge, []playbooks.StepID{"locate", "assess", "hunt", "delete", "verify", "close", "notify"}},
		{"purge-resuming", func(f *detect.Finding, s *Snapshot, st *Settings) {
			// respond deleted the key, then died before the purge: its own replacement is not
			// a human's newer key
			binned(f, s)
			s.Owner.Strategy = "journal"
			s.Keys = []ram.AccessKey{{ID: accesskey.MustParseID("LTAI5tNEW000000000000001"), Status: ram.StatusActive, CreateDate: newer.CreateDate}}
			s.Resume = &journal.State{Runs: 1, LeakedDeleted: true, NewKeys: []journal.NewKey{{ID: "LTAI5tNEW000000000000001", Created: true, Stored: []string{"ci-env"}}}}
		}, DecisionPurge, builtinSteps("standard")},
		{"purge-own-delete-answer-lost", func(f *detect.Finding, s *Snapshot, st *Settings) {
			// the user was at the two-key limit, so respond deleted first; it died before the
			// delete's answer came, the delete went through: the user's other key (newer than the
			// leak) is not a replacement, and the run still owes one
			binned(f, s)
			s.Owner.Strategy = "journal"
			s.Keys = []ram.AccessKey{newer}
			s.Resume = &journal.State{Runs: 1, Before: []string{leakedID, otherID},
				InFlight: &journal.Record{Kind: journal.KindIntent, Step: "delete", Action: "ram:DeleteAccessKey"}}
		}, DecisionPurge, builtinSteps("standard")},
		{"already-gone-bin-unchecked", func(f *detect.Finding, s *Snapshot, st *Settings) {
			s.Keys, s.Found, s.AlreadyGone = nil, false, true
			s.BinErr = errors.New("look up " + leakedID + " in the recycle bin: GetAccessKeyInfoInRecycleBin: NoPermission")
		}, DecisionAlreadyRemediated, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, snap, s := planInputs()
			tt.mod(&f, &snap, &s)
			p := NewPlan(f, snap, s)
			if p.Decision != tt.decision {
				t.Fatalf("decision = %s (%s), want %s", p.Decision, p.Reason, tt.decision)
			}
			var steps []playbooks.StepID
			for _, ps := range p.Steps {
				steps = append(steps, ps.Step)
			}
			if !slices.Equal(steps, tt.steps) {
				t.Errorf("steps %v, want %v", steps, tt.steps)
			}
			txt, js := planGoldens(t, tt.name, p)
			if tt.decision != DecisionPurge {
				if !strings.Contains(txt.String(), "recycle bin not checked") {
					t.Errorf("no warning that the bin was not checked:\n%s", txt.String())
				}
				return
			}
			// The reason, both calls of the purge, the why; never a restore, never a disable.
			for _, want := range []string{
				"decision:   purge", "reason:     deleted but restorable until 2026-12-20T09:00:00Z: purge",
				"ram:DeleteAccessKeyInRecycleBin(UserId=2444000000000002, UserAccessKeyId=" + leakedID + ")",
				"ram:GetAccessKeyInfoInRecycleBin(UserAccessKeyId=" + leakedID + "): must find nothing",
				"a deleted key stays restorable for 30 days",
			} {
				if !strings.Contains(txt.String(), want) {
					t.Errorf("plan text lacks %q:\n%s", want, txt.String())
				}
			}
			for _, ps := range p.Steps {
				for _, a := range ps.Actions {
					if strings.Contains(a, "Restore") || strings.Contains(a, "UpdateAccessKey") || strings.HasPrefix(a, "ram:DeleteAccessKey(") {
						t.Errorf("the purge plan calls %s", a)
					}
				}
			}
			if strings.Contains(txt.String()+string(js), "vtAZaFH4CqJcqFj5oyyuRobivPNK8p") {
				t.Error("the plan contains the leaked secret")
			}
		})
	}
}
