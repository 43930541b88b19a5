package emulator

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The fast paths must give exactly what the straightforward standard-library code gives. Each
// test compares them with that reference; the fuzzers do so on arbitrary input.

// refMerge is the parameter merge as first written with url.ParseQuery: a query that does not
// parse counts as empty, a body keeps the pairs that parse, the first value of a name wins and a
// body value beats a query value.
func refMerge(query, body string) (map[string]string, url.Values) {
	q, err := url.ParseQuery(query)
	if err != nil {
		q = url.Values{}
	}
	all := url.Values{}
	merged := map[string]string{}
	for k, v := range q {
		all[k] = append(all[k], v...)
		merged[k] = v[0]
	}
	if body != "" {
		form, _ := url.ParseQuery(body)
		for k, v := range form {
			all[k] = append(all[k], v...)
			merged[k] = v[0]
		}
	}
	return merged, all
}

func fastMerge(query, body string) params { return rawParams{query, body}.parse() }

func checkParams(t *testing.T, query, body string) {
	t.Helper()
	want, wantAll := refMerge(query, body)
	p := fastMerge(query, body)
	if got := p.merged(); !maps.Equal(got, want) {
		t.Fatalf("query %q body %q: merged\n got %v\nwant %v", query, body, got, want)
	}
	for k, v := range want {
		if got, ok := p.get(k); !ok || got != v {
			t.Fatalf("query %q body %q: get(%q) = %q, %v; want %q", query, body, k, got, ok, v)
		}
	}
	for _, method := range []string{"GET", "POST"} {
		if got, want := string(newSigner().stringToSign(method, p.list)), refStringToSign(method, wantAll); got != want {
			t.Fatalf("query %q body %q: string to sign\n got %s\nwant %s", query, body, got, want)
		}
	}
}

