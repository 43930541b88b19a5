package serve

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate"
	"github.com/respond-dev/respond/rotate/journal"
	"github.com/respond-dev/respond/rotate/source"
)

// Outcomes of an entry besides the engine's (journal.Outcome).
const (
	OutcomeIgnored = "ignored" // nothing to do: the alert is closed, not Alibaba's, names no key
	OutcomeInvalid = "invalid" // the configuration or a playbook does not allow it
	OutcomeGaveUp  = "gave-up" // tried MaxAttempts times: left to a human
)

// worker takes entries until ctx ends and runs them with work (interrupted only at the end of
// the shutdown's grace).
func (s *Server) worker(ctx, work context.Context) {
	for {
		es := s.q.take(ctx, s.opts.MaxBatch, s.opts.Gather, s.opts.Now)
		if es == nil {
			return
		}
		s.process(work, es)
	}
}

// job is one finding of a batch and the entries it answers for.
type job struct {
	e       *Entry
	finding detect.Finding
}

// process runs one batch: reads what the entries need (a GitHub alert), runs the findings
// through the engine, closes the remediated keys' alerts, and records what happened.
func (s *Server) process(ctx context.Context, es []*Entry) {
	var jobs []job
	for _, e := range es {
		if e.Stage == StageClose && e.GitHub != nil {
			s.closeAlert(ctx, e, nil)
			continue
		}
		e.Stage = StageRemediate // (Security Center's records are closed by the engine's close step)
		f, ok := s.materialize(ctx, e)
		if !ok {
			continue
		}
		if !s.q.claimKey(e, f.KeyID.String()) {
			// Another batch has this key (two deliveries of one alert): after it, this one finds
			// the key remediated.
			e.KeyID = f.KeyID.String()
			e.NextTry = s.opts.Now().Add(time.Second)
			s.requeue(e, false, "key busy")
			continue
		}
		e.KeyID = f.KeyID.String()
		if s.remediatedBefore(ctx, e, f) {
			continue
		}
		jobs = append(jobs, job{e: e, finding: f})
	}
	if len(jobs) == 0 {
		return
	}
	findings := make([]source.Finding, len(jobs))
	var secrets []accesskey.Secret
	for i, j := range jobs {
		findings[i] = source.Finding{Finding: j.finding, Records: j.e.Records}
		secrets = append(secrets, j.finding.Secret)
	}
	red := accesskey.NewRedactor(secrets...)
	items, err := s.opts.Runner.Run(ctx, findings, red)
	if err != nil || len(items) != len(jobs) {
		// The batch stopped before anything changed (the state directory, the audit log, a
		// channel could not be opened; interrupted while planning): every entry waits for
		// another try.
		if err == nil {
			err = fmt.Errorf("the engine answered %d items for %d findings", len(items), len(jobs))
		}
		msg := accesskey.Printable(red.Redact(err.Error()))
		s.log.Error("batch failed before it started", "findings", len(jobs), "error", msg)
		for _, j := range jobs {
			j.e.Error = msg
			s.retry(j.e, "batch")
		}
		return
	}
	for i, j := range jobs {
		s.settle(ctx, j.e, items[i], red)
	}
}

// materialize turns an entry into its finding: the spooled one, or the GitHub alert read now.
// false when the entry was settled or put back instead.
func (s *Server) materialize(ctx context.Context, e *Entry) (detect.Finding, bool) {
	if e.Finding != nil {
		f, err := e.Finding.Detect()
		if err != nil {
			e.Error = err.Error()
			s.finish(e, OutcomeInvalid, nil)
			return f, false
		}
		return f, true
	}
	if e.GitHub == nil || s.opts.GitHub == nil {
		e.Error = "the entry holds no finding and no alert respond can read"
		s.finish(e, OutcomeInvalid, nil)
		return detect.Finding{}, false
	}
	af, err := s.opts.GitHub.AlertFinding(ctx, *e.GitHub)
	if err != nil {
		e.Error = accesskey.Printable(err.Error()) // it can name a file of the repository
	}
	var ae *source.APIError
	switch {
	case errors.As(err, &ae) && ae.Temporary(), err != nil && ctx.Err() != nil:
		if ae != nil && ae.RetryAfter > 0 {
			e.NextTry = s.opts.Now().Add(ae.RetryAfter)
		}
		s.retry(e, "github")
		return detect.Finding{}, false
	case errors.Is(err, source.ErrNotAlibaba), errors.Is(err, source.ErrNoKey), errors.Is(err, source.ErrBadRef):
		s.finish(e, OutcomeIgnored, nil)
		return detect.Finding{}, false
	case err != nil:
		s.retry(e, "github")
		return detect.Finding{}, false
	case af.Alert.State != "open":
		e.Error = accesskey.Printable(fmt.Sprintf("the alert is %s (resolution %s): nothing to do", af.Alert.State, af.Alert.Resolution))
		s.finish(e, OutcomeIgnored, nil)
		return detect.Finding{}, false
	}
	return af.Finding, true
}

