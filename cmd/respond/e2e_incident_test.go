package main

// Issue 16 through the real binary: the incident of testdata/orgs/incident.yaml (a leaked key that
// created a backdoor user with a key, a console password and AdministratorAccess, re-enabled an
// old key, assumed a role from the attacker's address). Every check goes through the Alibaba SDK.

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/actiontrail"
	sdkram "github.com/aliyun/alibaba-cloud-sdk-go/services/ram"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sts"

	"github.com/respond-dev/respond/ram/emulator"
)

const (
	incLeak     = "LTAI5tINCDEPLOYLEAKED001"
	incOld      = "LTAI5tINCDEPLOYOLDKEY001"
	incUser     = "deploy-bot"
	incAccount  = "7000000000000001"
	incAttacker = "185.220.101.34"
)

// cloud is SDK access to an emulator, in-process or served by `respond sandbox serve`.
type cloud struct {
	t        testing.TB
	endpoint string
	cred     auth.Credential
}

func (c cloud) client(product string) *sdk.Client {
	c.t.Helper()
	cl, err := sdk.NewClientWithOptions("cn-hangzhou", sdk.NewConfig().WithScheme("HTTP"), c.cred)
	if err != nil {
		c.t.Fatal(err)
	}
	cl.Domain = c.endpoint
	return cl
}

func (c cloud) ram() *sdkram.Client {
	c.t.Helper()
	rc, err := sdkram.NewClientWithOptions("cn-hangzhou", sdk.NewConfig().WithScheme("HTTP"), c.cred)
	if err != nil {
		c.t.Fatal(err)
	}
	rc.Domain = c.endpoint
	return rc
}

// common makes an RPC call (CommonRequest, as the aliyun CLI does), from ip when not empty, and
// decodes its answer into out.
func (c cloud) common(product, version, action, ip string, params map[string]string, out any) error {
	c.t.Helper()
	req := requests.NewCommonRequest()
	req.Method, req.Scheme, req.Domain, req.Version, req.ApiName, req.Product = "POST", "HTTP", c.endpoint, version, action, product
	for k, v := range params {
		req.QueryParams[k] = v
	}
	if ip != "" {
		req.Headers[emulator.SourceIPHeader] = ip
	}
	resp, err := c.client(product).ProcessCommonRequest(req)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(resp.GetHttpContentBytes(), out)
}

func (c cloud) ramCall(action string, params map[string]string, out any) error {
	return c.common("Ram", "2015-05-01", action, "", params, out)
}

func sdkCode(err error) string {
	var se *sdkerrors.ServerError
	if errors.As(err, &se) {
		return se.ErrorCode()
	}
	return ""
}

// policies lists the policy names attached to a user or a role.
func (c cloud) policies(kind, name string) []string {
	c.t.Helper()
	var out struct {
		Policies struct{ Policy []struct{ PolicyName string } }
	}
	if err := c.ramCall("ListPoliciesFor"+kind, map[string]string{kind + "Name": name}, &out); err != nil {
		c.t.Fatalf("ListPoliciesFor%s %s: %v", kind, name, err)
	}
	var names []string
	for _, p := range out.Policies.Policy {
		names = append(names, p.PolicyName)
	}
	return names
}

