package emulator

// Injected faults and pauses (README "Faults").

import (
	"context"
	"sync"
	"time"
)

// FaultKind selects what an injected fault does.
type FaultKind int

const (
	// FaultThrottle answers Throttling.User 400 (Rejected.Throttling 429 for KMS), with x-acs-retry-after when RetryAfter > 0.
	FaultThrottle FaultKind = iota + 1
	// FaultServerErrorBefore answers 500 InternalError (or 503 ServiceUnavailable) without changing state.
	FaultServerErrorBefore
	// FaultServerErrorAfter performs the action (state changes), then answers 500/503.
	FaultServerErrorAfter
	// FaultDropBefore closes the connection without an answer and without changing state.
	FaultDropBefore
	// FaultDropAfter performs the action, then closes the connection without an answer.
	FaultDropAfter
	// FaultLatency delays the answer by Delay, then serves the call normally.
	FaultLatency
	// FaultGarbage answers a non-JSON body with Status (default 200; 502 gives an SDK ServerError with an empty Code).
	FaultGarbage
	// FaultEmptyAnswer answers 200 with the JSON body {} (no RequestId, no fields): a proxy or a
	// broken gateway whose answer parses, and whose empty lists must not read as the cloud's.
	FaultEmptyAnswer
)

// Fault is an injected failure. Faults are checked after authentication, for authenticated calls only.
type Fault struct {
	Action, Version string // "" = any
	UserName, KeyID string // optional match on the request's UserName / UserAccessKeyId parameters
	Region          string // optional match on the request's RegionId (e.g. one ActionTrail region failing)
	Kind            FaultKind
	Nth             int     // fire on the Nth matching call only (1-based); 0 = every matching call
	Count           int     // fire at most Count times; 0 = unlimited
	Probability     float64 // 0 = always (when Nth/Count allow), else fire with this probability (seeded)
	Delay           time.Duration
	RetryAfter      time.Duration
	Status          int
}

type faultState struct {
	f           Fault
	seen, fired int
}

type firedFault struct {
	kind       FaultKind
	delay      time.Duration
	retryAfter time.Duration
	status     int
}

// AddFault installs a fault; the returned func removes it.
func (s *Server) AddFault(f Fault) (remove func()) {
	fs := &faultState{f: f}
	s.cfgMu.Lock()
	s.faults = append(s.faults, fs)
	s.nFaults.Store(int32(len(s.faults)))
	s.cfgMu.Unlock()
	return func() {
		s.cfgMu.Lock()
		defer s.cfgMu.Unlock()
		for i, x := range s.faults {
			if x == fs {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
				s.nFaults.Store(int32(len(s.faults)))
				return
			}
		}
	}
}

func (s *Server) matchFaults(c *call) firedFault {
	var out firedFault
	if s.nFaults.Load() == 0 {
		return out
	}
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	for _, fs := range s.faults {
		f := fs.f
		if (f.Action != "" && f.Action != c.action) || (f.Version != "" && f.Version != c.version) ||
			(f.UserName != "" && f.UserName != c.p("UserName")) || (f.KeyID != "" && f.KeyID != c.p("UserAccessKeyId")) ||
			(f.Region != "" && f.Region != c.p("RegionId")) {
			continue
		}
		fs.seen++
		if f.Nth > 0 && fs.seen != f.Nth {
			continue
		}
		if f.Count > 0 && fs.fired >= f.Count {
			continue
		}
		if f.Probability > 0 && s.faultRand.Float64() >= f.Probability {
			continue
		}
		if f.Kind == FaultLatency {
			fs.fired++
			out.delay += f.Delay
			continue
		}
		if out.kind != 0 {
			continue // one terminal fault per call; later ones keep counting
		}
		fs.fired++
		out.kind, out.retryAfter, out.status = f.Kind, f.RetryAfter, f.Status
	}
	return out
}

// Pause blocks the next call of an action until Release.
type Pause struct {
	Reached <-chan struct{} // closed when the paused call arrives

	reached chan struct{}
	release chan struct{}
	once    sync.Once
}

// Release lets the paused call continue (or the next one through, if it has not arrived yet).
func (p *Pause) Release() { p.once.Do(func() { close(p.release) }) }

// PauseAt makes the next authenticated call of action block (after authentication and faults'
// latency, before any state change) until the Pause is released or the server closes.
func (s *Server) PauseAt(action string) *Pause {
	ch := make(chan struct{})
	p := &Pause{Reached: ch, reached: ch, release: make(chan struct{})}
	s.cfgMu.Lock()
	s.pauses[action] = append(s.pauses[action], p)
	s.nPauses.Add(1)
	s.cfgMu.Unlock()
	return p
}

func (s *Server) waitPause(ctx context.Context, action string) bool {
	if s.nPauses.Load() == 0 {
		return true
	}
	s.cfgMu.Lock()
	q := s.pauses[action]
	if len(q) == 0 {
		s.cfgMu.Unlock()
		return true
	}
	p := q[0]
	s.pauses[action] = q[1:]
	s.nPauses.Add(-1)
	s.cfgMu.Unlock()
	close(p.reached)
	select {
	case <-p.release:
		return true
	case <-ctx.Done():
		return false
	case <-s.closed:
		return false
	}
}
