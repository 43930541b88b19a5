package emulator

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func FuzzSecretFilters(f *testing.F) {
	for _, s := range []string{"", `[{"Key":"SecretType","Values":["RAMCredentials"]}]`, `[{"Key":"Nope"}]`, `{}`, `[null]`,
		`[{"Key":"SecretName","Values":["a","b"]},{"Key":"Creator","Values":[]}]`} {
		f.Add(s)
	}
	sec := &kmsSecret{name: "acs/ram/user/x", ram: &ramSecret{}}
	f.Fuzz(func(t *testing.T, s string) {
		fs, err := parseSecretFilters(s)
		if err != nil {
			return
		}
		if len(fs) > 10 {
			t.Fatalf("%d filters accepted", len(fs))
		}
		for _, x := range fs {
			if !slices.Contains(filterKeys, x.Key) || len(x.Values) > 10 {
				t.Fatalf("filter %+v accepted", x)
			}
		}
		_ = sec.matches(fs, "1")
	})
}

func FuzzExtendedConfig(f *testing.F) {
	for _, s := range []string{`{"SecretSubType":"RamUserAccessKey","UserName":"app"}`, `{"SecretSubType":"RamUserAccessKey"}`,
		`{"SecretSubType":"RamUserAccessKey","UserName":"a","CustomData":{"k":1}}`, `[]`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ec, err := parseExtendedConfig(s)
		if err == nil && (len(s) > 1024 || ec.SecretSubType != ramSubType || !reUserName.MatchString(ec.UserName) || len(ec.CustomData) > 10) {
			t.Fatalf("accepted %q as %+v", s, ec)
		}
	})
}

func FuzzRAMSecretData(f *testing.F) {
	for _, s := range []string{`{"AccessKeys":[{"AccessKeyId":"LTAI1","AccessKeySecret":"x"}]}`, `{"AccessKeys":[]}`, `{}`, `null`,
		`{"AccessKeys":[{"AccessKeyId":"LTAI1","AccessKeySecret":"ab\qc"}]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseRAMSecretData(s)
		if err != nil {
			// SecretData holds secrets: the error is one of the fixed texts, never a piece of s.
			if !slices.Contains(secretDataErrors, err.Error()) {
				t.Fatalf("error %q is not a fixed text", err)
			}
			return
		}
		if len(d.AccessKeys) == 0 || len(d.AccessKeys) > keyLimit {
			t.Fatalf("accepted %d pairs", len(d.AccessKeys))
		}
		for _, k := range d.AccessKeys {
			if k.AccessKeyID == "" || k.AccessKeySecret == "" {
				t.Fatalf("accepted an empty pair in %q", s)
			}
		}
	})
}

var secretDataErrors = []string{"longer than 30720 bytes", "not a JSON object", "AccessKeys must list the user's one or two pairs",
	"an AccessKeys entry lacks AccessKeyId or AccessKeySecret"}

func FuzzRotationInterval(f *testing.F) {
	for _, s := range []string{"7d", "604800s", "6h", "5h", "8760h", "8761h", "99999999999d", "1m", "d", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseRotationInterval(s)
		if ok && (d < 6*time.Hour || d > 8760*time.Hour) {
			t.Fatalf("%q accepted as %s", s, d)
		}
	})
}

func TestRotationInterval(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"7d", 7 * 24 * time.Hour, true}, {"604800s", 7 * 24 * time.Hour, true}, {"6h", 6 * time.Hour, true},
		{"360m", 6 * time.Hour, true}, {"5h", 0, false}, {"8760h", 8760 * time.Hour, true}, {"8761h", 0, false},
		{"365d", 365 * 24 * time.Hour, true}, {"366d", 0, false}, {"9999999999d", 0, false}, {"7", 0, false}, {"7w", 0, false},
	} {
		d, ok := parseRotationInterval(tc.in)
		if d != tc.want || ok != tc.ok {
			t.Errorf("%q: %s %v, want %s %v", tc.in, d, ok, tc.want, tc.ok)
		}
	}
}

func TestSeedRAMSecretValidation(t *testing.T) {
	const head = `accounts:
  - id: "1000000000000001"
    users:
      - name: app
        keys: [{id: LTAI5tFAKEAPPKEY00000001, secret: FakeAppSecret00000000000000001}]
      - name: nokey
    secrets:
`
	for _, tc := range []struct{ secret, want string }{
		{`      - {name: s, type: RAMCredentials, user: app}`, ""},
		{`      - {name: s, type: RAMCredentials, user: app, key: LTAI5tFAKEAPPKEY00000001, stall: true, rotationInterval: 7d}`, ""},
		{`      - {name: s, type: RAMCredentials, user: ghost}`, `line 8: secret s: user "ghost" is not a user`},
		{`      - {name: s, type: RAMCredentials, user: nokey}`, "line 8: secret s: user nokey has no key"},
		{`      - {name: s, type: RAMCredentials, user: app, key: LTAI5tFAKEOTHER000000001}`, "is not one of user app's keys"},
		{`      - {name: s, type: RAMCredentials, user: app, rotationInterval: 1h}`, "rotationInterval"},
		{`      - {name: s, type: RAMCredentials, user: app, versions: [{id: v1, data: x}]}`, "not versions"},
		{`      - {name: s, user: app, versions: [{id: v1, data: x}]}`, "are for type RAMCredentials"},
		{`      - {name: s, type: Rds, user: app}`, `type "Rds"`},
		{`      - {name: s}`, "secret s has no versions"},
	} {
		_, err := ParseOrg([]byte(head + tc.secret + "\n"))
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", tc.secret, err, tc.want)
		}
	}
}
