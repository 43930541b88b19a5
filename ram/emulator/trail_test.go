package emulator_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/actiontrail"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/kms"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ram"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sts"

	"github.com/respond-dev/respond/ram/emulator"
	et "github.com/respond-dev/respond/ram/emulator/emulatortest"
)

// lookup pages through LookupEvents in region with the given attributes (key, value pairs) and
// returns every event.
func lookup(t *testing.T, at *actiontrail.Client, region string, attrs ...string) []map[string]interface{} {
	t.Helper()
	var out []map[string]interface{}
	token := ""
	for {
		req := actiontrail.CreateLookupEventsRequest()
		req.RegionId = region
		var la []actiontrail.LookupEventsLookupAttribute
		for i := 0; i+1 < len(attrs); i += 2 {
			la = append(la, actiontrail.LookupEventsLookupAttribute{Key: attrs[i], Value: attrs[i+1]})
		}
		req.LookupAttribute = &la
		req.NextToken = token
		resp, err := at.LookupEvents(req)
		if err != nil {
			t.Fatalf("LookupEvents in %s %v: %v", region, attrs, err)
		}
		out = append(out, resp.Events...)
		if resp.NextToken == "" {
			return out
		}
		token = resp.NextToken
	}
}

func names(evs []map[string]interface{}) map[string]int {
	m := map[string]int{}
	for _, e := range evs {
		m[e["eventName"].(string)]++
	}
	return m
}