// refStringToSign is spec §1.3 steps 1-4 written the plain way.
func refStringToSign(method string, all url.Values) string {
	var pairs []string
	for k, vs := range all {
		if k == "Signature" {
			continue
		}
		for _, v := range vs {
			pairs = append(pairs, percentEncode(k)+"\x00"+percentEncode(v))
		}
	}
	// Sort on (key, value): the NUL separator sorts before every encoded byte.
	sortStrings(pairs)
	for i, p := range pairs {
		pairs[i] = strings.Replace(p, "\x00", "=", 1)
	}
	return method + "&%2F&" + url.QueryEscape(strings.Join(pairs, "&")) // QueryEscape = percentEncode on encoded text
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func TestParamsMatchParseQuery(t *testing.T) {
	for _, tc := range []struct{ query, body string }{
		{"Action=ListUsers&Version=2015-05-01", ""},
		{"a=1&a=2&b=3", "a=4&a=5&c=6"},
		{"a=1;b=2&c=3", "d=4"},        // a semicolon voids the whole query
		{"c=3", "a=1;b=2&d=%zz&e=5"},  // a body keeps its good pairs
		{"=x&&k&k=&k=v", ""},          // empty key skipped, bare and empty values
		{"x=%41%2b+y&y=a%20b", "x=z"}, // escapes and plus; body wins
		{"Timestamp=2026-01-01T00%3A00%3A00Z&N=%E4%B8%AD~*", ""},
		{"bad=%&ok=1", ""},
		{strings.Repeat("a=1&", maxQueryParams) + "b=2", "c=3"}, // over net/url's limit
	} {
		checkParams(t, tc.query, tc.body)
	}
}

func FuzzParams(f *testing.F) {
	f.Add("Action=ListUsers&Version=2015-05-01&Timestamp=2026-01-01T00%3A00%3A00Z", "UserName=a+b")
	f.Add("a=1;b=2", "a=%zz&a=3")
	f.Add("k=%E4%B8%AD&k=~&Signature=x", "")
	f.Fuzz(func(t *testing.T, query, body string) { checkParams(t, query, body) })
}

func TestHMACMatchesCryptoHMAC(t *testing.T) {
	for _, secret := range []string{"", "testsecret", strings.Repeat("s", 62), strings.Repeat("s", 63), strings.Repeat("s", 64), strings.Repeat("x", 200)} {
		checkHMAC(t, secret, "POST&%2F&Action%3DListUsers")
	}
}

func checkHMAC(t *testing.T, secret, msg string) {
	t.Helper()
	m := hmac.New(sha1.New, []byte(secret+"&"))
	m.Write([]byte(msg))
	want := base64.StdEncoding.EncodeToString(m.Sum(nil))
	if got := Sign(secret, msg); got != want {
		t.Fatalf("Sign(%q, %q) = %s, want %s", secret, msg, got, want)
	}
	if !signatureOK(secret, msg, want) || signatureOK(secret, msg, want[:27]) || signatureOK(secret+"x", msg, want) {
		t.Fatalf("signatureOK(%q, %q) disagrees", secret, msg)
	}
}

func FuzzHMAC(f *testing.F) {
	f.Add("testsecret", "GET&%2F&AccessKeyId%3Dtestid")
	f.Add(strings.Repeat("k", 70), "")
	f.Fuzz(func(t *testing.T, secret, msg string) { checkHMAC(t, secret, msg) })
}

// jsonCases are the shapes the handlers answer with, and strings json.Marshal escapes.
func jsonCases() []any {
	return []any{
		map[string]any{"RequestId": "X", "AccessKeys": map[string]any{"AccessKey": []map[string]any{
			{"AccessKeyId": "LTAI5t", "Status": "Active", "CreateDate": "2026-01-01T00:00:00Z"}}}},
		map[string]any{"IsTruncated": false, "Marker": "bWFy", "Users": map[string]any{"User": []map[string]any{}}},
		map[string]any{"UsedTimestamp": int64(1700000000123), "PageNumber": 3, "Tags": map[string]any{"Tag": []any{}}},
		map[string]any{"VersionStages": map[string]any{"VersionStage": []string{"ACSCurrent", "ACSPrevious"}}},
		map[string]any{"AccessDeniedDetail": map[string]string{"AuthAction": "ram:ListUsers", "B": ""}},
		map[string]any{"nil map": map[string]any(nil), "nil list": []map[string]any(nil), "nil": nil,
			"nil strings": []string(nil), "nil any": []any(nil), "nil smap": map[string]string(nil)},
		map[string]any{"html": "<a href=\"x\">&</a>", "ctl": "a\tb\nc\x00\x1f\u2028", "utf8": "中文 é", "bad": "\xff\xfe"},
		map[string]any{"float": 1.5, "struct": struct{ A int }{1}},
		map[string]any{"k17": map[string]any{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7, "h": 8, "i": 9,
			"j": 10, "k": 11, "l": 12, "m": 13, "n": 14, "o": 15, "p": 16, "q": 17}},
	}
}

func TestObjectEncodesLikeMap(t *testing.T) {
	o := object{str("Status", "Active"), {k: "AccessKeyId", v: "LTAI5t"}, str("UpdateDate", ""), str("CreateDate", "<2026>"),
		{k: "Nested", v: []object{{{k: "b", v: 1}, {k: "a", v: []object{}}}}}}
	m := map[string]any{"Status": "Active", "AccessKeyId": "LTAI5t", "UpdateDate": "", "CreateDate": "<2026>",
		"Nested": []map[string]any{{"b": 1, "a": []map[string]any{}}}}
	for _, tc := range []struct {
		name      string
		obj, want any
	}{{"alone", o, m}, {"inside a map", map[string]any{"x": o}, map[string]any{"x": m}}} {
		want, _ := json.Marshal(tc.want)
		got, err := appendJSON(nil, tc.obj)
		if err != nil || string(got) != string(want) {
			t.Errorf("%s:\n got %s (%v)\nwant %s", tc.name, got, err, want)
		}
	}
	// Through encoding/json too (a struct field, say).
	got, err := json.Marshal(struct{ O object }{o})
	if wantS, _ := json.Marshal(struct{ O map[string]any }{m}); err != nil || string(got) != string(wantS) {
		t.Errorf("json.Marshal:\n got %s (%v)\nwant %s", got, err, wantS)
	}
}

func TestDateMatchesFormat(t *testing.T) {
	if date(time.Time{}) != "" {
		t.Fatal("zero time must be empty")
	}
	cst := time.FixedZone("CST", 8*3600)
	for _, tm := range []time.Time{
		time.Date(2026, 11, 28, 18, 22, 43, 999999999, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 0, cst),
		time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC), time.Date(999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-5, 3, 1, 0, 0, 0, 0, time.UTC), time.Unix(1<<40, 0),
	} {
		if got, want := date(tm), tm.UTC().Format(dateFmt); got != want {
			t.Errorf("date(%v) = %q, want %q", tm, got, want)
		}
	}
}