// remediatedBefore ends an entry whose key an earlier run remediated, with nothing left for the
// engine to do (Options.Remediated: the engine's rule), once the cloud confirms the key is gone
// from its owner: already-remediated, and its alert closed.
func (s *Server) remediatedBefore(ctx context.Context, e *Entry, f detect.Finding) bool {
	if s.opts.Remediated == nil || len(e.Records) > 0 {
		// (Security Center's records are closed by the engine, journaled under the key's lock.)
		return false
	}
	st, gone, err := s.opts.Remediated(ctx, f)
	if err != nil || !gone {
		return false
	}
	e.Outcome, e.RunID, e.Error = string(journal.OutcomeAlreadyRemediated), e.ID, ""
	e.Closed = "key " + e.KeyID + " was already deleted (respond remediated it"
	if len(st.NewKeys) > 0 {
		e.Closed += "; replacement " + st.NewKeys[len(st.NewKeys)-1].ID
	}
	e.Closed += ")"
	e.Stage = StageClose
	s.closeAlert(ctx, e, nil)
	return true
}

// settle records how a finding's run ended: done (and its alert closed), or tried again later.
func (s *Server) settle(ctx context.Context, e *Entry, it *rotate.Item, red *accesskey.Redactor) {
	outcome, retry := itemOutcome(it)
	e.Outcome, e.Error = outcome, ""
	if it.Result != nil {
		e.RunID = it.Result.RunID
		e.Error = it.Result.Error
	}
	if it.Err != nil {
		e.Error = rotate.Redacted(red, it.Err).Error()
	}
	e.Error = accesskey.Printable(red.Redact(e.Error))
	if retry {
		s.retry(e, outcome)
		return
	}
	switch journal.Outcome(outcome) {
	case journal.OutcomeRemediated, journal.OutcomeAlreadyRemediated:
		if len(e.Records) == 0 {
			s.closeAlert(ctx, e, it)
		} else if s.recordsClosed(e, it) {
			s.finish(e, outcome, it)
		} else {
			s.retry(e, "close") // the next run finds the key remediated and closes what is left
		}
		return
	}
	s.finish(e, outcome, it)
}

// recordsClosed reads what the engine's close step did to the entry's Security Center records:
// false when one was left open (its error in the entry).
func (s *Server) recordsClosed(e *Entry, it *rotate.Item) bool {
	if it.Result == nil {
		return false
	}
	closed := 0
	for _, a := range it.Result.Alerts {
		s.Metrics.Inc("respond_alerts_closed_total", "source", source.SecurityCenterName, "result", a.Outcome)
		switch a.Outcome {
		case rotate.AlertClosed, rotate.AlertAlreadyClosed:
			closed++
		default:
			e.Error = accesskey.Printable("close: " + a.Alert + " " + a.Outcome + ": " + a.Error)
		}
	}
	if closed < len(it.Result.Alerts) || len(it.Result.Alerts) == 0 {
		if e.Error == "" {
			e.Error = "the close step did not run"
		}
		return false
	}
	e.Closed = fmt.Sprintf("Security Center: %d record(s) marked handled: %s", closed, doneText(e, it))
	return true
}

// itemOutcome is an item's outcome and whether the entry should be tried again (a partial run,
// an interruption, another process holding the key, a plan that was never carried out).
func itemOutcome(it *rotate.Item) (string, bool) {
	if it.Result == nil && it.Err == nil {
		return string(journal.OutcomePartial), true
	}
	retry := it.Severity() == rotate.SeverityPartial
	if it.Result != nil && it.Result.Outcome != "" {
		return string(it.Result.Outcome), retry
	}
	switch rotate.SeverityOf(it.Err) {
	case rotate.SeverityInvalid:
		return OutcomeInvalid, false
	case rotate.SeverityNotFound:
		return string(journal.OutcomeNotFound), false
	case rotate.SeverityRefused:
		return string(journal.OutcomeRefused), false
	case rotate.SeverityPartial:
		return string(journal.OutcomePartial), true
	}
	return string(journal.OutcomeFailed), retry
}