func TestTrailDescribeRegions(t *testing.T) {
	s, org := demo(t)
	at := et.ActionTrail(t, s, et.AK(org.Admin()))
	resp, err := at.DescribeRegions(actiontrail.CreateDescribeRegionsRequest())
	if err != nil {
		t.Fatal(err)
	}
	rs := resp.Regions.Region
	if len(rs) != 25 || resp.RequestId == "" || len(s.TrailRegions()) != 25 || s.TrailRegions()[0].ID != rs[0].RegionId {
		t.Fatalf("%d regions, request id %q", len(rs), resp.RequestId)
	}
	byID := map[string]actiontrail.Region{}
	for _, r := range rs {
		byID[r.RegionId] = r
	}
	if r := byID["cn-hangzhou"]; r.RegionEndpoint != "actiontrail.cn-hangzhou.aliyuncs.com" || r.LocalName != "China (Hangzhou)" {
		t.Errorf("cn-hangzhou %+v", r)
	}
	zh := actiontrail.CreateDescribeRegionsRequest()
	zh.AcceptLanguage = "zh-CN"
	resp, err = at.DescribeRegions(zh)
	if err != nil || resp.Regions.Region[0].LocalName != "华北1（青岛）" {
		t.Fatalf("zh-CN: %+v %v", resp, err)
	}
	// No authorization is needed (DOC): a user allowed nothing else may call it.
	aud := et.ActionTrail(t, s, cred(t, org, "LTAI5tFAKEAUDITOR0000001"))
	if _, err := aud.DescribeRegions(actiontrail.CreateDescribeRegionsRequest()); err != nil {
		t.Errorf("auditor: %v", err)
	}
	// A seed can name the regions.
	o, err := emulator.ParseOrg([]byte("actiontrail:\n  regions: [cn-hangzhou, eu-central-1]\naccounts:\n  - id: \"1000000000000009\"\n    rootKeys: [{id: LTAI5tFAKEROOT9000000001, secret: FakeRootSecret9000000000000001}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	s2 := et.Start(t, o)
	root, _ := o.Key("LTAI5tFAKEROOT9000000001")
	resp, err = et.ActionTrail(t, s2, et.AK(root)).DescribeRegions(actiontrail.CreateDescribeRegionsRequest())
	if err != nil || len(resp.Regions.Region) != 2 || resp.Regions.Region[1].LocalName != "Germany (Frankfurt)" {
		t.Fatalf("seeded regions %+v %v", resp, err)
	}
	noViolations(t, s)
}

func TestTrailLiveCallsAreRegional(t *testing.T) {
	s, org := demo(t, emulator.WithLookupEventsLimit(0))
	admin := org.Admin()
	at := et.ActionTrail(t, s, et.AK(admin))
	// A regional call (KMS in cn-shanghai) and a global one (RAM, signed in eu-central-1).
	k := et.KMS(t, s, et.AK(admin))
	cr := kms.CreateCreateSecretRequest()
	cr.RegionId = "cn-shanghai"
	cr.SecretName, cr.SecretData, cr.VersionId = "regional/x", "data", "v1"
	if _, err := k.CreateSecret(cr); err != nil {
		t.Fatal(err)
	}
	rc := et.RAM(t, s, et.AK(admin))
	lr := ram.CreateListUsersRequest()
	lr.RegionId = "eu-central-1"
	if _, err := rc.ListUsers(lr); err != nil {
		t.Fatal(err)
	}
	for region, want := range map[string][2]int{"cn-shanghai": {1, 1}, "cn-hangzhou": {0, 1}, "us-west-1": {0, 1}} {
		got := names(lookup(t, at, region, "EventAccessKeyId", admin.AccessKeyID))
		if got["CreateSecret"] != want[0] || got["ListUsers"] != want[1] {
			t.Errorf("%s: %v, want CreateSecret %d ListUsers %d", region, got, want[0], want[1])
		}
	}
	// The event's shape: region in eventSource and requestParameters, isGlobal, eventVersion.
	for _, e := range lookup(t, at, "cn-shanghai", "EventAccessKeyId", admin.AccessKeyID) {
		rp := e["requestParameters"].(map[string]interface{})
		switch e["eventName"] {
		case "CreateSecret":
			if e["eventSource"] != "kms.cn-shanghai.aliyuncs.com" || rp["AcsHost"] != "kms.cn-shanghai.aliyuncs.com" ||
				rp["RegionId"] != "cn-shanghai" || e["acsRegion"] != "cn-shanghai" || e["isGlobal"] != false ||
				e["eventVersion"] != "1" || rp["SecretData"] != nil {
				t.Errorf("CreateSecret event %v", e)
			}
		case "ListUsers":
			if e["eventSource"] != "ram.aliyuncs.com" || rp["AcsHost"] != "ram.aliyuncs.com" || rp["AcsProduct"] != "Ram" ||
				rp["RegionId"] != "eu-central-1" || e["isGlobal"] != true || e["eventVersion"] != float64(1) {
				t.Errorf("ListUsers event %v", e)
			}
		}
	}
	// A region ActionTrail does not list is refused.
	req := actiontrail.CreateLookupEventsRequest()
	req.RegionId = "xx-nowhere-1"
	_, err := at.LookupEvents(req)
	serverErr(t, err, 400, "InvalidRegionId")
	noViolations(t, s)
}

func TestTrailAssumedRoleEvent(t *testing.T) {
	s, org := demo(t, emulator.WithLookupEventsLimit(0))
	admin := org.Admin()
	ar := sts.CreateAssumeRoleRequest()
	ar.RoleArn, ar.RoleSessionName = prodRole, "incident-7"
	r, err := et.STSClient(t, s, et.AK(admin)).AssumeRole(ar)
	if err != nil {
		t.Fatal(err)
	}
	c := r.Credentials
	sess := et.STS(c.AccessKeyId, c.AccessKeySecret, c.SecurityToken)
	if _, err := callerIdentity(et.STSClient(t, s, sess)); err != nil {
		t.Fatal(err)
	}
	at := et.ActionTrail(t, s, sess)
	evs := lookup(t, at, "cn-hangzhou", "RoleName", "ResourceDirectoryAccountAccessRole")
	if len(evs) != 1 {
		t.Fatalf("events of the role: %v", evs)
	}
	ui := evs[0]["userIdentity"].(map[string]interface{})
	if ui["type"] != "assumed-role" || ui["userName"] != "ResourceDirectoryAccountAccessRole:incident-7" ||
		!strings.HasSuffix(ui["principalId"].(string), ":incident-7") || !strings.HasPrefix(ui["accessKeyId"].(string), "STS.") {
		t.Errorf("userIdentity %v", ui)
	}
}

func TestTrailLookupAttributes(t *testing.T) {
	s, org := demo(t, emulator.WithLookupEventsLimit(0))
	at := et.ActionTrail(t, s, et.AK(org.Admin()))
	const sg = "ap-southeast-1"
	for _, tc := range []struct {
		name  string
		attrs []string
		want  map[string]int
	}{
		{"two attributes are both matched", []string{"EventAccessKeyId", leaked, "EventName", "RunInstances"}, map[string]int{"RunInstances": 8}},
		{"same key twice: the second wins", []string{"EventName", "DescribeInstances", "EventName", "RunInstances"}, map[string]int{"RunInstances": 8}},
		{"SourceIpAddress", []string{"SourceIpAddress", "10.0.3.17"}, map[string]int{}},
		{"SensitiveAction", []string{"EventAccessKeyId", leaked, "SensitiveAction", "true"}, map[string]int{"AssumeRole": 1, "CreateUser": 1, "CreateAccessKey": 1}},
		// The leaked key's refused CreateUser and the one its role session made (the demo's hunt).
		{"EventType", []string{"EventType", "ApiCall", "EventName", "CreateUser"}, map[string]int{"CreateUser": 2}},
		{"RoleName", []string{"RoleName", "nobody"}, map[string]int{}},
		{"RoleName of the role session", []string{"RoleName", "billing-reports"}, map[string]int{"CreateUser": 1, "CreateAccessKey": 1}},
	} {
		got := names(lookup(t, at, sg, tc.attrs...))
		if len(got) != len(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			}
		}
	}
	// The app's own calls are in cn-hangzhou only.
	if got := names(lookup(t, at, "cn-hangzhou", "SourceIpAddress", "10.0.3.17")); got["QueryAccountBalance"] != 24 {
		t.Errorf("SourceIpAddress in cn-hangzhou: %v", got)
	}
	// Refused: MaxResults 0 or 51, StartTime without EndTime and the reverse, an unknown key.
	now := time.Now().UTC()
	for name, set := range map[string]func(*actiontrail.LookupEventsRequest){
		"MaxResults=0":  func(r *actiontrail.LookupEventsRequest) { r.MaxResults = "0" },
		"MaxResults=51": func(r *actiontrail.LookupEventsRequest) { r.MaxResults = "51" },
		"lone StartTime": func(r *actiontrail.LookupEventsRequest) {
			r.StartTime = now.Add(-time.Hour).Format(time.RFC3339)
		},
		"lone EndTime": func(r *actiontrail.LookupEventsRequest) { r.EndTime = now.Format(time.RFC3339) },
		"start after end": func(r *actiontrail.LookupEventsRequest) {
			r.StartTime, r.EndTime = now.Format(time.RFC3339), now.Add(-time.Hour).Format(time.RFC3339)
		},
		"unknown key": func(r *actiontrail.LookupEventsRequest) {
			r.LookupAttribute = &[]actiontrail.LookupEventsLookupAttribute{{Key: "AccessKeyId", Value: leaked}}
		},
		"unknown second key": func(r *actiontrail.LookupEventsRequest) {
			r.LookupAttribute = &[]actiontrail.LookupEventsLookupAttribute{{Key: "EventName", Value: "x"}, {Key: "Nope", Value: "y"}}
		},
	} {
		req := actiontrail.CreateLookupEventsRequest()
		set(req)
		_, err := at.LookupEvents(req)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		serverErr(t, err, 400, "InvalidParameter")
	}
}

func TestTrailLookupEventsLimit(t *testing.T) {
	clk := newClock()
	s, org := demo(t, emulator.WithClock(clk.Now))
	at := et.ActionTrail(t, s, et.AK(org.Admin()))
	call := func(region string) error {
		req := actiontrail.CreateLookupEventsRequest()
		req.RegionId = region
		req.MaxResults = "1"
		_, err := at.LookupEvents(req)
		return err
	}
	// A burst of 2, then 2 per second, per account and region.
	for i := range 2 {
		if err := call("cn-hangzhou"); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	serverErr(t, call("cn-hangzhou"), 400, "Throttling")
	if err := call("ap-southeast-1"); err != nil {
		t.Fatalf("another region has its own limit: %v", err)
	}
	// Another account in the same region has its own limit too.
	ar := sts.CreateAssumeRoleRequest()
	ar.RoleArn, ar.RoleSessionName = prodRole, "limit"
	r, err := et.STSClient(t, s, et.AK(org.Admin())).AssumeRole(ar)
	if err != nil {
		t.Fatal(err)
	}
	prod := et.ActionTrail(t, s, et.STS(r.Credentials.AccessKeyId, r.Credentials.AccessKeySecret, r.Credentials.SecurityToken))
	if _, err := prod.LookupEvents(actiontrail.CreateLookupEventsRequest()); err != nil {
		t.Fatalf("another account: %v", err)
	}
	clk.Add(500 * time.Millisecond)
	if err := call("cn-hangzhou"); err != nil {
		t.Fatalf("after half a second: %v", err)
	}
	serverErr(t, call("cn-hangzhou"), 400, "Throttling")
	// Other actions are not limited by it.
	if _, err := at.DescribeRegions(actiontrail.CreateDescribeRegionsRequest()); err != nil {
		t.Fatal(err)
	}
	s.SetLookupEventsLimit(0)
	for range 5 {
		if err := call("cn-hangzhou"); err != nil {
			t.Fatalf("limit off: %v", err)
		}
	}
}

func TestTrailIngestionLag(t *testing.T) {
	clk := newClock()
	s, org := demo(t, emulator.WithClock(clk.Now), emulator.WithActionTrailLag(10*time.Minute), emulator.WithLookupEventsLimit(0))
	admin := org.Admin()
	s.AddEvents(mgmtID,
		emulator.Event{Name: "RunInstances", Service: "Ecs", Region: "cn-beijing", Ago: 5 * time.Minute, AccessKeyID: ciKey},
		emulator.Event{Name: "DeleteInstance", Service: "Ecs", Region: "cn-beijing", Ago: 15 * time.Minute, AccessKeyID: ciKey})
	at := et.ActionTrail(t, s, et.AK(admin))
	if got := names(lookup(t, at, "cn-beijing", "EventAccessKeyId", ciKey)); got["RunInstances"] != 0 || got["DeleteInstance"] != 1 {
		t.Fatalf("with a 10 minute lag: %v", got)
	}
	rc := et.RAM(t, s, et.AK(admin))
	if _, err := rc.ListUsers(ram.CreateListUsersRequest()); err != nil {
		t.Fatal(err)
	}
	if got := names(lookup(t, at, "cn-beijing", "EventAccessKeyId", admin.AccessKeyID)); got["ListUsers"] != 0 {
		t.Fatalf("a live call is visible at once: %v", got)
	}
	clk.Add(10 * time.Minute)
	if got := names(lookup(t, at, "cn-beijing", "EventAccessKeyId", ciKey)); got["RunInstances"] != 1 {
		t.Fatalf("after the lag: %v", got)
	}
	if got := names(lookup(t, at, "cn-beijing", "EventAccessKeyId", admin.AccessKeyID)); got["ListUsers"] != 1 {
		t.Fatalf("live call after the lag: %v", got)
	}
	s.SetActionTrailLag(0)
	// The seed's lag, and an option overriding it.
	seed := "actiontrail:\n  lag: 10m\naccounts:\n  - id: \"1000000000000009\"\n    rootKeys: [{id: LTAI5tFAKEROOT9000000001, secret: FakeRootSecret9000000000000001}]\n    events:\n      - {name: RunInstances, service: Ecs, ago: 5m, region: cn-beijing}\n"
	o, err := emulator.ParseOrg([]byte(seed))
	if err != nil {
		t.Fatal(err)
	}
	root, _ := o.Key("LTAI5tFAKEROOT9000000001")
	for lagOpt, want := range map[time.Duration]int{-1: 0, 0: 1} {
		var opts []emulator.Option
		if lagOpt >= 0 {
			opts = append(opts, emulator.WithActionTrailLag(lagOpt))
		}
		s2 := et.Start(t, o, opts...)
		if got := names(lookup(t, et.ActionTrail(t, s2, et.AK(root)), "cn-beijing")); got["RunInstances"] != want {
			t.Errorf("option %v: %v, want %d RunInstances", lagOpt, got, want)
		}
	}
}

func TestTrailRegionFault(t *testing.T) {
	s, org := demo(t, emulator.WithLookupEventsLimit(0))
	s.AddFault(emulator.Fault{Action: "LookupEvents", Region: "us-west-1", Kind: emulator.FaultServerErrorBefore})
	at := et.ActionTrail(t, s, et.AK(org.Admin()))
	req := actiontrail.CreateLookupEventsRequest()
	req.RegionId = "us-west-1"
	_, err := at.LookupEvents(req)
	serverErr(t, err, 500, "InternalError")
	req = actiontrail.CreateLookupEventsRequest()
	req.RegionId = "us-east-1"
	if _, err := at.LookupEvents(req); err != nil {
		t.Fatalf("other region: %v", err)
	}
}

func TestTrailSeedValidation(t *testing.T) {
	const acct = "accounts:\n  - id: \"1000000000000009\"\n"
	for name, tc := range map[string]struct{ yaml, want string }{
		"bad region id":     {"actiontrail:\n  regions: [Hangzhou]\n" + acct, "actiontrail region \"Hangzhou\""},
		"duplicate region":  {"actiontrail:\n  regions: [cn-hangzhou, cn-hangzhou]\n" + acct, "listed twice"},
		"negative lag":      {"actiontrail:\n  lag: -1m\n" + acct, "lag must not be negative"},
		"event off the map": {acct + "    events: [{name: RunInstances, service: Ecs, region: mars-north-1}]\n", "line 3: event region \"mars-north-1\""},
		"event outside the seeded regions": {"actiontrail:\n  regions: [cn-hangzhou]\n" + acct +
			"    events: [{name: RunInstances, service: Ecs, region: cn-beijing}]\n", "not a region ActionTrail lists"},
	} {
		_, err := emulator.ParseOrg([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	// A global event may name any region.
	if _, err := emulator.ParseOrg([]byte(acct + "    events: [{name: CreateUser, region: mars-north-1}]\n")); err != nil {
		t.Error(err)
	}
}

func TestTrailNextTokenPinsTheWindow(t *testing.T) {
	clk := newClock()
	s, org := demo(t, emulator.WithClock(clk.Now), emulator.WithLookupEventsLimit(0))
	at := et.ActionTrail(t, s, et.AK(org.Admin()))
	page := func(token string) *actiontrail.LookupEventsResponse {
		t.Helper()
		req := actiontrail.CreateLookupEventsRequest()
		req.RegionId = "ap-southeast-1"
		req.LookupAttribute = &[]actiontrail.LookupEventsLookupAttribute{{Key: "EventAccessKeyId", Value: leaked}}
		req.NextToken = token
		resp, err := at.LookupEvents(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	first := page("")
	// Time passes between pages (the default window moves with it) and a new event arrives:
	// the token keeps the first page's window, so nothing is skipped or repeated.
	clk.Add(3 * time.Second)
	s.AddEvents(mgmtID, emulator.Event{Name: "RunInstances", Service: "Ecs", Region: "ap-southeast-1", AccessKeyID: leaked})
	seen := map[string]bool{}
	n := 0
	for resp, token := first, first.NextToken; ; {
		for _, e := range resp.Events {
			seen[e["eventId"].(string)] = true
			n++
		}
		if token == "" {
			break
		}
		resp = page(token)
		token = resp.NextToken
	}
	if n != 101 || len(seen) != 101 {
		t.Errorf("%d events, %d distinct, want the 101 of the first page's window", n, len(seen))
	}
	req := actiontrail.CreateLookupEventsRequest()
	req.RegionId = "ap-southeast-1"
	req.NextToken = first.NextToken // with other parameters
	_, err := at.LookupEvents(req)
	serverErr(t, err, 400, "InvalidParameter")
}
