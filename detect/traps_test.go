package detect

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/respond-dev/respond/ram/accesskey"
)

const (
	id24  = "LTAI5tFAKEb8HnR4sW6cJq2d"
	id24b = "LTAI5tFAKEp4Gz8Kd2Ym6Rw9"
	id16  = "LTAIFAKE7q2Wd9Xz"
	sec1  = "FAKEm7Lp2Qx9Vr4Ts8Nk3Hd6Bz1Wc5"
	sec2  = "FAKEq2Wn8Rt5Zy3Lk7Pb4Mx9Cv6Jh1"
	sts   = "STS.NUgFAKEoC63mHtFkUL5MeF8r"
)

// textTraps are the id shapes of the formats README, each with what must come out of it.
var textTraps = []struct {
	name    string
	in      string
	ids     []string          // in order of first appearance
	secrets map[string]string // id → secret expected with it
}{
	{"bare id", id24 + "\n", []string{id24}, nil},
	{"no trailing newline", id24, []string{id24}, nil},
	{"followed by comma (gitleaks misses)", id24 + "," + sec1 + "\n", []string{id24}, map[string]string{id24: sec1}},
	{"followed by ampersand (gitleaks misses)", "x?OSSAccessKeyId=" + id24 + "&Signature=abc\n", []string{id24}, nil},
	{"followed by double quote", `key="` + id24 + `"`, []string{id24}, nil},
	{"followed by single quote", `key='` + id24 + `'`, []string{id24}, nil},
	{"followed by semicolon", id24 + ";", []string{id24}, nil},
	{"followed by angle bracket", "<id>" + id24 + "</id>", []string{id24}, nil},
	{"CRLF line end", id24 + "\r\n", []string{id24}, nil},
	{"legacy 16 chars (gitleaks and trufflehog miss)", "legacy key id: " + id16 + "\n", []string{id16}, nil},
	{"inside a longer word", "ALTAIR5tFAKEb8HnR4sW6cJq2dX\n", nil, nil},
	{"trailing alnum", id24 + "X\n", nil, nil},
	{"leading alnum", "x" + id24 + "\n", nil, nil},
	{"lower case ltai", "ltai5tfakeb8hnr4sw6cjq2d\n", nil, nil},
	{"21 chars after LTAI (trufflehog accepts)", "LTAI5tFAKEb8HnR4sW6cJq2dA\n", nil, nil},
	{"17 chars after LTAI (trufflehog accepts)", "LTAI5tFAKEb8HnR4sW6cJq\n", nil, nil},
	{"13 chars after LTAI", "LTAIFAKE7q2Wd9XzQ\n", nil, nil},
	{"underscore before is a boundary", "AK_" + id24 + "\n", []string{id24}, nil},
	{"env pair", "export ALIBABA_CLOUD_ACCESS_KEY_ID=" + id24 + " ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + sec1 + "\n", []string{id24}, map[string]string{id24: sec1}},
	{"secret before id on the line", "secret=" + sec1 + " id=" + id24, []string{id24}, map[string]string{id24: sec1}},
	{"unnamed secret on another line is not paired", id24 + "\ntoken=" + sec1 + "\n", []string{id24}, nil},
	{"named secret on the next line is paired", id24 + "\nsecret=" + sec1 + "\n", []string{id24}, map[string]string{id24: sec1}},
	{"two pairs on one line", id24 + "," + sec1 + ";" + id24b + "," + sec2, []string{id24, id24b}, map[string]string{id24: sec1, id24b: sec2}},
	{"hex trace id is not a secret", id24 + " trace=0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c\n", []string{id24}, nil},
	{"STS id", "token " + sts + "\n", []string{sts}, nil},
	{"STS too short", "STS.abc\n", nil, nil},
	{"log line starting with a bracket", "[2025-03-06 08:14:02] WARN AccessKeyId=" + id24 + " failed\n", []string{id24}, nil},
	{"JUnit-escaped JSON", "&#34;Secret&#34;: &#34;" + id24 + "&#34;,&#xA;", []string{id24}, nil},
	{"duplicate keeps order of first appearance", id24b + "\n" + id24 + "\n" + id24b + "\n", []string{id24b, id24}, nil},
}

func TestTextTraps(t *testing.T) {
	for _, tc := range textTraps {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Read(context.Background(), strings.NewReader(tc.in), Options{Format: FormatText})
			if len(tc.ids) == 0 {
				if !errors.Is(err, ErrUnrecognised) {
					t.Fatalf("want ErrUnrecognised for text without ids, got %v (%+v)", err, res.Findings)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range res.Findings {
				got = append(got, f.KeyID.String())
				want := tc.secrets[f.KeyID.String()]
				if f.Secret.Reveal() != want {
					t.Errorf("%s: secret %q, want %q", f.KeyID, f.Secret.Reveal(), want)
				}
			}
			if strings.Join(got, " ") != strings.Join(tc.ids, " ") {
				t.Errorf("ids %v, want %v", got, tc.ids)
			}
			// Auto-detection must treat these as text too.
			auto, err := Read(context.Background(), strings.NewReader(tc.in), Options{})
			if err != nil || auto.Format != FormatText || len(auto.Findings) != len(res.Findings) {
				t.Errorf("auto: format %s, %d findings, %v", auto.Format, len(auto.Findings), err)
			}
		})
	}
}

func TestSTSExplained(t *testing.T) {
	res, err := Read(context.Background(), strings.NewReader(sts+" "+sec1), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 1 || res.Findings[0].Kind != KindSTS || !res.Findings[0].Secret.IsZero() {
		t.Fatalf("want one STS finding without secret, got %+v", res.Findings)
	}
	if len(res.Warnings) != 1 || res.Warnings[0] != STSExplanation {
		t.Fatalf("want the STS explanation, got %q", res.Warnings)
	}
}

func gitleaksEntry(rule, secret, file, commit string, line int) string {
	return `{"RuleID":"` + rule + `","StartLine":` + itoa(line) + `,"Match":"` + secret + `\"","Secret":"` + secret +
		`","File":"` + file + `","Commit":"` + commit + `","Fingerprint":"` + commit + ":" + file + ":" + rule + ":" + itoa(line) + `"}`
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestReportTraps covers the traps of the structured formats.
func TestReportTraps(t *testing.T) {
	type want struct {
		ids     []string
		secrets map[string]string
		err     any      // nil, or a pointer to the typed error, or ErrUnrecognised
		notes   int      // notes expected on the first finding, -1 to skip
		alone   []string // secrets reported without an id (secret-only findings), in order
	}
	cases := []struct {
		name   string
		format Format
		in     string
		want   want
	}{
		{"gitleaks: Secret not Match; id and secret of one file+commit are paired", FormatAuto,
			"[" + gitleaksEntry(ruleGitleaksSecret, sec1, ".env", "c1", 3) + "," + gitleaksEntry(ruleGitleaksID, id24, ".env", "c1", 2) + "]",
			want{ids: []string{id24}, secrets: map[string]string{id24: sec1}, notes: -1}},
		// Issue 20: the only id and the only secret without an id of one commit are one key.
		{"gitleaks: secret in another file of the same commit is paired within the report", FormatGitleaksJSON,
			"[" + gitleaksEntry(ruleGitleaksSecret, sec1, "a.env", "c1", 3) + "," + gitleaksEntry(ruleGitleaksID, id24, ".env", "c1", 2) + "]",
			want{ids: []string{id24}, secrets: map[string]string{id24: sec1}, notes: 1}},
		{"gitleaks: secret in another commit is never paired", FormatGitleaksJSON,
			"[" + gitleaksEntry(ruleGitleaksSecret, sec1, ".env", "c2", 3) + "," + gitleaksEntry(ruleGitleaksID, id24, ".env", "c1", 2) + "]",
			want{ids: []string{id24}, notes: -1, alone: []string{sec1}}},
		{"gitleaks: secret alone", FormatAuto, "[" + gitleaksEntry(ruleGitleaksSecret, sec1, ".env", "c1", 3) + "]",
			want{notes: 0, alone: []string{sec1}}},
		{"gitleaks: two ids and a secret of one commit stay unpaired", FormatGitleaksJSON,
			"[" + gitleaksEntry(ruleGitleaksSecret, sec1, "a.env", "c1", 3) + "," + gitleaksEntry(ruleGitleaksID, id24, ".env", "c1", 2) +
				"," + gitleaksEntry(ruleGitleaksID, id24b, "b.env", "c1", 2) + "]",
			want{ids: []string{id24, id24b}, notes: 0, alone: []string{sec1}}},
		{"gitleaks: one id and two secrets of one commit stay unpaired", FormatGitleaksJSON,
			"[" + gitleaksEntry(ruleGitleaksSecret, sec1, "a.env", "c1", 3) + "," + gitleaksEntry(ruleGitleaksID, id24, ".env", "c1", 2) +
				"," + gitleaksEntry(ruleGitleaksSecret, sec2, "b.env", "c1", 2) + "]",
			want{ids: []string{id24}, notes: 0, alone: []string{sec1, sec2}}},
		{"gitleaks: a secret already paired with its id is not paired again", FormatGitleaksJSON,
			"[" + gitleaksEntry(ruleGitleaksSecret, sec1, ".env", "c1", 3) + "," + gitleaksEntry(ruleGitleaksID, id24, ".env", "c1", 2) +
				"," + gitleaksEntry(ruleGitleaksSecret, sec2, "b.env", "c1", 2) + "]",
			want{ids: []string{id24}, secrets: map[string]string{id24: sec1}, notes: 0, alone: []string{sec2}}},
		{"gitleaks: the same secret elsewhere joins its id", FormatGitleaksJSON,
			"[" + gitleaksEntry(ruleGitleaksSecret, sec1, ".env", "c1", 3) + "," + gitleaksEntry(ruleGitleaksID, id24, ".env", "c1", 2) +
				"," + gitleaksEntry(ruleGitleaksSecret, sec1, "copy.env", "c2", 2) + "]",
			want{ids: []string{id24}, secrets: map[string]string{id24: sec1}, notes: 0}},
		{"gitleaks: secret-rule value that is no AccessKey secret (hex)", FormatGitleaksJSON,
			"[" + gitleaksEntry(ruleGitleaksSecret, "0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c", ".env", "c1", 3) + "]", want{notes: -1}},
		{"gitleaks: other rules are ignored even with an id in Secret", FormatGitleaksJSON,
			"[" + gitleaksEntry("generic-api-key", id24b, ".env", "c1", 2) + "," + gitleaksEntry(ruleGitleaksID, id24, ".env", "c1", 2) + "]",
			want{ids: []string{id24}, notes: -1}},
		{"gitleaks: id rule with an invalid id is skipped", FormatGitleaksJSON,
			"[" + gitleaksEntry(ruleGitleaksID, "LTAI5tFAKEb8HnR4sW6cJq2dXYZ", ".env", "c1", 2) + "]",
			want{notes: -1}},
		{"gitleaks: empty report", FormatAuto, "[]\n", want{notes: -1}},
		{"gitleaks JSON after a byte-order mark", FormatAuto, "\ufeff[" + gitleaksEntry(ruleGitleaksID, id24, ".env", "c1", 2) + "]",
			want{ids: []string{id24}, notes: -1}},
		{"gitleaks CSV after a byte-order mark", FormatAuto, "\ufeffRuleID,Commit,File,Secret,StartLine\nalibaba-access-key-id,c1,.env," + id24 + ",2\n",
			want{ids: []string{id24}, notes: -1}},
		{"trufflehog after a byte-order mark", FormatAuto,
			"\ufeff" + `{"SourceMetadata":{"Data":{}},"DetectorType":0,"DetectorName":"Alibaba","Raw":"` + id24 + `"}`,
			want{ids: []string{id24}, notes: -1}},
		{"gitleaks --redact", FormatAuto, "[" + gitleaksEntry(ruleGitleaksID, "REDACTED", ".env", "c1", 2) + "]",
			want{err: new(*RedactedInputError)}},
		{"gitleaks --redact=20", FormatAuto, "[" + gitleaksEntry(ruleGitleaksID, "LTAI5tFAKE...", ".env", "c1", 2) + "]",
			want{err: new(*RedactedInputError)}},
		{"gitleaks CSV redacted", FormatAuto, "RuleID,Commit,File,SymlinkFile,Secret,Match,StartLine\nalibaba-access-key-id,c1,.env,,REDACTED,REDACTED,2\n",
			want{err: new(*RedactedInputError)}},
		{"trufflehog: DetectorType 0 is Alibaba, SecretParts", FormatAuto,
			`{"SourceMetadata":{"Data":{"Git":{"file":"a","commit":"c"}}},"DetectorType":0,"Raw":"` + sec1 + `","RawV2":"` + sec1 + id24 + `","SecretParts":{"id":"` + id24 + `","key":"` + sec1 + `"}}` + "\n",
			want{ids: []string{id24}, secrets: map[string]string{id24: sec1}, notes: 0}},
		{"trufflehog: other detector ignored", FormatTrufflehog,
			`{"SourceMetadata":{"Data":{}},"DetectorType":2,"DetectorName":"AWS","Raw":"` + id24 + `"}` + "\n" +
				`{"SourceMetadata":{"Data":{}},"DetectorType":0,"DetectorName":"Alibaba","RawV2":"` + sec1 + id24b + `","Raw":"` + sec1 + `"}`,
			want{ids: []string{id24b}, secrets: map[string]string{id24b: sec1}, notes: 0}},
		{"trufflehog: DetectorType absent and no name is not Alibaba", FormatTrufflehog,
			`{"SourceMetadata":{"Data":{}},"Raw":"` + id24 + `"}`, want{notes: -1}},
		{"trufflehog: old shape Raw=id", FormatTrufflehog,
			`{"SourceMetadata":{"Data":{"Filesystem":{"file":"f"}}},"DetectorType":0,"DetectorName":"Alibaba","Raw":"` + id24 + `","Redacted":"` + id24 + `"}`,
			want{ids: []string{id24}, notes: 0}},
		{"trufflehog: cartesian pairs keep the secret-shaped one", FormatTrufflehog,
			`{"SourceMetadata":{"Data":{}},"DetectorType":0,"DetectorName":"Alibaba","Raw":"` + sec1 + `","SecretParts":{"id":"` + id24 + `","key":"` + sec1 + `"}}` + "\n" +
				`{"SourceMetadata":{"Data":{}},"DetectorType":0,"DetectorName":"Alibaba","Raw":"trace0a1b2c3d4e5f6a7b8c9d0e1f2","SecretParts":{"id":"` + id24 + `","key":"trace0a1b2c3d4e5f6a7b8c9d0e1f2"}}`,
			want{ids: []string{id24}, secrets: map[string]string{id24: sec1}, notes: 1}},
		{"trufflehog: two secret-shaped candidates keep none", FormatTrufflehog,
			`{"SourceMetadata":{"Data":{}},"DetectorType":0,"DetectorName":"Alibaba","SecretParts":{"id":"` + id24 + `","key":"` + sec1 + `"}}` + "\n" +
				`{"SourceMetadata":{"Data":{}},"DetectorType":0,"DetectorName":"Alibaba","SecretParts":{"id":"` + id24 + `","key":"` + sec2 + `"}}`,
			want{ids: []string{id24}, notes: 1}},
		{"ggshield censored", FormatAuto, `{"type":"path_scan","entities_with_incidents":[{"filename":".env","incidents":[{"type":"Alibaba Cloud Keys","occurrences":[{"match":"LTAI****************Jq2d","type":"client_id"}]}]}]}`,
			want{err: new(*CensoredInputError)}},
		{"ggshield path scan pairs within the incident", FormatAuto, `{"type":"path_scan","entities_with_incidents":[{"filename":".env","incidents":[{"type":"Alibaba Cloud Keys","occurrences":[{"match":"` + id24 + `","type":"client_id","line_start":2},{"match":"` + sec1 + `","type":"client_secret","line_start":3}]}]}]}`,
			want{ids: []string{id24}, secrets: map[string]string{id24: sec1}, notes: 0}},
		{"GitHub: id alert and secret alert of the same file are paired", FormatAuto,
			`[{"number":1,"url":"https://api.github.com/repos/o/r/secret-scanning/alerts/1","secret_type":"alibaba_cloud_access_key_id","secret":"` + id24 + `","first_location_detected":{"path":".env","commit_sha":"c","start_line":2}},` +
				`{"number":2,"url":"https://api.github.com/repos/o/r/secret-scanning/alerts/2","secret_type":"alibaba_cloud_access_key_secret","secret":"` + sec1 + `","first_location_detected":{"path":".env","commit_sha":"c","start_line":3}}]`,
			want{ids: []string{id24}, secrets: map[string]string{id24: sec1}, notes: 0}},
		{"GitHub: only secret alerts", FormatGitHub,
			`[{"number":2,"secret_type":"alibaba_cloud_access_key_secret","secret":"` + sec1 + `","first_location_detected":{"path":".env","commit_sha":"c","start_line":3}}]`,
			want{notes: 0, alone: []string{sec1}}},
		{"GitHub: secret alerts without the secret", FormatGitHub,
			`[{"number":2,"secret_type":"alibaba_cloud_access_key_secret","first_location_detected":{"path":".env","commit_sha":"c","start_line":3}}]`,
			want{err: new(*NoKeyIDError)}},
		{"ggshield: an incident with the secret alone", FormatAuto, `{"type":"path_scan","entities_with_incidents":[{"filename":".env","incidents":[{"type":"Alibaba Cloud Keys","occurrences":[{"match":"` + sec1 + `","type":"client_secret","line_start":3}]}]}]}`,
			want{notes: 0, alone: []string{sec1}}},
		{"trufflehog: a secret with an id that is not valid", FormatTrufflehog,
			`{"SourceMetadata":{"Data":{}},"DetectorType":0,"DetectorName":"Alibaba","Raw":"` + sec1 + `","RawV2":"` + sec1 + `LTAI5tFAKEb8HnR4sW6cJq2dA"}`,
			want{notes: 1, alone: []string{sec1}}},
		{"any JSON: a secret under an AccessKey name, alone", FormatAuto, `{"AccessKeySecret":"` + sec1 + `"}`,
			want{notes: 0, alone: []string{sec1}}},
		{"any JSON: an id and a named secret in sibling objects are paired within the report", FormatJSON,
			`{"a":{"id":"` + id24 + `"},"b":{"access_key_secret":"` + sec1 + `"}}`, want{ids: []string{id24}, secrets: map[string]string{id24: sec1}, notes: 1}},
		{"any JSON: STS credentials are not a secret alone", FormatAuto, `{"AccessKeyId":"` + sts + `","AccessKeySecret":"` + sec1 + `"}`,
			want{ids: []string{sts}, notes: 0}},
		{"any JSON: a secret under a name of another vendor is nothing", FormatAuto, `{"id":"` + id24 + `","x":{"jwt_secret":"` + sec1 + `"}}`,
			want{ids: []string{id24}, notes: 0}},
		{"any JSON: two named secrets beside one id: neither is paired", FormatJSON,
			`{"AccessKeyId":"` + id24 + `","AccessKeySecret":"` + sec1 + `","OldAccessKeySecret":"` + sec2 + `"}`,
			want{ids: []string{id24}, notes: 0, alone: []string{sec2, sec1}}}, // the first one is held until the object closes
		{"any JSON: a log line with a named secret inside a string", FormatAuto, `{"msg":"export ALIYUN_SECRET_ACCESS_KEY=` + sec1 + `"}`,
			want{notes: 0, alone: []string{sec1}}},
		{"SARIF: rule named by rule.id", FormatGitleaksSARIF,
			`{"version":"2.1.0","runs":[{"tool":{"driver":{"rules":[]}},"results":[{"rule":{"id":"alibaba-access-key-id"},"locations":[{"physicalLocation":{"artifactLocation":{"uri":".env"},"region":{"startLine":2,"snippet":{"text":"` + id24 + `"}}}}]}]}]}`,
			want{ids: []string{id24}, notes: 0}},
		{"SARIF: rule named by ruleIndex", FormatGitleaksSARIF,
			`{"version":"2.1.0","runs":[{"tool":{"driver":{"rules":[{"id":"aws-access-token"},{"id":"alibaba-access-key-id"},{"id":"alibaba-secret-key"}]}},"results":[` +
				`{"ruleIndex":1,"locations":[{"physicalLocation":{"artifactLocation":{"uri":".env"},"region":{"startLine":2,"snippet":{"text":"` + id24 + `"}}}}]},` +
				`{"rule":{"index":2},"locations":[{"physicalLocation":{"artifactLocation":{"uri":".env"},"region":{"startLine":3,"snippet":{"text":"` + sec1 + `"}}}}]},` +
				`{"ruleIndex":0,"locations":[{"physicalLocation":{"artifactLocation":{"uri":".env"},"region":{"startLine":4,"snippet":{"text":"` + id24b + `"}}}}]}]}]}`,
			want{ids: []string{id24}, secrets: map[string]string{id24: sec1}, notes: 0}},
		{"SARIF: rule of an extension, index out of range", FormatGitleaksSARIF,
			`{"version":"2.1.0","runs":[{"tool":{"driver":{"rules":[]},"extensions":[{"rules":[{"id":"kingfisher.aliyun.1"}]}]},"results":[` +
				`{"rule":{"index":0,"toolComponent":{"index":0}},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"a"},"region":{"snippet":{"text":"k=` + id24 + `"}}}}]},` +
				`{"ruleIndex":7,"locations":[{"physicalLocation":{"artifactLocation":{"uri":"b"},"region":{"snippet":{"text":"` + id24b + `"}}}}]},` +
				`{"rule":{"index":0,"toolComponent":{"index":5}},"locations":[{"physicalLocation":{"artifactLocation":{"uri":"c"},"region":{"snippet":{"text":"` + id16 + `"}}}}]}]}]}`,
			want{ids: []string{id24}, notes: 0}},
		{"GitHub: other secret types ignored", FormatGitHub, `[{"number":3,"secret_type":"github_personal_access_token","secret":"ghp_x"}]`, want{notes: -1}},
		{"GitHub webhook carries no secret", FormatAuto, `{"action":"created","alert":{"number":2,"secret_type":"alibaba_cloud_access_key_id"},"repository":{"full_name":"o/r"}}`,
			want{err: new(*NoKeyIDError)}},
		{"detect-secrets has no id", FormatAuto, `{"version":"1.5.0","plugins_used":[],"results":{".env":[{"type":"Secret Keyword","filename":".env","line_number":3}]}}`,
			want{err: new(*NoKeyIDError)}},
		{"Security Center: AccesskeyId spelling", FormatAuto, `{"AccessKeyLeakList":[{"AccesskeyId":"` + id24 + `","UserType":"master","AliUserName":"root","Url":"https://github.com/o/r/blob/c/.env"}]}`,
			want{ids: []string{id24}, notes: 2}},
		{"any JSON: id in a nested value, secret member of the same object", FormatAuto,
			`{"profiles":[{"access_key_id":"` + id24 + `","access_key_secret":"` + sec1 + `","trace":"` + sec2 + `"}],"other":{"k":"` + id24b + `"}}`,
			want{ids: []string{id24, id24b}, secrets: map[string]string{id24: sec1}, notes: 0}},
		{"any JSON: secret in a sibling object is not paired", FormatJSON,
			`{"a":{"id":"` + id24 + `"},"b":{"secret":"` + sec1 + `"}}`, want{ids: []string{id24}, notes: 0}},
		{"any JSON without ids", FormatAuto, `{"hello":"world"}`, want{err: ErrUnrecognised}},
		{"JSON lines of another tool", FormatAuto, `{"msg":"key ` + id24 + ` leaked"}` + "\n" + `{"msg":"` + id16 + `"}` + "\n",
			want{ids: []string{id24, id16}, notes: 0}},
		{"forced format that does not fit", FormatGitleaksJSON, "hello " + id24, want{err: errAny}},
		{"empty input", FormatAuto, "  \n", want{err: ErrUnrecognised}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Read(context.Background(), strings.NewReader(tc.in), Options{Format: tc.format, Source: "t"})
			switch w := tc.want.err.(type) {
			case nil:
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
			case error:
				if err == nil || (w != errAny && !errors.Is(err, w)) {
					t.Fatalf("error %v, want %v", err, w)
				}
				return
			default:
				if err == nil || !errors.As(err, w) {
					t.Fatalf("error %v (%T), want %T", err, err, w)
				}
				if !errors.Is(err, ErrUnusable) {
					t.Fatalf("typed error %v does not match ErrUnusable", err)
				}
				return
			}
			var got, alone []string
			for _, f := range res.Findings {
				if f.Kind == KindSecretOnly {
					alone = append(alone, f.Secret.Reveal())
					continue
				}
				got = append(got, f.KeyID.String())
				if want := tc.want.secrets[f.KeyID.String()]; f.Secret.Reveal() != want {
					t.Errorf("%s: secret %q, want %q", f.KeyID, f.Secret.Reveal(), want)
				}
			}
			if strings.Join(got, " ") != strings.Join(tc.want.ids, " ") {
				t.Errorf("ids %v, want %v", got, tc.want.ids)
			}
			if !slices.Equal(alone, tc.want.alone) {
				t.Errorf("%d secrets without an id, want %d (or not these)", len(alone), len(tc.want.alone))
			}
			checkRendered(t, res)
			if tc.want.notes >= 0 && len(res.Findings) > 0 && len(res.Findings[0].Notes) != tc.want.notes {
				t.Errorf("notes %q, want %d", res.Findings[0].Notes, tc.want.notes)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestFormatsListed(t *testing.T) {
	got := Formats()
	if len(got) != 12 || got[0] != FormatAuto {
		t.Fatalf("Formats() = %v", got)
	}
	for _, f := range got[1:] {
		// Every forced format must at least reject garbage without panicking.
		_, err := Read(context.Background(), strings.NewReader("\x00\x01 garbage"), Options{Format: f})
		if err == nil {
			t.Errorf("format %s accepted garbage", f)
		}
	}
	if _, err := Read(context.Background(), strings.NewReader(id24), Options{Format: "yaml"}); !errors.Is(err, ErrUnrecognised) {
		t.Errorf("unknown format: %v", err)
	}
	// respond serve takes the format from a request (?format=): the error must not echo it.
	hostile := Format("yaml[2J" + strings.Repeat("A", 1000))
	if _, err := Read(context.Background(), strings.NewReader(id24), Options{Format: hostile}); err == nil || strings.Contains(err.Error(), "yaml") || strings.Contains(err.Error(), "AAAA") {
		t.Errorf("unknown format %q...: the error repeats it or is nil: %v", string(hostile)[:8], err)
	}
}

func TestIDLengthsPinned(t *testing.T) {
	for n := 0; n <= 30; n++ {
		s := accesskey.Prefix + strings.Repeat("a1B", 11)[:n]
		res, err := Read(context.Background(), strings.NewReader(s), Options{Format: FormatText})
		found := err == nil && len(res.Findings) == 1
		if want := n == 12 || n == 20; found != want {
			t.Errorf("LTAI+%d: found=%v, want %v", n, found, want)
		}
	}
}

// TestErrorsNeverQuoteInput: a report that does not fit its format is refused without repeating
// the value that did not fit (it may be the secret).
func TestErrorsNeverQuoteInput(t *testing.T) {
	cases := []struct {
		name   string
		format Format
		in     string
	}{
		{"gitleaks JSON that is one string", FormatGitleaksJSON, `"` + sec1 + `"`},
		{"Security Center leak id that is not a number", FormatSAS, `{"AccessKeyLeakList":[{"AccesskeyId":"` + id24 + `","ID":"` + sec1 + `"}]}`},
		{"trufflehog DetectorType that is not a number", FormatTrufflehog, `{"SourceMetadata":{"Data":{}},"DetectorType":"` + sec1 + `"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(context.Background(), strings.NewReader(tc.in), Options{Format: tc.format})
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), sec1) {
				t.Fatalf("error quotes the input: %v", err)
			}
		})
	}
}
