package hunt_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/hunt"
)

// A fixture is a hunt without a cloud: the leaked key's events, the events of the principals the
// hunt may follow, and the answers of a fake cloud (testdata/hunt/<name>.json).
type fixture struct {
	Input struct {
		Key       string      `json:"key"`
		Owner     string      `json:"owner"`
		AccountID string      `json:"account_id"`
		Start     time.Time   `json:"start"`
		End       time.Time   `json:"end"`
		Now       time.Time   `json:"now"`
		MaxDepth  int         `json:"max_depth"`
		KnownIPs  []string    `json:"known_ips"`
		Events    []ram.Event `json:"events"`
	} `json:"input"`
	Principals      map[string][]ram.Event `json:"principals"`
	PrincipalErrors map[string]string      `json:"principal_errors"`
	Cloud           fakeCloud              `json:"cloud"`
	RunID           string                 `json:"run_id"`
}

// fakeSource serves the fixture's principals' events and counts the reads.
type fakeSource struct {
	f     *fixture
	mu    sync.Mutex
	reads []string
}

func (s *fakeSource) PrincipalEvents(_ context.Context, p hunt.Principal, start, end time.Time) ([]ram.Event, error) {
	id := string(p.Kind) + ":" + p.Name
	s.mu.Lock()
	s.reads = append(s.reads, id)
	s.mu.Unlock()
	if msg, ok := s.f.PrincipalErrors[id]; ok {
		return nil, errors.New(msg)
	}
	var out []ram.Event
	for _, e := range s.f.Principals[id] {
		if !e.Time.Before(start) && !e.Time.After(end) {
			out = append(out, e)
		}
	}
	return out, nil
}

// fakeCloud answers from maps: a missing entry is ram.ErrNotFound, an entry of Errors ("<method>
// <name>") that error.
type fakeCloud struct {
	Users         map[string]ram.User             `json:"users"`
	Keys          map[string][]ram.AccessKey      `json:"keys"`
	LoginProfiles map[string]ram.LoginProfile     `json:"login_profiles"`
	PoliciesFor   map[string][]ram.AttachedPolicy `json:"policies_for"`
	Policies      map[string]ram.Policy           `json:"policies"`
	Groups        map[string][]ram.Group          `json:"groups"`
	Roles         map[string]ram.Role             `json:"roles"`
	Errors        map[string]string               `json:"errors"`
}

var errNotFound = &ram.Error{Action: "fake", Class: ram.ErrNotFound}

func answer[T any](c *fakeCloud, method, name string, m map[string]T) (T, error) {

	var zero T
	if msg, ok := c.Errors[method+" "+name]; ok {
		return zero, errors.New(msg)
	}
	v, ok := m[name]
	if !ok {
		return zero, errNotFound
	}
	return v, nil
}

func (c *fakeCloud) GetUser(_ context.Context, n string) (ram.User, error) {
	return answer(c, "GetUser", n, c.Users)
}
func (c *fakeCloud) ListAccessKeys(_ context.Context, n string) ([]ram.AccessKey, error) {
	return answer(c, "ListAccessKeys", n, c.Keys)
}
func (c *fakeCloud) GetLoginProfile(_ context.Context, n string) (ram.LoginProfile, error) {
	return answer(c, "GetLoginProfile", n, c.LoginProfiles)
}
func (c *fakeCloud) ListPoliciesFor(_ context.Context, k ram.EntityKind, n string) ([]ram.AttachedPolicy, error) {
	return answer(c, "ListPoliciesFor", string(k)+"/"+n, c.PoliciesFor)
}
func (c *fakeCloud) GetPolicy(_ context.Context, ref ram.PolicyRef) (ram.Policy, error) {
	return answer(c, "GetPolicy", ref.Type+"/"+ref.Name, c.Policies)
}
func (c *fakeCloud) ListGroupsForUser(_ context.Context, n string) ([]ram.Group, error) {
	return answer(c, "ListGroupsForUser", n, c.Groups)
}
func (c *fakeCloud) GetRole(_ context.Context, n string) (ram.Role, error) {
	return answer(c, "GetRole", n, c.Roles)
}

