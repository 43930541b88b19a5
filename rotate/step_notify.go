package rotate

import (
	"context"
	"slices"
	"strings"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/rotate/assess"
	"github.com/respond-dev/respond/rotate/journal"
	"github.com/respond-dev/respond/rotate/notify"
)

// message builds the notification of the run so far: the key, the owner, the outcome, the step
// lines, what is left for a human and the impact. outcome "" means a rotation (its outcome is
// worked out from the run); "canary" is an alert. Every text goes through a redactor that knows
// the run's secrets, as a last net behind the Secret type.
func (x *run) message(outcome journal.Outcome, summary string) notify.Message {
	m := notify.Message{KeyID: x.p.KeyID.String(), Outcome: outcome, Summary: summary, Time: x.d.now().UTC(), Canary: x.p.Canary}
	if x.p.Owner != nil {
		m.UserName, m.AccountID, m.AccountName = x.p.Owner.UserName, x.p.Owner.Account.ID, x.p.Owner.Account.Name
	}
	if outcome == "" {
		o, _ := x.outcome()
		m.Outcome, m.Summary = o, x.summary(o)
		m.LeftForHuman = notify.DefaultLeftForHuman()
		for _, s := range x.res.Steps {
			m.Steps = append(m.Steps, notify.StepLine{Step: string(s.Step), Outcome: s.Outcome, Detail: s.Detail})
		}
	} else {
		m.LeftForHuman = append([]string(nil), x.p.LeftForHuman...)
	}
	if x.assessment != nil {
		var b strings.Builder
		if err := assess.WriteText(&b, *x.assessment); err == nil {
			m.Impact = b.String()
		}
	} else if slices.ContainsFunc(x.res.Warnings, func(w string) bool { return strings.HasPrefix(w, AssessWarningPrefix) }) {
		m.Impact = "Unknown: ActionTrail could not be read (see the run's warnings)."
	}
	m.Incident = x.incidentText()
	r := x.red
	m.Summary, m.Impact, m.Incident = r.Redact(m.Summary), r.Redact(m.Impact), r.Redact(m.Incident)
	for i := range m.Steps {
		m.Steps[i].Detail = r.Redact(m.Steps[i].Detail)
	}
	for i := range m.LeftForHuman {
		m.LeftForHuman[i] = r.Redact(m.LeftForHuman[i])
	}
	return m
}

// notify sends the message to every notifier. A failure is recorded (the step fails, naming the
// channel, in the result, the journal and the audit log) and never changes the rotation's
// outcome; each channel retries on its own.
func (x *run) notify(ctx context.Context, outcome journal.Outcome, summary string) {
	started := x.d.now()
	if len(x.d.Notifiers) == 0 {
		detail := "no notifier configured"
		if outcome == journal.OutcomeCanary {
			detail = "no notifier configured: the canary alert was not sent"
			x.res.Warnings = append(x.res.Warnings, detail)
		}
		x.report(StepResult{Step: playbooks.StepNotify, Outcome: journal.OutcomeSkipped, Started: started, Detail: detail})
		return
	}
	m := x.message(outcome, summary)
	nctx := ctx
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		nctx, cancel = x.cleanupCtx(ctx)
		defer cancel()
	}
	var failed, sent []string
	var jerr error
	for _, n := range x.d.Notifiers {
		err := n.Notify(nctx, m)
		rec := journal.Record{Kind: journal.KindResult, Step: string(playbooks.StepNotify), Action: "notify:" + n.Name(), Outcome: journal.OutcomeDone}
		if err != nil {
			msg := x.red.Redact("notification channel " + n.Name() + " failed: " + err.Error())
			failed = append(failed, msg)
			rec.Outcome, rec.Error = journal.OutcomeFailed, msg
		} else {
			sent = append(sent, n.Name())
		}
		// a record that cannot be written ends the run partial (record); every channel still
		// gets the message
		if err := x.record(rec); err != nil {
			jerr = err
		}
	}
	sr := StepResult{Step: playbooks.StepNotify, Outcome: journal.OutcomeDone, Started: started, Duration: x.d.now().Sub(started),
		Detail: "sent (" + string(m.Outcome) + ") to " + strings.Join(sent, ", ")}
	if len(failed) > 0 {
		sr.Outcome = journal.OutcomeFailed
		sr.Detail = strings.Join(failed, "; ") + " (not fatal: the rotation's outcome is unchanged)"
		if len(sent) > 0 {
			sr.Detail += "; sent to " + strings.Join(sent, ", ")
		}
		x.res.Warnings = append(x.res.Warnings, sr.Detail)
	}
	if jerr != nil {
		sr.Detail += "; " + jerr.Error()
	}
	x.report(sr)
}
