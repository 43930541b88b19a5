package emulator

import (
	"strings"
	"testing"
)

func TestGlobMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "ram:ListUsers", true},
		{"ram:*", "ram:ListUsers", true},
		{"ram:List*", "ram:GetUser", false},
		{"ram:?etUser", "ram:GetUser", true},
		{"acs:ram:*:*:user/*", "acs:ram:*:1000000000000001:user/bob", true},
		{"acs:ram:*:*:user/bob", "acs:ram:*:1:user/bobby", false},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxbyy", false},
		{"", "x", false},
	} {
		if got := globMatch(tc.pattern, tc.s); got != tc.want {
			t.Errorf("globMatch(%q, %q) = %v", tc.pattern, tc.s, got)
		}
	}
}

func TestPolicyEval(t *testing.T) {
	req := func(action, ip, now string) *evalRequest {
		return &evalRequest{action: action, resource: "acs:ram:*:1:user/app",
			keys: map[string]string{"acs:sourceip": ip, "acs:currenttime": now}}
	}
	const now = "2026-11-28T12:00:00Z"
	for _, tc := range []struct {
		name, doc   string
		r           *evalRequest
		allow, deny bool
	}{
		{"allow", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:*","Resource":"*"}]}`, req("ram:ListUsers", "1.1.1.1", now), true, false},
		{"single statement object", `{"Version":"1","Statement":{"Effect":"Allow","Action":"ram:*","Resource":"*"}}`, req("ram:ListUsers", "1.1.1.1", now), true, false},
		{"deny wins in one document", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"ram:List*","Resource":"*"}]}`, req("ram:ListUsers", "1.1.1.1", now), false, true},
		{"ip in cidr", `{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":["10.0.0.0/8","192.0.2.1"]}}}]}`, req("ram:ListUsers", "10.2.3.4", now), false, true},
		{"ip outside", `{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":["10.0.0.0/8","192.0.2.1"]}}}]}`, req("ram:ListUsers", "192.0.2.2", now), false, false},
		{"ipv6", `{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":"2001:db8::/32"}}}]}`, req("ram:ListUsers", "2001:db8::7", now), false, true},
		{"date before", `{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"acs:CurrentTime":"2026-11-28T13:00:00+01:00"}}}]}`, req("ram:ListUsers", "1.1.1.1", now), false, false},
		{"date before, offset", `{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"DateLessThan":{"acs:CurrentTime":"2026-11-28T13:00:01+01:00"}}}]}`, req("ram:ListUsers", "1.1.1.1", now), false, true},
		{"missing key, positive operator", `{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"acs:UserAgent":"x"}}}]}`, req("ram:ListUsers", "1.1.1.1", now), false, false},
		{"missing key, negated operator", `{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringNotEquals":{"acs:UserAgent":"x"}}}]}`, req("ram:ListUsers", "1.1.1.1", now), false, true},
		{"condition key case-insensitive", `{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"IpAddress":{"ACS:SOURCEIP":"1.1.1.1"}}}]}`, req("ram:ListUsers", "1.1.1.1", now), false, true},
		{"NaN equals no number", `{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NumericEquals":{"k":"5"}}}]}`,
			&evalRequest{action: "ram:ListUsers", resource: "acs:ram:*:1:user/app", keys: map[string]string{"k": "NaN"}}, false, false},
		{"NotResource", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","NotResource":"acs:ram:*:*:user/app"}]}`, req("ram:ListUsers", "1.1.1.1", now), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, e := parsePolicyDoc(tc.doc, false)
			if e != nil {
				t.Fatal(e)
			}
			if a, dn := d.eval(tc.r); a != tc.allow || dn != tc.deny {
				t.Fatalf("eval = %v, %v; want %v, %v", a, dn, tc.allow, tc.deny)
			}
		})
	}
}

func TestParsePolicyDocTrust(t *testing.T) {
	d, e := parsePolicyDoc(`{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::1000000000000002:root","1000000000000003"],"Service":"ecs.aliyuncs.com"}}]}`, true)
	if e != nil {
		t.Fatal(e)
	}
	if got := strings.Join(trustedAccounts(d), ","); got != "1000000000000002,1000000000000003" {
		t.Fatalf("trusted %s", got)
	}
	if _, e := parsePolicyDoc(`{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`, true); e == nil {
		t.Fatal("a trust policy without Principal was accepted")
	}
	if _, e := parsePolicyDoc(`{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Principal":{"RAM":"*"}}]}`, false); e == nil {
		t.Fatal("an identity policy with Principal was accepted")
	}
	if _, e := parsePolicyDoc(`{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`+strings.Repeat(" ", maxPolicyDocument), false); e == nil || e.Code != "InvalidParameter.PolicyDocument.Length" {
		t.Fatalf("long document: %v", e)
	}
}

func TestAccessKeyPolicyAdmits(t *testing.T) {
	p, e := parseAccessKeyPolicy(`{"Version":1,"Status":"Active","Statements":[{"Type":"ClassicWhiteList","IPList":["198.51.100.0/24"]},{"Type":"VPCWhiteList","Value":"vpc-1","IPList":["172.16.0.0/16"]}]}`)
	if e != nil {
		t.Fatal(e)
	}
	for ip, want := range map[string]bool{"198.51.100.7": true, "172.16.0.1": false, "203.0.113.1": false, "not-ip": false} {
		if p.admits(ip) != want {
			t.Errorf("admits(%s) = %v", ip, !want)
		}
	}
	var none *accessKeyPolicy
	if !none.admits("203.0.113.1") {
		t.Error("no policy must admit everything")
	}
}

// FuzzParsePolicyDoc: any text either parses or is refused with a 400, and a parsed document
// evaluates without panicking.
func FuzzParsePolicyDoc(f *testing.F) {
	for _, s := range []string{
		`{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
		`{"Version":"1","Statement":[{"Effect":"Deny","NotAction":["ram:*"],"NotResource":"x","Condition":{"IpAddress":{"acs:SourceIp":["1.2.3.0/24"]},"DateLessThan":{"acs:CurrentTime":"2026-01-01T00:00:00Z"},"NumericLessThan":{"k":1},"Bool":{"acs:SecureTransport":false}}}]}`,
		`{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"*"}}]}`,
		`{}`, `[]`, `null`, `{"Version":1}`,
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, doc string, trust bool) {
		d, e := parsePolicyDoc(doc, trust)
		if e != nil {
			if e.Status != 400 {
				t.Fatalf("status %d", e.Status)
			}
			return
		}
		r := &evalRequest{action: "ram:ListUsers", resource: "acs:ram:*:1:user/a", keys: map[string]string{
			"acs:sourceip": "1.2.3.4", "acs:currenttime": "2026-11-28T12:00:00Z", "k": "2", "acs:securetransport": "false"}}
		d.eval(r)
		trustedAccounts(d)
	})
}

func FuzzParseAccessKeyPolicy(f *testing.F) {
	f.Add(`{"Version":1,"Status":"Active","Statements":[{"Type":"ClassicWhiteList","IPList":["1.2.3.4","2001:db8::/32"]}]}`)
	f.Add(`{"Version":1,"Status":"Inactive","Statements":[]}`)
	f.Add(`{"Version":"1"}`)
	f.Fuzz(func(t *testing.T, raw string) {
		p, e := parseAccessKeyPolicy(raw)
		if e != nil {
			if e.Status != 400 {
				t.Fatalf("status %d", e.Status)
			}
			return
		}
		p.admits("1.2.3.4")
	})
}