func loadFixture(t *testing.T, name string) *fixture {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(goldenDir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var withComment struct {
		Comment string `json:"comment"`
		*fixture
	}
	withComment.fixture = f
	if err := dec.Decode(&withComment); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return f
}

func runFixture(t *testing.T, f *fixture) (*hunt.Graph, *fakeSource) {
	t.Helper()
	src := &fakeSource{f: f}
	in := f.Input
	g, err := hunt.Run(context.Background(), hunt.Input{Key: mustID(t, in.Key), Owner: in.Owner, AccountID: in.AccountID,
		Events: in.Events, Start: in.Start, End: in.End, Now: in.Now, MaxDepth: in.MaxDepth, KnownIPs: in.KnownIPs}, src, &f.Cloud)
	if err != nil {
		t.Fatal(err)
	}
	return g, src
}

// noControl fails when rendered text holds a control or format character other than newline.
func noControl(t *testing.T, name string, b []byte) {
	t.Helper()
	for _, r := range string(b) {
		if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r)) {
			t.Fatalf("%s holds control character %U", name, r)
		}
	}
}

func TestFixtures(t *testing.T) {
	for _, name := range []string{"depth", "hostile"} {
		t.Run(name, func(t *testing.T) {
			f := loadFixture(t, name)
			g, src := runFixture(t, f)
			p := hunt.PlanEradication(g, hunt.PlanOptions{RunID: f.RunID, Now: f.Input.Now})
			for suffix, b := range map[string][]byte{
				".graph.txt": text(t, func(b *bytes.Buffer) error { return g.WriteText(b) }),
				".plan.txt":  text(t, func(b *bytes.Buffer) error { return p.WriteText(b) }),
			} {
				noControl(t, name+suffix, b)
				golden(t, name+suffix, b)
			}
			golden(t, name+".graph.json", jsonOf(t, g))
			golden(t, name+".plan.json", jsonOf(t, p))
			checks[name](t, g, p, src)
		})
	}
}

func actionsOf(p hunt.Plan) []string {
	var out []string
	for _, a := range p.Actions {
		out = append(out, string(a.Kind)+" "+a.Node)
	}
	return out
}

func keptOf(p hunt.Plan) []string {
	var out []string
	for _, k := range p.Kept {
		out = append(out, k.Node)
	}
	return out
}

