package emulator_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/actiontrail"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ims"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/kms"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ram"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/resourcemanager"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sts"

	"github.com/respond-dev/respond/ram/emulator"
	et "github.com/respond-dev/respond/ram/emulator/emulatortest"
)

const (
	leaked   = "LTAI5tFAKEBILLING0LEAK01"
	keepKey  = "LTAI5tFAKEBILLING0KEEP01"
	ciKey    = "LTAI5tFAKECIDEPLOY000001"
	rootKey  = "LTAI5tFAKEROOTACME000001"
	mgmtID   = "1000000000000001"
	prodID   = "1000000000000002"
	prodRole = "acs:ram::1000000000000002:role/ResourceDirectoryAccountAccessRole"
)

// clock is a settable clock for emulator.WithClock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now().UTC()} }
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func demo(t *testing.T, opts ...emulator.Option) (*emulator.Server, *emulator.Org) {
	t.Helper()
	org := emulator.DemoOrg()
	return et.Start(t, org, opts...), org
}

func cred(t *testing.T, org *emulator.Org, id string) auth.Credential {
	t.Helper()
	c, ok := org.Key(id)
	if !ok {
		t.Fatalf("no seeded key %s", id)
	}
	return et.AK(c)
}

func noViolations(t *testing.T, s *emulator.Server) {
	t.Helper()
	if v := s.Violations(); len(v) != 0 {
		t.Fatalf("unexpected protocol violations: %q", v)
	}
}

func listKeys(t *testing.T, c *ram.Client, user string) []string {
	t.Helper()
	req := ram.CreateListAccessKeysRequest()
	req.UserName = user
	resp, err := c.ListAccessKeys(req)
	if err != nil {
		t.Fatalf("ListAccessKeys %q: %v", user, err)
	}
	var ids []string
	for _, k := range resp.AccessKeys.AccessKey {
		ids = append(ids, k.AccessKeyId+":"+k.Status)
		if k.AccessKeySecret != "" {
			t.Fatalf("ListAccessKeys returned a secret")
		}
	}
	return ids
}

func createKey(c *ram.Client, user string) (*ram.CreateAccessKeyResponse, error) {
	req := ram.CreateCreateAccessKeyRequest()
	req.UserName = user
	return c.CreateAccessKey(req)
}

func deleteKey(c *ram.Client, user, id string) error {
	req := ram.CreateDeleteAccessKeyRequest()
	req.UserName, req.UserAccessKeyId = user, id
	_, err := c.DeleteAccessKey(req)
	return err
}

func callerIdentity(c *sts.Client) (*sts.GetCallerIdentityResponse, error) {
	return c.GetCallerIdentity(sts.CreateGetCallerIdentityRequest())
}

func TestRAMUsersLifecycle(t *testing.T) {
	s, org := demo(t)
	c := et.RAM(t, s, et.AK(org.Admin()))
	cr := ram.CreateCreateUserRequest()
	cr.UserName, cr.DisplayName = "new-user", "New User"
	u, err := c.CreateUser(cr)
	if err != nil || u.User.UserName != "new-user" || u.User.DisplayName != "New User" || len(u.User.UserId) != 16 {
		t.Fatalf("CreateUser: %+v %v", u, err)
	}
	_, err = c.CreateUser(cr)
	serverErr(t, err, 409, "EntityAlreadyExists.User")

	gr := ram.CreateGetUserRequest()
	gr.UserName = "new-user"
	g, err := c.GetUser(gr)
	if err != nil || g.User.UserId != u.User.UserId || g.User.CreateDate == "" {
		t.Fatalf("GetUser: %+v %v", g, err)
	}
	gr.UserName = "nobody"
	_, err = c.GetUser(gr)
	se := serverErr(t, err, 404, "EntityNotExist.User")
	if se.Message() != "The user does not exist." || se.HostId() != "ram.aliyuncs.com" || se.RequestId() == "" {
		t.Fatalf("error body: %q %q %q", se.Message(), se.HostId(), se.RequestId())
	}
	gr.UserName = "bad/name"
	_, err = c.GetUser(gr)
	serverErr(t, err, 400, "InvalidParameter.UserName.InvalidChars")

	k, err := createKey(c, "new-user")
	if err != nil {
		t.Fatal(err)
	}
	dr := ram.CreateDeleteUserRequest()
	dr.UserName = "new-user"
	_, err = c.DeleteUser(dr)
	serverErr(t, err, 409, "DeleteConflict.User.AccessKey")
	if err := deleteKey(c, "new-user", k.AccessKey.AccessKeyId); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteUser(dr); err != nil {
		t.Fatal(err)
	}
	_, err = c.DeleteUser(dr)
	serverErr(t, err, 404, "EntityNotExist.User")
}

func TestMissingParameterIsAViolation(t *testing.T) {
	s, org := demo(t)
	c := et.RAM(t, s, et.AK(org.Admin()))
	_, err := c.GetUser(ram.CreateGetUserRequest())
	se := serverErr(t, err, 400, "MissingUserName")
	if se.Message() != "UserName is mandatory for this action." {
		t.Fatalf("message %q", se.Message())
	}
	if v := s.Violations(); len(v) != 1 || !strings.HasPrefix(v[0], "MissingUserName") {
		t.Fatalf("violations %q", v)
	}
}

