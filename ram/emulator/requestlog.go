package emulator

// The request log and the protocol violations (README "Observation").

import (
	"fmt"
	"time"
)

// Request is one served call as the request log records it: never a secret, never a raw URL.
type Request struct {
	Time        time.Time
	Version     string
	Action      string
	AccessKeyID string // the signing key id
	UserAgent   string
	RequestID   string
	Code        string // error code, "" on success
	Status      int
	Params      map[string]string // merged parameters; Signature, SecretData, SecurityToken, AccessKeySecret redacted
}

// logEntry is a Request as stored: the parameters, already redacted, packed into one string
// (packParams) that becomes a map only when RequestLog is read.
type logEntry struct {
	time                                  time.Time
	version, action, keyID, ua, rid, code string
	status                                int
	packed                                string
	body                                  int
}

func (e *logEntry) request() Request {
	return Request{Time: e.time, Version: e.version, Action: e.action, AccessKeyID: e.keyID, UserAgent: e.ua,
		RequestID: e.rid, Code: e.code, Status: e.status, Params: unpackParams(e.packed, e.body).merged()}
}

// RequestLog returns a copy of the request log.
func (s *Server) RequestLog() []Request {
	if s.kmsPending.Load() > 0 { // a due rotation phase's RAM calls belong in the log
		now := s.now()
		s.mu.Lock()
		s.advanceKMS(now)
		s.mu.Unlock()
	}
	s.logMu.Lock()
	log := s.log[:len(s.log):len(s.log)] // entries are never modified once appended
	s.logMu.Unlock()
	out := make([]Request, len(log))
	for i := range log {
		out[i] = log[i].request()
	}
	return out
}

// Violations returns the protocol violations seen so far (unknown action, missing or invalid
// parameter, bad signature, replayed nonce...): what a correct client never sends.
func (s *Server) Violations() []string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return append([]string(nil), s.violations...)
}

// redacted reports the parameters whose values the request log and ActionTrail never keep.
func redacted(name string) bool {
	switch name {
	case "Signature", "SecretData", "SecurityToken", "AccessKeySecret", "Password", "NewPassword", "OldPassword":
		return true
	}
	return false
}

func (s *Server) record(c *call, status int, code string) {
	c.scratch.buf = packParams(c.scratch.buf[:0], c.params)
	e := logEntry{time: c.now, version: c.version, action: c.action, keyID: c.p("AccessKeyId"),
		ua: c.r.UserAgent(), rid: c.rid, code: code, status: status, packed: string(c.scratch.buf), body: c.params.body}
	s.logMu.Lock()
	if len(s.log) >= s.logLimit {
		// Drop the oldest half into a fresh array: RequestLog callers may still hold the old one.
		s.log = append(make([]logEntry, 0, s.logLimit), s.log[len(s.log)/2:]...)
	}
	s.log = append(s.log, e)
	s.logMu.Unlock()
}

func (s *Server) violation(c *call, e *apiError) {
	v := fmt.Sprintf("%s %s/%s key=%s: %s", e.Code, c.version, c.action, c.p("AccessKeyId"), e.Message)
	s.logMu.Lock()
	s.violations = append(s.violations, v)
	s.logMu.Unlock()
}