// checkIncident asserts contain-first's end state (issue 16, Done means); sinkID is the id the
// sink holds, runID the rotation's first run (its policies are named after it).
func (c cloud) checkIncident(sinkID, runID string) {
	t := c.t
	t.Helper()
	rc := c.ram()
	if ids := listKeys(t, rc, incUser); len(ids) != 1 || ids[0] != sinkID {
		t.Errorf("%s keys %v, want only the replacement %s (leaked and re-enabled keys deleted)", incUser, ids, sinkID)
	}
	for user, want := range map[string][]string{"svc-backup": nil, "svc-metrics": nil, "web-app": {"LTAI5tINCWEBAPP000000001"}} {
		if ids := listKeys(t, rc, user); !slices.Equal(ids, want) {
			t.Errorf("%s keys %v, want %v (the attacker's keys deleted)", user, ids, want)
		}
	}
	for _, user := range []string{"svc-backup", "svc-metrics"} {
		var u struct{ User struct{ UserId string } }
		if err := c.ramCall("GetUser", map[string]string{"UserName": user}, &u); err != nil {
			t.Errorf("user %s was not kept: %v", user, err)
			continue
		}
		var bin struct {
			AccessKeys struct {
				AccessKey []struct{ AccessKeyId string }
			}
		}
		if err := c.common("Ims", "2019-08-15", "ListAccessKeysInRecycleBin", "", map[string]string{"UserId": u.User.UserId}, &bin); err != nil || len(bin.AccessKeys.AccessKey) != 0 {
			t.Errorf("%s's recycle bin %+v %v: want the attacker's key purged", user, bin, err)
		}
	}
	if err := c.ramCall("GetLoginProfile", map[string]string{"UserName": "svc-backup"}, nil); !strings.HasPrefix(sdkCode(err), "EntityNotExist") {
		t.Errorf("svc-backup's login profile: %v", err)
	}
	if p := c.policies("User", "svc-backup"); len(p) != 0 {
		t.Errorf("svc-backup policies %v", p)
	}
	var groups struct {
		Groups struct{ Group []struct{ GroupName string } }
	}
	if err := c.ramCall("ListGroupsForUser", map[string]string{"UserName": "svc-metrics"}, &groups); err != nil || len(groups.Groups.Group) != 0 {
		t.Errorf("svc-metrics groups %+v %v", groups, err)
	}
	if p := c.policies("User", incUser); !slices.Equal(p, []string{"AliyunRAMFullAccess", "AliyunSTSAssumeRoleAccess", "AliyunECSFullAccess"}) {
		t.Errorf("%s policies %v: want its own, the quarantine removed", incUser, p)
	}
	rp := c.policies("Role", "ops-admin")
	if len(rp) != 2 || rp[0] != "ReadOnlyAccess" || !strings.HasPrefix(rp[1], "respond-deny-ops-admin-") {
		t.Fatalf("ops-admin policies %v: want ReadOnlyAccess and respond's deny", rp)
	}
	var pol struct {
		DefaultPolicyVersion struct{ PolicyDocument string }
	}
	if err := c.ramCall("GetPolicy", map[string]string{"PolicyType": "Custom", "PolicyName": rp[1]}, &pol); err != nil ||
		!strings.Contains(pol.DefaultPolicyVersion.PolicyDocument, `"acs:SourceIp":["185.220.101.34"]`) ||
		!strings.Contains(pol.DefaultPolicyVersion.PolicyDocument, `"DateLessThan":{"acs:CurrentTime":`) {
		t.Errorf("the role's deny %v: %s, want the attacker's address until a time", err, pol.DefaultPolicyVersion.PolicyDocument)
	}
	if q := "respond-quarantine-" + policySafe(runID); runID == "" || !strings.HasSuffix(rp[1], policySafe(runID)) {
		t.Errorf("the role's deny %s is not named after the rotation's first run %q", rp[1], runID)
	} else if err := c.ramCall("GetPolicy", map[string]string{"PolicyType": "Custom", "PolicyName": q}, nil); !strings.HasPrefix(sdkCode(err), "EntityNotExist") {
		t.Errorf("the quarantine %s: %v, want deleted", q, err)
	}
	if err := c.ramCall("GetPolicy", map[string]string{"PolicyType": "Custom", "PolicyName": "ops-helper"}, nil); !strings.HasPrefix(sdkCode(err), "EntityNotExist") {
		t.Errorf("the attacker's policy ops-helper: %v", err)
	}
}

