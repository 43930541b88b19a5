package emulator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Setup describes a served emulator in plain values (the flags of `respond sandbox serve`):
// which organisation, and the latency, rate limit and faults it serves with. The zero value is
// the demo organisation with no latency, no rate limit, no faults, no skew.
type Setup struct {
	// OrgFile is a seed organisation (YAML); else Users/Accounts generate one; else the demo.
	OrgFile         string
	Users, Accounts int
	Seed            int64

	Latency          time.Duration
	QPS              float64 // per signing AccessKeyId; 0 is no limit
	ThrottleRate     float64 // probability that a call is throttled
	ErrorRate        float64 // probability of a 5xx before any change
	DropRate         float64 // probability of a dropped connection before any change
	GarbageRate      float64 // probability of a non-JSON answer
	PropagationDelay time.Duration
	ClockSkew        time.Duration
	// PauseAt holds the first call of this action (e.g. CreateAccessKey) for PauseFor.
	PauseAt  string
	PauseFor time.Duration
	// SourceIPHeader honours the test-only header X-Emulator-Source-Ip (WithSourceIPHeader).
	SourceIPHeader bool
	// ActionTrailLag is how long an event takes to show in LookupEvents (the cloud: about 10
	// minutes); 0 keeps the organisation's own (actiontrail.lag, else none).
	ActionTrailLag time.Duration
}

// Check reports the values that cannot be served: an organisation both from a file and
// generated, a probability outside [0, 1].
func (c Setup) Check() error {
	var errs []error
	if c.OrgFile != "" && (c.Users > 0 || c.Accounts > 0) {
		errs = append(errs, errors.New("an organisation from a seed file and a generated one are exclusive"))
	}
	for _, r := range []struct {
		name string
		p    float64
	}{{"throttle rate", c.ThrottleRate}, {"error rate", c.ErrorRate}, {"drop rate", c.DropRate}, {"garbage rate", c.GarbageRate}} {
		if !(r.p >= 0 && r.p <= 1) { // NaN too
			errs = append(errs, fmt.Errorf("the %s is a probability between 0 and 1, not %v", r.name, r.p))
		}
	}
	if c.ActionTrailLag < 0 {
		errs = append(errs, fmt.Errorf("the ActionTrail lag (--actiontrail-lag) must not be negative, not %s", c.ActionTrailLag))
	}
	return errors.Join(errs...)
}

// Org is the setup's organisation: the seed file, a generated one, or the demo.
func (c Setup) Org() (*Org, error) {
	switch {
	case c.OrgFile != "":
		return LoadOrg(c.OrgFile)
	case c.Users > 0 || c.Accounts > 0:
		return GenerateOrg(GenSpec{Accounts: max(c.Accounts, 1), UsersPerAccount: max(c.Users, 1), Seed: c.Seed}), nil
	}
	return DemoOrg(), nil
}

// NewServer checks the setup and builds an unstarted emulator of its organisation with its
// latency, rate limit, propagation delay, skew, faults and pause (call Listen, then Close).
func (c Setup) NewServer() (*Server, *Org, error) {
	if err := c.Check(); err != nil {
		return nil, nil, err
	}
	org, err := c.Org()
	if err != nil {
		return nil, nil, err
	}
	opts := []Option{WithLatency(max(c.Latency, 0)), WithRateLimit(c.QPS), WithPropagationDelay(max(c.PropagationDelay, 0))}
	if c.SourceIPHeader {
		opts = append(opts, WithSourceIPHeader())
	}
	if c.ActionTrailLag > 0 {
		opts = append(opts, WithActionTrailLag(c.ActionTrailLag))
	}
	s := NewUnstartedServer(org, opts...)
	s.SetClockSkew(c.ClockSkew)
	for _, f := range []struct {
		p    float64
		kind FaultKind
	}{{c.ThrottleRate, FaultThrottle}, {c.ErrorRate, FaultServerErrorBefore}, {c.DropRate, FaultDropBefore}, {c.GarbageRate, FaultGarbage}} {
		if f.p > 0 {
			s.AddFault(Fault{Kind: f.kind, Probability: f.p})
		}
	}
	if c.PauseAt != "" {
		p := s.PauseAt(c.PauseAt)
		go func() {
			select {
			case <-p.Reached:
				s.sleep(context.Background(), c.PauseFor)
				p.Release()
			case <-s.closed:
			}
		}()
	}
	return s, org, nil
}

// Serve builds the setup's emulator, listens on addr, writes to vars the variables that point a
// client at it, one per line (ALIBABA_CLOUD_ACCESS_KEY_ID and _SECRET: the administrator's, sandbox
// values that open nothing else; RESPOND_ENDPOINT), tells ready, and serves until ctx ends. A bad
// setup or address is an error before anything is written.
func (c Setup) Serve(ctx context.Context, addr string, vars io.Writer, ready func(endpoint string, accounts int)) error {
	s, org, err := c.NewServer()
	if err != nil {
		return err
	}
	if err := s.Listen(addr); err != nil {
		return err
	}
	defer s.Close()
	admin := org.Admin()
	fmt.Fprintf(vars, "ALIBABA_CLOUD_ACCESS_KEY_ID=%s\nALIBABA_CLOUD_ACCESS_KEY_SECRET=%s\nRESPOND_ENDPOINT=%s\n",
		admin.AccessKeyID, admin.AccessKeySecret, s.Endpoint())
	if f, ok := vars.(interface{ Sync() error }); ok {
		_ = f.Sync()
	}
	ready(s.Endpoint(), len(org.Accounts))
	<-ctx.Done()
	return nil
}
