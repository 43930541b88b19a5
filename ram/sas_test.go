package ram

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
)

const (
	demoLeakedKey = "LTAI5tFAKEBILLING0LEAK01"
	demoLeakedSec = "FakeBillingLeakedSecret0000001"
	demoRootKey   = "LTAI5tFAKEROOTACME000001"
	demoProdID    = "1000000000000002"
)

func listAll(t *testing.T, c *Client, q LeakQuery) []Leak {
	t.Helper()
	var out []Leak
	if err := c.ListLeaks(context.Background(), q, func(l Leak) error { out = append(out, l); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEmu_leaksDemo(t *testing.T) {
	s, c, _ := startEmu(t, emulator.DemoOrg())
	ctx := context.Background()
	got := listAll(t, c, LeakQuery{Status: LeakPending})
	if len(got) != 2 || got[0].KeyID.String() != demoRootKey || !got[0].Root() || got[1].KeyID.String() != demoLeakedKey || got[1].Root() {
		t.Fatalf("pending records %+v", got)
	}
	l := got[1]
	if l.ID != 389357 || l.Status != LeakPending || l.AliUserName != "billing-app" || l.Found.IsZero() ||
		!strings.HasPrefix(l.URL, "https://github.com/acme-example/billing-app/blob/") {
		t.Fatalf("record %+v", l)
	}
	d, err := c.GetLeakDetail(ctx, l.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if d.KeyID.String() != demoLeakedKey || d.TokenValid != TokenValid || d.RepoURL != "https://github.com/acme-example/billing-app" ||
		d.FileName != "settings.py" || d.Source != "GitHub" || !strings.Contains(d.Code.Reveal(), demoLeakedSec) {
		t.Fatalf("detail %+v", d)
	}
	for _, f := range []string{"%v", "%+v", "%#v", "%s"} {
		if s := fmt.Sprintf(f, d); strings.Contains(s, demoLeakedSec) {
			t.Fatalf("%s of a detail shows the secret: %s", f, s)
		}
	}
	rid, err := c.MarkLeaksHandled(ctx, []int64{l.ID}, "respond run r-1: deleted")
	if err != nil || rid == "" {
		t.Fatalf("mark: %q %v", rid, err)
	}
	if got := listAll(t, c, LeakQuery{KeyID: demoLeakedKey}); len(got) != 1 || got[0].Status != LeakDealed || got[0].DealType != LeakDealManual {
		t.Fatalf("after marking %+v", got)
	}
	if v := s.Violations(); len(v) != 0 {
		t.Fatal(v)
	}
}

func TestEmu_leaksPaging(t *testing.T) {
	for _, n := range []int{0, 1, 99, 100, 101, 250} {
		org := emulator.GenerateOrg(emulator.GenSpec{Accounts: 2, UsersPerAccount: 1, Seed: 3})
		s, c, _ := startEmu(t, org)
		var leaks []emulator.Leak
		for i := range n {
			leaks = append(leaks, emulator.Leak{AccessKeyID: fmt.Sprintf("LTAI5tPAGE%014d", i),
				URL: "https://github.com/o/r/blob/c/f", Ago: time.Duration(i) * time.Second})
		}
		member := org.Accounts[1].ID
		s.AddLeaks(member, leaks...)
		got := listAll(t, c, LeakQuery{Status: LeakPending, MemberAccountID: member})
		ids := map[int64]bool{}
		for _, l := range got {
			ids[l.ID] = true
		}
		if len(got) != n || len(ids) != n {
			t.Errorf("%d records: listed %d (%d distinct)", n, len(got), len(ids))
		}
		if want := max(1, (n+99)/100); calls(s, actDescribeAccesskeyLeakList) != want {
			t.Errorf("%d records: %d list calls, want %d", n, calls(s, actDescribeAccesskeyLeakList), want)
		}
		for _, r := range s.RequestLog() {
			if r.Action == actDescribeAccesskeyLeakList && (r.Params["PageSize"] != "100" || r.Params["ResourceDirectoryAccountId"] != member) {
				t.Fatalf("list parameters %v", r.Params)
			}
		}
		if got := listAll(t, c, LeakQuery{}); len(got) != 0 {
			t.Errorf("the management account's own records: %d", len(got))
		}
	}
}

func TestEmu_leaksFilters(t *testing.T) {
	s, c, _ := startEmu(t, emulator.DemoOrg())
	if got := listAll(t, c, LeakQuery{Since: time.Now().Add(-10 * time.Hour)}); len(got) != 1 || got[0].KeyID.String() != demoRootKey {
		t.Fatalf("since 10h: %+v", got)
	}
	if got := listAll(t, c, LeakQuery{KeyID: demoLeakedKey}); len(got) != 1 || got[0].ID != 389357 {
		t.Fatalf("query: %+v", got)
	}
	if got := listAll(t, c, LeakQuery{Status: LeakDealed}); len(got) != 0 {
		t.Fatalf("dealed: %+v", got)
	}
	for _, r := range s.RequestLog() {
		if r.Action == actDescribeAccesskeyLeakList && r.Params["Query"] == demoLeakedKey && r.Params["StartTs"] != "" {
			t.Fatalf("unasked StartTs %v", r.Params)
		}
	}
}

func TestEmu_leaksMarkSeveral(t *testing.T) {
	org := emulator.DemoOrg()
	s, c, _ := startEmu(t, org)
	if _, err := c.MarkLeaksHandled(context.Background(), []int64{389357, 389358}, ""); err != nil {
		t.Fatal(err)
	}
	if got := listAll(t, c, LeakQuery{Status: LeakPending}); len(got) != 0 {
		t.Fatalf("still pending %+v", got)
	}
	var sawList bool
	for _, r := range s.RequestLog() {
		if r.Action == actModifyAccessKeyLeakDeal {
			sawList = r.Params["IdList.1"] == "389357" && r.Params["IdList.2"] == "389358" && r.Params["Id"] == "" && r.Params["Type"] == "manual"
		}
	}
	if !sawList {
		t.Fatal("ModifyAccessKeyLeakDeal did not send IdList.N")
	}
	if _, err := c.MarkLeaksHandled(context.Background(), nil, "x"); err == nil {
		t.Fatal("marking no record succeeded")
	}
}

func TestEmu_leaksErrors(t *testing.T) {
	org := emulator.DemoOrg()
	s, _, _ := startEmu(t, org)
	ctx := context.Background()
	auditor, _ := org.Key("LTAI5tFAKEAUDITOR0000001")
	ac, _ := clientFor(t, s, auditor, 5)
	if _, err := ac.GetLeakDetail(ctx, 389357, ""); err != nil {
		t.Fatalf("auditor reads: %v", err)
	}
	_, err := ac.MarkLeaksHandled(ctx, []int64{389357}, "")
	var e *Error
	if !errors.Is(err, ErrNoPermission) || !errors.As(err, &e) || e.Action != actModifyAccessKeyLeakDeal || e.Status != 403 || e.RequestID == "" {
		t.Fatalf("auditor marks: %v", err)
	}
	ci, _ := org.Key("LTAI5tFAKECIDEPLOY000001")
	cc, _ := clientFor(t, s, ci, 5)
	if err := cc.ListLeaks(ctx, LeakQuery{}, func(Leak) error { return nil }); !errors.Is(err, ErrNoPermission) {
		t.Fatalf("ci-deploy lists: %v", err)
	}
	_, c, _ := startEmu(t, org)
	_, err = c.GetLeakDetail(ctx, 42, "")
	if !errors.As(err, &e) || e.Code != "InvalidParameter" || e.Class != nil || strings.Contains(err.Error(), demoLeakedSec) {
		t.Fatalf("unknown record: %v", err)
	}
	stop := errors.New("stop")
	if err := c.ListLeaks(ctx, LeakQuery{}, func(Leak) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("callback error: %v", err)
	}
}

func TestLeaksScripted(t *testing.T) {
	ctx := context.Background()
	secretBody := `{"RequestId":"R","AccesskeyId":"` + demoLeakedKey + `","Code":"sk=` + demoLeakedSec + `","TokenValid":"bad` + demoLeakedSec + `"}`
	for _, tc := range []struct {
		name    string
		answers []canned
		hits    int
		ok      bool
		class   error
	}{
		{"5xx then answer", []canned{{status: 500, body: errBody("ServerError", "ServerError")}, {status: 200, body: `{"RequestId":"R","AccesskeyId":"` + demoLeakedKey + `","Code":"x","TokenValid":"2"}`}}, 2, true, nil},
		{"Code not a string", []canned{{status: 200, body: `{"RequestId":"R","Code":{"v":"` + demoLeakedSec + `"}}`}}, 5, false, ErrTransient},
		{"malformed field next to the secret", []canned{{status: 200, body: secretBody}}, 5, false, ErrTransient},
		{"not JSON", []canned{{status: 200, body: "<html>" + demoLeakedSec}}, 5, false, ErrTransient},
		{"throttled then answer", []canned{{status: 400, body: errBody("Throttling.User", "Request was denied due to user flow control.")}, {status: 200, body: `{"RequestId":"R","Code":""}`}}, 2, true, nil},
		{"no permission", []canned{{status: 403, body: errBody("NoPermission", "caller has no permission")}}, 1, false, ErrNoPermission},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc, ep := newScript(t, map[string][]canned{actDescribeAccessKeyLeakDetail: tc.answers})
			c, _ := newClient(t, ep, 5)
			d, err := c.GetLeakDetail(ctx, 7, "")
			if sc.Hits(actDescribeAccessKeyLeakDetail) != tc.hits {
				t.Errorf("%d calls, want %d", sc.Hits(actDescribeAccessKeyLeakDetail), tc.hits)
			}
			if tc.ok != (err == nil) || (tc.class != nil && !errors.Is(err, tc.class)) {
				t.Fatalf("err %v, want ok=%v class %v", err, tc.ok, tc.class)
			}
			if err != nil && strings.Contains(err.Error(), demoLeakedSec) {
				t.Fatalf("error quotes the secret: %v", err)
			}
			if tc.ok && d.ID != 7 {
				t.Fatalf("detail %+v", d)
			}
		})
	}
	// The host: mainland and international endpoints.
	for region, want := range map[string]string{"cn-hangzhou": "tds.aliyuncs.com", "cn-guangzhou": "tds.aliyuncs.com",
		"ap-southeast-1": "tds.ap-southeast-1.aliyuncs.com", "us-east-1": "tds.ap-southeast-1.aliyuncs.com"} {
		c, err := New(ctx, Config{Region: region, Credentials: StaticCredentials(testKeyID, accesskey.NewSecret(testSecret))})
		if err != nil {
			t.Fatal(err)
		}
		if got := c.host(prodSAS); got != want {
			t.Errorf("%s: host %s, want %s", region, got, want)
		}
	}
}

func TestLeaksPagingEnds(t *testing.T) {
	var full strings.Builder
	full.WriteString(`{"RequestId":"R","AccessKeyLeakList":[`)
	for i := range 100 {
		if i > 0 {
			full.WriteString(",")
		}
		fmt.Fprintf(&full, `{"Id":%d,"AccesskeyId":"LTAI5tPAGE%014d","Status":"pending"}`, i+1, i)
	}
	full.WriteString("]}")
	// No TotalCount: pages are followed until a short one.
	sc, ep := newScript(t, map[string][]canned{actDescribeAccesskeyLeakList: {{status: 200, body: full.String()},
		{status: 200, body: `{"RequestId":"R","AccessKeyLeakList":[]}`}}})
	c, _ := newClient(t, ep, 1)
	n := 0
	if err := c.ListLeaks(context.Background(), LeakQuery{}, func(Leak) error { n++; return nil }); err != nil || n != 100 || sc.Hits(actDescribeAccesskeyLeakList) != 2 {
		t.Fatalf("%d records, %d calls, %v", n, sc.Hits(actDescribeAccesskeyLeakList), err)
	}
	// Full pages forever: the listing stops with an error.
	sc, ep = newScript(t, map[string][]canned{actDescribeAccesskeyLeakList: {{status: 200, body: full.String()}}})
	c, _ = newClient(t, ep, 1)
	err := c.ListLeaks(context.Background(), LeakQuery{}, func(Leak) error { return nil })
	if !errors.Is(err, ErrTransient) || sc.Hits(actDescribeAccesskeyLeakList) != maxLeakPages {
		t.Fatalf("endless listing: %v after %d calls", err, sc.Hits(actDescribeAccesskeyLeakList))
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain/repo-name.py": "plain/repo-name.py",
		"云平台":                "云平台",
		"evil\x1b[2Jname":    `evil\x1b[2Jname`,
		"rtl\u202etxt.exe":   `rtl\u202etxt.exe`,
		"line\nbreak":        `line\nbreak`,
		"bad\xffutf8":        `bad\xffutf8`,
	} {
		if got := accesskey.Printable(in); got != want {
			t.Errorf("accesskey.Printable(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzDecodeLeaks feeds both decoders arbitrary answers: they never panic, and an error never
// quotes the answer (a detail's Code may hold a secret).
func FuzzDecodeLeaks(f *testing.F) {
	f.Add([]byte(`{"TotalCount":2,"AccessKeyLeakList":[{"Id":1,"AccesskeyId":"` + demoLeakedKey + `","GmtModified":1700000000000}]}`))
	f.Add([]byte(`{"AccesskeyId":"` + demoLeakedKey + `","Code":"sk=` + demoLeakedSec + `","TokenValid":1}`))
	f.Add([]byte(`{"Code":7,"TokenValid":"x"}`))
	f.Add([]byte(`{"TotalCount":"12","AccessKeyLeakList":[{"Id":"9","Url":"https://github.com/\u202e"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		leaks, total, err := decodeLeakPage(body)
		if err != nil && err != errUndecodable {
			t.Fatalf("page error %v", err)
		}
		_ = total // any value only ends paging (early or at the short page)
		for _, l := range leaks {
			if f := l.URL + l.AliUserName + l.RawKeyID; accesskey.Printable(f) != f || !utf8.ValidString(f) {
				t.Fatalf("unescaped field %q %q", l.URL, l.AliUserName)
			}
		}
		d, err := decodeLeakDetail(body, 1)
		if err != nil && err != errUndecodable {
			t.Fatalf("detail error %v", err)
		}
		if s := fmt.Sprintf("%v %+v", d, d); !d.Code.IsZero() && len(d.Code.Reveal()) > 3 && strings.Contains(s, d.Code.Reveal()) {
			t.Fatalf("a detail prints its Code: %s", s)
		}
	})
}