// roleCall assumes ops-admin with the admin's key and signs a RAM read with the token, sent from ip.
func (c cloud) roleCall(ip string) error {
	c.t.Helper()
	sc, err := sts.NewClientWithOptions("cn-hangzhou", sdk.NewConfig().WithScheme("HTTP"), c.cred)
	if err != nil {
		c.t.Fatal(err)
	}
	sc.Domain = c.endpoint
	req := sts.CreateAssumeRoleRequest()
	req.RoleArn, req.RoleSessionName = "acs:ram::"+incAccount+":role/ops-admin", "e2e-check"
	resp, err := sc.AssumeRole(req)
	if err != nil {
		c.t.Fatalf("AssumeRole: %v", err)
	}
	k := resp.Credentials
	tc := cloud{t: c.t, endpoint: c.endpoint, cred: credentials.NewStsTokenCredential(k.AccessKeyId, k.AccessKeySecret, k.SecurityToken)}
	return tc.common("Ram", "2015-05-01", "GetUser", ip, map[string]string{"UserName": "web-app"}, nil)
}

// writesBy lists the actions signed by key that ActionTrail recorded since start and that change
// something (every authenticated call the emulator serves is recorded).
func (c cloud) writesBy(key string, start time.Time) []string {
	c.t.Helper()
	tc, err := actiontrail.NewClientWithOptions("cn-hangzhou", sdk.NewConfig().WithScheme("HTTP"), c.cred)
	if err != nil {
		c.t.Fatal(err)
	}
	tc.Domain = c.endpoint
	var out []string
	next := ""
	for range 100 {
		req := actiontrail.CreateLookupEventsRequest()
		req.StartTime, req.EndTime = start.UTC().Format(time.RFC3339), time.Now().Add(time.Minute).UTC().Format(time.RFC3339)
		req.LookupAttribute = &[]actiontrail.LookupEventsLookupAttribute{{Key: "EventAccessKeyId", Value: key}}
		req.MaxResults, req.NextToken = "50", next
		resp, err := tc.LookupEvents(req)
		if strings.HasPrefix(sdkCode(err), "Throttling") {
			time.Sleep(600 * time.Millisecond)
			continue
		}
		if err != nil {
			c.t.Fatalf("LookupEvents: %v", err)
		}
		for _, ev := range resp.Events {
			name, _ := ev["eventName"].(string)
			if !readOnlyAction(name) && name != "GetCallerIdentity" && name != "AssumeRole" {
				out = append(out, name)
			}
		}
		if next = resp.NextToken; next == "" {
			return out
		}
	}
	c.t.Fatal("LookupEvents did not end")
	return nil
}