// checks are each fixture's explicit assertions (the goldens hold the rest).
var checks = map[string]func(t *testing.T, g *hunt.Graph, p hunt.Plan, src *fakeSource){
	"depth": func(t *testing.T, g *hunt.Graph, p hunt.Plan, src *fakeSource) {
		if !slices.Equal(g.Truncated, []string{"user:u5"}) {
			t.Errorf("truncated %v, want user:u5 (level 5 is recorded, not followed)", g.Truncated)
		}
		if _, ok := g.Node("user:u6"); ok {
			t.Error("level 6 found: u5's events were read")
		}
		if slices.Contains(src.reads, "user:u5") || !slices.Contains(src.reads, "user:u4") {
			t.Errorf("reads %v", src.reads)
		}
		if n := len(slices.DeleteFunc(slices.Clone(g.Edges), func(e hunt.Edge) bool { return e.EventID != "e3" })); n != 1 {
			t.Errorf("event e3 counted %d times", n)
		}
		// The key made for the leaked key's own (pre-existing) user is followed and removed; so
		// is the password it set; the user and its leaked key are left to the rotation.
		want := []string{"delete-key key:LTAI5tFIXAPPKEY200000001", "purge-key key:LTAI5tFIXAPPKEY200000001",
			"delete-key key:LTAI5tFIXU1KEY0000000001", "purge-key key:LTAI5tFIXU1KEY0000000001",
			"delete-login-profile login-profile:app"}
		if got := actionsOf(p); !slices.Equal(got, want) {
			t.Errorf("plan %v, want %v", got, want)
		}
	},
	"hostile": func(t *testing.T, g *hunt.Graph, p hunt.Plan, src *fakeSource) {
		for _, absent := range []string{"user:made-by-the-app", "user:made-by-respond", "user:refused", "user:db-user", "user:before-the-window"} {
			if _, ok := g.Node(absent); ok {
				t.Errorf("%s is in the graph", absent)
			}
		}
		if n, _ := g.Node("key:LTAI5tFIXFOUNDKEY0000001"); n.State != hunt.StatePresent || n.Followed {
			t.Errorf("key found by its creation time: %+v (its events could not be read)", n)
		}
		if n, ok := g.Node("key:?lost@2026-11-22T00:20:00Z"); !ok || n.State == hunt.StatePresent {
			t.Errorf("unidentified key: %+v", n)
		}
		if n, _ := g.Node("session:deployer:s1"); !n.Expires.Equal(time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)) || n.State != hunt.StatePresent {
			t.Errorf("session without DurationSeconds: %+v (the role's 6 h apply)", n)
		}
		if n, _ := g.Node("user:recreated"); !n.Foreign {
			t.Errorf("recreated user: %+v", n)
		}
		if len(g.Errors) != 2 {
			t.Errorf("errors %q, want the source's and the check's", g.Errors)
		}
		want := []string{"delete-key key:LTAI5tFIXFOUNDKEY0000001", "purge-key key:LTAI5tFIXFOUNDKEY0000001",
			"remove-from-group group:ops", "detach-policy policy:Custom/shared", "deny-role role:deployer"}
		if got := actionsOf(p); !slices.Equal(got, want) {
			t.Errorf("plan %v, want %v", got, want)
		}
		deny := p.Actions[len(p.Actions)-1]
		if !slices.Equal(deny.IPs, []string{"198.51.100.77", "203.0.113.9"}) || deny.Policy.Name != "respond-deny-deployer-bad-run-id" {
			t.Errorf("deny %+v", deny)
		}
		for _, k := range []string{"key:?lost@2026-11-22T00:20:00Z", "policy:Custom/shared", "session:deployer:old", "session:other-acct:x", "user:recreated"} {
			if !slices.Contains(keptOf(p), k) {
				t.Errorf("%s not in the kept list %v", k, keptOf(p))
			}
		}
	},
}