func TestAppendJSONMatchesMarshal(t *testing.T) {
	for i, v := range jsonCases() {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendJSON([]byte("prefix"), v)
		if err != nil || string(got) != "prefix"+string(want) {
			t.Errorf("case %d:\n got %s (%v)\nwant prefix%s", i, got, err, want)
		}
	}
	if _, err := appendJSON(nil, map[string]any{"ch": make(chan int)}); err == nil {
		t.Error("an unencodable value must fail like json.Marshal")
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("k", "v<>&\"\\\x00\u2028é\xff")
	f.Fuzz(func(t *testing.T, k, v string) {
		val := map[string]any{k: v, "list": []map[string]any{{v: k, "n": len(v)}}, "s": []string{k, v},
			"m": map[string]string{v: k}}
		want, _ := json.Marshal(val)
		got, err := appendJSON(nil, val)
		if err != nil || string(got) != string(want) {
			t.Fatalf("\n got %s (%v)\nwant %s", got, err, want)
		}
	})
}

func TestRequestIDFormat(t *testing.T) {
	s := NewUnstartedServer(DemoOrg())
	defer s.Close()
	upper := regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`)
	lower := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for i := range 2000 {
		id := s.requestID(i%2 == 1)
		re := upper
		if i%2 == 1 {
			re = lower
		}
		if !re.MatchString(id) {
			t.Fatalf("RequestId %q is not a v4 UUID in the right case", id)
		}
		if seen[strings.ToUpper(id)] {
			t.Fatalf("RequestId %q repeats", id)
		}
		seen[strings.ToUpper(id)] = true
	}
	// The layout is the one fmt gives for the same numbers.
	lo := s.ridSeq.Load() + 1
	hi := mix64(s.ridSalt + lo*0x9e3779b97f4a7c15)
	want := fmt.Sprintf("%08X-%04X-4%03X-%04X-%012X", uint32(hi>>32), uint16(hi>>16), uint16(hi)&0xfff,
		0x8000|uint16(lo>>48)&0x3fff, lo&0xffffffffffff)
	if got := s.requestID(false); got != want {
		t.Fatalf("requestID %s, want %s", got, want)
	}
	// Same seed, same ids.
	a, b := NewUnstartedServer(DemoOrg(), WithSeed(7)), NewUnstartedServer(DemoOrg(), WithSeed(7))
	if a.requestID(false) != b.requestID(false) {
		t.Fatal("RequestIds ignore the seed")
	}
}

func TestNonceCacheWindow(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	nc := newNonceCache(100, 15*time.Minute)
	if !nc.fresh("K1", "n1", t0, t0) {
		t.Fatal("first use refused")
	}
	if nc.fresh("K1", "n1", t0.Add(14*time.Minute), t0) {
		t.Fatal("replay within the window accepted")
	}
	if !nc.fresh("K2", "n1", t0, t0) || !nc.fresh("K1", "n2", t0, t0) {
		t.Fatal("the nonce is per key")
	}
	if !nc.fresh("K1", "n1", t0.Add(15*time.Minute), t0) {
		t.Fatal("a nonce past the window is still refused")
	}
	// A Timestamp ahead of the clock keeps the nonce until Timestamp + window: while the
	// timestamp check would still pass a replay.
	ahead := t0.Add(10 * time.Minute)
	if !nc.fresh("K1", "future", t0, ahead) {
		t.Fatal("first use refused")
	}
	if nc.fresh("K1", "future", t0.Add(20*time.Minute), ahead) {
		t.Fatal("replay accepted while its timestamp is still valid")
	}
	if !nc.fresh("K1", "future", t0.Add(25*time.Minute), ahead) {
		t.Fatal("nonce kept past timestamp + window")
	}
}

func TestNonceCacheBounded(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	nc := newNonceCache(1000, 15*time.Minute)
	for i := range 5000 {
		if !nc.fresh("K", fmt.Sprint(i), t0, t0) {
			t.Fatalf("fresh nonce %d refused", i)
		}
		if n := nc.len(); n > 1000 || len(nc.seen) > 1000 {
			t.Fatalf("%d entries (map %d), limit 1000", n, len(nc.seen))
		}
	}
	if nc.fresh("K", "4999", t0, t0) || nc.fresh("K", "4001", t0, t0) {
		t.Fatal("a recent nonce was forgotten")
	}
	if !nc.fresh("K", "0", t0, t0) {
		t.Fatal("the oldest nonce should have been evicted at the limit")
	}
	// Expired entries leave as time passes, without waiting for the limit.
	later := t0.Add(16 * time.Minute)
	nc.fresh("K", "late", later, later)
	if n := nc.len(); n != 1 {
		t.Fatalf("%d entries after the window passed, want 1", n)
	}
}

func FuzzUserNameChars(f *testing.F) {
	for _, s := range []string{"", "ci-deploy", "a.b@c_d-e", "中", "a b", "a\n", strings.Repeat("x", 64), "a/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if len(name) > 64 {
			return // checkUserName refuses those before asking
		}
		if got, want := userNameChars(name), reUserName.MatchString(name); got != want {
			t.Fatalf("userNameChars(%q) = %v, reUserName says %v", name, got, want)
		}
	})
}

func TestEventParams(t *testing.T) {
	p := fastMerge("Action=CreateSecret&RegionId=cn-shanghai&SecretName=a&SecretName=b&SecretData=s3cr3t&Signature=x&VersionId=v1",
		"VersionId=v2&SecurityToken=CAIS")
	kept, region := eventParams(p)
	if region != "cn-shanghai" {
		t.Errorf("region %q", region)
	}
	want := map[string]string{"SecretName": "a", "VersionId": "v2"}
	if got := kept.merged(); !maps.Equal(got, want) {
		t.Errorf("kept %v, want %v", got, want)
	}
	if kept, region := eventParams(fastMerge("Action=GetCallerIdentity&Version=2015-04-01", "")); len(kept.list) != 0 || region != "" {
		t.Errorf("nothing to keep: %v %q", kept, region)
	}
}

func checkPack(t *testing.T, query, body string) {
	t.Helper()
	p := fastMerge(query, body)
	packed := string(packParams(nil, p))
	got := unpackParams(packed, p.body)
	want := p.merged()
	for k := range want {
		if redacted(k) {
			want[k] = "[REDACTED]"
		}
	}
	if m := got.merged(); !maps.Equal(m, want) {
		t.Fatalf("query %q body %q: unpacked %v, want %v", query, body, m, want)
	}
}

func TestPackParams(t *testing.T) {
	checkPack(t, "Action=PutSecretValue&SecretData=hunter2hunter2&SecretName=a&a=%00%01&Signature=abc%3D", "SecretData=body-secret&SecretName=b")
	checkPack(t, "", "")
	checkPack(t, "k="+strings.Repeat("v", 300), "")
	packed := string(packParams(nil, fastMerge("SecretData=hunter2hunter2&SecurityToken=CAIStoken&AccessKeySecret=ak-secret&Signature=sig", "")))
	for _, secret := range []string{"hunter2hunter2", "CAIStoken", "ak-secret", "sig"} {
		if strings.Contains(packed, secret) {
			t.Errorf("the request log keeps %q", secret)
		}
	}
}

func FuzzPackParams(f *testing.F) {
	f.Add("SecretData=x&k=v", "k=w")
	f.Fuzz(func(t *testing.T, query, body string) { checkPack(t, query, body) })
}
