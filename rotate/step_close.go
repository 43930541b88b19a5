package rotate

import (
	"context"
	"errors"
	"fmt"
	"github.com/respond-dev/respond/ram/accesskey"
	"strings"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/rotate/journal"
)

// Alert is one alert a source holds about a leaked key (a Security Center leak record) that the
// close step marks handled, once the key is remediated (design §5, step 10). Sources implement
// it (securitycenter.go); the batch hands each finding's alerts to its rotation (Batch.Alerts).
type Alert interface {
	// String names the alert for the plan, the journal and the report ("Security Center record
	// 389357 in account 1000000000000001").
	String() string
	// Action is the write Close makes, for the journal ("sas:ModifyAccessKeyLeakDeal").
	Action() string
	// Call is the write Close would make, for the plan and --dry-run.
	Call(runID, done string) string
	// Close marks the alert handled with a remark naming the run and what was done, then reads
	// it back to confirm. An alert already handled is left alone (AlertAlreadyClosed).
	Close(ctx context.Context, runID, done string) (AlertResult, error)
}

// What the close step did to an alert.
const (
	AlertClosed        = "closed"         // marked handled, and the source confirmed it
	AlertAlreadyClosed = "already-closed" // handled already (by respond earlier, or a person); no write
	AlertFailed        = "failed"         // left open: the write failed or was not confirmed
	AlertLeftOpen      = "left-open"      // left open: the key is not remediated
)

// AlertResult is what the close step did to one alert.
type AlertResult struct {
	Alert     string `json:"alert"`
	Outcome   string `json:"outcome"`
	RequestID string `json:"request_id,omitempty"`
	Error     string `json:"error,omitempty"`
}

// PlanRunID stands for the run id in the plan's close calls: the id is made when the run starts.
const PlanRunID = "<run-id>"

// closeCalls are the plan's lines for the close step of a finding's alerts.
func closeCalls(alerts []Alert) []string {
	out := make([]string, 0, len(alerts))
	for _, a := range alerts {
		out = append(out, a.Call(PlanRunID, "<what was done>"))
	}
	return out
}

// remediatedSoFar reports whether the run has reached the end state: nothing failed, the leaked
// key is deleted and purged (no recycle bin holds it: a deleted key stays restorable) and, unless
// the playbook only contains, the replacement is stored — what outcome calls remediated.
func (x *run) remediatedSoFar() bool {
	return x.stop == nil && x.leakedDeleted && x.leakedPurged && (x.replacement != "" || !x.p.hasStep(playbooks.StepCreate))
}

// done says what was done to the key, for the alerts' remark.
func (x *run) done(already bool) string {
	switch {
	case already:
		return "leaked key " + x.p.KeyID.String() + " already deleted (found remediated)"
	case x.replacement != "":
		return "leaked key " + x.p.KeyID.String() + " deleted; replacement " + x.replacement + " stored"
	}
	return "leaked key " + x.p.KeyID.String() + " deleted (no replacement: contain-only)"
}

// close marks the finding's alerts handled, each journaled (intent, then result with the request
// id), but only when the key is remediated (already: found remediated): an alert about a key that
// is not stays open, as the reminder that the leak is live. A failure to close is a warning: the
// key is remediated whatever the alert says.
func (x *run) close(ctx context.Context, already bool) {
	started := x.d.now()
	alerts := x.d.Alerts
	if len(alerts) == 0 {
		x.report(StepResult{Step: playbooks.StepClose, Outcome: journal.OutcomeSkipped, Started: started, Detail: "no alert to close: the finding's source has none"})
		return
	}
	if !already && !x.remediatedSoFar() {
		for _, a := range alerts {
			x.res.Alerts = append(x.res.Alerts, AlertResult{Alert: a.String(), Outcome: AlertLeftOpen})
		}
		x.report(StepResult{Step: playbooks.StepClose, Outcome: journal.OutcomeSkipped, Started: started,
			Detail: fmt.Sprintf("the key is not remediated: %d alert(s) left open", len(alerts))})
		return
	}
	if err := ctx.Err(); err != nil {
		x.interrupt(playbooks.StepClose, err)
		return
	}
	done := x.done(already)
	var lines, reqIDs []string
	var failed []error
	for _, a := range alerts {
		var r AlertResult
		intent := journal.Record{Kind: journal.KindIntent, Step: string(playbooks.StepClose), Action: a.Action(), Detail: a.String()}
		err := x.journaled(intent, func(res *journal.Record) error {
			var err error
			r, err = a.Close(ctx, x.runID, done)
			res.RequestID = r.RequestID
			if err != nil {
				res.Outcome, res.Error = journal.OutcomeFailed, x.red.Redact(err.Error())
				return err
			}
			res.Outcome, res.Detail = journal.OutcomeDone, a.String()+": "+r.Outcome
			return nil
		})
		r.Alert = a.String()
		if x.jerr != nil {
			return // the journal broke: the run has stopped
		}
		if err != nil {
			r.Outcome, r.Error = AlertFailed, x.red.Redact(accesskey.OneLine(err.Error()))
			failed = append(failed, err)
			x.warn("close: " + r.Alert + " left open: " + r.Error)
		}
		x.res.Alerts = append(x.res.Alerts, r)
		lines = append(lines, r.Alert+": "+r.Outcome)
		reqIDs = append(reqIDs, nonEmpty(r.RequestID)...)
	}
	sr := StepResult{Step: playbooks.StepClose, Outcome: journal.OutcomeDone, Started: started, Duration: x.d.now().Sub(started),
		Detail: strings.Join(lines, "; "), RequestIDs: reqIDs}
	if len(failed) > 0 {
		sr.Outcome = journal.OutcomeFailed
		if ctx.Err() != nil { // interrupted: the key is remediated; a re-run closes the rest
			x.halt(playbooks.StepClose, errors.Join(failed...), false, true)
		}
	}
	x.report(sr)
}

// closeRemediated is the close step of a key found already remediated (its plan decided so, or
// its journal and the cloud agree a run finished it): under the key's lock, with the run
// journaled like a rotation (begin, the close step, end), so that marking is never done twice at
// once and leaves a trail.
func (x *run) closeRemediated(ctx context.Context) {
	if x.p.Owner != nil {
		x.user, x.acct = x.p.Owner.UserName, x.p.Owner.Account.ID
	}
	x.startRun()
	if x.d.StateDir == "" {
		x.warn("close: no state directory, so the alerts were not closed (the journal is required)")
		return
	}
	unlock, ok := x.lockKey(ctx)
	if !ok {
		return
	}
	defer unlock()
	j, err := x.d.open(x.p.KeyID)
	if err != nil {
		x.warn("close: the journal cannot be opened, so the alerts were not closed: " + err.Error())
		return
	}
	defer j.Close()
	x.j = j
	if err := x.write(journal.Record{Kind: journal.KindBegin, Detail: "playbook " + x.p.Playbook + ", decision " + string(x.p.Decision) + ": close the alerts"}); err != nil {
		x.warn("close: " + err.Error())
		return
	}
	x.audit(journal.AuditEntry{Event: "start", Playbook: x.p.Playbook, Decision: string(x.p.Decision)})
	defer x.end()
	x.leakedDeleted = true
	x.close(ctx, true)
}