func TestNoCloud(t *testing.T) {
	f := loadFixture(t, "hostile")
	g, err := hunt.Run(context.Background(), hunt.Input{Key: mustID(t, f.Input.Key), Events: f.Input.Events,
		Start: f.Input.Start, End: f.Input.End}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range g.Nodes {
		if n.State != hunt.StateUnknown {
			t.Errorf("unchecked node %s is %s", n.ID, n.State)
		}
	}
	if n, _ := g.Node("session:deployer:s1"); !n.Expires.Equal(time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("unchecked session expiry %v, want the 12 h maximum", n.Expires)
	}
	// Nothing checked, nothing to remove.
	if p := hunt.PlanEradication(g, hunt.PlanOptions{Now: f.Input.End}); len(p.Actions) != 0 {
		t.Errorf("plan from an unchecked graph: %v", actionsOf(p))
	}
}

func TestContext(t *testing.T) {
	f := loadFixture(t, "depth")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := hunt.Run(ctx, hunt.Input{Key: mustID(t, f.Input.Key), Events: f.Input.Events, Start: f.Input.Start, End: f.Input.End},
		&fakeSource{f: f}, &f.Cloud)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
}

func TestDocuments(t *testing.T) {
	until := time.Date(2026, 11, 28, 21, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		doc  func() (string, error)
		want string // "" with err
		err  string
	}{
		{"role deny", func() (string, error) {
			return hunt.RoleDenyDocument([]string{"185.220.101.34", "45.9.148.0/24", "185.220.101.34"}, until)
		},
			`{"Version":"1","Statement":[{"Effect":"Deny","Action":["*"],"Resource":"*","Condition":{"DateLessThan":{"acs:CurrentTime":"2026-11-28T21:00:00Z"},"IpAddress":{"acs:SourceIp":["185.220.101.34","45.9.148.0/24"]}}}]}`, ""},
		{"role deny without IPs", func() (string, error) { return hunt.RoleDenyDocument(nil, until) }, "", "no valid IP"},
		{"role deny with a bad IP", func() (string, error) { return hunt.RoleDenyDocument([]string{"1.2.3.4\"}]"}, until) }, "", "not an IP"},
		{"role deny without expiry", func() (string, error) { return hunt.RoleDenyDocument([]string{"1.2.3.4"}, time.Time{}) }, "", "no expiry"},
		{"containment from the attacker's IPs", func() (string, error) {
			return hunt.ContainmentDocument(hunt.ContainOptions{Actions: hunt.HighRiskActions("Ecs", "Ims", "ram"), AttackerIPs: []string{"185.220.101.34"}})
		}, `{"Version":"1","Statement":[{"Effect":"Deny","Action":["ecs:*","ram:*","sts:*"],"Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":["185.220.101.34"]}}}]}`, ""},
		{"containment except the application", func() (string, error) {
			return hunt.ContainmentDocument(hunt.ContainOptions{AllowedIPs: []string{"10.0.3.0/24"}, Until: until})
		}, `{"Version":"1","Statement":[{"Effect":"Deny","Action":["ram:*","sts:*"],"Resource":"*","Condition":{"DateLessThan":{"acs:CurrentTime":"2026-11-28T21:00:00Z"},"NotIpAddress":{"acs:SourceIp":["10.0.3.0/24"]}}}]}`, ""},
		{"containment outright", func() (string, error) { return hunt.ContainmentDocument(hunt.ContainOptions{}) },
			`{"Version":"1","Statement":[{"Effect":"Deny","Action":["ram:*","sts:*"],"Resource":"*"}]}`, ""},
		{"containment with a bad action", func() (string, error) {
			return hunt.ContainmentDocument(hunt.ContainOptions{Actions: []string{`ram:*","*`}})
		}, "", "not an action"},
		{"containment too long", func() (string, error) {
			var ips []string
			for i := range 600 {
				ips = append(ips, fmt.Sprintf("10.%d.%d.1", i/250, i%250))
			}
			return hunt.ContainmentDocument(hunt.ContainOptions{AttackerIPs: ips})
		}, "", "more than RAM's"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.doc()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %s %v\nwant %s", got, err, tc.want)
			}
			if u, ok := hunt.DenyExpiry(got); strings.Contains(got, "DateLessThan") != ok || ok && !u.Equal(until) {
				t.Errorf("DenyExpiry = %v %v", u, ok)
			}
		})
	}
	if n := hunt.DenyPolicyName(strings.Repeat("r", 200), "x"); len(n) != 128 {
		t.Errorf("policy name of %d characters", len(n))
	}
	if n := hunt.QuarantinePolicyName("2026-11-28T12:00:00Z/run 7"); n != "respond-quarantine-2026-11-28T12-00-00Z-run-7" {
		t.Errorf("quarantine name %s", n)
	}
}

// fakeWriter records writes and answers from a script: not found, already exists, conflict.
type fakeWriter struct {
	writes  []string
	errs    map[string]error
	policy  ram.Policy
	created bool
}

