package serve

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate"
	"github.com/respond-dev/respond/rotate/source"
)

// postGitHub: POST /v1/github — a secret_scanning_alert delivery. The signature is checked
// against the raw body before anything reads it (401); a redelivery (the same X-GitHub-Delivery)
// is answered as before and not run again. The alert itself is read through the API by the
// worker (the payload leaves the secret out).
func (s *Server) postGitHub(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	src := SourceGitHub
	if s.opts.GitHub == nil || s.opts.WebhookSecret.IsZero() {
		s.refuse(w, src, "not_configured", http.StatusNotFound, "GitHub webhooks are not configured (serve.github)")
		return
	}
	if !s.admit(w, src) {
		return
	}
	body, ok := s.readBody(w, r, src)
	if !ok {
		return
	}
	if err := source.VerifySignature(s.opts.WebhookSecret, body, r.Header.Get("X-Hub-Signature-256")); err != nil {
		s.refuse(w, src, "bad_signature", http.StatusUnauthorized, err.Error())
		return
	}
	switch ev := r.Header.Get("X-GitHub-Event"); ev {
	case "ping":
		writeJSON(w, http.StatusOK, map[string]string{"status": "pong"})
		return
	case "secret_scanning_alert", "":
	default:
		writeJSON(w, http.StatusOK, map[string]string{"status": "ignored: event " + accesskey.Printable(ev)})
		return
	}
	hook, err := source.ParseWebhook(body)
	if err != nil {
		s.refuse(w, src, "invalid", http.StatusBadRequest, err.Error())
		return
	}
	if !hook.Actionable() {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ignored: respond acts on Alibaba Cloud alerts created, reopened or publicly leaked"})
		return
	}
	if !s.roomFor(w, src, 1) {
		return
	}
	delivery := r.Header.Get("X-GitHub-Delivery")
	if delivery == "" {
		sum := sha256.Sum256(body) // a redelivery of the same body is the same delivery
		delivery = "body-" + hex.EncodeToString(sum[:])
	}
	now := s.opts.Now()
	ref := hook.Alert
	e := &Entry{ID: DeliveryID(delivery), Received: now, Source: src, GitHub: &ref}
	switch err := s.spool.Add(e); {
	case errors.Is(err, ErrDuplicate):
		s.Metrics.Inc("respond_requests_rejected_total", "source", src, "reason", "duplicate")
		writeJSON(w, http.StatusOK, Accepted{Findings: []AcceptedFinding{{ID: e.ID, Duplicate: true}}})
		return
	case err != nil:
		s.log.Error("spool write failed", "error", err.Error())
		s.refuse(w, src, "spool", http.StatusServiceUnavailable, "the state directory failed; redeliver")
		return
	}
	s.q.push(e)
	s.Metrics.Inc("respond_findings_received_total", "source", src)
	s.Metrics.observeAccept(time.Since(start))
	writeJSON(w, http.StatusAccepted, Accepted{Findings: []AcceptedFinding{{ID: e.ID}}})
}

// gitlabTypes: GET /v1/revocable_token_types.
func (s *Server) gitlabTypes(w http.ResponseWriter, r *http.Request) {
	if !s.gitlabAuthorized(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, map[string][]string{"types": source.GitLabTokenTypes()})
}

func (s *Server) gitlabAuthorized(w http.ResponseWriter, r *http.Request) bool {
	if s.opts.GitLabToken.IsZero() {
		s.refuse(w, SourceGitLab, "not_configured", http.StatusNotFound, "the GitLab token-revocation API is not configured (serve.gitlab)")
		return false
	}
	if !authorized(r, s.opts.GitLabToken, true) {
		s.refuse(w, SourceGitLab, "unauthorized", http.StatusUnauthorized, "missing or wrong token")
		return false
	}
	return true
}

// gitlabRevoke: POST /v1/revoke_tokens — 204 once every token is on disk for revocation, 400
// for a body or type respond does not take (GitLab does not retry those), 429 to come back.
func (s *Server) gitlabRevoke(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	src := SourceGitLab
	if !s.gitlabAuthorized(w, r) || !s.admit(w, src) {
		return
	}
	body, ok := s.readBody(w, r, src)
	if !ok {
		return
	}
	findings, err := source.ParseRevokeTokens(r.Context(), body)
	if err != nil {
		s.refuse(w, src, "invalid", http.StatusBadRequest, err.Error())
		return
	}
	if !s.roomFor(w, src, len(findings)) {
		return
	}
	if _, err := s.accept(src, findings); err != nil {
		s.log.Error("spool write failed", "error", err.Error())
		s.refuse(w, src, "spool", http.StatusInternalServerError, "the state directory failed; retry")
		return
	}
	s.Metrics.observeAccept(time.Since(start))
	w.WriteHeader(http.StatusNoContent)
}

