package emulator

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSignatureVectors(t *testing.T) {
	ramParams := map[string][]string{"AccessKeyId": {"testid"}, "Action": {"CreateUser"}, "Format": {"JSON"},
		"SignatureMethod": {"HMAC-SHA1"}, "SignatureNonce": {"6a6e0ca6-4557-11e5-86a2-b8e8563dc8d2"},
		"SignatureVersion": {"1.0"}, "Timestamp": {"2015-08-18T03:15:45Z"}, "UserName": {"test"}, "Version": {"2015-05-01"},
		"Signature": {"ignored"}}
	imsParams := map[string][]string{"AccessKeyId": {"testid"}, "Action": {"CreateUser"}, "DisplayName": {"test"},
		"Format": {"JSON"}, "SignatureMethod": {"HMAC-SHA1"}, "SignatureNonce": {"3f6b4e80-56f7-11eb-a256-a9f756ea7e85"},
		"SignatureVersion": {"1.0"}, "Timestamp": {"2021-01-15T06:02:28Z"}, "UserPrincipalName": {"test@example.onaliyun.com"},
		"Version": {"2019-08-15"}}
	sdkQuery, _ := url.ParseQuery("AccessKeyId=LTAI5tTESTKEYID000000001&Action=ListUsers&Format=JSON&MaxItems=1&RegionId=cn-hangzhou&SignatureMethod=HMAC-SHA1&SignatureNonce=6020449ea963e450af43fed14af9eb6d&SignatureType=&SignatureVersion=1.0&Timestamp=2026-11-28T18%3A22%3A43Z&Version=2015-05-01")
	for _, tc := range []struct {
		name, method, secret string
		params               map[string][]string
		wantSTS, wantSig     string
	}{
		{"RAM doc", "GET", "testsecret", ramParams,
			"GET&%2F&AccessKeyId%3Dtestid%26Action%3DCreateUser%26Format%3DJSON%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D6a6e0ca6-4557-11e5-86a2-b8e8563dc8d2%26SignatureVersion%3D1.0%26Timestamp%3D2015-08-18T03%253A15%253A45Z%26UserName%3Dtest%26Version%3D2015-05-01",
			"kRA2cnpJVacIhDMzXnoNZG9tDCI="},
		{"IMS doc", "GET", "testsecret", imsParams,
			"GET&%2F&AccessKeyId%3Dtestid%26Action%3DCreateUser%26DisplayName%3Dtest%26Format%3DJSON%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3f6b4e80-56f7-11eb-a256-a9f756ea7e85%26SignatureVersion%3D1.0%26Timestamp%3D2021-01-15T06%253A02%253A28Z%26UserPrincipalName%3Dtest%2540example.onaliyun.com%26Version%3D2019-08-15",
			"02heLegtw4+BFamznl1Ltj+vJ4A="},
		{"SDK probe", "POST", "testSecret/with+odd=chars", sdkQuery, "", "XyGesxWStCNoDvgglEHsgEj2Gp0="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sts := StringToSign(tc.method, tc.params)
			if tc.wantSTS != "" && sts != tc.wantSTS {
				t.Fatalf("StringToSign\n got %s\nwant %s", sts, tc.wantSTS)
			}
			if got := Sign(tc.secret, sts); got != tc.wantSig {
				t.Fatalf("Signature %s, want %s", got, tc.wantSig)
			}
			if !signatureOK(tc.secret, sts, tc.wantSig) || signatureOK("other", sts, tc.wantSig) {
				t.Fatal("signatureOK disagrees")
			}
		})
	}
}

func TestPercentEncode(t *testing.T) {
	for in, want := range map[string]string{"a b": "a%20b", "*": "%2A", "~-_.": "~-_.", "é": "%C3%A9", "+/=": "%2B%2F%3D"} {
		if got := percentEncode(in); got != want {
			t.Errorf("percentEncode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSeedOrgs(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/orgs/*.yaml")
	if len(files) < 5 {
		t.Fatalf("seed orgs: %v", files)
	}
	for _, f := range files {
		if _, err := LoadOrg(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	demo, _ := os.ReadFile("../../testdata/orgs/demo.yaml")
	if string(demo) != string(demoYAML) {
		t.Error("testdata/orgs/demo.yaml differs from the embedded ram/emulator/demo.yaml")
	}
	for file, want := range map[string]string{
		"bad-key-id.yaml":    "line 6: key id \"AKIAFAKE0000000000000000\"",
		"unknown-field.yaml": "line 5: field password not found",
		"three-keys.yaml":    "line 6: user u has 3 keys",
		"four-binned.yaml":   "line 6: user u has 4 keys in the recycle bin",
	} {
		_, err := LoadOrg("../../testdata/orgs/invalid/" + file)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", file, err, want)
		}
	}
}

func TestGenerateOrgDeterministic(t *testing.T) {
	a := GenerateOrg(GenSpec{Accounts: 3, UsersPerAccount: 20, Seed: 42})
	b := GenerateOrg(GenSpec{Accounts: 3, UsersPerAccount: 20, Seed: 42})
	if err := a.validate(nil); err != nil {
		t.Fatal(err)
	}
	if a.Admin() != b.Admin() || a.Accounts[2].Users[19].Keys[0] != b.Accounts[2].Users[19].Keys[0] {
		t.Fatal("not deterministic")
	}
	if !a.Accounts[0].Management || a.Admin().UserName != "admin" || len(a.Accounts[1].Roles) != 1 {
		t.Fatalf("shape: %+v", a.Admin())
	}
	c := GenerateOrg(GenSpec{Accounts: 1, UsersPerAccount: 1, Seed: 43})
	if c.Admin() == a.Admin() {
		t.Fatal("seed ignored")
	}
}

func FuzzParseOrg(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/orgs/*/*.yaml")
	more, _ := filepath.Glob("../../testdata/orgs/*.yaml")
	for _, p := range append(files, more...) {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := ParseOrg(data)
		if err != nil {
			return
		}
		NewUnstartedServer(o).Close() // a valid org always loads
	})
}

// FuzzHandler sends arbitrary queries: the answer is always JSON whose error fields are strings.
func FuzzHandler(f *testing.F) {
	f.Add("Action=ListUsers&Version=2015-05-01")
	f.Add("Action=ListUsers&Version=2015-05-01&Format=JSON&SignatureMethod=HMAC-SHA1&Signature=x&AccessKeyId=LTAI5tFAKEADMIN000000001&SignatureNonce=1&Timestamp=2026-01-01T00:00:00Z")
	f.Add("Version=2099-01-01&Action=X")
	s := NewUnstartedServer(DemoOrg())
	f.Fuzz(func(t *testing.T, q string) {
		r := httptest.NewRequest(http.MethodPost, "/?"+url.PathEscape(q), nil)
		r.URL.RawQuery = q
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		body := w.Body.String()
		if !strings.HasPrefix(body, "{") || !strings.Contains(body, `"RequestId":"`) {
			t.Fatalf("body %q", body)
		}
	})
}