func TestListUsersPagination(t *testing.T) {
	org := emulator.GenerateOrg(emulator.GenSpec{Accounts: 1, UsersPerAccount: 249, Seed: 7})
	s := et.Start(t, org)
	c := et.RAM(t, s, et.AK(org.Admin()))
	var names []string
	marker, pages := "", 0
	for {
		req := ram.CreateListUsersRequest()
		req.Marker = marker
		resp, err := c.ListUsers(req)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, u := range resp.Users.User {
			names = append(names, u.UserName)
		}
		if !resp.IsTruncated {
			if resp.Marker != "" {
				t.Fatalf("Marker on the last page")
			}
			break
		}
		if len(resp.Users.User) != 100 || resp.Marker == "" {
			t.Fatalf("page %d: %d users, marker %q", pages, len(resp.Users.User), resp.Marker)
		}
		marker = resp.Marker
	}
	if pages != 3 || len(names) != 250 || names[0] != "admin" || names[249] != "user-0249" {
		t.Fatalf("pages %d, users %d, first %s", pages, len(names), names[0])
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Fatalf("duplicate %s", n)
		}
		seen[n] = true
	}
	for _, tc := range []struct {
		max, marker, code string
	}{{"0", "", "InvalidParameter.MaxItems"}, {"1001", "", "InvalidParameter.MaxItems"}, {"", "not-a-marker", "InvalidParameter.Marker"}} {
		req := ram.CreateListUsersRequest()
		if tc.max != "" {
			req.MaxItems = requests.Integer(tc.max)
		}
		req.Marker = tc.marker
		_, err := c.ListUsers(req)
		serverErr(t, err, 400, tc.code)
	}
	req := ram.CreateListUsersRequest()
	req.MaxItems = "1000"
	resp, err := c.ListUsers(req)
	if err != nil || len(resp.Users.User) != 250 || resp.IsTruncated {
		t.Fatalf("MaxItems 1000: %v", err)
	}
}

func TestAccessKeyLifecycle(t *testing.T) {
	s, org := demo(t)
	admin := et.RAM(t, s, et.AK(org.Admin()))
	if got := listKeys(t, admin, "ci-deploy"); len(got) != 1 || got[0] != ciKey+":Active" {
		t.Fatalf("ci-deploy keys %v", got)
	}
	// billing-app is at the limit.
	_, err := createKey(admin, "billing-app")
	se := serverErr(t, err, 409, "LimitExceeded.User.AccessKey")
	if se.Message() != "The access key count of the user access keys beyond the current limits." {
		t.Fatal(se.Message())
	}
	_, err = createKey(admin, "nobody")
	serverErr(t, err, 404, "EntityNotExist.User")

	// A new key works at once.
	nk, err := createKey(admin, "ci-deploy")
	if err != nil || len(nk.AccessKey.AccessKeySecret) != 30 || nk.AccessKey.Status != "Active" || len(nk.AccessKey.AccessKeyId) != 24 {
		t.Fatalf("CreateAccessKey: %+v %v", nk, err)
	}
	newCred := et.AK(emulator.Credential{AccessKeyID: nk.AccessKey.AccessKeyId, AccessKeySecret: nk.AccessKey.AccessKeySecret})
	stsNew := et.STSClient(t, s, newCred)
	id, err := callerIdentity(stsNew)
	if err != nil || id.Arn != "acs:ram::"+mgmtID+":user/ci-deploy" || id.IdentityType != "RAMUser" {
		t.Fatalf("new key identity: %+v %v", id, err)
	}
	// GetAccessKeyLastUsed follows use.
	lr := ram.CreateGetAccessKeyLastUsedRequest()
	lr.UserName, lr.UserAccessKeyId = "ci-deploy", nk.AccessKey.AccessKeyId
	lu, err := admin.GetAccessKeyLastUsed(lr)
	if err != nil || lu.AccessKeyLastUsed.LastUsedDate == "" {
		t.Fatalf("last used: %+v %v", lu, err)
	}
	lr.UserAccessKeyId = "LTAI5tFAKENOSUCHKEY00001"
	_, err = admin.GetAccessKeyLastUsed(lr)
	serverErr(t, err, 404, "EntityNotExist.User.AccessKey")

	// Inactive keys are refused, and come back when re-activated.
	ur := ram.CreateUpdateAccessKeyRequest()
	ur.UserName, ur.UserAccessKeyId, ur.Status = "ci-deploy", nk.AccessKey.AccessKeyId, "Inactive"
	if _, err := admin.UpdateAccessKey(ur); err != nil {
		t.Fatal(err)
	}
	_, err = callerIdentity(stsNew)
	se = serverErr(t, err, 400, "InvalidAccessKeyId.Inactive")
	if se.Message() != "Specified access key is disabled." {
		t.Fatal(se.Message())
	}
	ur.Status = "Disabled"
	_, err = admin.UpdateAccessKey(ur)
	serverErr(t, err, 400, "InvalidParameter.Status")
	ur.Status = "Active"
	if _, err := admin.UpdateAccessKey(ur); err != nil {
		t.Fatal(err)
	}
	if _, err := callerIdentity(stsNew); err != nil {
		t.Fatal(err)
	}
	// Deleted keys lose access; a second delete is 404.
	if err := deleteKey(admin, "ci-deploy", nk.AccessKey.AccessKeyId); err != nil {
		t.Fatal(err)
	}
	_, err = callerIdentity(stsNew)
	se = serverErr(t, err, 404, "InvalidAccessKeyId.NotFound")
	if se.Message() != "Specified access key is not found." {
		t.Fatal(se.Message())
	}
	err = deleteKey(admin, "ci-deploy", nk.AccessKey.AccessKeyId)
	serverErr(t, err, 404, "EntityNotExist.User.AccessKey")
	// A key of another user is not found under this user.
	err = deleteKey(admin, "ci-deploy", leaked)
	serverErr(t, err, 404, "EntityNotExist.User.AccessKey")
	if got := listKeys(t, admin, "billing-app"); len(got) != 2 {
		t.Fatalf("billing-app keys changed: %v", got)
	}
	if v := s.Violations(); len(v) != 1 || !strings.HasPrefix(v[0], "InvalidParameter.Status") {
		t.Fatalf("violations %q", v)
	}
}

