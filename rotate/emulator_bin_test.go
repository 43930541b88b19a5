package rotate

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
	"github.com/respond-dev/respond/rotate/journal"
)

// Deleted must mean gone (issue 13). These run the engine with the real ram.Client (the real
// SDK) and the real ram.Locator against the emulator, whose DeleteAccessKey moves a key into its
// user's recycle bin.

// The bin's danger, then respond's answer: a deleted key cannot sign, but restoring it brings it
// back; after respond's rotation the key is in no bin, cannot be restored, and its secret is
// rejected.
func TestEmulatorPurgeLifecycle(t *testing.T) {
	e := newRealEmu(t)
	ctx := context.Background()
	f := e.finding(t, ciKey)
	owner, err := e.admin.GetUserByAccessKey(ctx, f.KeyID)
	if err != nil {
		t.Fatal(err)
	}
	v := emuVerifier{e.cfg}
	if err := e.admin.DeleteAccessKey(ctx, ciUser, f.KeyID); err != nil {
		t.Fatal(err)
	}
	if b, err := e.admin.GetAccessKeyInfoInRecycleBin(ctx, f.KeyID); err != nil || b.UserID != owner.UserID {
		t.Fatalf("deleted key not in its user's bin: %+v, %v", b, err)
	}
	if _, err := v.Authenticates(ctx, f.KeyID, f.Secret); !errors.Is(err, ram.ErrInvalidCredentials) {
		t.Fatalf("a binned key signed: %v", err)
	}
	if err := e.admin.RestoreAccessKeyFromRecycleBin(ctx, owner.UserID, f.KeyID); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Authenticates(ctx, f.KeyID, f.Secret); err != nil {
		t.Fatalf("the restored key does not sign: %v", err)
	}

	p, r := e.run(t, ciKey, e.settings())
	if p.Decision != DecisionRotate || r.Outcome != journal.OutcomeRemediated || r.Err != nil {
		t.Fatalf("%s %s %v %+v", p.Decision, r.Outcome, r.Err, r.Steps)
	}
	if n := countAction(e.s.RequestLog(), "RestoreAccessKeyFromRecycleBin"); n != 1 {
		t.Errorf("%d restores, want the test's own: respond never restores a key", n)
	}
	e.convergedSDK(t, ciUser, ciKey, r.NewKeyID) // also: in no recycle bin
	if err := e.admin.RestoreAccessKeyFromRecycleBin(ctx, owner.UserID, f.KeyID); !errors.Is(err, ram.ErrNotFound) {
		t.Fatalf("the leaked key could be restored after respond: %v", err)
	}
	if _, err := v.Authenticates(ctx, f.KeyID, f.Secret); !errors.Is(err, ram.ErrInvalidCredentials) {
		t.Fatalf("the leaked key signs after respond: %v", err)
	}
	del := stepResult(r, playbooks.StepDelete)
	if !strings.Contains(del.Detail, "purged from the recycle bin of user id "+owner.UserID) ||
		!strings.Contains(del.Detail, "no longer finds it") || !strings.Contains(del.Detail, "deleted the leaked key") {
		t.Errorf("delete step %+v: want the delete, the purge and the check", del)
	}
	if vr := stepResult(r, playbooks.StepVerify); !strings.Contains(vr.Detail, "leaked key in no recycle bin") {
		t.Errorf("verify %+v does not check the bin", vr)
	}
	st := journalState(t, e.deps.StateDir, ciKey)
	if !st.LeakedDeleted || !st.LeakedPurged || !st.Done {
		t.Errorf("journal %+v: want deleted, purged, done", st)
	}

	// Run again: nothing left to do.
	n := len(mutationsIn(e.s.RequestLog()))
	p2, r2 := e.run(t, ciKey, e.settings())
	if p2.Decision != DecisionAlreadyRemediated || r2.Outcome != journal.OutcomeAlreadyRemediated {
		t.Errorf("re-run: %s %s %v", p2.Decision, r2.Outcome, r2.Err)
	}
	if m := mutationsIn(e.s.RequestLog()); len(m) != n {
		t.Errorf("the re-run mutated: %v", m[n:])
	}
}

// A key deleted by hand after its owner made a new key: respond purges it and creates nothing.
func TestEmulatorPurgeHandDeletedWithNewerKey(t *testing.T) {
	e := newRealEmu(t)
	ctx := context.Background()
	keys, err := e.admin.ListAccessKeys(ctx, ciUser)
	if err != nil {
		t.Fatal(err)
	}
	nk, err := e.admin.CreateAccessKey(ctx, ciUser, keys)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.admin.DeleteAccessKey(ctx, ciUser, accesskey.MustParseID(ciKey)); err != nil {
		t.Fatal(err)
	}
	n := len(mutationsIn(e.s.RequestLog()))
	p, r := e.run(t, ciKey, e.settings())
	if p.Decision != DecisionPurge || p.hasStep(playbooks.StepCreate) || p.Owner.Strategy != ram.StrategyRecycleBin {
		t.Fatalf("plan %s by %s, steps %+v: want a purge without a replacement", p.Decision, p.Owner.Strategy, p.Steps)
	}
	if r.Outcome != journal.OutcomeRemediated || r.Err != nil || r.NewKeyID != "" {
		t.Fatalf("%s %v new key %q %+v", r.Outcome, r.Err, r.NewKeyID, r.Steps)
	}
	if m := mutationsIn(e.s.RequestLog())[n:]; strings.Join(m, ",") != "DeleteAccessKeyInRecycleBin" {
		t.Errorf("mutated %v, want the purge alone", m)
	}
	if ids := e.keys(t, ciUser); len(ids) != 1 || ids[0] != nk.ID.String() {
		t.Errorf("keys %v, want the user's own new key %s untouched", ids, nk.ID)
	}
	if _, err := e.admin.GetAccessKeyInfoInRecycleBin(ctx, accesskey.MustParseID(ciKey)); !errors.Is(err, ram.ErrNotFound) {
		t.Errorf("still in the bin: %v", err)
	}
}

