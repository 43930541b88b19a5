package ram

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
)

// incidentOrg is testdata/orgs/incident.yaml.
func incidentOrg(t testing.TB) *emulator.Org {
	t.Helper()
	org, err := emulator.LoadOrg("../testdata/orgs/incident.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return org
}

// fromIP makes every call of a client come from ip (the emulator's test-only header).
type fromIP struct {
	ip   string
	base http.RoundTripper
}

func (f fromIP) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set(emulator.SourceIPHeader, f.ip)
	return f.base.RoundTrip(r)
}

// clientFrom is clientFor, with every call coming from ip.
func clientFrom(t testing.TB, s *emulator.Server, cr emulator.Credential, ip string) *Client {
	t.Helper()
	c, err := New(context.Background(), Config{
		Endpoint:    s.Endpoint(),
		Credentials: StaticCredentials(cr.AccessKeyID, accesskey.NewSecret(cr.AccessKeySecret)),
		UserAgent:   "respond/test",
		Transport:   fromIP{ip: ip, base: http.DefaultTransport},
		Retry:       RetryPolicy{MaxAttempts: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEmu_policies(t *testing.T) {
	s, c, _ := startEmu(t, incidentOrg(t))
	ctx := context.Background()
	doc := `{"Version":"1","Statement":[{"Effect":"Deny","Action":["ram:*","ims:*","sts:*"],"Resource":"*"}]}`
	p, err := c.CreatePolicy(ctx, "respond-quarantine-r1", doc, "respond containment")
	if err != nil || p.Name != "respond-quarantine-r1" || p.Type != PolicyCustom || p.DefaultVersion != "v1" {
		t.Fatalf("CreatePolicy %+v %v", p, err)
	}
	if _, err := c.CreatePolicy(ctx, "respond-quarantine-r1", doc, ""); !errors.Is(err, ErrAlreadyExists) {
		t.Fatalf("second CreatePolicy: %v", err)
	}
	ref := PolicyRef{Type: PolicyCustom, Name: "respond-quarantine-r1"}
	for _, kind := range []EntityKind{EntityUser, EntityRole, EntityGroup} {
		entity := map[EntityKind]string{EntityUser: "deploy-bot", EntityRole: "ops-admin", EntityGroup: "admins"}[kind]
		if err := c.AttachPolicy(ctx, kind, entity, ref); err != nil {
			t.Fatal(err)
		}
		if err := c.AttachPolicy(ctx, kind, entity, ref); !errors.Is(err, ErrAlreadyExists) {
			t.Fatalf("attach twice to %s: %v", kind, err)
		}
		got, err := c.ListPoliciesFor(ctx, kind, entity)
		if err != nil || !slices.ContainsFunc(got, func(a AttachedPolicy) bool { return a.PolicyRef == ref && !a.AttachDate.IsZero() }) {
			t.Fatalf("ListPoliciesFor %s %s: %+v %v", kind, entity, got, err)
		}
	}
	ents, err := c.ListEntitiesForPolicy(ctx, ref)
	if err != nil || !slices.Equal(ents.Users, []string{"deploy-bot"}) || !slices.Equal(ents.Roles, []string{"ops-admin"}) || !slices.Equal(ents.Groups, []string{"admins"}) {
		t.Fatalf("ListEntitiesForPolicy %+v %v", ents, err)
	}
	got, err := c.GetPolicy(ctx, ref)
	if err != nil || got.Document != doc || got.Attachments != 3 {
		t.Fatalf("GetPolicy %+v %v", got, err)
	}
	if err := c.DeletePolicy(ctx, ref.Name); !errors.Is(err, ErrConflict) {
		t.Fatalf("delete while attached: %v", err)
	}
	for _, kind := range []EntityKind{EntityUser, EntityRole, EntityGroup} {
		entity := map[EntityKind]string{EntityUser: "deploy-bot", EntityRole: "ops-admin", EntityGroup: "admins"}[kind]
		if err := c.DetachPolicy(ctx, kind, entity, ref); err != nil {
			t.Fatal(err)
		}
		if err := c.DetachPolicy(ctx, kind, entity, ref); !errors.Is(err, ErrNotFound) {
			t.Fatalf("detach twice from %s: %v", kind, err)
		}
	}
	if err := c.DeletePolicy(ctx, ref.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetPolicy(ctx, ref); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetPolicy after delete: %v", err)
	}
	if err := c.AttachPolicy(ctx, "Bucket", "x", ref); err == nil {
		t.Fatal("unknown entity kind accepted")
	}
	if v := s.Violations(); len(v) != 0 {
		t.Fatalf("violations %q", v)
	}
}

// A write whose answer was lost is not repeated into an error: the retry's already-exists
// (attach, create) or not-found (detach, delete) means the lost attempt did it.
func TestEmu_policyWritesAmbiguous(t *testing.T) {
	s, c, _ := startEmu(t, incidentOrg(t))
	ctx := context.Background()
	ref := PolicyRef{Type: PolicyCustom, Name: "respond-deny-ops-admin"}
	doc := `{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`
	for _, tc := range []struct {
		action string
		do     func() error
	}{
		{"CreatePolicy", func() error { _, err := c.CreatePolicy(ctx, ref.Name, doc, ""); return err }},
		{"AttachPolicyToRole", func() error { return c.AttachPolicy(ctx, EntityRole, "ops-admin", ref) }},
		{"DetachPolicyFromRole", func() error { return c.DetachPolicy(ctx, EntityRole, "ops-admin", ref) }},
		{"DeletePolicy", func() error { return c.DeletePolicy(ctx, ref.Name) }},
		{"DeleteLoginProfile", func() error { return c.DeleteLoginProfile(ctx, "svc-backup") }},
		{"RemoveUserFromGroup", func() error { return c.RemoveUserFromGroup(ctx, "admins", "svc-metrics") }},
	} {
		remove := s.AddFault(emulator.Fault{Action: tc.action, Kind: emulator.FaultServerErrorAfter, Nth: 1})
		if err := tc.do(); err != nil {
			t.Fatalf("%s after a lost answer: %v", tc.action, err)
		}
		remove()
		if n := calls(s, tc.action); n != 2 {
			t.Fatalf("%s: %d calls, want 2", tc.action, n)
		}
	}
	// Without an earlier ambiguous attempt, the same answers are errors.
	if err := c.DeleteLoginProfile(ctx, "svc-backup"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("DeleteLoginProfile again: %v", err)
	}
}

func TestEmu_identityReads(t *testing.T) {
	_, c, _ := startEmu(t, incidentOrg(t))
	ctx := context.Background()
	lp, err := c.GetLoginProfile(ctx, "svc-backup")
	if err != nil || lp.UserName != "svc-backup" || lp.CreateDate.IsZero() {
		t.Fatalf("GetLoginProfile %+v %v", lp, err)
	}
	if _, err := c.GetLoginProfile(ctx, "web-app"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no login profile: %v", err)
	}
	gs, err := c.ListGroupsForUser(ctx, "svc-metrics")
	if err != nil || len(gs) != 1 || gs[0].Name != "admins" {
		t.Fatalf("ListGroupsForUser %+v %v", gs, err)
	}
	r, err := c.GetRole(ctx, "ops-admin")
	if err != nil || r.MaxSessionDuration != 12*time.Hour || r.Arn != "acs:ram::7000000000000001:role/ops-admin" {
		t.Fatalf("GetRole %+v %v", r, err)
	}
	if _, err := c.GetRole(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("GetRole unknown: %v", err)
	}
	pols, err := c.ListPoliciesFor(ctx, EntityUser, "svc-backup")
	if err != nil || len(pols) != 1 || pols[0].PolicyRef != (PolicyRef{PolicySystem, "AdministratorAccess"}) {
		t.Fatalf("ListPoliciesFor svc-backup %+v %v", pols, err)
	}
}

func TestEmu_accessKeyPolicy(t *testing.T) {
	org := incidentOrg(t)
	s, c, _ := startEmu(t, org, emulator.WithSourceIPHeader())
	ctx := context.Background()
	leaked := mustID(t, "LTAI5tINCDEPLOYLEAKED001")
	got, err := c.GetAccessKeyPolicy(ctx, leaked)
	if err != nil || got.Status != StatusInactive || len(got.Statements) != 0 {
		t.Fatalf("GetAccessKeyPolicy %+v %v", got, err)
	}
	if err := c.SetAccessKeyPolicy(ctx, leaked, AllowOnly("10.0.3.0/24")); err != nil {
		t.Fatal(err)
	}
	got, err = c.GetAccessKeyPolicy(ctx, leaked)
	if err != nil || got.Status != StatusActive || got.Statements[0].IPList[0] != "10.0.3.0/24" {
		t.Fatalf("GetAccessKeyPolicy %+v %v", got, err)
	}
	cr, _ := org.Key(leaked.String())
	if err := clientFrom(t, s, cr, "185.220.101.34").ListUsers(ctx, func(User) error { return nil }); !errors.Is(err, ErrNoPermission) {
		t.Fatalf("the leaked key from the attacker's IP: %v", err)
	}
	if err := clientFrom(t, s, cr, "10.0.3.17").ListUsers(ctx, func(User) error { return nil }); err != nil {
		t.Fatalf("the leaked key from the application's IP: %v", err)
	}
	if err := c.SetAccessKeyPolicy(ctx, leaked, NoAccessKeyPolicy()); err != nil {
		t.Fatal(err)
	}
	if err := clientFrom(t, s, cr, "185.220.101.34").ListUsers(ctx, func(User) error { return nil }); err != nil {
		t.Fatalf("policy removed, still refused: %v", err)
	}
}

func TestEmu_lookupEventsByUserWithDetail(t *testing.T) {
	_, c, _ := startEmu(t, incidentOrg(t), emulator.WithLookupEventsLimit(0))
	ctx := context.Background()
	var evs []Event
	collect := func(e Event) error { evs = append(evs, e); return nil }
	if err := c.LookupEvents(ctx, EventQuery{User: "svc-backup"}, collect); err != nil {
		t.Fatal(err)
	}
	names := map[string]Event{}
	for _, e := range evs {
		names[e.Name] = e
	}
	if len(evs) != 5 || names["CreatePolicy"].Params["PolicyName"] != "ops-helper" || names["AttachPolicyToRole"].Params["RoleName"] != "ops-admin" {
		t.Fatalf("events of svc-backup: %+v", evs)
	}
	ck := names["CreateAccessKey"]
	if ck.Response["AccessKey.AccessKeyId"] != "LTAI5tINCSVCMETRICS00001" || ck.IdentityType != "ram-user" || ck.UserName != "svc-backup" {
		t.Fatalf("CreateAccessKey detail %+v", ck)
	}
	evs = nil
	if err := c.LookupEvents(ctx, EventQuery{User: "ops-admin:maint"}, collect); err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].IdentityType != "assumed-role" {
		t.Fatalf("events of the role session: %+v", evs)
	}
}

func TestFlatten(t *testing.T) {
	got := flatten(map[string]any{"AccessKey": map[string]any{"AccessKeyId": "LTAI", "Status": "Active", "N": 3.0,
		"Deep": map[string]any{"a": map[string]any{"b": map[string]any{"c": "too deep"}}},
		// fields that may hold a secret are never kept, wherever they stand
		"AccessKeySecret": "FakeSecret0000000000000000001"}, "List": []any{"x"}, "Empty": "",
		"Password": "FakePassw0rd!", "SecretData": "FakeSecretData", "SecurityToken": "CAISfake",
		"Credentials": map[string]any{"AccessKeySecret": "FakeSecret0000000000000000002", "NewPassword": "x"}})
	want := map[string]string{"AccessKey.AccessKeyId": "LTAI", "AccessKey.Status": "Active", "AccessKey.N": "3"}
	if len(got) != len(want) {
		t.Fatalf("flatten = %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("flatten = %v", got)
		}
	}
	if flatten(map[string]any{}) != nil {
		t.Fatal("empty object should flatten to nil")
	}
}

func TestClassifyCode_identityCodes(t *testing.T) {
	for code, want := range map[string]error{
		"EntityAlreadyExists.User.Policy":       ErrAlreadyExists,
		"EntityAlreadyExists.Policy":            ErrAlreadyExists,
		"EntityAlreadyExists.User.LoginProfile": ErrAlreadyExists,
		"DeleteConflict.Policy.User":            ErrConflict,
		"DeleteConflict.User.LoginProfile":      ErrConflict,
		"EntityNotExist.User.LoginProfile":      ErrNotFound,
		"EntityNotExist.Role.Policy":            ErrNotFound,
		"MalformedPolicyDocument":               nil,
		"LimitExceeded.User.Policy":             nil,
	} {
		if got := classifyCode(code, 409); got != want {
			t.Errorf("%s: %v, want %v", code, got, want)
		}
	}
}
