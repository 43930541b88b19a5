package emulator_test

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sas"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sts"

	"github.com/respond-dev/respond/ram/emulator"
	et "github.com/respond-dev/respond/ram/emulator/emulatortest"
)

const (
	auditorKey  = "LTAI5tFAKEAUDITOR0000001"
	demoLeakID  = 389357
	demoRootID  = 389358
	demoSecret  = "FakeBillingLeakedSecret0000001"
	sasVersion  = "2018-12-03"
	leakListAct = "DescribeAccesskeyLeakList"
)

func leakList(t *testing.T, c *sas.Client, mutate func(*sas.DescribeAccesskeyLeakListRequest)) (*sas.DescribeAccesskeyLeakListResponse, error) {
	t.Helper()
	req := sas.CreateDescribeAccesskeyLeakListRequest()
	req.CurrentPage, req.PageSize = "1", "20"
	if mutate != nil {
		mutate(req)
	}
	return c.DescribeAccesskeyLeakList(req)
}

func sasCommon(action string, params map[string]string) *requests.CommonRequest {
	r := requests.NewCommonRequest()
	r.Method, r.Product, r.Version, r.ApiName, r.Scheme = "POST", "Sas", sasVersion, action, "http"
	for k, v := range params {
		r.QueryParams[k] = v
	}
	return r
}

func dealLeak(c *sdk.Client, params map[string]string) error {
	_, err := c.ProcessCommonRequest(sasCommon("ModifyAccessKeyLeakDeal", params))
	return err
}

func TestSASDemoRecords(t *testing.T) {
	s, org := demo(t)
	c := et.SAS(t, s, et.AK(org.Admin()))
	resp, err := leakList(t, c, func(r *sas.DescribeAccesskeyLeakListRequest) { r.Status = "pending" })
	if err != nil {
		t.Fatal(err)
	}
	if resp.TotalCount != 2 || resp.AkLeakCount != 2 || resp.CurrentPage != 1 || resp.PageSize != 20 || len(resp.AccessKeyLeakList) != 2 {
		t.Fatalf("list %+v", resp)
	}
	root, billing := resp.AccessKeyLeakList[0], resp.AccessKeyLeakList[1] // newest first
	if root.Id != demoRootID || root.AccesskeyId != rootKey || root.UserType != "master" || root.AliUserName != "acme-management" {
		t.Fatalf("root record %+v", root)
	}
	if billing.Id != demoLeakID || billing.AccesskeyId != leaked || billing.UserType != "ram" || billing.AliUserName != "billing-app" ||
		billing.Status != "pending" || billing.DealType != "pending" || billing.DealTime != "" || billing.Type != "AccessKey" ||
		!strings.HasPrefix(billing.Url, "https://github.com/acme-example/billing-app/blob/") || billing.GmtModified <= 0 {
		t.Fatalf("billing record %+v", billing)
	}
	if d := time.Since(time.UnixMilli(billing.GmtModified)); d < 25*time.Hour || d > 27*time.Hour {
		t.Fatalf("billing found %v ago, want 26h", d)
	}
	// The detail, typed, then raw (the typed struct drops TokenValid and WhitelistTime).
	dreq := sas.CreateDescribeAccessKeyLeakDetailRequest()
	dreq.Id = requests.NewInteger(demoLeakID)
	d, err := c.DescribeAccessKeyLeakDetail(dreq)
	if err != nil {
		t.Fatal(err)
	}
	if d.AccesskeyId != leaked || d.Source != "GitHub" || d.GithubRepoName != "billing-app" || d.GithubUser != "acme-dev-jane" ||
		d.GithubRepoUrl != "https://github.com/acme-example/billing-app" || d.GithubFileName != "settings.py" ||
		d.GithubFileType != "Python" || d.GithubFileUrl != billing.Url || !strings.Contains(d.Code, demoSecret) ||
		d.WhitelistStatus != "no" || d.DealType != "pending" || len(d.GmtCreate) != len("2006-01-02 15:04:05") {
		t.Fatalf("detail %+v", d)
	}
	raw, err := et.Common(t, s, et.AK(org.Admin())).ProcessCommonRequest(sasCommon("DescribeAccessKeyLeakDetail", map[string]string{"Id": strconv.Itoa(demoLeakID)}))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw.GetHttpContentBytes(), &m); err != nil || m["TokenValid"] != 1.0 || m["WhitelistTime"] != 0.0 {
		t.Fatalf("raw detail TokenValid %v WhitelistTime %v (%v)", m["TokenValid"], m["WhitelistTime"], err)
	}
	noViolations(t, s)
}

