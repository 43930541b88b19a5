package detect

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// seedSecret is the example secret of the page this project answers (issue 20).
const seedSecret = "vtAZaFH4CqJcqFj5oyyuRobivPNK8p"

// TestSecretOnlyText: a secret whose name says it is an AccessKey secret is a finding of its own,
// in text; a 30-character token without such a name is not.
func TestSecretOnlyText(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want []string // secrets reported without an id, in order; nil: the input is refused
	}{
		{"the seed's example line", "export ALIYUN_SECRET_ACCESS_KEY=" + seedSecret + "\n", []string{seedSecret}},
		{"official variable", "ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + sec1, []string{sec1}},
		{"YAML", "aliyun:\n  access_key_secret: " + sec1 + "\n", []string{sec1}},
		{"camel case, quoted JSON in a log", `{"AccessKeySecret": "` + sec1 + `"}`, []string{sec1}},
		{"Java setter", `config.setAccessKeySecret("` + sec1 + `");`, []string{sec1}},
		{"CLI flag", "aliyun configure set --access-key-secret " + sec1 + " --region cn-hangzhou", []string{sec1}},
		{"sk=", "sk=" + sec1, []string{sec1}},
		{"ALIYUN_SK", "ALIYUN_SK: '" + sec1 + "'", []string{sec1}},
		{"Terraform secret_key", `secret_key = "` + sec1 + `"`, []string{sec1}},
		{"XML element", "<AccessKeySecret>" + sec1 + "</AccessKeySecret>", []string{sec1}},
		{"one word, lower case", "accesskeysecret=" + sec1, []string{sec1}},
		{"two secrets, in order", "ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + sec1 + "\nOSS_ACCESS_KEY_SECRET=" + sec2 + "\n", []string{sec1, sec2}},
		{"the same secret twice is one finding", "sk=" + sec1 + "\nsk=" + sec1 + "\n", []string{sec1}},

		// Not secrets without an id: the input holds nothing respond acts on.
		{"a 30-character token alone", sec1 + "\n", nil},
		{"a name that says nothing", "token=" + sec1 + "\npassword=" + sec1, nil},
		{"secret alone is too vague", "secret=" + sec1, nil},
		{"another vendor", "AWS_SECRET_ACCESS_KEY=" + sec1 + "\nJWT_SECRET=" + sec2 + "\nclient_secret: " + sec1 + "\nMINIO_SECRET_KEY=" + sec2, nil},
		{"a hex trace id", "ALIBABA_CLOUD_ACCESS_KEY_SECRET=0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c", nil},
		{"lower case only", "access_key_secret=abcdefghijklmnopqrstuvwxyzabcd", nil},
		{"sk inside a word", "disk=" + sec1 + " task=" + sec2, nil},
		{"sk with a stray word", "mysk=" + sec1 + "\nmy_sk=" + sec1, nil},
		{"too long", "ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + sec1 + "X", nil},
		{"the value on the next line", "AccessKeySecret:\n  " + sec1 + "\n", nil},
		{"a variable, not a value", "ALIBABA_CLOUD_ACCESS_KEY_SECRET=${SECRET}", nil},
		{"an id is not a secret", "access_key_secret=LTAI5tFAKEb8HnR4sW6cJq2dXXXXXX", nil},
		{"STS credentials on one line", "AccessKeyId=" + sts + " AccessKeySecret=" + sec1, []string{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Read(context.Background(), strings.NewReader(tc.in), Options{Format: FormatText})
			if tc.want == nil {
				if err == nil {
					t.Fatalf("want the input refused, got %d findings", len(res.Findings))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range res.Findings {
				if f.Kind == KindSecretOnly {
					got = append(got, f.Secret.Reveal())
					if f.Evidence != EvidenceSecret || f.Locations[0].Line < 1 {
						t.Errorf("evidence %q, line %d", f.Evidence, f.Locations[0].Line)
					}
				}
			}
			if !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Errorf("%d secrets without an id, want %d (or not these)", len(got), len(tc.want))
			}
		})
	}
}

// TestSeedExample is issue 20's acceptance line: the page's example leak, piped in.
func TestSeedExample(t *testing.T) {
	res, err := Read(context.Background(), strings.NewReader("export ALIYUN_SECRET_ACCESS_KEY="+seedSecret+"\n"), Options{Source: "stdin"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Format != FormatText || len(res.Findings) != 1 {
		t.Fatalf("format %s, %d findings", res.Format, len(res.Findings))
	}
	f := res.Findings[0]
	if f.Kind != KindSecretOnly || !f.KeyID.IsZero() || f.Secret.Reveal() != seedSecret || f.Evidence != EvidenceSecret ||
		f.Source != "text" || len(f.Locations) != 1 || f.Locations[0].Line != 1 || f.Locations[0].Source != "stdin" {
		t.Fatalf("finding %+v", f)
	}
	var out strings.Builder
	if err := res.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	if err := res.WriteJSON(&out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), seedSecret) || !strings.Contains(out.String(), `"kind": "secret-only"`) ||
		!strings.Contains(out.String(), "AccessKey secret without its id") {
		t.Fatalf("rendered:\n%s", out.String())
	}
}

// TestPairedWithinReport: the only id and the only secret without an id of a report (of a commit)
// are one key; anything more ambiguous stays unpaired.
func TestPairedWithinReport(t *testing.T) {
	far := strings.Repeat("filler=1\n", 20)
	cases := []struct {
		name   string
		in     string
		paired bool
		alone  int
	}{
		{".env with the secret far below the id", "ALIBABA_CLOUD_ACCESS_KEY_ID=" + id24 + "\n" + far + "ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + sec1 + "\n", true, 0},
		{"secret first", "sk=" + sec1 + "\n" + far + "ak=" + id24 + "\n", true, 0},
		{"two ids", "a=" + id24 + "\n" + far + "b=" + id24b + "\n" + far + "sk=" + sec1 + "\n", false, 1},
		{"two secrets", "a=" + id24 + "\n" + far + "sk=" + sec1 + "\n" + far + "sk=" + sec2 + "\n", false, 2},
		{"an STS id counts as an id", "a=" + id24 + "\n" + far + "b=" + sts + "\n" + far + "sk=" + sec1 + "\n", false, 1},
		{"an OSS pre-signed id is not paired", "u=https://b.oss-cn-hangzhou.aliyuncs.com/x?OSSAccessKeyId=" + id24 + "&Signature=s\n" + far + "sk=" + sec1 + "\n", false, 1},
		{"an id with a secret of its own is another key", "a=" + id24 + "," + sec2 + "\n" + far + "sk=" + sec1 + "\n", false, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Read(context.Background(), strings.NewReader(tc.in), Options{Format: FormatText})
			if err != nil {
				t.Fatal(err)
			}
			alone := 0
			for _, f := range res.Findings {
				if f.Kind == KindSecretOnly {
					alone++
					continue
				}
				if f.KeyID.String() != id24 {
					continue
				}
				paired := f.Secret.Reveal() == sec1
				if paired != tc.paired || paired != slices.Contains(f.Notes, NotePairedWithinReport) {
					t.Errorf("paired %v (notes %q), want %v", paired, f.Notes, tc.paired)
				}
				if paired && (len(f.Locations) != 2 || f.Evidence != EvidenceSecret) {
					t.Errorf("a paired id keeps the secret's place too: %+v", f.Locations)
				}
			}
			if alone != tc.alone {
				t.Errorf("%d secrets without an id, want %d", alone, tc.alone)
			}
		})
	}
}

func TestNamesAccessKeySecret(t *testing.T) {
	for s, want := range map[string]bool{
		"ALIYUN_SECRET_ACCESS_KEY": true, "ALIBABA_CLOUD_ACCESS_KEY_SECRET": true, "access_key_secret": true,
		"AccessKeySecret": true, "accessKeySecret": true, "sk": true, "SK": true, "ALIYUN_SK": true, "ak_sk": true,
		"secret_key": true, "alibaba.cloud.access-key-secret": true, "--access-key-secret": true, "accesskeysecret": true,
		"OSS_ACCESS_KEY_SECRET": true, "ALICLOUD_SECRET_KEY": true,
		"secret": false, "client_secret": false, "JWT_SECRET": false, "AWS_SECRET_ACCESS_KEY": false, "disk": false,
		"MINIO_SECRET_KEY": false, "TENCENTCLOUD_SECRET_KEY": false, "mysk": false, "my_sk": false, "password": false,
		"SESSION_SECRET_KEY": false, "": false,
	} {
		if got := namesAccessKeySecret([]byte(s)); got != want {
			t.Errorf("namesAccessKeySecret(%q) = %v, want %v", s, got, want)
		}
	}
}
