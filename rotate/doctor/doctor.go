// Package doctor checks, on a quiet day, that respond can act when a key leaks (respond doctor):
// every account it would act in signs in and holds each permission the playbooks that may answer
// its keys need, every sink and notification channel works, and the state directory is sound.
// It changes nothing: permissions are learnt from harmless probes (ram.Client.Probe), a file
// sink's directory from a probe file written and removed, a channel from a connection that sends
// no request (a message only with SendTest).
//
// The checks are data: Run returns a Report, one Check per account and component, each ok,
// missing, error, unknown or not-checked, with the exact permission or fix.
package doctor

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/rotate"
)

// Schema names the JSON form of a Report.
const Schema = "respond.doctor/v1"

// Status is a check's outcome.
type Status string

// Statuses.
const (
	StatusOK      Status = "ok"
	StatusMissing Status = "missing" // a permission (or a secret, a directory) is not there
	StatusError   Status = "error"   // the check failed (cannot sign in, unreachable, unsafe)
	// StatusUnknown: the answer says neither yes nor no.
	StatusUnknown Status = "unknown"
	// StatusNotChecked: the check was not made, and Detail says why (no harmless probe exists,
	// the endpoint does not know the action, --send-test not given).
	StatusNotChecked Status = "not-checked"
)

// Component kinds.
const (
	KindAccount   = "account"
	KindDirectory = "resource-directory"
	KindSink      = "sink"
	KindNotify    = "notify"
	KindState     = "state"
	KindServe     = "serve"
)

// Check is one thing respond needs, and whether it is there.
type Check struct {
	// Kind is KindAccount, KindSink…; Component names the instance ("account prod (123…)").
	Kind      string `json:"kind"`
	Component string `json:"component"`
	// Item is what is checked: a permission (ram:DeleteAccessKey), "sign in", "directory"…
	Item   string `json:"item"`
	Status Status `json:"status"`
	// Required: a configured playbook needs it. A check that is not required (ActionTrail, the
	// recycle-bin purge, a test message) is reported but does not fail the run.
	Required bool   `json:"required"`
	Detail   string `json:"detail,omitempty"`
	// Fix is what to do when the check is not ok: the permission to grant, the command to run.
	Fix string `json:"fix,omitempty"`
	// Probe is the call made; Answer the cloud's code ("" for success).
	Probe  string `json:"probe,omitempty"`
	Answer string `json:"answer,omitempty"`
	// Inferred: ok was concluded from a not-found answer (the cloud checks permission before
	// existence: not documented).
	Inferred bool     `json:"inferred,omitempty"`
	NeededBy []string `json:"needed_by,omitempty"`
}

// Failed reports a required check that is not ok (nor merely not checked).
func (c Check) Failed() bool {
	return c.Required && (c.Status == StatusMissing || c.Status == StatusError || c.Status == StatusUnknown)
}

// Report is what respond doctor found.
type Report struct {
	Schema string `json:"schema"`
	// OK is true when every required check passed; ExitCode is then 0, else 1.
	OK       bool `json:"ok"`
	ExitCode int  `json:"exit_code"`
	// ProbeUser is the user name the probes named (respond-doctor-<random>): no such user
	// exists; it shows in the cloud's logs (ActionTrail) as the target of refused calls.
	ProbeUser string  `json:"probe_user,omitempty"`
	Checks    []Check `json:"checks"`
}

// Options say what to check and how.
type Options struct {
	// Config is the configuration (nil: none, the home account alone).
	Config *playbooks.Config
	// Connect signs in and lists the accounts (rotate.Connect with the run's flags). Nil: no
	// cloud check.
	Connect func(ctx context.Context, conf *playbooks.Config) (*rotate.Session, error)
	// StateDir is the state directory a run with Config would use (journal.StateDir).
	StateDir string
	// Getenv reads the environment (channels' url-env and secret-env).
	Getenv func(string) string
	// SendTest sends a test message on every channel.
	SendTest bool
	// Playbook, when set, is the playbook every key is answered with (respond --playbook): its
	// needs are checked instead of those of the playbooks the configuration's rules may choose.
	Playbook *playbooks.Playbook
	// RehearsalSink: a replacement no configured sink takes goes to the sandbox's rehearsal sink
	// (--sandbox: rotate.RehearsalSink), so a playbook that creates needs no sink.
	RehearsalSink bool
	// SecurityCenter checks Security Center's permissions in every account even when no poll is
	// configured (a poll is: serve.security-center, a playbook, rule or trust entry naming the
	// source security-center, or a poll state file in StateDir).
	SecurityCenter bool
	// ServeTokenEnv is the variable respond serve reads POST /v1/findings' bearer token from when
	// serve.token-env names none (serve.DefaultTokenEnv).
	ServeTokenEnv string
	// HTTPClient makes the GitHub API calls (default: a client with a 30 s timeout).
	HTTPClient *http.Client
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Dial opens the reachability connections (default a net.Dialer with a 5 s timeout).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// TLS is the base TLS configuration of the reachability check (tests: a test CA).
	TLS *tls.Config
	// Proxy says which proxy a channel's requests would go through (default
	// http.ProxyFromEnvironment, as the channels do).
	Proxy func(*http.Request) (*url.URL, error)
	// Concurrency bounds the accounts checked at once (default 4).
	Concurrency int
}

func (o *Options) defaults() {
	if o.Getenv == nil {
		o.Getenv = func(string) string { return "" }
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Dial == nil {
		d := &net.Dialer{Timeout: 5 * time.Second}
		o.Dial = d.DialContext
	}
	if o.Proxy == nil {
		o.Proxy = http.ProxyFromEnvironment
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 4
	}
}

// Run makes every check and returns the report. It never fails as a whole: what cannot be
// checked is a check of its own.
func Run(ctx context.Context, o Options) Report {
	o.defaults()
	r := &runner{o: o}
	rep := Report{Schema: Schema, Checks: []Check{}}
	target, err := ram.NewProbeTarget()
	if err != nil {
		rep.Checks = append(rep.Checks, Check{Kind: KindAccount, Component: "probes", Item: "probe names",
			Status: StatusError, Required: true, Detail: err.Error()})
		return finish(rep)
	}
	r.target = target
	rep.ProbeUser = target.UserName
	r.poll = pollReason(o.Config, o.StateDir)
	if r.poll == "" && o.SecurityCenter {
		r.poll = "--security-center"
	}
	r.use = r.usedBy()
	var cloud, local []Check
	var wg sync.WaitGroup
	wg.Go(func() { cloud = r.cloud(ctx) })
	local = append(local, r.sinks()...)
	local = append(local, r.channels(ctx)...)
	local = append(local, r.state()...)
	local = append(local, r.serve(ctx)...)
	wg.Wait()
	rep.Checks = append(append(rep.Checks, cloud...), local...)
	return finish(rep)
}

func finish(rep Report) Report {
	rep.OK = true
	for _, c := range rep.Checks {
		if c.Failed() {
			rep.OK = false
		}
	}
	if !rep.OK {
		rep.ExitCode = 1
	}
	return rep
}

// runner is one run's state.
type runner struct {
	o      Options
	target ram.ProbeTarget
	use    uses
	// poll says why a Security Center poll is checked ("" when it is not).
	poll string
}