func TestSASPagingAndFilters(t *testing.T) {
	s, org := demo(t)
	var leaks []emulator.Leak
	for i := range 250 {
		leaks = append(leaks, emulator.Leak{AccessKeyID: fmt.Sprintf("LTAI5tPAGE%014d", i),
			URL: "https://github.com/o/r/blob/c/f" + strconv.Itoa(i), Ago: time.Duration(i+1) * time.Minute})
	}
	leaks[3].Status, leaks[3].DealType = "dealed", "disable"
	s.AddLeaks(prodID, leaks...)
	tmp := assumeProd(t, s, org)
	c := et.SAS(t, s, tmp)
	seen := map[int64]bool{}
	var last int64 = 1 << 62
	for page, want := range []int{100, 100, 50, 0} {
		resp, err := leakList(t, c, func(r *sas.DescribeAccesskeyLeakListRequest) {
			r.CurrentPage, r.PageSize = requests.NewInteger(page+1), "100"
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.AccessKeyLeakList) != want || resp.TotalCount != 250 || resp.AkLeakCount != 249 {
			t.Fatalf("page %d: %d records, total %d, pending %d", page+1, len(resp.AccessKeyLeakList), resp.TotalCount, resp.AkLeakCount)
		}
		for _, l := range resp.AccessKeyLeakList {
			if seen[l.Id] || l.GmtModified > last {
				t.Fatalf("record %d repeated or out of order", l.Id)
			}
			seen[l.Id], last = true, l.GmtModified
		}
	}
	for _, tc := range []struct {
		name  string
		set   func(*sas.DescribeAccesskeyLeakListRequest)
		total int
	}{
		{"pending", func(r *sas.DescribeAccesskeyLeakListRequest) { r.Status = "pending" }, 249},
		{"dealed", func(r *sas.DescribeAccesskeyLeakListRequest) { r.Status = "dealed" }, 1},
		{"query", func(r *sas.DescribeAccesskeyLeakListRequest) { r.Query = leaks[7].AccessKeyID }, 1},
		{"query no match", func(r *sas.DescribeAccesskeyLeakListRequest) { r.Query = "LTAI5tPAGE" }, 0},
		{"since", func(r *sas.DescribeAccesskeyLeakListRequest) {
			r.StartTs = requests.NewInteger64(time.Now().Add(-10*time.Minute - 30*time.Second).UnixMilli())
		}, 10},
	} {
		resp, err := leakList(t, c, tc.set)
		if err != nil || resp.TotalCount != tc.total {
			t.Fatalf("%s: total %v, want %d (%v)", tc.name, resp, tc.total, err)
		}
	}
	noViolations(t, s)
	for _, tc := range []struct {
		set  func(*sas.DescribeAccesskeyLeakListRequest)
		code string
	}{
		{func(r *sas.DescribeAccesskeyLeakListRequest) { r.PageSize = "101" }, "InvalidParameter"},
		{func(r *sas.DescribeAccesskeyLeakListRequest) { r.CurrentPage = "0" }, "InvalidParameter"},
		{func(r *sas.DescribeAccesskeyLeakListRequest) { r.Status = "open" }, "InvalidParameter"},
		{func(r *sas.DescribeAccesskeyLeakListRequest) { r.StartTs = "yesterday" }, "InvalidParameter"},
	} {
		_, err := leakList(t, c, tc.set)
		if se := serverErr(t, err, 400, tc.code); !strings.HasPrefix(se.Message(), "The specified parameter ") {
			t.Fatalf("message %q", se.Message())
		}
	}
}

func assumeProd(t *testing.T, s *emulator.Server, org *emulator.Org) auth.Credential {
	t.Helper()
	req := sts.CreateAssumeRoleRequest()
	req.RoleArn, req.RoleSessionName = prodRole, "respond"
	resp, err := et.STSClient(t, s, et.AK(org.Admin())).AssumeRole(req)
	if err != nil {
		t.Fatal(err)
	}
	return et.STS(resp.Credentials.AccessKeyId, resp.Credentials.AccessKeySecret, resp.Credentials.SecurityToken)
}

func TestSASModifyLeakDeal(t *testing.T) {
	s, org := demo(t)
	admin := et.Common(t, s, et.AK(org.Admin()))
	typed := et.SAS(t, s, et.AK(org.Admin()))
	status := func(id int64) sas.AccessKeyLeak {
		t.Helper()
		resp, err := leakList(t, typed, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range resp.AccessKeyLeakList {
			if l.Id == id {
				return l
			}
		}
		t.Fatalf("record %d not listed", id)
		return sas.AccessKeyLeak{}
	}
	// Rejected: nothing changes.
	for _, tc := range []struct {
		params map[string]string
		code   string
	}{
		{map[string]string{"Id": "389357"}, "MissingType"},
		{map[string]string{"Id": "389357", "Type": "ignore"}, "InvalidParameter"},
		{map[string]string{"Type": "manual"}, "MissingId"},
		{map[string]string{"Type": "manual", "Id": "x"}, "InvalidParameter"},
	} {
		serverErr(t, dealLeak(admin, tc.params), 400, tc.code)
	}
	if l := status(demoLeakID); l.Status != "pending" {
		t.Fatalf("after rejected calls: %+v", l)
	}
	// An unknown id is accepted and changes nothing (the documented "200 only means accepted").
	if err := dealLeak(admin, map[string]string{"Type": "manual", "Id": "1"}); err != nil {
		t.Fatal(err)
	}
	if err := dealLeak(admin, map[string]string{"Type": "manual", "Id": "389357", "Remark": "respond run r-1: key deleted"}); err != nil {
		t.Fatal(err)
	}
	l := status(demoLeakID)
	if l.Status != "dealed" || l.DealType != "manual" || len(l.DealTime) != len("2006-01-02 15:04:05") {
		t.Fatalf("after manual deal: %+v", l)
	}
	dreq := sas.CreateDescribeAccessKeyLeakDetailRequest()
	dreq.Id = requests.NewInteger(demoLeakID)
	if d, err := typed.DescribeAccessKeyLeakDetail(dreq); err != nil || d.Remark != "respond run r-1: key deleted" || d.DealType != "manual" {
		t.Fatalf("detail after deal %+v %v", d, err)
	}
	resp, err := leakList(t, typed, func(r *sas.DescribeAccesskeyLeakListRequest) { r.Status = "pending" })
	if err != nil || resp.TotalCount != 1 || resp.AkLeakCount != 1 {
		t.Fatalf("pending after deal: %+v %v", resp, err)
	}
	// IdList, whitelisting.
	if err := dealLeak(admin, map[string]string{"Type": "add-whitelist", "IdList.1": "389358", "IdList.2": "389357"}); err != nil {
		t.Fatal(err)
	}
	if l := status(demoRootID); l.Status != "dealed" || l.DealType != "add-whitelist" {
		t.Fatalf("root after IdList deal: %+v", l)
	}
	dreq.Id = requests.NewInteger(demoRootID)
	if d, err := typed.DescribeAccessKeyLeakDetail(dreq); err != nil || d.WhitelistStatus != "yes" {
		t.Fatalf("whitelisted detail %+v %v", d, err)
	}
	if v := s.Violations(); len(v) != 4 { // the four rejected calls; none of the accepted ones
		t.Fatalf("violations %q", v)
	}
}

func TestSASPermissions(t *testing.T) {
	s, org := demo(t)
	auditor := cred(t, org, auditorKey)
	if _, err := leakList(t, et.SAS(t, s, auditor), nil); err != nil {
		t.Fatalf("auditor may list: %v", err)
	}
	err := dealLeak(et.Common(t, s, auditor), map[string]string{"Type": "manual", "Id": "389357"})
	se := serverErr(t, err, 403, "NoPermission")
	if se.Message() != "caller has no permission" || se.AccessDeniedDetail()["AuthAction"] != "yundun-sas:ModifyAccessKeyLeakDeal" {
		t.Fatalf("deal refusal %q %v", se.Message(), se.AccessDeniedDetail())
	}
	_, err = leakList(t, et.SAS(t, s, cred(t, org, ciKey)), nil)
	if se := serverErr(t, err, 403, "NoPermission"); se.AccessDeniedDetail()["AuthAction"] != "yundun-aegis:"+leakListAct {
		t.Fatalf("list refusal %v", se.AccessDeniedDetail())
	}
	dreq := sas.CreateDescribeAccessKeyLeakDetailRequest()
	dreq.Id = requests.NewInteger(demoLeakID)
	_, err = et.SAS(t, s, cred(t, org, ciKey)).DescribeAccessKeyLeakDetail(dreq)
	if se := serverErr(t, err, 403, "NoPermission"); se.AccessDeniedDetail()["AuthAction"] != "yundun-sas:DescribeAccessKeyLeakDetail" {
		t.Fatalf("detail refusal %v", se.AccessDeniedDetail())
	}
	// A RAM policy names the list as its allow-list and its refusal do: yundun-aegis:.
	admin := et.RAM(t, s, et.AK(org.Admin()))
	createPolicy(t, admin, "no-leak-list", `{"Version":"1","Statement":[{"Effect":"Deny","Action":"yundun-aegis:`+leakListAct+`","Resource":"*"}]}`)
	attachUser(t, admin, "Custom", "no-leak-list", "auditor")
	_, err = leakList(t, et.SAS(t, s, auditor), nil)
	if se := serverErr(t, err, 403, "NoPermission"); se.AccessDeniedDetail()["NoPermissionType"] != "ExplicitDeny" {
		t.Fatalf("list under a Deny %v", se.AccessDeniedDetail())
	}
	noViolations(t, s)
}

func TestSASResourceDirectoryAccountID(t *testing.T) {
	s, org := demo(t)
	s.AddLeaks(prodID, emulator.Leak{ID: 500001, AccessKeyID: "LTAI5tFAKEPAYMENTSLEAK01", URL: "https://github.com/o/r/blob/c/app.env", Code: "x"})
	admin := et.SAS(t, s, et.AK(org.Admin()))
	rd := func(id string) func(*sas.DescribeAccesskeyLeakListRequest) {
		return func(r *sas.DescribeAccesskeyLeakListRequest) { r.QueryParams["ResourceDirectoryAccountId"] = id }
	}
	resp, err := leakList(t, admin, rd(prodID))
	if err != nil || resp.TotalCount != 1 || resp.AccessKeyLeakList[0].Id != 500001 || resp.AccessKeyLeakList[0].AliUserName != "payments-api" {
		t.Fatalf("member records through the management account: %+v %v", resp, err)
	}
	dreq := sas.CreateDescribeAccessKeyLeakDetailRequest()
	dreq.Id = requests.NewInteger(500001)
	if _, err := admin.DescribeAccessKeyLeakDetail(dreq); err == nil {
		t.Fatal("a member's record read without ResourceDirectoryAccountId")
	}
	dreq.QueryParams["ResourceDirectoryAccountId"] = prodID
	if d, err := admin.DescribeAccessKeyLeakDetail(dreq); err != nil || d.AccesskeyId != "LTAI5tFAKEPAYMENTSLEAK01" {
		t.Fatalf("member detail %+v %v", d, err)
	}
	// ModifyAccessKeyLeakDeal has no ResourceDirectoryAccountId: the management account's call is
	// accepted and changes nothing; the member's own call marks it.
	if err := dealLeak(et.Common(t, s, et.AK(org.Admin())), map[string]string{"Type": "manual", "Id": "500001"}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := leakList(t, admin, rd(prodID)); resp.AccessKeyLeakList[0].Status != "pending" {
		t.Fatal("the management account marked a member's record")
	}
	member := assumeProd(t, s, org)
	if err := dealLeak(et.Common(t, s, member), map[string]string{"Type": "manual", "Id": "500001"}); err != nil {
		t.Fatal(err)
	}
	if resp, _ := leakList(t, admin, rd(prodID)); resp.AccessKeyLeakList[0].Status != "dealed" {
		t.Fatal("the member's deal did not apply")
	}
	// A member may not read another account; an unmonitored member is closed to the management
	// account; an unknown account is a bad parameter.
	_, err = leakList(t, et.SAS(t, s, member), rd(mgmtID))
	serverErr(t, err, 403, "NoPermission")
	s.SetMonitored(prodID, false)
	_, err = leakList(t, admin, rd(prodID))
	serverErr(t, err, 403, "NoPermission")
	_, err = leakList(t, admin, rd("1999999999999999"))
	serverErr(t, err, 400, "InvalidParameter")
	noViolations(t, s)
}

func TestSASUnknownLeakID(t *testing.T) {
	s, org := demo(t)
	dreq := sas.CreateDescribeAccessKeyLeakDetailRequest()
	dreq.Id = requests.NewInteger(42)
	_, err := et.SAS(t, s, et.AK(org.Admin())).DescribeAccessKeyLeakDetail(dreq)
	serverErr(t, err, 400, "InvalidParameter")
	_, err = et.SAS(t, s, et.AK(org.Admin())).DescribeAccessKeyLeakDetail(sas.CreateDescribeAccessKeyLeakDetailRequest())
	serverErr(t, err, 400, "MissingId")
}

func TestSASSeedValidation(t *testing.T) {
	const head = "accounts:\n  - id: \"1000000000000001\"\n    leaks:\n"
	for _, tc := range []struct{ leak, want string }{
		{"      - {accessKeyId: AKIA0000, url: https://github.com/o/r/blob/c/f}", "line 4: leak accessKeyId"},
		{"      - {accessKeyId: LTAI5tFAKEBILLING0LEAK01, url: http://example.com/x}", "line 4: leak url"},
		{"      - {accessKeyId: LTAI5tFAKEBILLING0LEAK01, url: https://github.com/o, status: open}", "leak status \"open\""},
		{"      - {accessKeyId: LTAI5tFAKEBILLING0LEAK01, url: https://github.com/o, dealType: manual}", "a pending leak has dealType"},
		{"      - {accessKeyId: LTAI5tFAKEBILLING0LEAK01, url: https://github.com/o, userType: sub}", "userType \"sub\""},
		{"      - {accessKeyId: LTAI5tFAKEBILLING0LEAK01, url: https://github.com/o, tokenValid: 3}", "tokenValid"},
		{"      - {id: 7, accessKeyId: LTAI5tFAKEBILLING0LEAK01, url: https://github.com/o}\n      - {id: 7, accessKeyId: LTAI5tFAKEBILLING0LEAK01, url: https://github.com/o}", "line 5: duplicate leak id 7"},
	} {
		_, err := emulator.ParseOrg([]byte(head + tc.leak + "\n"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.leak, err, tc.want)
		}
	}
}