func TestSelfRuleAndRootKey(t *testing.T) {
	s, org := demo(t)
	root := et.RAM(t, s, cred(t, org, rootKey))
	if got := listKeys(t, root, ""); len(got) != 1 || got[0] != rootKey+":Active" {
		t.Fatalf("root's own keys %v", got)
	}
	admin := et.RAM(t, s, et.AK(org.Admin()))
	if got := listKeys(t, admin, ""); len(got) != 1 || got[0] != org.Admin().AccessKeyID+":Active" {
		t.Fatalf("admin's own keys %v", got)
	}
	id, err := callerIdentity(et.STSClient(t, s, cred(t, org, rootKey)))
	if err != nil || id.IdentityType != "Account" || id.Arn != "acs:ram::"+mgmtID+":root" || id.UserId != "" {
		t.Fatalf("root identity %+v %v", id, err)
	}
}

func TestNoPermission(t *testing.T) {
	s, org := demo(t)
	ci := et.RAM(t, s, cred(t, org, ciKey))
	_, err := ci.ListUsers(ram.CreateListUsersRequest())
	se := serverErr(t, err, 403, "NoPermission")
	d := se.AccessDeniedDetail()
	if d["AuthAction"] != "ram:ListUsers" || d["AuthPrincipalDisplayName"] != "ci-deploy" || d["NoPermissionType"] != "ImplicitDeny" {
		t.Fatalf("AccessDeniedDetail %v", d)
	}
	// GetCallerIdentity needs no permission.
	if _, err := callerIdentity(et.STSClient(t, s, cred(t, org, ciKey))); err != nil {
		t.Fatal(err)
	}
	_, err = et.KMS(t, s, cred(t, org, ciKey)).GetSecretValue(kms.CreateGetSecretValueRequest())
	serverErr(t, err, 403, "Forbidden.NoPermission")
	noViolations(t, s)
}

func TestWrongSecret(t *testing.T) {
	s, _ := demo(t)
	c := et.RAM(t, s, et.AK(emulator.Credential{AccessKeyID: ciKey, AccessKeySecret: "WrongSecret0000000000000000000"}))
	_, err := c.ListUsers(ram.CreateListUsersRequest())
	se := serverErr(t, err, 400, "SignatureDoesNotMatch")
	if !strings.Contains(se.Recommend(), "InvalidAccessKeySecret") {
		t.Fatalf("Recommend %q (the server StringToSign must equal the client's)", se.Recommend())
	}
	if !strings.HasPrefix(se.Message(), "Specified signature is not matched with our calculation. server string to sign is:POST&%2F&") {
		t.Fatalf("message %q", se.Message())
	}
	if len(s.Violations()) != 1 {
		t.Fatalf("violations %q", s.Violations())
	}
	// The answer quotes the string to sign, SecretData included, as the cloud does; Violations never.
	put := kms.CreatePutSecretValueRequest()
	put.SecretName, put.SecretData, put.VersionId = "app/key", "CanarySecretData0001", "v9"
	_, err = et.KMS(t, s, et.AK(emulator.Credential{AccessKeyID: ciKey, AccessKeySecret: "WrongSecret0000000000000000000"})).PutSecretValue(put)
	if se := serverErr(t, err, 400, "SignatureDoesNotMatch"); !strings.Contains(se.Message(), "CanarySecretData0001") {
		t.Fatalf("message %q does not quote the string to sign", se.Message())
	}
	if v := s.Violations(); len(v) != 2 || !strings.HasPrefix(v[1], "SignatureDoesNotMatch ") || strings.Contains(strings.Join(v, "\n"), "CanarySecretData0001") {
		t.Fatalf("violations %q", v)
	}
	_, err = et.RAM(t, s, et.AK(emulator.Credential{AccessKeyID: "LTAI5tFAKENOSUCHKEY00001", AccessKeySecret: "x"})).
		ListUsers(ram.CreateListUsersRequest())
	serverErr(t, err, 404, "InvalidAccessKeyId.NotFound")
}

func common(version, action string) *requests.CommonRequest {
	r := requests.NewCommonRequest()
	r.Method = "POST"
	r.Product = "Ram"
	r.Version = version
	r.ApiName = action
	r.Scheme = "http"
	return r
}

func TestGatewayRejections(t *testing.T) {
	s, org := demo(t)
	c := et.Common(t, s, et.AK(org.Admin()))
	for _, tc := range []struct {
		version, action string
		status          int
		code, msg       string
	}{
		{"2015-05-01", "NoSuchAction", 404, "InvalidApi.NotFound", "Specified api is not found, please check your url and method."},
		{"2099-01-01", "ListUsers", 400, "InvalidVersion", "Specified parameter Version is not valid."},
	} {
		_, err := c.ProcessCommonRequest(common(tc.version, tc.action))
		se := serverErr(t, err, tc.status, tc.code)
		if se.Message() != tc.msg {
			t.Fatalf("%s: %q", tc.code, se.Message())
		}
	}
	if len(s.Violations()) != 2 {
		t.Fatalf("violations %q", s.Violations())
	}
}

// capture is a proxy handler that remembers the last raw request the SDK sent.
type capture struct {
	next   http.Handler
	mu     sync.Mutex
	method string
	uri    string
	header http.Header
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.method, c.uri, c.header = r.Method, r.URL.RequestURI(), r.Header.Clone()
	c.mu.Unlock()
	c.next.ServeHTTP(w, r)
}