// Done means, through `respond sandbox serve --org testdata/orgs/incident.yaml`: the dry run prints
// the incident graph, the planned containment and eradication, and makes no write call;
// contain-first --yes leaves the cloud clean; the role's STS token is refused from the
// attacker's address and not from another; status lists the role's deny.
func TestE2EIncidentSandboxServe(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "small.yaml")) // for the home and state directories only
	_, vars := serveSandbox(t, e, "--org", "../../testdata/orgs/incident.yaml", "--source-ip-header")
	c := cloud{t: t, endpoint: vars["RESPOND_ENDPOINT"],
		cred: credentials.NewStaticAKCredentialsProvider(vars["ALIBABA_CLOUD_ACCESS_KEY_ID"], vars["ALIBABA_CLOUD_ACCESS_KEY_SECRET"])}
	cfg := e.fileSinkConfig("")
	args := []string{"--key-id", incLeak, "--playbook", "contain-first", "--config", cfg, "--state-dir", e.state, "--endpoint", vars["RESPOND_ENDPOINT"]}
	start := time.Now().Add(-time.Second)

	r := e.runRaw("", append(args, "--dry-run")...)
	wantCode(t, r, 0)
	mustContain(t, "dry run", r.Stdout,
		"Incident graph of key "+incLeak+" of deploy-bot",
		"CreateUser from 185.220.101.34 → user svc-backup [created, present]",
		"AssumeRole from 185.220.101.34 → session ops-admin:maint",
		"Containment (contain step, before the rotation):",
		"deny policy respond-quarantine-<run id> on user/deploy-bot: deny ecs:*, ram:*, sts:* from 185.220.101.34, 45.9.148.3",
		"Eradication (eradicate step, after the leaked key is deleted):",
		"delete the login profile (console password) of user svc-backup",
		"attach Custom policy respond-deny-ops-admin-<run id> to role ops-admin: deny everything from 185.220.101.34")
	if w := c.writesBy(vars["ALIBABA_CLOUD_ACCESS_KEY_ID"], start); len(w) != 0 {
		t.Fatalf("the dry run made write calls: %v", w)
	}
	rj := e.runRaw("", append(args, "--dry-run", "--output", "json")...)
	wantCode(t, rj, 0)
	var rep struct {
		Results []struct {
			Plan struct {
				Incident struct {
					Nodes []struct{ ID string }
					Edges []struct{ From, To, Action string }
				}
				Containment struct{ Policy, Target string }
				Eradication struct{ Actions []struct{ Kind string } }
			}
		}
	}
	if err := json.Unmarshal([]byte(rj.Stdout), &rep); err != nil || len(rep.Results) != 1 {
		t.Fatalf("JSON plan: %v\n%s", err, rj.Stdout)
	}
	if p := rep.Results[0].Plan; len(p.Incident.Edges) != 12 || len(p.Incident.Nodes) < 12 || p.Containment.Target != "user/deploy-bot" || len(p.Eradication.Actions) != 14 {
		t.Errorf("JSON plan: %d edges, %d nodes, containment %+v, %d eradication actions", len(p.Incident.Edges), len(p.Incident.Nodes), p.Containment, len(p.Eradication.Actions))
	}

	r = e.runRaw("", append(args, "--yes")...)
	wantCode(t, r, 0)
	mustContain(t, "run", r.Stderr, "contain done: deny policy respond-quarantine-", "quarantine respond-quarantine-", "removed from deploy-bot", "eradicate done: 14 of 14 write(s) done")
	id, _ := e.sinkCredential(incUser)
	run := e.runID()
	c.checkIncident(id, run)
	if err := c.roleCall(incAttacker); sdkCode(err) != "NoPermission" {
		t.Errorf("the role's token from the attacker's address: %v, want NoPermission", err)
	}
	if err := c.roleCall("10.0.3.17"); err != nil {
		t.Errorf("the role's token from another address: %v", err)
	}
	s := e.runRaw("", "status", "--state-dir", e.state)
	mustContain(t, "status", s.Stdout, "Deny policies respond left in place:", "respond-deny-ops-admin-", "on role/ops-admin", "applies until",
		"removed by the first run of respond --key-id "+incLeak+" --yes --state-dir "+e.state) // the run's own command, as it resumes
	// A re-run: already remediated, nothing changes.
	r = e.runRaw("", append(args, "--yes", "--output", "json")...)
	wantCode(t, r, 0)
	if rep := decodeReport(t, r); rep.Results[0].Result == nil || rep.Results[0].Result.Outcome != "already-remediated" {
		t.Errorf("re-run: %+v", rep.Results[0])
	}
	c.checkIncident(id, run)
}

// The dry run against the in-process emulator: the request log holds no write.
func TestE2EIncidentDryRun(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "incident.yaml"))
	cfg := e.fileSinkConfig("")
	for _, pb := range []string{"standard", "contain-first"} {
		r := e.run("", "--key-id", incLeak, "--dry-run", "--playbook", pb, "--config", cfg)
		wantCode(t, r, 0)
		mustContain(t, pb, r.Stdout, "Incident graph of key "+incLeak, "└── ")
		if pb == "contain-first" {
			mustContain(t, pb, r.Stdout, "Containment (contain step", "Eradication (14 writes)")
		} else if strings.Contains(r.Stdout, "Eradication (") || !strings.Contains(r.Stdout, "or run the contain-first playbook") {
			t.Errorf("standard hunts but does not eradicate:\n%s", r.Stdout)
		}
	}
	e.noMutation()
}

