package rotate

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
	"github.com/respond-dev/respond/rotate/hunt"
	"github.com/respond-dev/respond/rotate/journal"
	"github.com/respond-dev/respond/rotate/notify"
	"github.com/respond-dev/respond/rotate/sink"
)

// The incident of testdata/orgs/incident.yaml, answered by the engine through a real Session
// (Connect, Session.Incident) and the real SDK against the emulator.

const (
	incLeaked   = "LTAI5tINCDEPLOYLEAKED001"
	incOldKey   = "LTAI5tINCDEPLOYOLDKEY001"
	incAccount  = "7000000000000001"
	incAttacker = "185.220.101.34"
	incAppIP    = "10.0.3.17"
)

// incidentNow is the emulator's clock at the start: the seed's relative times become fixed.
var incidentNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// movableClock is a clock the test moves (both the emulator's and respond's).
type movableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *movableClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *movableClock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

type incEnv struct {
	s     *emulator.Server
	org   *emulator.Org
	admin *ram.Client
	clock *movableClock
	sink  *memSink
	dir   string
	cfg   ram.Config
}

func newIncidentEnv(t *testing.T, opts ...emulator.Option) *incEnv {
	hermetic(t)
	org, err := emulator.LoadOrg("../testdata/orgs/incident.yaml")
	if err != nil {
		t.Fatal(err)
	}
	clock := &movableClock{t: incidentNow}
	opts = append([]emulator.Option{emulator.WithClock(clock.Now), emulator.WithoutTimestampCheck(), emulator.WithoutNonceCheck(),
		emulator.WithLookupEventsLimit(0), emulator.WithSourceIPHeader()}, opts...)
	s := emulator.NewServer(org, opts...)
	t.Cleanup(s.Close)
	a := org.Admin()
	cfg := ram.Config{Endpoint: s.Endpoint(), Scheme: "HTTP", UserAgent: "respond/test", LookupEventsQPS: -1,
		Credentials: ram.StaticCredentials(a.AccessKeyID, accesskey.NewSecret(a.AccessKeySecret))}
	c, err := ram.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &incEnv{s: s, org: org, admin: c, clock: clock, sink: &memSink{name: "mem"}, dir: t.TempDir(), cfg: cfg}
}

// run answers the leaked key with the named built-in playbook through a Batch, as the CLI does.
func (e *incEnv) run(t *testing.T, playbook string, dryRun bool) *Item {
	t.Helper()
	return e.runCtx(context.Background(), t, playbook, dryRun)
}

