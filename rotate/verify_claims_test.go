package rotate

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
	"github.com/respond-dev/respond/rotate/journal"
)

// Verify calls the leaked key dead only when the cloud says it knows no such id
// (InvalidAccessKeyId.NotFound). A signature mismatch means the cloud still knows the id: the
// secret respond holds is not the key's (a wrong or altered secret in the finding), and the key
// may sign for the attacker who has the right one — here while the deletion propagates.
func TestEmulatorVerifyLeakedSecretNeedsUnknownID(t *testing.T) {
	const leaked = "LTAI5tFAKECIDEPLOY000001"
	same := func(s string) string { return s }
	wrong := func(s string) string { return strings.Repeat("w", len(s)) }
	tests := []struct {
		name        string
		secret      func(real string) string
		propagation time.Duration
		fault       emulator.FaultKind // on the leaked pair's GetCallerIdentity (faults follow authentication: the key still signs)
		outcome     journal.Outcome
		detail      string
	}{
		{"right secret, deletion propagated", same, 0, 0, journal.OutcomeRemediated, "leaked secret rejected"},
		{"right secret, deletion propagating", same, time.Hour, 0, journal.OutcomePartial, "the leaked pair still authenticates"},
		{"wrong secret, deletion propagating", wrong, time.Hour, 0, journal.OutcomePartial, "the cloud still knows the leaked key's id"},
		{"wrong secret, deletion propagated", wrong, 0, 0, journal.OutcomeRemediated, "leaked secret rejected"},
		{"check answers 5xx", same, time.Hour, emulator.FaultServerErrorBefore, journal.OutcomePartial, "leaked secret not rejected"},
		{"check throttled", same, time.Hour, emulator.FaultThrottle, journal.OutcomePartial, "leaked secret not rejected"},
		{"check answers garbage", same, time.Hour, emulator.FaultGarbage, journal.OutcomePartial, "leaked secret not rejected"},
		{"check dropped", same, time.Hour, emulator.FaultDropBefore, journal.OutcomePartial, "leaked secret not rejected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEmu(t)
			e.s.SetPropagationDelay(tt.propagation)
			if tt.fault != 0 {
				e.s.AddFault(emulator.Fault{Action: "GetCallerIdentity", Kind: tt.fault})
				cfg := e.cfg
				cfg.Retry = ram.RetryPolicy{MaxAttempts: 1} // the answer itself, not the retries' wait
				e.deps.Verifier = emuVerifier{cfg: cfg}
			}
			ctx := context.Background()
			cred, _ := e.org.Key(leaked)
			f := detect.Finding{KeyID: accesskey.MustParseID(leaked), Secret: accesskey.NewSecret(tt.secret(cred.AccessKeySecret))}
			e.deps.Sinks = nil // contain-only: no replacement, whose own propagation would fail verify too
			s := Settings{Playbook: "contain-only", Steps: []playbooks.StepID{playbooks.StepLocate, playbooks.StepAssess, playbooks.StepDelete, playbooks.StepVerify, playbooks.StepNotify},
				CheckLeakedSecret: true, VerifyTimeout: time.Nanosecond, VerifyInterval: 10 * time.Millisecond, // one try each
				Self: accesskey.MustParseID(e.org.Admin().AccessKeyID)}
			r := Execute(ctx, NewPlan(f, Inspect(ctx, f, e.deps), s), e.deps)
			v := stepResult(r, playbooks.StepVerify)
			if r.Outcome != tt.outcome || !strings.Contains(v.Detail, tt.detail) {
				t.Fatalf("outcome %s, verify %s: %s; want %s with %q", r.Outcome, v.Outcome, v.Detail, tt.outcome, tt.detail)
			}
		})
	}
}