func (w *fakeWriter) do(s string) error {
	w.writes = append(w.writes, s)
	return w.errs[strings.Fields(s)[0]]
}
func (w *fakeWriter) DeleteAccessKey(_ context.Context, u string, id accesskey.ID) error {
	return w.do("DeleteAccessKey " + u + " " + id.String())
}
func (w *fakeWriter) DeleteAccessKeyInRecycleBin(_ context.Context, uid string, id accesskey.ID) error {
	return w.do("DeleteAccessKeyInRecycleBin " + uid + " " + id.String())
}
func (w *fakeWriter) GetAccessKeyInfoInRecycleBin(_ context.Context, id accesskey.ID) (ram.BinnedKey, error) {
	if err, ok := w.errs["GetAccessKeyInfoInRecycleBin"]; ok {
		return ram.BinnedKey{ID: id, UserID: "9"}, err // nil: still binned
	}
	return ram.BinnedKey{}, &ram.Error{Action: "GetAccessKeyInfoInRecycleBin", Class: ram.ErrNotFound}
}
func (w *fakeWriter) DeleteLoginProfile(_ context.Context, u string) error {
	return w.do("DeleteLoginProfile " + u)
}
func (w *fakeWriter) RemoveUserFromGroup(_ context.Context, g, u string) error {
	return w.do("RemoveUserFromGroup " + g + " " + u)
}
func (w *fakeWriter) DetachPolicy(_ context.Context, k ram.EntityKind, e string, r ram.PolicyRef) error {
	return w.do("DetachPolicy " + string(k) + " " + e + " " + r.Name)
}
func (w *fakeWriter) DeletePolicy(_ context.Context, n string) error {
	return w.do("DeletePolicy " + n)
}
func (w *fakeWriter) CreatePolicy(_ context.Context, n, d, _ string) (ram.Policy, error) {
	return ram.Policy{}, w.do("CreatePolicy " + n)
}
func (w *fakeWriter) AttachPolicy(_ context.Context, k ram.EntityKind, e string, r ram.PolicyRef) error {
	return w.do("AttachPolicy " + string(k) + " " + e + " " + r.Name)
}
func (w *fakeWriter) GetPolicy(_ context.Context, r ram.PolicyRef) (ram.Policy, error) {
	return w.policy, w.do("GetPolicy " + r.Name)
}

func TestApply(t *testing.T) {
	ctx := context.Background()
	key := mustID(t, "LTAI5tFIXU1KEY0000000001")
	notFound := &ram.Error{Class: ram.ErrNotFound}
	exists := &ram.Error{Class: ram.ErrAlreadyExists}
	deny := hunt.Action{Kind: hunt.DenyRole, Entity: "ops", Policy: ram.PolicyRef{Type: "Custom", Name: "respond-deny-ops-r"},
		Document: `{"Version":"1"}`, IPs: []string{"1.2.3.4"}}
	for _, tc := range []struct {
		name   string
		a      hunt.Action
		errs   map[string]error
		policy ram.Policy
		writes []string
		err    string
	}{
		{"delete key", hunt.Action{Kind: hunt.DeleteKey, UserName: "u1", KeyID: key}, nil, ram.Policy{}, []string{"DeleteAccessKey u1 " + key.String()}, ""},
		{"delete key already gone", hunt.Action{Kind: hunt.DeleteKey, UserName: "u1", KeyID: key}, map[string]error{"DeleteAccessKey": notFound}, ram.Policy{}, []string{"DeleteAccessKey u1 " + key.String()}, ""},
		{"purge needs the user id", hunt.Action{Kind: hunt.PurgeKey, UserName: "u1", KeyID: key}, nil, ram.Policy{}, nil, "user id"},
		{"purge", hunt.Action{Kind: hunt.PurgeKey, UserName: "u1", UserID: "2001", KeyID: key}, map[string]error{"DeleteAccessKeyInRecycleBin": notFound}, ram.Policy{}, []string{"DeleteAccessKeyInRecycleBin 2001 " + key.String()}, ""},
		{"delete policy still attached", hunt.Action{Kind: hunt.DeletePolicy, Policy: ram.PolicyRef{Name: "p"}}, map[string]error{"DeletePolicy": &ram.Error{Class: ram.ErrConflict}}, ram.Policy{}, []string{"DeletePolicy p"}, "still attached"},
		{"deny", deny, nil, ram.Policy{}, []string{"CreatePolicy respond-deny-ops-r", "AttachPolicy Role ops respond-deny-ops-r"}, ""},
		{"deny resumed", deny, map[string]error{"CreatePolicy": exists, "AttachPolicy": exists}, ram.Policy{Document: `{"Version":"1"}`},
			[]string{"CreatePolicy respond-deny-ops-r", "GetPolicy respond-deny-ops-r", "AttachPolicy Role ops respond-deny-ops-r"}, ""},
		{"deny over someone else's policy", deny, map[string]error{"CreatePolicy": exists}, ram.Policy{Document: `{"other":1}`},
			[]string{"CreatePolicy respond-deny-ops-r", "GetPolicy respond-deny-ops-r"}, "another document"},
		{"unknown", hunt.Action{Kind: "drop-table"}, nil, ram.Policy{}, nil, "unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &fakeWriter{errs: tc.errs, policy: tc.policy}
			err := hunt.Apply(ctx, w, tc.a)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("err %v, want %q", err, tc.err)
			}
			if !slices.Equal(w.writes, tc.writes) {
				t.Fatalf("writes %q, want %q", w.writes, tc.writes)
			}
		})
	}
}