// SIGKILL at each boundary of the incident steps (contain-first on incident.yaml), then the same
// command again: the run converges on the clean end state, with one deny on the role.
func TestE2EIncidentCrashResume(t *testing.T) {
	t.Parallel()
	cases := []struct {
		boundary string
		hold     func(t *testing.T, e *e2e, st *started) (release func())
	}{
		{"during the hunt", incHoldAt("GetLoginProfile")},
		{"before the quarantine is attached", incHoldAt("AttachPolicyToUser")},
		{"quarantine attached, before DeleteAccessKey", incHoldAt("DeleteAccessKey")},
		{"leaked key deleted, before the quarantine is removed", incHoldAt("DetachPolicyFromUser")},
		{"during the eradication", incHoldAt("DeleteLoginProfile")},
		{"before the role's deny is attached", incHoldAt("AttachPolicyToRole")},
	}
	for _, tc := range cases {
		t.Run(tc.boundary, func(t *testing.T) {
			t.Parallel()
			limit(t)
			e := newE2E(t, orgFromFile(t, "incident.yaml"))
			cfg := e.fileSinkConfig("")
			args := []string{"--key-id", incLeak, "--yes", "--config", cfg, "--playbook", "contain-first"}
			st := e.start(args...)
			release := tc.hold(t, e, st)
			if err := st.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			if r := e.wait(st); r.Code != -int(syscall.SIGKILL) {
				t.Fatalf("respond was not killed: %s", r)
			}
			release()
			r := e.run("", args...)
			wantCode(t, r, 0)
			id, _ := e.sinkCredential(incUser)
			c := cloud{t: t, endpoint: e.s.Endpoint(), cred: credentials.NewStaticAKCredentialsProvider(e.admin.AccessKeyID, e.admin.AccessKeySecret)}
			c.checkIncident(id, e.runID())
			before := e.count("CreateAccessKey") + e.count("CreatePolicy") + e.count("AttachPolicyToRole")
			wantCode(t, e.run("", args...), 0)
			if after := e.count("CreateAccessKey") + e.count("CreatePolicy") + e.count("AttachPolicyToRole"); after != before {
				t.Error("a run after convergence created something")
			}
		})
	}
}

func incHoldAt(action string) func(t *testing.T, e *e2e, st *started) func() {
	return func(t *testing.T, e *e2e, st *started) func() {
		p := e.s.PauseAt(action)
		e.waitReached(p, st)
		return p.Release
	}
}

// policySafe is a run id as RAM policy names carry it ([A-Za-z0-9-]).
func policySafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, s)
}

// runID is the first run id of the key's rotation, from respond status.
func (e *e2e) runID(extra ...string) string {
	e.t.Helper()
	r := e.runRaw("", append([]string{"status", "--all", "--output", "json", "--state-dir", e.state}, extra...)...)
	var st struct {
		Rotations []struct {
			KeyID string `json:"key_id"`
			RunID string `json:"run_id"`
		}
	}
	if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil {
		e.t.Fatalf("status: %v\n%s", err, r)
	}
	for _, rot := range st.Rotations {
		if rot.KeyID == incLeak {
			return rot.RunID
		}
	}
	return ""
}

// The whole incident response through the binary, emulator at 20 ms per call and ActionTrail's
// 2 LookupEvents/s per region: contain-first on incident.yaml (plan with the hunt, quarantine,
// rotation, 14 eradication writes, verify), and the standard playbook's hunt on the demo's
// leaked key (--dry-run), against contain-only's (no hunt). Wall time and calls per run.
func BenchmarkE2EIncident20ms(b *testing.B) {
	for _, bc := range []struct{ name, org, key, playbook, mode string }{
		{"incident-contain-first", "incident.yaml", incLeak, "contain-first", "--yes"},
		{"demo-standard-dry-run", "demo.yaml", "LTAI5tFAKEBILLING0LEAK01", "standard", "--dry-run"},
		{"demo-contain-only-dry-run (no hunt)", "demo.yaml", "LTAI5tFAKEBILLING0LEAK01", "contain-only", "--dry-run"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			bench20ms(b, bc.org, "--key-id", bc.key, bc.mode, "--playbook", bc.playbook, "--locate", "ims")
		})
	}
}
