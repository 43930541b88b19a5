package rotate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/rotate/hunt"
	"github.com/respond-dev/respond/rotate/journal"
)

// contain limits the leaked key's power for the minutes the rotation takes: a deny policy on the
// owner (respond-quarantine-<run id>), removed once the leaked key is deleted (liftQuarantines),
// or the key's own network policy. It is journaled; a failure is a warning and the rotation goes
// on (deleting the leaked key is the containment that matters).
func (x *run) contain(ctx context.Context) {
	if x.noIncident(playbooks.StepContain) {
		return
	}
	started := x.d.now()
	if x.leakedDeleted || !x.keys.has(x.p.KeyID.String()) {
		x.report(StepResult{Step: playbooks.StepContain, Outcome: journal.OutcomeSkipped, Started: started, Detail: "the leaked key is already deleted: nothing to contain"})
		return
	}
	c := planContainment(x.graph, x.assessment, x.p.IncidentPlan, x.user, x.p.KeyID, x.incidentID(), started)
	if c.Method == playbooks.ContainDenyPolicy && x.quarantineInPlace(c.Policy, c.Target) {
		x.report(StepResult{Step: playbooks.StepContain, Outcome: journal.OutcomeSkipped, Started: started,
			Detail: "quarantine " + c.Policy + " is already on " + c.Target + " (an earlier run attached it)"})
		return
	}
	var reqIDs []string
	err := errors.New(c.Error)
	if c.Error == "" {
		var cl IncidentCloud
		if cl, err = x.incidentCloud(ctx); err == nil {
			err = x.applyContainment(ctx, cl, c, &reqIDs)
		}
	}
	if x.jerr != nil {
		return // the journal broke: the run has stopped
	}
	if err != nil {
		d := "containment failed (" + err.Error() + "); the rotation goes on"
		x.report(StepResult{Step: playbooks.StepContain, Outcome: journal.OutcomeFailed, Started: started, Duration: x.d.now().Sub(started), Detail: d, RequestIDs: reqIDs})
		if ctx.Err() != nil {
			x.interrupt(playbooks.StepContain, err)
			return
		}
		x.warn(d)
		return
	}
	x.report(StepResult{Step: playbooks.StepContain, Outcome: journal.OutcomeDone, Started: started, Duration: x.d.now().Sub(started),
		Detail: c.describe(), RequestIDs: reqIDs})
}

// applyContainment makes the containment's writes, journaled.
func (x *run) applyContainment(ctx context.Context, cl IncidentCloud, c *Containment, reqIDs *[]string) error {
	if c.Method == playbooks.ContainNetworkPolicy {
		intent := journal.Record{Kind: journal.KindIntent, Step: string(playbooks.StepContain), Action: "ims:SetAccessKeyPolicy", Target: c.Target, Detail: c.describe()}
		return x.journaled(intent, func(res *journal.Record) error {
			err := cl.SetAccessKeyPolicy(ctx, x.p.KeyID, ram.AllowOnly(c.AllowIPs...))
			return x.settle(ctx, res, err, reqIDs)
		})
	}
	q := journal.Quarantine{Policy: c.Policy, Target: c.Target, Expires: c.Expires, Step: string(playbooks.StepContain)}
	intent := journal.Record{Kind: journal.KindIntent, Step: q.Step, Action: journal.ActionQuarantine, Policy: q.Policy, Target: q.Target,
		Expires: q.Expires, Detail: c.describe()}
	x.attached = append(x.attached, q) // from the intent on, it may be in place
	return x.journaled(intent, func(res *journal.Record) error {
		return x.settle(ctx, res, attachDeny(ctx, cl, ram.EntityUser, x.user, c.Policy, c.Document,
			"respond: quarantine of "+x.user+" while its leaked key is rotated"), reqIDs)
	})
}

// settle fills in a journaled call's result from its error.
func (x *run) settle(ctx context.Context, res *journal.Record, err error, reqIDs *[]string) error {
	res.RequestID = requestID(err)
	if res.RequestID != "" {
		*reqIDs = append(*reqIDs, res.RequestID)
	}
	switch {
	case err == nil:
		res.Outcome = journal.OutcomeDone
	case ctx.Err() != nil || errors.Is(err, ram.ErrTransient):
		res.Outcome, res.Error = journal.OutcomeUnknown, err.Error()
	default:
		res.Outcome, res.Error = journal.OutcomeFailed, err.Error()
	}
	return err
}