func (e *incEnv) runCtx(ctx context.Context, t *testing.T, playbook string, dryRun bool) *Item {
	t.Helper()
	sess, err := Connect(ctx, nil, SessionOptions{Base: ram.Config{Endpoint: e.cfg.Endpoint, Scheme: "HTTP", UserAgent: "respond/test", LookupEventsQPS: -1},
		Home: e.cfg.Credentials, FixedEndpoint: true})
	if err != nil {
		t.Fatal(err)
	}
	pb, err := playbooks.Builtin(playbook)
	if err != nil {
		t.Fatal(err)
	}
	leaked, _ := e.org.Key(incLeaked)
	b := &Batch{Session: sess, Playbook: pb, StateDir: e.dir, OwnUserAgent: "respond/test", DryRun: dryRun,
		Outputs: Outputs{Fallback: func(playbooks.TemplateValues) (sink.Sink, error) { return e.sink, nil }, Now: e.clock.Now},
		Deps:    Deps{Clock: e.clock, Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() }, LateCreateWindow: 300 * time.Millisecond}}
	items, err := b.Run(ctx, []detect.Finding{{KeyID: accesskey.MustParseID(incLeaked), Kind: detect.KindAccessKey,
		Secret: accesskey.NewSecret(leaked.AccessKeySecret), Locations: []detect.Location{{Source: "flag"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if items[0].Err != nil {
		t.Fatal(items[0].Err)
	}
	return items[0]
}

func (e *incEnv) keys(t *testing.T, user string) []string {
	t.Helper()
	return keyIDsOf(t, e.admin, user)
}

func (e *incEnv) policies(t *testing.T, kind ram.EntityKind, entity string) []string {
	t.Helper()
	ps, err := e.admin.ListPoliciesFor(context.Background(), kind, entity)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

// mutations are the successful calls that change something, from index n of the request log.
func (e *incEnv) mutations(n int) []string {
	var out []string
	for _, r := range e.s.RequestLog()[n:] {
		a := r.Action
		if r.Code == "" && !(strings.HasPrefix(a, "Get") || strings.HasPrefix(a, "List") || strings.HasPrefix(a, "Describe") || a == "LookupEvents") {
			out = append(out, a)
		}
	}
	return out
}

// checkEradicated asserts the end state of contain-first on the incident (issue 16, Done means).
func (e *incEnv) checkEradicated(t *testing.T) (replacement string) {
	t.Helper()
	ctx := context.Background()
	ks := e.keys(t, "deploy-bot")
	if slices.Contains(ks, incLeaked) || slices.Contains(ks, incOldKey) || len(ks) != 1 {
		t.Fatalf("deploy-bot keys %v: want the leaked and the re-enabled key gone, one replacement", ks)
	}
	if e.sink.got[ks[0]] == "" {
		t.Errorf("the replacement %s is not in the sink", ks[0])
	}
	for user, want := range map[string][]string{"svc-backup": nil, "svc-metrics": nil, "web-app": {"LTAI5tINCWEBAPP000000001"}} {
		if got := e.keys(t, user); !slices.Equal(got, want) {
			t.Errorf("%s keys %v, want %v", user, got, want)
		}
	}
	for _, user := range []string{"svc-backup", "svc-metrics"} {
		u, err := e.admin.GetUser(ctx, user)
		if err != nil {
			t.Errorf("user %s was not kept: %v", user, err)
			continue
		}
		binned, err := e.admin.ListAccessKeysInRecycleBin(ctx, u.UserID)
		if err != nil || len(binned) != 0 {
			t.Errorf("%s's recycle bin %v %v: want the attacker's key purged", user, binned, err)
		}
	}
	if _, err := e.admin.GetLoginProfile(ctx, "svc-backup"); !errors.Is(err, ram.ErrNotFound) {
		t.Errorf("svc-backup login profile: %v", err)
	}
	if p := e.policies(t, ram.EntityUser, "svc-backup"); len(p) != 0 {
		t.Errorf("svc-backup policies %v", p)
	}
	if gs, err := e.admin.ListGroupsForUser(ctx, "svc-metrics"); err != nil || len(gs) != 0 {
		t.Errorf("svc-metrics groups %v %v", gs, err)
	}
	if p := e.policies(t, ram.EntityUser, "deploy-bot"); !slices.Equal(p, []string{"AliyunRAMFullAccess", "AliyunSTSAssumeRoleAccess", "AliyunECSFullAccess"}) {
		t.Errorf("deploy-bot policies %v: want its own, the quarantine removed", p)
	}
	rp := e.policies(t, ram.EntityRole, "ops-admin")
	if len(rp) != 2 || rp[0] != "ReadOnlyAccess" || !strings.HasPrefix(rp[1], "respond-deny-ops-admin-") {
		t.Fatalf("ops-admin policies %v: want ReadOnlyAccess and respond's deny", rp)
	}
	deny, err := e.admin.GetPolicy(ctx, ram.PolicyRef{Type: ram.PolicyCustom, Name: rp[1]})
	if until, ok := hunt.DenyExpiry(deny.Document); err != nil || !ok || !until.Equal(incidentNow.Add(9*time.Hour)) {
		t.Errorf("the role's deny expires %v (%v, %v), want when the attacker's last token does", until, ok, err)
	}
	if _, err := e.admin.GetPolicy(ctx, ram.PolicyRef{Type: ram.PolicyCustom, Name: "ops-helper"}); !errors.Is(err, ram.ErrNotFound) {
		t.Errorf("the attacker's policy ops-helper: %v", err)
	}
	states, err := journal.List(e.dir)
	if err != nil || len(states) != 1 || states[0].RunID == "" {
		t.Fatalf("journals %+v %v", states, err)
	}
	q := hunt.QuarantinePolicyName(states[0].RunID)
	if _, err := e.admin.GetPolicy(ctx, ram.PolicyRef{Type: ram.PolicyCustom, Name: q}); !errors.Is(err, ram.ErrNotFound) {
		t.Errorf("the quarantine %s still exists: %v", q, err)
	}
	if rp[1] != hunt.DenyPolicyName("ops-admin", states[0].RunID) {
		t.Errorf("the role's deny is %s, want it named after the first run %s", rp[1], states[0].RunID)
	}
	return ks[0]
}

type viaIP struct{ ip string }

func (v viaIP) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(emulator.SourceIPHeader, v.ip)
	return http.DefaultTransport.RoundTrip(r)
}

// roleCall signs a RAM read with a token of ops-admin assumed by the admin, sent from ip.
func (e *incEnv) roleCall(t *testing.T, ip string) error {
	t.Helper()
	ctx := context.Background()
	tc, err := e.admin.AssumeRole(ctx, ram.RoleArn(incAccount, "ops-admin"), "check", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ram.NewWithTempCredentials(ctx, ram.Config{Endpoint: e.s.Endpoint(), Scheme: "HTTP", Transport: viaIP{ip}, Retry: ram.RetryPolicy{MaxAttempts: 1}}, tc)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetUser(ctx, "web-app")
	return err
}

// The dry run shows the graph, the containment and the eradication and changes nothing;
// contain-first then leaves the cloud clean (the quarantine attached before the leaked key is
// deleted and removed after), the role denied to the attacker's address only, until its tokens
// expire; a later run changes nothing until the deny has expired, and then removes it.
func TestIncidentContainFirst(t *testing.T) {
	e := newIncidentEnv(t)
	it := e.run(t, "contain-first", true)
	var txt bytes.Buffer
	if err := WritePlanText(&txt, it.Plan); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Incident graph of key " + incLeaked, "├── 2026-11-27T06:00:00Z CreateUser from 185.220.101.34 → user svc-backup",
		"Containment (contain step", "respond-quarantine-<run id> on user/deploy-bot: deny ecs:*, ram:*, sts:* from 185.220.101.34, 45.9.148.3",
		"Eradication (14 writes)", "respond-deny-ops-admin-<run id> to role ops-admin"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("plan lacks %q:\n%s", want, txt.String())
		}
	}
	if m := e.mutations(0); len(m) != 0 {
		t.Fatalf("the dry run changed something: %v", m)
	}

	n := len(e.s.RequestLog())
	it = e.run(t, "contain-first", false)
	r := it.Result
	if r.Outcome != journal.OutcomeRemediated || r.Err != nil {
		t.Fatalf("outcome %s %v\n%+v", r.Outcome, r.Err, r.Steps)
	}
	muts := e.mutations(n)
	at := func(a string) int { return slices.Index(muts, a) }
	if !(at("CreatePolicy") < at("AttachPolicyToUser") && at("AttachPolicyToUser") < at("DeleteAccessKey") &&
		at("DeleteAccessKey") < at("DetachPolicyFromUser") && at("DetachPolicyFromUser") < at("CreateAccessKey")) {
		t.Errorf("the quarantine must be attached before the leaked key is deleted and removed after: %v", muts)
	}
	replacement := e.checkEradicated(t)
	if r.NewKeyID != replacement || r.Incident == nil || len(r.Incident.Edges) != 12 {
		t.Errorf("result new key %s incident %v", r.NewKeyID, r.Incident != nil)
	}
	if err := e.roleCall(t, incAttacker); !errors.Is(err, ram.ErrNoPermission) {
		t.Errorf("a role token used from the attacker's address: %v, want denied", err)
	}
	if err := e.roleCall(t, incAppIP); err != nil {
		t.Errorf("a role token used from a legitimate address: %v", err)
	}
	st, err := ReadStatusAt(e.dir, true, e.clock.Now())
	if err != nil || len(st.Quarantines) != 1 || st.Quarantines[0].Target != "role/ops-admin" || st.Quarantines[0].Expired {
		t.Fatalf("status quarantines %+v %v", st.Quarantines, err)
	}

	// A later run, the deny still applying: already remediated, nothing changes.
	n = len(e.s.RequestLog())
	it = e.run(t, "contain-first", false)
	if it.Result.Outcome != journal.OutcomeAlreadyRemediated || it.Plan.liftsQuarantines() {
		t.Fatalf("second run %s lifts %v", it.Result.Outcome, it.Plan.Quarantines)
	}
	if m := e.mutations(n); len(m) != 0 {
		t.Errorf("a run before the deny expired changed %v", m)
	}
	// Once expired: a run removes it, journaled, and status lists it no more.
	e.clock.set(incidentNow.Add(10 * time.Hour))
	n = len(e.s.RequestLog())
	it = e.run(t, "contain-first", false)
	if it.Result.Outcome != journal.OutcomeAlreadyRemediated || !it.Plan.liftsQuarantines() {
		t.Fatalf("third run %s lifts %v", it.Result.Outcome, it.Plan.Quarantines)
	}
	if m := e.mutations(n); !slices.Equal(m, []string{"DetachPolicyFromRole", "DeletePolicy"}) {
		t.Errorf("expired deny removal: %v", m)
	}
	if p := e.policies(t, ram.EntityRole, "ops-admin"); !slices.Equal(p, []string{"ReadOnlyAccess"}) {
		t.Errorf("ops-admin policies %v", p)
	}
	if st, _ := ReadStatusAt(e.dir, true, e.clock.Now()); len(st.Quarantines) != 0 {
		t.Errorf("status still lists %+v", st.Quarantines)
	}
}

// Interrupted at each incident write (the call held by the emulator, the run cancelled): the run
// ends partial, and running again converges on the same end state, with one deny on the role.
func TestIncidentResume(t *testing.T) {
	for _, action := range []string{"CreatePolicy", "AttachPolicyToUser", "DeleteAccessKey", "DetachPolicyFromUser",
		"DeleteLoginProfile", "DetachPolicyFromRole", "AttachPolicyToRole"} {
		t.Run(action, func(t *testing.T) {
			e := newIncidentEnv(t)
			p := e.s.PauseAt(action)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan *Item, 1)
			go func() { done <- e.runCtx(ctx, t, "contain-first", false) }()
			select {
			case <-p.Reached:
			case it := <-done:
				t.Fatalf("the run ended (%s) before %s", it.Result.Outcome, action)
			}
			cancel()
			it := <-done
			p.Release()
			if it.Result.Outcome != journal.OutcomePartial {
				t.Fatalf("interrupted run: %s %v", it.Result.Outcome, it.Result.Err)
			}
			it = e.run(t, "contain-first", false)
			if o := it.Result.Outcome; o != journal.OutcomeRemediated {
				t.Fatalf("second run %s %v\n%+v", o, it.Result.Err, it.Result.Steps)
			}
			e.checkEradicated(t)
			if err := e.roleCall(t, incAttacker); !errors.Is(err, ram.ErrNoPermission) {
				t.Errorf("a role token used from the attacker's address: %v, want denied", err)
			}
			if err := e.roleCall(t, incAppIP); err != nil {
				t.Errorf("a role token used from a legitimate address: %v", err)
			}
			if it := e.run(t, "contain-first", false); it.Result.Outcome != journal.OutcomeAlreadyRemediated {
				t.Errorf("third run %s", it.Result.Outcome)
			}
		})
	}
}

// While the rotation runs (held at the leaked key's DeleteAccessKey: deploy-bot holds two keys, so
// the delete comes first), the contained leaked key is refused from the
// attacker's address and still works from the application's: a deny policy on the owner, or the
// key's network policy. Afterwards the quarantine is gone.
func TestIncidentContainmentDuringRotation(t *testing.T) {
	for _, tc := range []struct{ name, contain string }{
		{"deny-policy", "contain"},
		{"network-policy", "contain: {method: network-policy, allow-ips: [" + incAppIP + "]}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newIncidentEnv(t)
			pb, err := playbooks.Parse("contain.yaml", []byte("name: contain-then-rotate\nsteps:\n  - locate\n  - assess\n  - hunt\n  - "+
				tc.contain+"\n  - create\n  - store\n  - delete\n  - verify\n"))
			if err != nil {
				t.Fatal(err)
			}
			leakedCall := func(ip string) error {
				leaked, _ := e.org.Key(incLeaked)
				c, err := ram.New(context.Background(), ram.Config{Endpoint: e.s.Endpoint(), Scheme: "HTTP", Transport: viaIP{ip},
					Retry: ram.RetryPolicy{MaxAttempts: 1}, Credentials: ram.StaticCredentials(incLeaked, accesskey.NewSecret(leaked.AccessKeySecret))})
				if err != nil {
					t.Fatal(err)
				}
				_, err = c.GetUser(context.Background(), "web-app")
				return err
			}
			if err := leakedCall(incAttacker); err != nil {
				t.Fatalf("before containment the leaked key works from anywhere: %v", err)
			}
			p := e.s.PauseAt("DeleteAccessKey")
			done := make(chan *Item, 1)
			go func() { done <- e.runWithPlaybook(t, pb) }()
			select {
			case <-p.Reached:
			case it := <-done:
				t.Fatalf("the run ended (%s) before DeleteAccessKey", it.Result.Outcome)
			}
			if err := leakedCall(incAttacker); !errors.Is(err, ram.ErrNoPermission) {
				t.Errorf("the contained leaked key from the attacker's address: %v, want refused", err)
			}
			if err := leakedCall(incAppIP); err != nil {
				t.Errorf("the contained leaked key from the application's address: %v", err)
			}
			p.Release()
			it := <-done
			if it.Result.Outcome != journal.OutcomeRemediated {
				t.Fatalf("%s %v", it.Result.Outcome, it.Result.Err)
			}
			if p := e.policies(t, ram.EntityUser, "deploy-bot"); len(p) != 3 {
				t.Errorf("deploy-bot policies %v: the quarantine must be gone", p)
			}
		})
	}
}

func (e *incEnv) runWithPlaybook(t *testing.T, pb *playbooks.Playbook) *Item {
	ctx := context.Background()
	sess, err := Connect(ctx, nil, SessionOptions{Base: ram.Config{Endpoint: e.cfg.Endpoint, Scheme: "HTTP", UserAgent: "respond/test", LookupEventsQPS: -1},
		Home: e.cfg.Credentials, FixedEndpoint: true})
	if err != nil {
		t.Error(err)
		return &Item{Result: &Result{}}
	}
	b := &Batch{Session: sess, Playbook: pb, StateDir: e.dir, OwnUserAgent: "respond/test",
		Outputs: Outputs{Fallback: func(playbooks.TemplateValues) (sink.Sink, error) { return e.sink, nil }, Now: e.clock.Now},
		Deps:    Deps{Clock: e.clock, Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() }, LateCreateWindow: 300 * time.Millisecond}}
	items, err := b.Run(ctx, []detect.Finding{{KeyID: accesskey.MustParseID(incLeaked), Kind: detect.KindAccessKey, Locations: []detect.Location{{Source: "flag"}}}})
	if err != nil || items[0].Err != nil || items[0].Result == nil {
		t.Errorf("run: %v %v", err, items)
		return &Item{Result: &Result{}}
	}
	return items[0]
}

// The notification carries the incident graph, escaped and redacted like the rest, in its own
// section.
func TestIncidentInNotification(t *testing.T) {
	f, snap, s := planInputs()
	incidentInputs(t, "contain-first")(&f, &snap, &s)
	p := NewPlan(f, snap, s)
	red := accesskey.NewRedactor()
	x := &run{p: p, d: Deps{Clock: &movableClock{t: incidentNow}}, res: &Result{}, red: red}
	x.graph = p.Incident
	m := x.message("", "")
	if !strings.Contains(m.Incident, "Incident graph of key "+incLeaked) || !strings.Contains(m.Incident, "→ user svc-backup [created, present]") {
		t.Fatalf("message incident:\n%s", m.Incident)
	}
	if txt := notify.Text(m); !strings.Contains(txt, "What the attacker created (incident graph):") {
		t.Errorf("text notification:\n%s", txt)
	}
	x.graph = nil
	if m := x.message("", ""); m.Incident != "" {
		t.Errorf("no graph, yet %q", m.Incident)
	}
}