// doneText says what was done to the key, for the alert's comment.
func doneText(e *Entry, it *rotate.Item) string {
	if it == nil || it.Result == nil {
		return "key " + e.KeyID + " remediated"
	}
	r := it.Result
	if r.Outcome == journal.OutcomeAlreadyRemediated {
		return "key " + r.KeyID.String() + " was already deleted"
	}
	s := "key " + r.KeyID.String() + " deleted and purged"
	if r.NewKeyID != "" {
		s += "; replacement " + r.NewKeyID + " stored"
	}
	return s
}

// closeAlert closes the GitHub alert of a remediated key (resolved as revoked), then finishes the
// entry; a failure to close tries again later without running the rotation again. (A Security
// Center record is closed by the engine's close step: recordsClosed.)
func (s *Server) closeAlert(ctx context.Context, e *Entry, it *rotate.Item) {
	if e.Stage != StageClose {
		e.Stage, e.Attempts, e.Closed = StageClose, 0, doneText(e, it)
	}
	var err error
	switch {
	case e.GitHub != nil && s.opts.GitHub != nil:
		var out source.ResolveOutcome
		out, err = s.opts.GitHub.Resolve(ctx, *e.GitHub, e.RunID, e.Closed)
		if err == nil {
			s.Metrics.Inc("respond_alerts_closed_total", "source", SourceGitHub, "result", string(out))
			e.Closed = "GitHub " + e.GitHub.String() + " " + string(out) + " as revoked: " + e.Closed
		}
	default:
		e.Closed = ""
	}
	if err != nil {
		s.Metrics.Inc("respond_alerts_closed_total", "source", e.Source, "result", "failed")
		e.Error = "close the alert: " + accesskey.Printable(err.Error())
		var ae *source.APIError
		if errors.As(err, &ae) && ae.RetryAfter > 0 {
			e.NextTry = s.opts.Now().Add(ae.RetryAfter)
		}
		s.retry(e, "close")
		return
	}
	outcome := e.Outcome
	if outcome == "" {
		outcome = string(journal.OutcomeRemediated)
	}
	s.finish(e, outcome, nil)
}

// retry puts an entry back for a later try (backoff doubling from Options.Retry, at most an
// hour), or gives up after MaxAttempts.
func (s *Server) retry(e *Entry, reason string) {
	e.Attempts++
	if e.Attempts >= s.opts.MaxAttempts {
		e.Error = fmt.Sprintf("gave up after %d attempts: %s", e.Attempts, e.Error)
		if id, err := accesskey.ParseID(e.KeyID); err == nil {
			e.Error += "; resume by hand with: " + rotate.ResumeCommandFor(s.opts.ResumeCommand, id)
		}
		s.log.Error("finding left to a human", "id", e.ID, "key", e.KeyID, "error", e.Error)
		s.finish(e, OutcomeGaveUp, nil)
		return
	}
	if e.NextTry.Before(s.opts.Now()) || e.NextTry.IsZero() {
		wait := s.opts.Retry << min(e.Attempts-1, 20)
		e.NextTry = s.opts.Now().Add(min(wait, time.Hour))
	}
	s.requeue(e, true, reason)
}

// requeue writes the entry's new state and puts it back in the queue.
func (s *Server) requeue(e *Entry, count bool, reason string) {
	if count {
		s.Metrics.Inc("respond_retries_total", "reason", reason)
	}
	if err := s.spool.Update(e); err != nil {
		s.log.Error("spool update failed", "id", e.ID, "error", err.Error())
	}
	s.q.release(e)
	s.q.push(e)
}

// finish records the entry as done and forgets it; it is the engine's item when the engine
// settled it (nil otherwise). The Security Center records it carries are closed or left pending
// first (recordsEnded): a crash before the done record runs the finding again, which says so
// again.
func (s *Server) finish(e *Entry, outcome string, it *rotate.Item) {
	e.Outcome, e.Finished, e.NextTry = outcome, s.opts.Now(), time.Time{}
	s.recordsEnded(e, it)
	s.Metrics.Inc("respond_rotations_total", "outcome", outcome)
	s.q.release(e) // first: once the done record is read, the queue no longer counts it
	if err := s.spool.Finish(e); err != nil {
		s.log.Error("spool finish failed", "id", e.ID, "error", err.Error())
	}
	s.log.Info("finding ended", "id", e.ID, "source", e.Source, "key", e.KeyID, "outcome", outcome, "run", e.RunID)
}