// attachDeny creates a deny policy respond wrote (or accepts the one of that name an earlier
// attempt created: it carries respond's expiry) and attaches it; both are idempotent.
func attachDeny(ctx context.Context, cl IncidentCloud, kind ram.EntityKind, entity, name, document, description string) error {
	ref := ram.PolicyRef{Type: ram.PolicyCustom, Name: name}
	if _, err := cl.CreatePolicy(ctx, name, document, description); errors.Is(err, ram.ErrAlreadyExists) {
		p, gerr := cl.GetPolicy(ctx, ref)
		if gerr != nil {
			return fmt.Errorf("policy %s exists and cannot be read: %w", name, gerr)
		}
		if _, ours := hunt.DenyExpiry(p.Document); !ours {
			return fmt.Errorf("policy %s exists and is not a deny respond wrote: %w", name, err)
		}
	} else if err != nil {
		return err
	}
	if err := cl.AttachPolicy(ctx, kind, entity, ref); err != nil && !errors.Is(err, ram.ErrAlreadyExists) {
		return fmt.Errorf("attach %s to %s %s: %w", name, strings.ToLower(string(kind)), entity, err)
	}
	return nil
}

// liftPolicy detaches a deny policy respond attached and deletes it; what is already gone counts
// as done.
func liftPolicy(ctx context.Context, cl IncidentCloud, kind ram.EntityKind, entity, name string) error {
	ref := ram.PolicyRef{Type: ram.PolicyCustom, Name: name}
	if err := cl.DetachPolicy(ctx, kind, entity, ref); err != nil && !errors.Is(err, ram.ErrNotFound) {
		return fmt.Errorf("detach %s from %s %s: %w", name, strings.ToLower(string(kind)), entity, err)
	}
	if err := cl.DeletePolicy(ctx, name); err != nil && !errors.Is(err, ram.ErrNotFound) {
		return fmt.Errorf("delete policy %s: %w", name, err)
	}
	return nil
}

// quarantineInPlace reports whether the journal or this run attached the policy to target and
// it was not removed since.
func (x *run) quarantineInPlace(policy, target string) bool {
	for _, q := range x.ownerQuarantines() {
		if q.Policy == policy && q.Target == target && q.Attached {
			return true
		}
	}
	return false
}

// ownerQuarantines are the contain step's quarantines that may be in place: the journal's (at
// the start of the run) and this run's, without those lifted since.
func (x *run) ownerQuarantines() []journal.Quarantine {
	var out []journal.Quarantine
	for _, q := range append(x.st.ActiveQuarantines(), x.attached...) {
		if q.Step == string(playbooks.StepContain) && !x.lifted[q.Policy+"|"+q.Target] {
			out = append(out, q)
		}
	}
	return out
}

// liftQuarantines removes the owner's quarantine once the leaked key is deleted (it limited the
// leaked key, and the replacement must work): after each step and when a resumed run finds the
// key gone. A failure is a warning (a later run retries; the policy also stops applying by
// itself at its expiry).
func (x *run) liftQuarantines(ctx context.Context) {
	qs := x.ownerQuarantines()
	if !x.leakedDeleted || len(qs) == 0 || x.jerr != nil || ctx.Err() != nil {
		return
	}
	started := x.d.now()
	cl, err := x.incidentCloud(ctx)
	var done, failed []string
	for _, q := range qs {
		if err == nil {
			err = x.lift(ctx, cl, q, "the leaked key is deleted: its quarantine is removed")
		}
		if x.jerr != nil {
			return
		}
		if err != nil {
			failed = append(failed, q.Policy+" ("+err.Error()+")")
			err = nil
			continue
		}
		done = append(done, q.Policy)
	}
	if len(failed) > 0 {
		d := "the quarantine could not be removed from " + x.user + ": " + strings.Join(failed, "; ") +
			"; a later run removes it, and it stops applying by itself at its expiry"
		x.report(StepResult{Step: playbooks.StepContain, Outcome: journal.OutcomeFailed, Started: started, Duration: x.d.now().Sub(started), Detail: d})
		x.warn(d)
		return
	}
	x.report(StepResult{Step: playbooks.StepContain, Outcome: journal.OutcomeDone, Started: started, Duration: x.d.now().Sub(started),
		Detail: "quarantine " + strings.Join(done, ", ") + " removed from " + x.user + " (the leaked key is deleted)"})
}

// lift removes one deny policy respond attached, journaled.
func (x *run) lift(ctx context.Context, cl IncidentCloud, q journal.Quarantine, why string) error {
	kind, entity, ok := strings.Cut(q.Target, "/")
	if !ok {
		return fmt.Errorf("quarantine %s: unknown target %q", q.Policy, q.Target)
	}
	ek := ram.EntityUser
	if kind == "role" {
		ek = ram.EntityRole
	}
	var reqIDs []string
	intent := journal.Record{Kind: journal.KindIntent, Step: q.Step, Action: journal.ActionLift, Policy: q.Policy, Target: q.Target, Detail: why}
	err := x.journaled(intent, func(res *journal.Record) error {
		return x.settle(ctx, res, liftPolicy(ctx, cl, ek, entity, q.Policy), &reqIDs)
	})
	if err == nil {
		if x.lifted == nil {
			x.lifted = map[string]bool{}
		}
		x.lifted[q.Policy+"|"+q.Target] = true
	}
	return err
}

// expired reports whether a quarantine has stopped applying at now.
func expired(q journal.Quarantine, now time.Time) bool {
	return !q.Expires.IsZero() && !now.Before(q.Expires)
}