// FuzzHunt: whatever the events say, the hunt neither panics nor prints a control character,
// and the plan never touches the leaked key.
func FuzzHunt(f *testing.F) {
	f.Add("CreateUser", "UserName", "u\x1b[1m", "1.2.3.4", "")
	f.Add("AssumeRole", "RoleArn", "acs:ram::1:role/r", "::1", "DurationSeconds")
	f.Add("AttachPolicyToUser", "PolicyName", "AdministratorAccess", "", "UserName")
	f.Add("UpdateAccessKey", "UserAccessKeyId", "LTAI5tFIXLEAKED000000001", "x", "Status")
	f.Fuzz(func(t *testing.T, name, k1, v1, ip, k2 string) {
		start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		ev := ram.Event{ID: "f1", Name: name, Service: "Ram", Time: start.Add(time.Hour), SourceIP: ip,
			Params: map[string]string{k1: v1, k2: "Active", "RoleSessionName": v1, "UserName": v1, "PolicyName": v1, "GroupName": v1}}
		key, _ := accesskey.ParseID("LTAI5tFIXLEAKED000000001")
		g, err := hunt.Run(context.Background(), hunt.Input{Key: key, Owner: v1, Events: []ram.Event{ev, ev}, Start: start,
			End: start.Add(48 * time.Hour)}, nil, &fakeCloud{})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := g.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		p := hunt.PlanEradication(g, hunt.PlanOptions{RunID: v1})
		if err := p.WriteText(&b); err != nil {
			t.Fatal(err)
		}
		for _, r := range b.String() {
			if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Cf, r)) {
				t.Fatalf("control character %U in %q", r, b.String())
			}
		}
		for _, a := range p.Actions {
			if a.KeyID == key {
				t.Fatalf("plan touches the leaked key: %+v", a)
			}
		}
	})
}

// FuzzDenyExpiry: any document either yields an expiry or not, without panicking.
func FuzzDenyExpiry(f *testing.F) {
	doc, _ := hunt.RoleDenyDocument([]string{"1.2.3.4"}, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	f.Add(doc)
	f.Add(`{"Statement":[{"Effect":"Deny","Condition":{"DateLessThan":{"acs:currenttime":["x"]}}}]}`)
	f.Fuzz(func(t *testing.T, doc string) {
		if u, ok := hunt.DenyExpiry(doc); ok && u.IsZero() {
			t.Fatal("ok with a zero time")
		}
	})
}