func TestReplayedNonceAndExpiredTimestamp(t *testing.T) {
	clk := newClock()
	s, org := demo(t, emulator.WithClock(clk.Now))
	capt := &capture{next: s.Handler()}
	front := httptest.NewServer(capt)
	defer front.Close()
	c := et.RAM(t, s, et.AK(org.Admin()))
	c.Domain = strings.TrimPrefix(front.URL, "http://")
	if _, err := c.ListUsers(ram.CreateListUsersRequest()); err != nil {
		t.Fatal(err)
	}
	replay := func() (int, string) {
		req, _ := http.NewRequest(capt.method, front.URL+capt.uri, nil)
		req.Header = capt.header
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, body := replay(); st != 400 || !strings.Contains(body, `"Code":"SignatureNonceUsed"`) ||
		!strings.Contains(body, "Specified signature nonce was used already.") {
		t.Fatalf("replay: %d %s", st, body)
	}
	clk.Add(16 * time.Minute)
	if st, body := replay(); st != 400 || !strings.Contains(body, `"Code":"InvalidTimeStamp.Expired"`) {
		t.Fatalf("late replay: %d %s", st, body)
	}
	// Clock skew: a fresh SDK request against a server 20 minutes behind.
	_, err := c.ListUsers(ram.CreateListUsersRequest())
	serverErr(t, err, 400, "InvalidTimeStamp.Expired")
	s.SetClockSkew(-16 * time.Minute)
	if _, err := c.ListUsers(ram.CreateListUsersRequest()); err != nil {
		t.Fatalf("after skew correction: %v", err)
	}
	s.SetClockSkew(-40 * time.Minute)
	_, err = c.ListUsers(ram.CreateListUsersRequest())
	serverErr(t, err, 400, "InvalidTimeStamp.Expired")
}

func TestRateLimitTokenBucket(t *testing.T) {
	clk := newClock()
	s, org := demo(t, emulator.WithClock(clk.Now), emulator.WithRateLimit(2))
	c := et.RAM(t, s, et.AK(org.Admin()))
	other := et.RAM(t, s, cred(t, org, rootKey))
	for i := range 2 {
		if _, err := c.ListUsers(ram.CreateListUsersRequest()); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	_, err := c.ListUsers(ram.CreateListUsersRequest())
	se := serverErr(t, err, 400, "Throttling.User")
	if se.Message() != "Request was denied due to user flow control." {
		t.Fatal(se.Message())
	}
	if _, err := other.ListUsers(ram.CreateListUsersRequest()); err != nil {
		t.Fatalf("the bucket is per AccessKeyId: %v", err)
	}
	clk.Add(500 * time.Millisecond)
	if _, err := c.ListUsers(ram.CreateListUsersRequest()); err != nil {
		t.Fatalf("after refill: %v", err)
	}
	s.SetRateLimit(0)
	for range 5 {
		if _, err := c.ListUsers(ram.CreateListUsersRequest()); err != nil {
			t.Fatal(err)
		}
	}
}

func keyCount(t *testing.T, c *ram.Client, user string) int { return len(listKeys(t, c, user)) }

func TestFaults(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fault   emulator.Fault
		check   func(t *testing.T, err error)
		created bool
	}{
		{"throttle", emulator.Fault{Kind: emulator.FaultThrottle, RetryAfter: 1500 * time.Millisecond}, func(t *testing.T, err error) {
			se := serverErr(t, err, 400, "Throttling.User")
			if h := se.RespHeaders["X-Acs-Retry-After"]; len(h) == 0 || h[0] != "1500" {
				t.Fatalf("retry-after %v", se.RespHeaders)
			}
		}, false},
		{"5xx before", emulator.Fault{Kind: emulator.FaultServerErrorBefore}, func(t *testing.T, err error) {
			serverErr(t, err, 500, "InternalError")
		}, false},
		{"503 after", emulator.Fault{Kind: emulator.FaultServerErrorAfter, Status: 503}, func(t *testing.T, err error) {
			serverErr(t, err, 503, "ServiceUnavailable")
		}, true},
		{"drop before", emulator.Fault{Kind: emulator.FaultDropBefore}, func(t *testing.T, err error) {
			if err == nil || !strings.Contains(err.Error(), "EOF") {
				t.Fatalf("want EOF, got %v", err)
			}
		}, false},
		{"drop after", emulator.Fault{Kind: emulator.FaultDropAfter}, func(t *testing.T, err error) {
			if err == nil || !strings.Contains(err.Error(), "EOF") {
				t.Fatalf("want EOF, got %v", err)
			}
		}, true},
		{"garbage 200", emulator.Fault{Kind: emulator.FaultGarbage}, func(t *testing.T, err error) {
			var ce *sdkerrors.ClientError
			if !errors.As(err, &ce) || ce.ErrorCode() != "SDK.JsonUnmarshalError" {
				t.Fatalf("want SDK.JsonUnmarshalError, got %v", err)
			}
		}, false},
		{"garbage 502", emulator.Fault{Kind: emulator.FaultGarbage, Status: 502}, func(t *testing.T, err error) {
			serverErr(t, err, 502, "")
		}, false},
		{"latency", emulator.Fault{Kind: emulator.FaultLatency, Delay: time.Second}, func(t *testing.T, err error) {
			if err == nil || !strings.Contains(err.Error(), "Timeout") {
				t.Fatalf("want a client timeout, got %v", err)
			}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, org := demo(t)
			admin := et.RAM(t, s, et.AK(org.Admin()))
			f := tc.fault
			f.Action, f.UserName = "CreateAccessKey", "ci-deploy"
			remove := s.AddFault(f)
			c := et.RAM(t, s, et.AK(org.Admin()))
			c.SetReadTimeout(300 * time.Millisecond)
			_, err := createKey(c, "ci-deploy")
			tc.check(t, err)
			// Other actions and users are unaffected.
			if _, err := createKey(admin, "auditor"); err != nil {
				t.Fatalf("unmatched call failed: %v", err)
			}
			remove()
			want := 1
			if tc.created {
				want = 2
			}
			got := keyCount(t, admin, "ci-deploy")
			for i := 0; tc.name == "latency" && got != want && i < 100; i++ {
				time.Sleep(50 * time.Millisecond) // the slow call commits after the client gave up
				got = keyCount(t, admin, "ci-deploy")
			}
			if got != want {
				t.Fatalf("ci-deploy has %d keys, want %d", got, want)
			}
		})
	}
}

func TestFaultNthCountProbability(t *testing.T) {
	s, org := demo(t)
	c := et.STSClient(t, s, et.AK(org.Admin()))
	s.AddFault(emulator.Fault{Action: "GetCallerIdentity", Kind: emulator.FaultServerErrorBefore, Nth: 2})
	var got []bool
	for range 4 {
		_, err := callerIdentity(c)
		got = append(got, err == nil)
	}
	if fmt.Sprint(got) != "[true false true true]" {
		t.Fatalf("Nth=2: %v", got)
	}
	s2, org2 := demo(t)
	c2 := et.STSClient(t, s2, et.AK(org2.Admin()))
	s2.AddFault(emulator.Fault{Kind: emulator.FaultThrottle, Count: 2})
	got = nil
	for range 4 {
		_, err := callerIdentity(c2)
		got = append(got, err == nil)
	}
	if fmt.Sprint(got) != "[false false true true]" {
		t.Fatalf("Count=2: %v", got)
	}
	s3, org3 := demo(t)
	c3 := et.STSClient(t, s3, et.AK(org3.Admin()))
	s3.AddFault(emulator.Fault{Kind: emulator.FaultThrottle, Probability: 0.5})
	fails := 0
	for range 40 {
		if _, err := callerIdentity(c3); err != nil {
			fails++
		}
	}
	if fails == 0 || fails == 40 {
		t.Fatalf("Probability 0.5 failed %d of 40", fails)
	}
}

func TestPause(t *testing.T) {
	s, org := demo(t)
	p := s.PauseAt("DeleteAccessKey")
	admin := et.RAM(t, s, et.AK(org.Admin()))
	done := make(chan error, 1)
	go func() {
		c := et.RAM(t, s, et.AK(org.Admin()))
		done <- deleteKey(c, "billing-app", leaked)
	}()
	<-p.Reached
	if got := listKeys(t, admin, "billing-app"); len(got) != 2 {
		t.Fatalf("state changed before release: %v", got)
	}
	p.Release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := listKeys(t, admin, "billing-app"); len(got) != 1 || got[0] != keepKey+":Active" {
		t.Fatalf("after release: %v", got)
	}
}

func TestPropagationDelay(t *testing.T) {
	clk := newClock()
	s, org := demo(t, emulator.WithClock(clk.Now), emulator.WithoutTimestampCheck(), emulator.WithPropagationDelay(10*time.Second))
	admin := et.RAM(t, s, et.AK(org.Admin()))
	leakedSTS := et.STSClient(t, s, cred(t, org, leaked))
	nk, err := createKey(admin, "ci-deploy")
	if err != nil {
		t.Fatal(err)
	}
	newSTS := et.STSClient(t, s, et.AK(emulator.Credential{AccessKeyID: nk.AccessKey.AccessKeyId, AccessKeySecret: nk.AccessKey.AccessKeySecret}))
	_, err = callerIdentity(newSTS)
	serverErr(t, err, 404, "InvalidAccessKeyId.NotFound")
	if err := deleteKey(admin, "billing-app", leaked); err != nil {
		t.Fatal(err)
	}
	if got := listKeys(t, admin, "billing-app"); len(got) != 1 {
		t.Fatalf("API view must change at once: %v", got)
	}
	if _, err := callerIdentity(leakedSTS); err != nil {
		t.Fatalf("deleted key must still work during the delay: %v", err)
	}
	clk.Add(11 * time.Second)
	_, err = callerIdentity(leakedSTS)
	serverErr(t, err, 404, "InvalidAccessKeyId.NotFound")
	if _, err := callerIdentity(newSTS); err != nil {
		t.Fatalf("new key after the delay: %v", err)
	}
}

func TestAssumeRoleAcrossAccounts(t *testing.T) {
	clk := newClock()
	s, org := demo(t, emulator.WithClock(clk.Now), emulator.WithoutTimestampCheck())
	stsAdmin := et.STSClient(t, s, et.AK(org.Admin()))
	req := sts.CreateAssumeRoleRequest()
	req.RoleArn, req.RoleSessionName, req.DurationSeconds = prodRole, "respond", "900"
	resp, err := stsAdmin.AssumeRole(req)
	if err != nil {
		t.Fatal(err)
	}
	cr := resp.Credentials
	if !strings.HasPrefix(cr.AccessKeyId, "STS.") || cr.SecurityToken == "" || cr.Expiration == "" ||
		resp.AssumedRoleUser.Arn != "acs:ram::"+prodID+":role/ResourceDirectoryAccountAccessRole/respond" {
		t.Fatalf("AssumeRole: %+v", resp)
	}
	tmp := et.STS(cr.AccessKeyId, cr.AccessKeySecret, cr.SecurityToken)
	id, err := callerIdentity(et.STSClient(t, s, tmp))
	if err != nil || id.AccountId != prodID || id.IdentityType != "AssumedRoleUser" || id.RoleId == "" ||
		!strings.HasSuffix(id.Arn, ":assumed-role/ResourceDirectoryAccountAccessRole/respond") {
		t.Fatalf("identity %+v %v", id, err)
	}
	prod := et.RAM(t, s, tmp)
	users, err := prod.ListUsers(ram.CreateListUsersRequest())
	if err != nil || len(users.Users.User) != 2 || users.Users.User[0].UserName != "payments-api" {
		t.Fatalf("member users %+v %v", users, err)
	}
	_, err = prod.ListAccessKeys(ram.CreateListAccessKeysRequest())
	serverErr(t, err, 400, "MissingUserName")

	wrong := et.RAM(t, s, et.STS(cr.AccessKeyId, cr.AccessKeySecret, "CAISnot-the-token"))
	_, err = wrong.ListUsers(ram.CreateListUsersRequest())
	serverErr(t, err, 400, "InvalidSecurityToken.MismatchWithAccessKey")
	noToken := et.RAM(t, s, et.AK(emulator.Credential{AccessKeyID: cr.AccessKeyId, AccessKeySecret: cr.AccessKeySecret}))
	_, err = noToken.ListUsers(ram.CreateListUsersRequest())
	serverErr(t, err, 400, "MissingSecurityToken")

	clk.Add(901 * time.Second)
	_, err = prod.ListUsers(ram.CreateListUsersRequest())
	serverErr(t, err, 400, "InvalidSecurityToken.Expired")

	for _, tc := range []struct {
		arn, name, dur, code string
		status               int
	}{
		{"acs:ram::1000000000000002:role/NoSuchRole", "x1", "", "EntityNotExist.Role", 404},
		{"arn:bad", "x1", "", "InvalidParameter.RoleArn", 400},
		{prodRole, "x", "", "InvalidParameter.RoleSessionName", 400},
		{prodRole, "x1", "100", "InvalidParameter.DurationSeconds", 400},
	} {
		r := sts.CreateAssumeRoleRequest()
		r.RoleArn, r.RoleSessionName, r.DurationSeconds = tc.arn, tc.name, requests.Integer(tc.dur)
		_, err := stsAdmin.AssumeRole(r)
		serverErr(t, err, tc.status, tc.code)
	}
	// A member-account principal may not assume a role it is not trusted by.
	payments := et.STSClient(t, s, cred(t, org, "LTAI5tFAKEPAYMENTSLEAK01"))
	r := sts.CreateAssumeRoleRequest()
	r.RoleArn, r.RoleSessionName = "acs:ram::1000000000000003:role/ResourceDirectoryAccountAccessRole", "x1"
	_, err = payments.AssumeRole(r)
	serverErr(t, err, 403, "NoPermission")
}

func TestIMS(t *testing.T) {
	s, org := demo(t)
	c := et.IMS(t, s, et.AK(org.Admin()))
	req := ims.CreateGetUserRequest()
	req.UserAccessKeyId = leaked
	u, err := c.GetUser(req)
	if err != nil || u.User.UserPrincipalName != "billing-app@acme.onaliyun.com" {
		t.Fatalf("GetUser by key: %+v %v", u, err)
	}
	req = ims.CreateGetUserRequest()
	req.UserPrincipalName = "billing-app@acme.onaliyun.com"
	if u2, err := c.GetUser(req); err != nil || u2.User.UserId != u.User.UserId {
		t.Fatalf("GetUser by UPN: %v", err)
	}
	req = ims.CreateGetUserRequest()
	req.UserAccessKeyId = "LTAI5tFAKEPAYMENTSLEAK01" // another account's key
	_, err = c.GetUser(req)
	serverErr(t, err, 404, "EntityNotExist.User.AccessKey")
	lr := ims.CreateListAccessKeysRequest()
	lr.UserPrincipalName = "billing-app@acme.onaliyun.com"
	keys, err := c.ListAccessKeys(lr)
	if err != nil || len(keys.AccessKeys.AccessKey) != 2 || keys.AccessKeys.AccessKey[0].UpdateDate == "" {
		t.Fatalf("IMS ListAccessKeys %+v %v", keys, err)
	}
	lu := ims.CreateGetAccessKeyLastUsedRequest()
	lu.UserPrincipalName, lu.UserAccessKeyId = "billing-app@acme.onaliyun.com", leaked
	last, err := c.GetAccessKeyLastUsed(lu)
	if err != nil || last.AccessKeyLastUsed.LastUsedDate == "" || last.AccessKeyLastUsed.ServiceName == "" {
		t.Fatalf("IMS last used (seeded by events) %+v %v", last, err)
	}
	users, err := c.ListUsers(ims.CreateListUsersRequest())
	if err != nil || len(users.Users.User) != 7 {
		t.Fatalf("IMS ListUsers %v", err)
	}
}

func TestActionTrail(t *testing.T) {
	s, org := demo(t, emulator.WithLookupEventsLimit(0))
	at := et.ActionTrail(t, s, et.AK(org.Admin()))
	// ActionTrail is regional: each region holds its own events plus the global (RAM, STS)
	// ones, so the leaked key's 144 events are found only by asking every region where it was
	// used, each global event in every region.
	var all []map[string]interface{}
	seen := map[string]bool{}
	for _, tc := range []struct {
		region        string
		pages, events int
	}{
		{"cn-hangzhou", 2, 24 + 63}, {"ap-southeast-1", 3, 38 + 63}, {"us-west-1", 2, 15 + 63},
		{"eu-central-1", 2, 4 + 63}, {"cn-beijing", 2, 63},
	} {
		token, pages, n := "", 0, 0
		for {
			req := actiontrail.CreateLookupEventsRequest()
			req.RegionId = tc.region
			req.LookupAttribute = &[]actiontrail.LookupEventsLookupAttribute{{Key: "EventAccessKeyId", Value: leaked}}
			req.NextToken = token
			resp, err := at.LookupEvents(req)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			n += len(resp.Events)
			for _, e := range resp.Events {
				if id := e["eventId"].(string); !seen[id] {
					seen[id] = true
					all = append(all, e)
				}
			}
			if resp.NextToken == "" {
				break
			}
			token = resp.NextToken
		}
		if pages != tc.pages || n != tc.events {
			t.Errorf("%s: pages %d events %d, want %d %d", tc.region, pages, n, tc.pages, tc.events)
		}
	}
	if len(all) != 144 {
		t.Fatalf("events %d, want 144", len(all))
	}
	first := all[0]
	ui, _ := first["userIdentity"].(map[string]interface{})
	if first["eventName"] != "QueryAccountBalance" || ui["accessKeyId"] != leaked || ui["userName"] != "billing-app" {
		t.Fatalf("newest event %v", first)
	}
	risky := map[string]int{}
	for _, e := range all {
		risky[e["eventName"].(string)]++
	}
	if risky["RunInstances"] != 12 || risky["CreateUser"] != 1 || risky["CreateAccessKey"] != 1 {
		t.Fatalf("events %v", risky)
	}
	// FORWARD, a window, MaxResults, and a bad key.
	req := actiontrail.CreateLookupEventsRequest()
	req.RegionId = "ap-southeast-1"
	req.LookupAttribute = &[]actiontrail.LookupEventsLookupAttribute{{Key: "EventName", Value: "RunInstances"}}
	req.Direction, req.MaxResults = "FORWARD", "5"
	req.StartTime = time.Now().UTC().Add(-25 * time.Hour).Format(time.RFC3339)
	req.EndTime = time.Now().UTC().Format(time.RFC3339)
	resp, err := at.LookupEvents(req)
	if err != nil || len(resp.Events) != 5 || resp.NextToken == "" {
		t.Fatalf("forward page: %v %v", len(resp.Events), err)
	}
	t0, _ := time.Parse(time.RFC3339, resp.Events[0]["eventTime"].(string))
	t1, _ := time.Parse(time.RFC3339, resp.Events[1]["eventTime"].(string))
	if !t0.Before(t1) {
		t.Fatalf("FORWARD is not oldest first")
	}
	req.LookupAttribute = &[]actiontrail.LookupEventsLookupAttribute{{Key: "AccessKeyId", Value: leaked}}
	_, err = at.LookupEvents(req)
	serverErr(t, err, 400, "InvalidParameter")
	// Served calls are recorded with the signing key and the User-Agent.
	adminRAM := et.RAM(t, s, et.AK(org.Admin()))
	adminRAM.AppendUserAgent("respond", "test")
	if _, err := adminRAM.ListUsers(ram.CreateListUsersRequest()); err != nil {
		t.Fatal(err)
	}
	req = actiontrail.CreateLookupEventsRequest()
	req.LookupAttribute = &[]actiontrail.LookupEventsLookupAttribute{{Key: "EventAccessKeyId", Value: org.Admin().AccessKeyID}}
	resp, err = at.LookupEvents(req)
	if err != nil || len(resp.Events) < 2 {
		t.Fatalf("recorded events: %v %v", resp, err)
	}
	var found bool
	for _, e := range resp.Events {
		if e["eventName"] == "ListUsers" && strings.Contains(e["userAgent"].(string), "respond/test") {
			found = true
		}
	}
	if !found {
		t.Fatalf("ListUsers by the admin not recorded: %v", resp.Events)
	}
	li := actiontrail.CreateGetAccessKeyLastUsedInfoRequest()
	li.AccessKey = leaked
	info, err := at.GetAccessKeyLastUsedInfo(li)
	if err != nil || info.UserName != "billing-app" || info.AccountId != mgmtID || info.UsedTimestamp == 0 {
		t.Fatalf("GetAccessKeyLastUsedInfo %+v %v", info, err)
	}
	li.AccessKey = "LTAI5tFAKENOSUCHKEY00001"
	_, err = at.GetAccessKeyLastUsedInfo(li)
	serverErr(t, err, 404, "EntityNotExist.AccessKey")
}

func TestKMS(t *testing.T) {
	s, org := demo(t)
	k := et.KMS(t, s, et.AK(org.Admin()))
	const data = `{"AccessKeyId":"LTAI5tFAKE","AccessKeySecret":"s3cr3t +*~/é"}`
	cr := kms.CreateCreateSecretRequest()
	cr.SecretName, cr.SecretData, cr.VersionId = "app/key", data, "v1"
	c, err := k.CreateSecret(cr)
	if err != nil || c.Arn != "acs:kms:cn-hangzhou:"+mgmtID+":secret/app/key" || c.VersionId != "v1" {
		t.Fatalf("CreateSecret %+v %v", c, err)
	}
	_, err = k.CreateSecret(cr)
	se := serverErr(t, err, 409, "Rejected.ResourceExist")
	if se.RequestId() != strings.ToLower(se.RequestId()) {
		t.Fatalf("KMS request ids are lower case: %s", se.RequestId())
	}
	put := func(v, d string) (*kms.PutSecretValueResponse, error) {
		r := kms.CreatePutSecretValueRequest()
		r.SecretName, r.SecretData, r.VersionId = "app/key", d, v
		return k.PutSecretValue(r)
	}
	p, err := put("v2", "two")
	if err != nil || fmt.Sprint(p.VersionStages.VersionStage) != "[ACSCurrent]" {
		t.Fatalf("put v2 %+v %v", p, err)
	}
	if _, err := put("v2", "two"); err != nil {
		t.Fatalf("same VersionId and data must be idempotent: %v", err)
	}
	_, err = put("v2", "other")
	serverErr(t, err, 409, "Rejected.ResourceExist")
	get := func(stage, version string) (*kms.GetSecretValueResponse, error) {
		r := kms.CreateGetSecretValueRequest()
		r.SecretName, r.VersionStage, r.VersionId = "app/key", stage, version
		return k.GetSecretValue(r)
	}
	g, err := get("", "")
	if err != nil || g.SecretData != "two" || g.VersionId != "v2" {
		t.Fatalf("current %+v %v", g, err)
	}
	g, err = get("ACSPrevious", "")
	if err != nil || g.SecretData != data || g.VersionId != "v1" {
		t.Fatalf("previous %+v %v", g, err)
	}
	r := kms.CreateGetSecretValueRequest()
	r.SecretName = "nope"
	_, err = k.GetSecretValue(r)
	serverErr(t, err, 404, "Forbidden.ResourceNotFound")
	// The request log never holds secret data.
	for _, e := range s.RequestLog() {
		for name, v := range e.Params {
			if strings.Contains(v, "s3cr3t") || strings.Contains(v, "two") && name == "SecretData" {
				t.Fatalf("secret in request log: %s=%s", name, v)
			}
		}
	}
}

func TestListAccounts(t *testing.T) {
	s, org := demo(t)
	rm := et.ResourceManager(t, s, et.AK(org.Admin()))
	req := resourcemanager.CreateListAccountsRequest()
	req.PageSize = "2"
	resp, err := rm.ListAccounts(req)
	if err != nil || resp.TotalCount != 3 || len(resp.Accounts.Account) != 2 || resp.Accounts.Account[1].AccountId != prodID {
		t.Fatalf("page 1 %+v %v", resp, err)
	}
	req.PageNumber = "2"
	resp, err = rm.ListAccounts(req)
	if err != nil || len(resp.Accounts.Account) != 1 || resp.PageNumber != 2 {
		t.Fatalf("page 2 %+v %v", resp, err)
	}
	req.PageNumber = "1844674407370955162" // (page-1)*size overflowed to a negative index: the handler panicked
	_, err = rm.ListAccounts(req)
	serverErr(t, err, 400, "InvalidParameter")
	member := et.ResourceManager(t, s, cred(t, org, "LTAI5tFAKEROOTPROD000001"))
	_, err = member.ListAccounts(resourcemanager.CreateListAccountsRequest())
	se := serverErr(t, err, 403, "MemberAccountAccessDenied")
	if se.Message() != "The member account is not allowed to perform the operation." {
		t.Fatalf("member ListAccounts message %q", se.Message())
	}
}

// TestAliyunCLILoop replays what `aliyun ram ListUsers | jq … | while read u; do aliyun ram
// ListAccessKeys --UserName "$u"; done` sends (spec §2.6): CommonRequest, POST, all parameters in
// the query, x-sdk-invoke-type: common.
func TestAliyunCLILoop(t *testing.T) {
	s, org := demo(t)
	capt := &capture{next: s.Handler()}
	front := httptest.NewServer(capt)
	defer front.Close()
	c := et.Common(t, s, et.AK(org.Admin()))
	c.Domain = strings.TrimPrefix(front.URL, "http://")
	resp, err := c.ProcessCommonRequest(common("2015-05-01", "ListUsers"))
	if err != nil {
		t.Fatal(err)
	}
	if capt.method != "POST" || capt.header.Get("X-Sdk-Invoke-Type") != "common" || !strings.Contains(capt.uri, "Action=ListUsers") {
		t.Fatalf("not a CLI-shaped request: %s %s %v", capt.method, capt.uri, capt.header)
	}
	var lu struct {
		Users struct{ User []struct{ UserName string } }
	}
	if err := jsonUnmarshal(resp.GetHttpContentBytes(), &lu); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, u := range lu.Users.User {
		r := common("2015-05-01", "ListAccessKeys")
		r.QueryParams["UserName"] = u.UserName
		kr, err := c.ProcessCommonRequest(r)
		if err != nil {
			t.Fatalf("ListAccessKeys %s: %v", u.UserName, err)
		}
		total += strings.Count(kr.GetHttpContentString(), `"AccessKeyId"`)
	}
	if len(lu.Users.User) != 7 || total != 8 {
		t.Fatalf("users %d keys %d", len(lu.Users.User), total)
	}
	noViolations(t, s)
}

func TestConcurrentClients(t *testing.T) {
	org := emulator.GenerateOrg(emulator.GenSpec{Accounts: 2, UsersPerAccount: 16, Seed: 3})
	s := et.Start(t, org)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	// One client per goroutine, built before they start: the SDK's ram.NewClientWithOptions
	// initialises a package-level endpoint map without a lock (a data race when the first
	// clients of a process are built concurrently).
	clients := make([]*ram.Client, 8)
	for g := range clients {
		clients[g] = et.RAM(t, s, et.AK(org.Admin()))
	}
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := clients[g]
			user := fmt.Sprintf("user-%04d", g+1)
			for range 10 {
				req := ram.CreateListAccessKeysRequest()
				req.UserName = user
				resp, err := c.ListAccessKeys(req)
				if err != nil {
					errs <- err
					return
				}
				if len(resp.AccessKeys.AccessKey) < 2 {
					k, err := createKey(c, user)
					if err != nil {
						errs <- err
						return
					}
					if err := deleteKey(c, user, k.AccessKey.AccessKeyId); err != nil {
						errs <- err
						return
					}
				}
				if _, err := c.ListUsers(ram.CreateListUsersRequest()); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	noViolations(t, s)
	if n := len(s.RequestLog()); n < 160 {
		t.Fatalf("request log has %d entries", n)
	}
}
