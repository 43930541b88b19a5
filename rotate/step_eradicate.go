package rotate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/hunt"
	"github.com/respond-dev/respond/rotate/journal"
)

// eradicate removes the footholds the hunt confirmed (hunt.PlanEradication of the run's graph):
// the attacker's keys (deleted and purged), console passwords, group memberships, policy
// attachments, the attacker's policies, and a self-expiring deny on each role the attacker
// assumed. Every write is journaled and idempotent (hunt.Apply), so a resumed run simply hunts
// and eradicates again. A failed write does not stop the others; the run then ends partial.
// Role denies of earlier runs that have expired are removed here too.
func (x *run) eradicate(ctx context.Context) {
	if x.noIncident(playbooks.StepEradicate) {
		return
	}
	started := x.d.now()
	fail := func(err error, reqIDs []string) {
		x.report(StepResult{Step: playbooks.StepEradicate, Outcome: journal.OutcomeFailed, Started: started, Duration: x.d.now().Sub(started),
			Detail: err.Error(), RequestIDs: reqIDs})
		if ctx.Err() != nil {
			x.interrupt(playbooks.StepEradicate, err)
		} else {
			x.setback(playbooks.StepEradicate, err)
		}
	}
	if x.graph == nil {
		fail(errors.New("no incident graph (the hunt could not run): nothing was eradicated; run again to hunt and eradicate"), nil)
		return
	}
	cl, err := x.incidentCloud(ctx)
	if err != nil {
		fail(err, nil)
		return
	}
	plan := planEradication(x.graph, x.incidentID(), started)
	var errs []error
	var reqIDs []string
	done := 0
	for _, a := range plan.Actions {
		if err := ctx.Err(); err != nil {
			fail(fmt.Errorf("interrupted after %d of %d writes: %w", done, len(plan.Actions), err), reqIDs)
			return
		}
		intent := journal.Record{Kind: journal.KindIntent, Step: string(playbooks.StepEradicate), Action: "eradicate:" + string(a.Kind),
			Target: a.Node, Detail: a.String() + " (because of " + a.Why + ")"}
		if a.Kind == hunt.DenyRole {
			intent.Action, intent.Target, intent.Policy, intent.Expires = journal.ActionDenyRole, "role/"+a.Entity, a.Policy.Name, a.Expires
		}
		err := x.journaled(intent, func(res *journal.Record) error {
			return x.settle(ctx, res, hunt.Apply(ctx, cl, a), &reqIDs)
		})
		if x.jerr != nil {
			return // the journal broke: the run has stopped
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		done++
		if a.Kind == hunt.DeleteKey {
			if a.UserName == x.user {
				x.keys.drop(a.KeyID.String())
			}
			// the purge that follows must find it in the bin, which may lag behind the delete
			x.awaitBin(ctx, cl, a.KeyID)
		}
	}
	lifted, lerr := x.liftExpired(ctx, cl, started)
	if x.jerr != nil {
		return
	}
	if lerr != nil {
		errs = append(errs, lerr)
	}
	d := fmt.Sprintf("%d of %d write(s) done", done, len(plan.Actions))
	if n := len(plan.Kept); n > 0 {
		d += fmt.Sprintf("; %d finding(s) left alone (see the plan)", n)
	}
	if len(lifted) > 0 {
		d += "; expired deny removed: " + strings.Join(lifted, ", ")
	}
	if len(errs) > 0 {
		fail(fmt.Errorf("%s; failed: %w", d, errors.Join(errs...)), reqIDs)
		return
	}
	x.report(StepResult{Step: playbooks.StepEradicate, Outcome: journal.OutcomeDone, Started: started, Duration: x.d.now().Sub(started),
		Detail: d, RequestIDs: reqIDs})
}

// liftExpired removes the role denies of earlier runs whose time has passed: they no longer
// apply, and every token they were there for has expired.
func (x *run) liftExpired(ctx context.Context, cl IncidentCloud, now time.Time) ([]string, error) {
	var lifted []string
	var errs []error
	for _, q := range x.st.ActiveQuarantines() {
		if q.Step != string(playbooks.StepEradicate) || !expired(q, now) || x.lifted[q.Policy+"|"+q.Target] {
			continue
		}
		if err := x.lift(ctx, cl, q, "expired "+q.Expires.UTC().Format(time.RFC3339)+": every token it was there for has expired"); err != nil {
			if x.jerr != nil {
				return lifted, err
			}
			errs = append(errs, err)
			continue
		}
		lifted = append(lifted, q.Policy+" on "+q.Target)
	}
	return lifted, errors.Join(errs...)
}

// liftAfterRemediation is the run of a key already remediated whose journal lists deny policies
// to remove (Plan.Quarantines with Lift): the expired denies on roles, and an owner's quarantine
// a crash left behind. It takes the key's lock and journals like a rotation; res keeps the
// already-remediated outcome, and a failure is a warning (a later run retries).
func liftAfterRemediation(ctx context.Context, p Plan, d Deps, res *Result, red *accesskey.Redactor) {
	if !p.liftsQuarantines() || p.Owner == nil || d.StateDir == "" {
		return
	}
	x := &run{p: p, d: d, res: res, red: red}
	x.user, x.acct = p.Owner.UserName, p.Owner.Account.ID
	x.runID = fmt.Sprintf("%s-%d", d.now().UTC().Format("20060102T150405.000000000Z"), os.Getpid())
	res.RunID = x.runID
	lctx, cancel := context.WithTimeout(ctx, d.LockWait)
	lock, err := journal.Lock(lctx, d.StateDir, p.KeyID)
	cancel()
	if err != nil {
		x.warn("deny policies of earlier runs not removed: " + err.Error())
		return
	}
	defer lock.Unlock()
	j, err := d.open(p.KeyID)
	if err != nil {
		x.warn("deny policies of earlier runs not removed: " + err.Error())
		return
	}
	defer j.Close()
	x.j = j
	if x.st, err = j.State(); err != nil {
		x.warn("deny policies of earlier runs not removed: " + err.Error())
		return
	}
	if x.record(journal.Record{Kind: journal.KindBegin, Detail: "remove the deny policies of earlier runs"}) != nil {
		return
	}
	x.audit(journal.AuditEntry{Event: "start", Playbook: p.Playbook, Decision: string(p.Decision)})
	defer x.end()
	started := d.now()
	cl, err := x.incidentCloud(ctx)
	var lifted []string
	if err == nil {
		x.leakedDeleted = true // the owner's quarantine, if a crash left it, goes too
		x.liftQuarantines(ctx)
		lifted, err = x.liftExpired(ctx, cl, started)
	}
	switch {
	case x.jerr != nil:
	case err != nil:
		x.report(StepResult{Step: playbooks.StepEradicate, Outcome: journal.OutcomeFailed, Started: started, Duration: d.now().Sub(started), Detail: err.Error()})
		x.warn("deny policies of earlier runs not removed: " + err.Error())
	case len(lifted) > 0:
		x.report(StepResult{Step: playbooks.StepEradicate, Outcome: journal.OutcomeDone, Started: started, Duration: d.now().Sub(started),
			Detail: "expired deny removed: " + strings.Join(lifted, ", ")})
	}
}