// pollSecurityCenter lists Security Center's pending records every serve.security-center.poll
// and accepts a finding per key (a key already pending is not added twice); a root-account key's
// records go straight to the list of records left pending (respond refuses root keys).
func (s *Server) pollSecurityCenter(ctx context.Context) {
	every := s.conf.SecurityCenter.Poll
	for {
		s.pollOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

func (s *Server) pollOnce(ctx context.Context) {
	src := source.SecurityCenterName
	polled, err := s.opts.SecurityCenter.Poll(ctx)
	if err != nil {
		s.log.Error("Security Center poll failed", "error", accesskey.Printable(err.Error()))
		s.Metrics.Inc("respond_requests_rejected_total", "source", src, "reason", "poll_failed")
		return
	}
	for _, w := range polled.Warnings {
		s.log.Warn("Security Center poll", "warning", accesskey.Printable(w))
	}
	now := s.opts.Now()
	var es []*Entry
	var roots []source.Pending
	unseen := 0 // records of a key already queued that its entries do not carry
	for _, f := range polled.Findings {
		if f.Root() {
			// respond refuses root keys: their records are left pending, as the CLI leaves them
			for _, r := range f.Records {
				roots = append(roots, source.Pending{Record: r, Reason: rotate.RootRecordReason})
			}
			continue
		}
		if queued, recs := s.q.keyRecords(f.KeyID.String()); queued {
			// its records end with the entry that has the key; one that entry does not carry is
			// read again by the next poll (this one is not remembered), once the entry is done
			for _, r := range f.Records {
				if !slices.ContainsFunc(recs, func(q source.Record) bool { return q.AccountID == r.AccountID && q.ID == r.ID }) {
					unseen++
				}
			}
			continue
		}
		es = append(es, &Entry{ID: NewID("sc", now), Received: now, Source: src, Finding: spoolFinding(f.Finding), Records: f.Records, KeyID: f.KeyID.String()})
	}
	if err := s.spool.Append(es); err != nil {
		s.log.Error("spool write failed", "error", err.Error())
		return
	}
	s.q.push(es...)
	s.Metrics.Add("respond_findings_received_total", float64(len(es)), "source", src)
	if !s.leavePending(roots, nil) {
		return // the poll is not remembered: the next one reads the root keys' records again
	}
	if unseen > 0 {
		// as the CLI's poll is not remembered while a rotation of it has not ended (Finish)
		s.log.Info("Security Center poll not remembered: new records of keys still being answered are read again by the next poll", "records", unseen)
		return
	}
	if polled.Done != nil {
		if err := polled.Done(); err != nil {
			s.log.Error("Security Center poll state not saved", "error", accesskey.Printable(err.Error()))
		}
	}
}

// recordsEnded keeps the list of the Security Center records respond left pending (in the state
// directory; respond status shows it) as an entry that carries records ends, with the meaning
// the CLI's --from security-center gives it: the records the engine's close step marked handled
// leave the list, the others stay on it with why and the run. it is the engine's item, when the
// engine settled the entry; otherwise (an entry that was invalid or given up) the entry's error
// says why.
func (s *Server) recordsEnded(e *Entry, it *rotate.Item) {
	if len(e.Records) == 0 {
		return
	}
	var left []source.Pending
	var closed []source.Record
	if it != nil {
		left, closed = rotate.RecordsEnded(it, e.Records)
	} else {
		why := accesskey.OneLine("respond serve ended the finding (" + e.Outcome + "): " + e.Error)
		for _, r := range e.Records {
			left = append(left, source.Pending{Record: r, Reason: why, RunID: e.RunID})
		}
	}
	s.leavePending(left, closed)
}

// leavePending updates the list of records left pending (source.UpdatePending: atomic, but a
// read then a write, so one update at a time); false when it could not be written.
func (s *Server) leavePending(left []source.Pending, closed []source.Record) bool {
	if len(left) == 0 && len(closed) == 0 {
		return true
	}
	s.leftMu.Lock()
	defer s.leftMu.Unlock()
	// Not the server's context: a finding that ends while serve shuts down is still recorded
	// (UpdatePending bounds its wait for the lock).
	if _, err := source.UpdatePending(context.Background(), s.opts.StateDir, left, closed, s.opts.Now()); err != nil {
		s.log.Error("Security Center records left pending not saved", "error", accesskey.Printable(err.Error()))
		return false
	}
	return true
}
