package hunt_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
	"github.com/respond-dev/respond/rotate/hunt"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/hunt")

const goldenDir = "../../testdata/hunt"

// fixedNow is the emulator's clock in these tests: the seed's relative times become fixed dates.
var fixedNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

const (
	leakedID = "LTAI5tINCDEPLOYLEAKED001"
	account  = "7000000000000001"
	attacker = "185.220.101.34"
	appIP    = "10.0.3.17"
)

func TestMain(m *testing.M) {
	for _, v := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"} {
		os.Unsetenv(v)
	}
	os.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	os.Setenv("ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "true")
	os.Exit(m.Run())
}

// fromIP makes every call of a client come from ip (the emulator's test-only header).
type fromIP struct{ ip string }

func (f fromIP) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(emulator.SourceIPHeader, f.ip)
	return http.DefaultTransport.RoundTrip(r)
}

// client signs with cr, from ip when not empty, unpaced (the emulator's LookupEvents limit is off).
func client(t testing.TB, s *emulator.Server, cr emulator.Credential, ip string) *ram.Client {
	t.Helper()
	return pacedClient(t, s, cr, ip, -1)
}

// pacedClient is client with LookupEvents paced at qps per region (0: ActionTrail's documented 2).
func pacedClient(t testing.TB, s *emulator.Server, cr emulator.Credential, ip string, qps float64) *ram.Client {
	t.Helper()
	cfg := ram.Config{Endpoint: s.Endpoint(), UserAgent: "respond/test", LookupEventsQPS: qps,
		Credentials: ram.StaticCredentials(cr.AccessKeyID, accesskey.NewSecret(cr.AccessKeySecret))}
	if ip != "" {
		cfg.Transport = fromIP{ip}
	}
	c, err := ram.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// incident serves testdata/orgs/incident.yaml at fixedNow and returns an admin client.
func incident(t testing.TB, opts ...emulator.Option) (*emulator.Server, *emulator.Org, *ram.Client) {
	t.Helper()
	org, err := emulator.LoadOrg("../../testdata/orgs/incident.yaml")
	if err != nil {
		t.Fatal(err)
	}
	opts = append([]emulator.Option{emulator.WithClock(func() time.Time { return fixedNow }), emulator.WithoutTimestampCheck(),
		emulator.WithoutNonceCheck(), emulator.WithLookupEventsLimit(0), emulator.WithSourceIPHeader()}, opts...)
	s := emulator.NewServer(org, opts...)
	t.Cleanup(s.Close)
	return s, org, client(t, s, org.Admin(), "")
}

func mustID(t testing.TB, s string) accesskey.ID {
	t.Helper()
	id, err := accesskey.ParseID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// leakedEvents is what assess collects: the leaked key's events of the last 7 days.
func leakedEvents(t testing.TB, c *ram.Client, key string) []ram.Event {
	t.Helper()
	var evs []ram.Event
	err := c.LookupEvents(context.Background(), ram.EventQuery{AccessKeyID: mustID(t, key), Start: fixedNow.Add(-7 * 24 * time.Hour), End: fixedNow},
		func(e ram.Event) error { evs = append(evs, e); return nil })
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func huntIncident(t testing.TB, c *ram.Client) *hunt.Graph {
	t.Helper()
	g, err := hunt.Run(context.Background(), hunt.Input{Key: mustID(t, leakedID), Owner: "deploy-bot", AccountID: account,
		Events: leakedEvents(t, c, leakedID), Start: fixedNow.Add(-7 * 24 * time.Hour), End: fixedNow},
		hunt.TrailSource{Trail: c}, c)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// golden compares got with testdata/hunt/name (rewritten with -update).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(goldenDir, name)
	if *update {
		if err := os.MkdirAll(goldenDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update after checking):\n%s", name, got)
	}
}

func text(t *testing.T, w func(*bytes.Buffer) error) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := w(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jsonOf(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// edges renders the graph's edges as "from action to [target] state" lines.
func edges(g *hunt.Graph) []string {
	var out []string
	for _, e := range g.Edges {
		s := e.From + " " + e.Action + " " + e.To
		if e.Target != "" {
			s += " on " + e.Target
		}
		out = append(out, s+" "+string(e.State))
	}
	return out
}

// The hunt over incident.yaml finds every foothold, three levels deep, checked against the cloud.
func TestHuntIncident(t *testing.T) {
	_, _, c := incident(t)
	g := huntIncident(t, c)
	want := []string{
		"key:LTAI5tINCDEPLOYLEAKED001 CreateUser user:svc-backup present",
		"key:LTAI5tINCDEPLOYLEAKED001 CreateAccessKey key:LTAI5tINCSVCBACKUP000001 on user:svc-backup present",
		"key:LTAI5tINCDEPLOYLEAKED001 CreateLoginProfile login-profile:svc-backup on user:svc-backup present",
		"key:LTAI5tINCDEPLOYLEAKED001 AttachPolicyToUser policy:System/AdministratorAccess on user:svc-backup present",
		"key:LTAI5tINCDEPLOYLEAKED001 UpdateAccessKey key:LTAI5tINCDEPLOYOLDKEY001 present",
		"key:LTAI5tINCSVCBACKUP000001 CreatePolicy policy:Custom/ops-helper present",
		"key:LTAI5tINCSVCBACKUP000001 AttachPolicyToRole policy:Custom/ops-helper on role:ops-admin present",
		"key:LTAI5tINCSVCBACKUP000001 CreateUser user:svc-metrics present",
		"key:LTAI5tINCSVCBACKUP000001 CreateAccessKey key:LTAI5tINCSVCMETRICS00001 on user:svc-metrics present",
		"key:LTAI5tINCSVCMETRICS00001 AddUserToGroup group:admins on user:svc-metrics present",
		"key:LTAI5tINCDEPLOYLEAKED001 AssumeRole session:ops-admin:maint on role:ops-admin present",
		"session:ops-admin:maint CreateAccessKey key:LTAI5tINCWEBAPPROLEKEY01 on user:web-app present",
	}
	if got := edges(g); !slices.Equal(got, want) {
		t.Errorf("edges:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !slices.Equal(g.AttackerIPs, []string{attacker, "45.9.148.3"}) {
		t.Errorf("attacker IPs %v", g.AttackerIPs)
	}
	if len(g.Errors) != 0 || len(g.Truncated) != 0 {
		t.Errorf("errors %q truncated %q", g.Errors, g.Truncated)
	}
	for id, check := range map[string]func(hunt.Node) bool{
		"key:LTAI5tINCDEPLOYOLDKEY001": func(n hunt.Node) bool { return n.PreExisting && n.Status == "Active" && n.OwnerID != "" },
		"key:LTAI5tINCSVCBACKUP000001": func(n hunt.Node) bool { return n.Created && !n.PreExisting && n.Depth == 1 },
		"key:LTAI5tINCSVCMETRICS00001": func(n hunt.Node) bool { return n.Depth == 2 },
		"session:ops-admin:maint":      func(n hunt.Node) bool { return n.Expires.Equal(fixedNow.Add(-3*time.Hour + 12*time.Hour)) },
		"policy:Custom/ops-helper":     func(n hunt.Node) bool { return n.Created && !n.Foreign },
		"user:web-app":                 func(n hunt.Node) bool { return n.PreExisting && !n.Created },
	} {
		if n, ok := g.Node(id); !ok || !check(n) {
			t.Errorf("node %s: %+v", id, n)
		}
	}
	// The application's own calls and the failed CreateUser are not findings.
	for _, e := range g.Edges {
		if e.SourceIP == appIP || e.To == "user:admin" {
			t.Errorf("finding from the application or a failed call: %+v", e)
		}
	}
	golden(t, "incident.graph.txt", text(t, func(b *bytes.Buffer) error { return g.WriteText(b) }))
	golden(t, "incident.graph.json", jsonOf(t, g))
	p := hunt.PlanEradication(g, hunt.PlanOptions{RunID: "run-1", Now: fixedNow})
	golden(t, "incident.plan.txt", text(t, func(b *bytes.Buffer) error { return p.WriteText(b) }))
	golden(t, "incident.plan.json", jsonOf(t, p))
}

// The plan, applied through the real SDK, leaves the cloud clean of the attacker's footholds
// while keeping the users and everything that existed before; the attacker's role session is
// denied from its IP until its tokens expire, a legitimate session is not; a second hunt finds
// every finding undone and a second application changes nothing.
func TestEradicateIncident(t *testing.T) {
	s, org, c := incident(t)
	ctx := context.Background()
	g := huntIncident(t, c)
	p := hunt.PlanEradication(g, hunt.PlanOptions{RunID: "run-1", Now: fixedNow})
	for _, a := range p.Actions {
		if err := hunt.Apply(ctx, c, a); err != nil {
			t.Fatal(err)
		}
	}
	for _, user := range []string{"svc-backup", "svc-metrics", "web-app", "deploy-bot"} {
		if _, err := c.GetUser(ctx, user); err != nil {
			t.Errorf("user %s: %v", user, err)
		}
	}
	keys := func(user string) []string {
		ks, err := c.ListAccessKeys(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, k := range ks {
			ids = append(ids, k.ID.String())
		}
		return ids
	}
	for user, want := range map[string][]string{"svc-backup": nil, "svc-metrics": nil, "web-app": {"LTAI5tINCWEBAPP000000001"},
		"deploy-bot": {leakedID}} {
		if got := keys(user); !slices.Equal(got, want) {
			t.Errorf("keys of %s: %v, want %v", user, got, want)
		}
	}
	for _, id := range []string{"LTAI5tINCSVCBACKUP000001", "LTAI5tINCDEPLOYOLDKEY001"} {
		if _, err := c.GetAccessKeyInfoInRecycleBin(ctx, mustID(t, id)); !errors.Is(err, ram.ErrNotFound) {
			t.Errorf("%s still restorable: %v", id, err)
		}
	}
	if _, err := c.GetLoginProfile(ctx, "svc-backup"); !errors.Is(err, ram.ErrNotFound) {
		t.Errorf("login profile: %v", err)
	}
	if pols, _ := c.ListPoliciesFor(ctx, ram.EntityUser, "svc-backup"); len(pols) != 0 {
		t.Errorf("svc-backup still has %v", pols)
	}
	if gs, _ := c.ListGroupsForUser(ctx, "svc-metrics"); len(gs) != 0 {
		t.Errorf("svc-metrics still in %v", gs)
	}
	if _, err := c.GetPolicy(ctx, ram.PolicyRef{Type: ram.PolicyCustom, Name: "ops-helper"}); !errors.Is(err, ram.ErrNotFound) {
		t.Errorf("ops-helper: %v", err)
	}
	// Untouched: deploy-bot's own policies, the group's, the role's legitimate one.
	if pols, _ := c.ListPoliciesFor(ctx, ram.EntityUser, "deploy-bot"); len(pols) != 3 {
		t.Errorf("deploy-bot policies %v", pols)
	}
	rolePols, _ := c.ListPoliciesFor(ctx, ram.EntityRole, "ops-admin")
	var names []string
	for _, rp := range rolePols {
		names = append(names, rp.Name)
	}
	if !slices.Equal(names, []string{"ReadOnlyAccess", "respond-deny-ops-admin-run-1"}) {
		t.Errorf("role policies %v", names)
	}
	deny, err := c.GetPolicy(ctx, ram.PolicyRef{Type: ram.PolicyCustom, Name: "respond-deny-ops-admin-run-1"})
	if until, ok := hunt.DenyExpiry(deny.Document); err != nil || !ok || !until.Equal(fixedNow.Add(9*time.Hour)) {
		t.Errorf("deny expiry %v %v %v", until, ok, err)
	}

	// A token of the role obtained with the leaked key: denied from the attacker's IP.
	leaked, _ := org.Key(leakedID)
	roleArn := ram.RoleArn(account, "ops-admin")
	tc, err := client(t, s, leaked, attacker).AssumeRole(ctx, roleArn, "evil2", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	evil, err := ram.NewWithTempCredentials(ctx, ram.Config{Endpoint: s.Endpoint(), Transport: fromIP{attacker}, Retry: ram.RetryPolicy{MaxAttempts: 1}}, tc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := evil.GetUser(ctx, "web-app"); !errors.Is(err, ram.ErrNoPermission) {
		t.Errorf("the attacker's role session from its IP: %v", err)
	}
	legitTC, err := client(t, s, org.Admin(), appIP).AssumeRole(ctx, roleArn, "ops", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	legit, err := ram.NewWithTempCredentials(ctx, ram.Config{Endpoint: s.Endpoint(), Transport: fromIP{appIP}}, legitTC)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := legit.GetUser(ctx, "web-app"); err != nil {
		t.Errorf("a legitimate role session: %v", err)
	}

	// Hunting again: every finding is undone; the plan has nothing left but the deny, which
	// applying again leaves as it is.
	again := huntIncident(t, c)
	for _, e := range again.Edges {
		if e.State == hunt.StatePresent && e.Action != "AssumeRole" && e.Action != "CreateUser" {
			t.Errorf("still in effect: %+v", e)
		}
	}
	p2 := hunt.PlanEradication(again, hunt.PlanOptions{RunID: "run-1", Now: fixedNow})
	before := len(s.RequestLog())
	for _, a := range p2.Actions {
		if err := hunt.Apply(ctx, c, a); err != nil {
			t.Fatalf("second application: %v", err)
		}
	}
	for _, r := range s.RequestLog()[before:] {
		if r.Code == "" && (strings.HasPrefix(r.Action, "Delete") || strings.HasPrefix(r.Action, "Detach") || r.Action == "RemoveUserFromGroup") {
			t.Errorf("second application changed something: %s %v", r.Action, r.Params)
		}
	}
	if v := s.Violations(); len(v) != 0 {
		t.Errorf("violations %q", v)
	}
}

// The hunt reads each principal once and each answer of the cloud once.
func TestHuntIncidentCalls(t *testing.T) {
	s, _, c := incident(t)
	evs := leakedEvents(t, c, leakedID)
	before := len(s.RequestLog())
	if _, err := hunt.Run(context.Background(), hunt.Input{Key: mustID(t, leakedID), Owner: "deploy-bot", AccountID: account,
		Events: evs, Start: fixedNow.Add(-7 * 24 * time.Hour), End: fixedNow}, hunt.TrailSource{Trail: c}, c); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, r := range s.RequestLog()[before:] {
		count[r.Action]++
	}
	// Followed: svc-backup, svc-metrics (users), the re-enabled key, the web-app key, the session.
	if count["LookupEvents"] != 5 {
		t.Errorf("LookupEvents %d, want 5 (%v)", count["LookupEvents"], count)
	}
	for action, n := range count {
		if action != "LookupEvents" && n > 6 {
			t.Errorf("%s called %d times", action, n)
		}
	}
	t.Logf("calls: %v", count)
}

// The demo organisation's short incident: the leaked key assumed billing-reports 50 hours ago,
// and that session created svc-reports with a key; the session has long expired.
func TestHuntDemo(t *testing.T) {
	org := emulator.DemoOrg()
	s := emulator.NewServer(org, emulator.WithClock(func() time.Time { return fixedNow }), emulator.WithoutTimestampCheck(),
		emulator.WithoutNonceCheck(), emulator.WithLookupEventsLimit(0))
	t.Cleanup(s.Close)
	c := client(t, s, org.Admin(), "")
	const demoLeak = "LTAI5tFAKEBILLING0LEAK01"
	g, err := hunt.Run(context.Background(), hunt.Input{Key: mustID(t, demoLeak), Owner: "billing-app", AccountID: "1000000000000001",
		Events: leakedEvents(t, c, demoLeak), Start: fixedNow.Add(-7 * 24 * time.Hour), End: fixedNow}, hunt.TrailSource{Trail: c}, c)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"key:LTAI5tFAKEBILLING0LEAK01 AssumeRole session:billing-reports:recon on role:billing-reports gone",
		"session:billing-reports:recon CreateUser user:svc-reports present",
		"session:billing-reports:recon CreateAccessKey key:LTAI5tFAKESVCREPORTS0001 on user:svc-reports present",
	}
	if got := edges(g); !slices.Equal(got, want) {
		t.Errorf("edges:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	p := hunt.PlanEradication(g, hunt.PlanOptions{RunID: "demo", Now: fixedNow})
	var kinds []string
	for _, a := range p.Actions {
		kinds = append(kinds, string(a.Kind)+" "+a.Node)
	}
	if !slices.Equal(kinds, []string{"delete-key key:LTAI5tFAKESVCREPORTS0001", "purge-key key:LTAI5tFAKESVCREPORTS0001"}) {
		t.Errorf("plan %v", kinds)
	}
	golden(t, "demo.graph.txt", text(t, func(b *bytes.Buffer) error { return g.WriteText(b) }))
}

// A purge whose DeleteAccessKeyInRecycleBin finds nothing is done only when no recycle bin holds
// the key: the user id asked may not be the bin's (a stale or wrong owner), and the key would stay
// restorable.
func TestApplyPurgeConfirmsTheBinIsEmpty(t *testing.T) {
	_, _, c := incident(t)
	ctx := context.Background()
	const key = "LTAI5tINCSVCBACKUP000001"
	owner, err := c.GetUser(ctx, "svc-backup")
	if err != nil {
		t.Fatal(err)
	}
	other, err := c.GetUser(ctx, "web-app")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteAccessKey(ctx, "svc-backup", mustID(t, key)); err != nil {
		t.Fatal(err)
	}
	wrong := hunt.Action{Kind: hunt.PurgeKey, Node: "key:" + key, UserName: "svc-backup", UserID: other.UserID, KeyID: mustID(t, key)}
	var binned *hunt.BinnedError
	if err := hunt.Apply(ctx, c, wrong); !errors.As(err, &binned) || binned.Key.UserID != owner.UserID {
		t.Fatalf("purge from another user's bin: %v, want the key still binned", err)
	}
	right := wrong
	right.UserID = owner.UserID
	if err := hunt.Apply(ctx, c, right); err != nil {
		t.Fatalf("purge from the owner's bin: %v", err)
	}
	if _, err := c.GetAccessKeyInfoInRecycleBin(ctx, mustID(t, key)); !errors.Is(err, ram.ErrNotFound) {
		t.Fatalf("after the purge: %v", err)
	}
}
