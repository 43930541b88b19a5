package rotate

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/journal"
)

// The purge fails after the delete, in every way a call can: the run ends partial at the delete
// step with the key deleted, the journal holds the purge's own intent and result, and running
// again finishes (the owner comes from the journal: the fake locator no longer finds the key).
func TestExecutePurgeFailureResumes(t *testing.T) {
	transient := &ram.Error{Action: "DeleteAccessKeyInRecycleBin", Code: "InternalError", Status: 500, Class: ram.ErrTransient}
	denied := &ram.Error{Action: "DeleteAccessKeyInRecycleBin", Code: "NoPermission", Status: 403, Class: ram.ErrNoPermission}
	tests := []struct {
		name    string
		err     error
		commit  bool
		outcome journal.Outcome // the purge's journaled result
		rerun   []string        // the second run's mutations
	}{
		{"5xx before", transient, false, journal.OutcomeUnknown, []string{"DeleteAccessKeyInRecycleBin " + leakedID}},
		{"answer lost after the purge", transient, true, journal.OutcomeUnknown, nil},
		{"no permission", denied, false, journal.OutcomeFailed, []string{"DeleteAccessKeyInRecycleBin " + leakedID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, leakedID)
			e.f.fault = func(a string, n int) (error, bool) {
				if strings.HasPrefix(a, "DeleteAccessKeyInRecycleBin") && n == 1 {
					return tt.err, tt.commit
				}
				return nil, false
			}
			r := e.run(context.Background(), leakedID)
			var pe *PartialError
			if r.Outcome != journal.OutcomePartial || !errors.As(r.Err, &pe) || pe.Step != playbooks.StepDelete {
				t.Fatalf("%s %v: want partial at delete", r.Outcome, r.Err)
			}
			if d := stepResult(r, playbooks.StepDelete); d.Outcome != journal.OutcomeFailed || !strings.Contains(d.Detail, "deleted the leaked key") {
				t.Errorf("delete step %+v: want failed, saying the delete happened", d)
			}
			recs := records(t, e.dir, leakedID)
			var purge []journal.Record
			for _, rec := range recs {
				if rec.Action == "ram:DeleteAccessKeyInRecycleBin" {
					purge = append(purge, rec)
				}
			}
			if len(purge) != 2 || purge[0].Kind != journal.KindIntent || purge[1].Kind != journal.KindResult || purge[1].Outcome != tt.outcome {
				t.Fatalf("purge records %+v: want its intent, then its result %s", purge, tt.outcome)
			}
			st := journalState(t, e.dir, leakedID)
			if !st.LeakedDeleted || st.LeakedPurged || st.Done {
				t.Errorf("state %+v", st)
			}

			n := len(e.mutations())
			r2 := e.run(context.Background(), leakedID)
			if r2.Outcome != journal.OutcomeRemediated || r2.Err != nil {
				t.Fatalf("resume: %s %v %+v", r2.Outcome, r2.Err, r2.Steps)
			}
			if got := e.mutations()[n:]; strings.Join(got, ",") != strings.Join(tt.rerun, ",") {
				t.Errorf("resume mutated %v, want %v", got, tt.rerun)
			}
			e.converged()
			if st := journalState(t, e.dir, leakedID); !st.Done || (tt.rerun != nil && !st.LeakedPurged) {
				t.Errorf("state after resume %+v", st)
			}
		})
	}
}

// A leaked pair Alibaba has flagged still authenticates (restrictive protection refuses some of
// its calls, not all): verify never takes the refusal for the key being gone.
func TestVerifyFlaggedLeakedSecret(t *testing.T) {
	e := newEnv(t, leakedID)
	d := e.deps()
	d.Verifier = flaggedVerifier{f: e.f, leaked: accesskey.MustParseID(leakedID)}
	r := e.runWith(context.Background(), leakedID, d)
	v := stepResult(r, playbooks.StepVerify)
	if r.Outcome != journal.OutcomePartial || v.Outcome != journal.OutcomeFailed ||
		!strings.Contains(v.Detail, "the leaked pair still authenticates (Alibaba flagged it") {
		t.Fatalf("%s, verify %+v: want a failed verify that says the flagged pair still works", r.Outcome, v)
	}
}

// flaggedVerifier answers for the leaked pair as the cloud does for a flagged key it has not
// let go of yet: Forbidden, "There is a risk of leakage of this AccessKey."
type flaggedVerifier struct {
	f      *fakeAPI
	leaked accesskey.ID
}

func (v flaggedVerifier) Authenticates(ctx context.Context, id accesskey.ID, s accesskey.Secret) (ram.Identity, error) {
	if id == v.leaked {
		return ram.Identity{}, &ram.Error{Action: "GetCallerIdentity", Code: "Forbidden", Status: 403, Class: ram.ErrKeyFlagged,
			Err: errors.New("There is a risk of leakage of this AccessKey.")}
	}
	return v.f.Authenticates(ctx, id, s)
}

func records(t *testing.T, dir, id string) []journal.Record {
	t.Helper()
	j, err := journal.Open(dir, accesskey.MustParseID(id))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	recs, err := j.Records()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