// The purge fails after the delete (the cloud answers 5xx until the retries give up): the run
// ends partial with the key deleted but restorable, the journal says so, and running again
// purges it, whether the owner is found again in the bin or only through the journal.
func TestEmulatorPurgeResumes(t *testing.T) {
	for _, strategies := range [][]string{nil, {ram.StrategyIMS}} {
		t.Run(strings.Join(append([]string{"strategies"}, strategies...), "-"), func(t *testing.T) {
			e := newRealEmu(t)
			e.deps.Locator.(*ram.Locator).Strategies = strategies
			ctx := context.Background()
			remove := e.s.AddFault(emulator.Fault{Action: "DeleteAccessKeyInRecycleBin", Kind: emulator.FaultServerErrorBefore})
			_, r := e.run(t, ciKey, e.settings())
			var pe *PartialError
			if r.Outcome != journal.OutcomePartial || !errors.As(r.Err, &pe) || pe.Step != playbooks.StepDelete {
				t.Fatalf("%s %v: want partial at delete", r.Outcome, r.Err)
			}
			if _, err := e.admin.GetAccessKeyInfoInRecycleBin(ctx, accesskey.MustParseID(ciKey)); err != nil {
				t.Fatalf("the deleted key is not in the bin: %v", err)
			}
			st := journalState(t, e.deps.StateDir, ciKey)
			if !st.LeakedDeleted || st.LeakedPurged || st.Done {
				t.Fatalf("journal %+v: want deleted, not purged, not done", st)
			}
			remove()
			p2, r2 := e.run(t, ciKey, e.settings())
			if p2.Decision != DecisionPurge || !p2.Resuming || r2.Outcome != journal.OutcomeRemediated || r2.Err != nil {
				t.Fatalf("resume: %s (resuming %v) %s %v %+v", p2.Decision, p2.Resuming, r2.Outcome, r2.Err, r2.Steps)
			}
			if r2.NewKeyID != r.NewKeyID {
				t.Errorf("the resume changed the replacement: %s, want %s", r2.NewKeyID, r.NewKeyID)
			}
			e.convergedSDK(t, ciUser, ciKey, r.NewKeyID)
			if n := countAction(e.s.RequestLog(), "CreateAccessKey"); n != 1 {
				t.Errorf("%d creates, want 1", n)
			}
		})
	}
}

// Restrictive protection: Alibaba has flagged the leaked key. Its own RAM calls are refused,
// but it is valid: the caller strategy still finds its owner (STS answers), and respond, signed
// in as itself, deletes and purges it; verify then finds the leaked secret rejected.
func TestEmulatorFlaggedKey(t *testing.T) {
	e := newRealEmu(t)
	ctx := context.Background()
	if !e.s.FlagKey(ciKey) {
		t.Fatal("FlagKey")
	}
	f := e.finding(t, ciKey)
	cfg := e.cfg
	cfg.Credentials = ram.StaticCredentials(ciKey, f.Secret)
	leaked, err := ram.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaked.ListAccessKeys(ctx, ""); !errors.Is(err, ram.ErrKeyFlagged) {
		t.Fatalf("a flagged key's own RAM call: %v", err)
	}
	loc := e.deps.Locator.(*ram.Locator)
	loc.Strategies, loc.Leaked = []string{ram.StrategyCaller}, leaked
	p, r := e.run(t, ciKey, e.settings())
	if p.Decision != DecisionRotate || p.Owner.Strategy != ram.StrategyCaller || r.Outcome != journal.OutcomeRemediated {
		t.Fatalf("%s by %s: %s %v %+v", p.Decision, p.Owner.Strategy, r.Outcome, r.Err, r.Steps)
	}
	if vr := stepResult(r, playbooks.StepVerify); !strings.Contains(vr.Detail, "leaked secret rejected") {
		t.Errorf("verify %+v", vr)
	}
	e.convergedSDK(t, ciUser, ciKey, r.NewKeyID)
}

func stepResult(r Result, s playbooks.StepID) StepResult {
	var out StepResult
	for _, sr := range r.Steps {
		if sr.Step == s {
			out = sr
		}
	}
	return out
}

func journalState(t *testing.T, dir, id string) journal.State {
	t.Helper()
	st, ok, err := readState(dir, accesskey.MustParseID(id))
	if err != nil || !ok {
		t.Fatalf("journal of %s: %v %v", id, ok, err)
	}
	return st
}

func countAction(log []emulator.Request, action string) int {
	n := 0
	for _, r := range log {
		if r.Action == action {
			n++
		}
	}
	return n
}
