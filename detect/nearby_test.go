package detect

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// nearbyCases are the shapes of text where the id and the secret stand on neighbouring lines,
// and the traps where they must not be paired.
var nearbyCases = []struct {
	name    string
	in      string
	secrets map[string]string // id → secret expected with it ("" or absent: none)
	noted   []string          // ids that must carry NoteNearbyAmbiguous
}{
	{".env", "ALIBABA_CLOUD_ACCESS_KEY_ID=" + id24 + "\nALIBABA_CLOUD_ACCESS_KEY_SECRET=" + sec1 + "\n",
		map[string]string{id24: sec1}, nil},
	{".env, secret first", "ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + sec1 + "\nALIBABA_CLOUD_ACCESS_KEY_ID=" + id24 + "\n",
		map[string]string{id24: sec1}, nil},
	{".env with CRLF and a line between", "ALIBABA_CLOUD_ACCESS_KEY_ID=" + id24 + "\r\nALIBABA_CLOUD_REGION_ID=cn-hangzhou\r\nALIBABA_CLOUD_ACCESS_KEY_SECRET=" + sec1 + "\r\n",
		map[string]string{id24: sec1}, nil},
	{"shell exports, quoted", "#!/bin/sh\nexport ALIBABA_CLOUD_ACCESS_KEY_ID=\"" + id24 + "\"\nexport ALIBABA_CLOUD_ACCESS_KEY_SECRET='" + sec1 + "'\naliyun oss ls\n",
		map[string]string{id24: sec1}, nil},
	{"YAML", "aliyun:\n  access_key_id: " + id24 + "\n  region: cn-hangzhou\n  access_key_secret: " + sec1 + "\n",
		map[string]string{id24: sec1}, nil},
	{"YAML camel case, value on its own line (token right before names it)", "AccessKeyId: " + id24 + "\nAccessKeySecret:\n  " + sec1 + "\n",
		map[string]string{id24: sec1}, nil},
	{"YAML ak/sk", "ak: " + id24 + "\nsk: " + sec1 + "\n", map[string]string{id24: sec1}, nil},
	{"INI, two profiles (~/.alibabacloud/credentials)",
		"[default]\ntype = access_key\naccess_key_id = " + id24 + "\naccess_key_secret = " + sec1 + "\n\n[prod]\ntype = access_key\naccess_key_id = " + id24b + "\naccess_key_secret = " + sec2 + "\n",
		map[string]string{id24: sec1, id24b: sec2}, nil},
	{"Python oss2.Auth split over two lines (next value)", "import oss2\nauth = oss2.Auth('" + id24 + "',\n                 '" + sec1 + "')\n",
		map[string]string{id24: sec1}, nil},
	{"Python oss2.Auth, one argument a line", "auth = oss2.Auth(\n    \"" + id24 + "\",\n    \"" + sec1 + "\",\n)\n",
		map[string]string{id24: sec1}, nil},
	{"Terraform provider", "provider \"alicloud\" {\n  access_key = \"" + id24 + "\"\n  secret_key = \"" + sec1 + "\"\n  region     = \"cn-hangzhou\"\n}\n",
		map[string]string{id24: sec1}, nil},
	{"Java fields", "private String accessKeyId = \"" + id24 + "\";\nprivate String accessKeySecret = \"" + sec1 + "\";\n",
		map[string]string{id24: sec1}, nil},
	{"legacy 16-character id", "access_key_id=" + id16 + "\naccess_key_secret=" + sec1 + "\n", map[string]string{id16: sec1}, nil},
	{"secret 3 lines below", "key_id=" + id24 + "\na=1\nb=2\nsecret=" + sec1 + "\n", map[string]string{id24: sec1}, nil},
	{"secret 3 lines above", "secret=" + sec1 + "\na=1\nb=2\nkey_id=" + id24 + "\n", map[string]string{id24: sec1}, nil},

	// Traps.
	{"secret 4 lines away", "key_id=" + id24 + "\na=1\nb=2\nc=3\nsecret=" + sec1 + "\n", nil, nil},
	{"secret 10 lines away", "key_id=" + id24 + strings.Repeat("\nx=1", 9) + "\nsecret=" + sec1 + "\n", nil, nil},
	{"two ids and one secret nearby", "primary=" + id24 + "\nbackup=" + id24b + "\nsecret=" + sec1 + "\n", nil, []string{id24, id24b}},
	{"two keys on four consecutive lines (documented limit)", "A_ID=" + id24 + "\nA_SECRET=" + sec1 + "\nB_ID=" + id24b + "\nB_SECRET=" + sec2 + "\n",
		nil, []string{id24, id24b}},
	{"one id and two secrets nearby", "key_id=" + id24 + "\nsecret=" + sec1 + "\nold_secret=" + sec2 + "\n", nil, []string{id24}},
	{"another id near the secret (not near this id)", "a_id=" + id24 + "\n\nsecret=" + sec1 + "\n\n\nb_id=" + id24b + "\n", nil, []string{id24, id24b}},
	{"STS id near the secret", "AccessKeyId: " + id24 + "\nTmpAccessKeyId: " + sts + "\nAccessKeySecret: " + sec1 + "\n", nil, []string{id24}},
	{"secret-named line with a hex trace id", "ALIBABA_CLOUD_ACCESS_KEY_ID=" + id24 + "\nALIBABA_CLOUD_ACCESS_KEY_SECRET=0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c\n", nil, nil},
	{"secret-named line with a lower-case token", "access_key_id=" + id24 + "\nclient_secret=abcdefghijklmnopqrstuvwxyzabcd\n", nil, nil},
	{"30 characters on a line that does not name a secret", "access_key_id=" + id24 + "\npassword=" + sec1 + "\n", nil, nil},
	{"sk inside a word is not a name", "access_key_id=" + id24 + "\ndisk=" + sec1 + "\n", nil, nil},
	{"a separator other than quotes and commas is not an argument list", "auth(" + id24 + ");\nfoo(" + sec1 + ")\n", nil, nil},
	{"OSS pre-signed URL id is never paired", "url=https://b.oss-cn-hangzhou.aliyuncs.com/a?OSSAccessKeyId=" + id24 + "&Signature=x\nsecret=" + sec1 + "\n", nil, nil},
	{"same-line pair stays, a nearby secret is not taken", "key=" + id24 + "," + sec1 + "\nsecret=" + sec2 + "\n", map[string]string{id24: sec1}, nil},
	{"an id paired on its line does not compete", "access_key_id: " + id24 + "\naccess_key_secret: " + sec1 + "\ncredentials: {id: " + id24b + ", secret: " + sec2 + "}\n",
		map[string]string{id24: sec1, id24b: sec2}, nil},
	{"id on a line longer than the window", strings.Repeat("x", lineWindow+10) + " " + id24 + "\nsecret=" + sec1 + "\n", nil, nil},
	{"a line near the secret longer than the window (an id could hide there)", "key_id=" + id24 + "\nsecret=" + sec1 + "\n" + strings.Repeat("x ", nearBytes) + "\n",
		nil, []string{id24}},
	{"a long line beyond the window does not matter", "key_id=" + id24 + "\nsecret=" + sec1 + "\n\n\n\n\n\n" + strings.Repeat("x ", nearBytes) + "\n",
		map[string]string{id24: sec1}, nil},
	{"secret on an id's line belongs to that line", "a=" + id24 + "\nb=" + id24b + " secret=" + sec1 + "\n", map[string]string{id24b: sec1}, nil},
}

// nearbyAlone lists, by case name, the secrets of nearbyCases that stand without an id: named
// as AccessKey secrets and taken by no id. Every other case has none.
var nearbyAlone = map[string][]string{
	"STS id near the secret": {sec1}, // AccessKeySecret: on a line of its own, the id beside it ambiguous
}

func TestNearbyPairing(t *testing.T) {
	for _, tc := range nearbyCases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Read(context.Background(), strings.NewReader(tc.in), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Format != FormatText {
				t.Fatalf("format %s, want text", res.Format)
			}
			var alone []string
			for _, f := range res.Findings {
				if f.Kind == KindSecretOnly {
					alone = append(alone, f.Secret.Reveal())
					continue
				}
				id := f.KeyID.String()
				if got, want := f.Secret.Reveal(), tc.secrets[id]; got != want {
					t.Errorf("%s: secret %q, want %q", id, got, want)
				}
				if got, want := slices.Contains(f.Notes, NoteNearbyAmbiguous), slices.Contains(tc.noted, id); got != want {
					t.Errorf("%s: ambiguity note %v, want %v (notes %q)", id, got, want, f.Notes)
				}
			}
			for id := range tc.secrets {
				if !slices.ContainsFunc(res.Findings, func(f Finding) bool { return f.KeyID.String() == id }) {
					t.Errorf("%s not found", id)
				}
			}
			if !slices.Equal(alone, nearbyAlone[tc.name]) {
				t.Errorf("secrets without an id: %d, want %d", len(alone), len(nearbyAlone[tc.name]))
			}
		})
	}
}

// TestNearbyNeverAcrossReads: two files are two Reads, and nothing carries over between them.
// On stdin, concatenated files are one text: that is documented, and this pins it.
func TestNearbyNeverAcrossReads(t *testing.T) {
	a := "ALIBABA_CLOUD_ACCESS_KEY_ID=" + id24 + "\n"
	b := "ALIBABA_CLOUD_ACCESS_KEY_SECRET=" + sec1 + "\n"
	res, err := Read(context.Background(), strings.NewReader(a), Options{Source: "a.env"})
	if err != nil || len(res.Findings) != 1 || !res.Findings[0].Secret.IsZero() {
		t.Fatalf("a.env alone: %+v %v", res.Findings, err)
	}
	// b.env has no id: its secret is a finding of its own (issue 20), paired with nothing.
	res, err = Read(context.Background(), strings.NewReader(b), Options{Source: "b.env"})
	if err != nil || len(res.Findings) != 1 || res.Findings[0].Kind != KindSecretOnly || res.Findings[0].Secret.Reveal() != sec1 {
		t.Fatalf("b.env alone: want one secret-only finding, got %+v %v", res.Findings, err)
	}
	res, err = Read(context.Background(), strings.NewReader(a+b), Options{Source: "stdin"})
	if err != nil || len(res.Findings) != 1 || res.Findings[0].Secret.Reveal() != sec1 {
		t.Fatalf("cat a.env b.env: stdin is one text, want the pair: %+v %v", res.Findings, err)
	}
}

// TestNearbyChunkBoundaries plants thousands of two-line pairs among short lines of varying
// length, so pairs straddle every phase of the reader's chunk and carry boundaries; each id must
// get its own secret, on its exact line.
func TestNearbyChunkBoundaries(t *testing.T) {
	var sb strings.Builder
	type want struct {
		secret string
		line   int
	}
	wants := map[string]want{}
	line := 1
	for i := 0; sb.Len() < 3*textChunk+textChunk/2; i++ {
		if i%6 == 0 {
			id := fmt.Sprintf("LTAI5tFAKE%014d", i)
			sec := fmt.Sprintf("FAKE%06dabcdefghijKLMNOPQRST", i%1000000)
			if i%12 == 0 { // secret first, half of the time
				sb.WriteString("ACCESS_KEY_SECRET=" + sec + "\nACCESS_KEY_ID=" + id + "\n")
				wants[id] = want{sec, line + 1}
			} else {
				sb.WriteString("ACCESS_KEY_ID=" + id + "\nACCESS_KEY_SECRET=" + sec + "\n")
				wants[id] = want{sec, line}
			}
			line += 2
		}
		for k := 0; k < nearLines+1; k++ { // enough lines that neighbouring pairs are apart
			sb.WriteString(strings.Repeat("y", (i*7+k*13)%97) + "\n")
			line++
		}
	}
	res, err := Read(context.Background(), strings.NewReader(sb.String()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != len(wants) {
		t.Fatalf("%d findings, want %d", len(res.Findings), len(wants))
	}
	for _, f := range res.Findings {
		w := wants[f.KeyID.String()]
		if f.Secret.Reveal() != w.secret || f.Locations[0].Line != w.line || len(f.Notes) != 0 {
			t.Fatalf("%s: line %d, paired=%v, notes %q; want line %d and its secret", f.KeyID, f.Locations[0].Line,
				f.Secret.Reveal() == w.secret, f.Notes, w.line)
		}
	}
}

func TestWordsNameSecret(t *testing.T) {
	for s, want := range map[string]bool{
		"ALIBABA_CLOUD_ACCESS_KEY_SECRET=": true, "access_key_secret:": true, "AccessKeySecret": true,
		"secret_key = \"": true, "sk:": true, "SK=": true, "ak/sk": true, "mySk": true, "accesskeysecret": true,
		"SECRETS": true, "client-secret": true,
		"disk=": false, "task_id": false, "password": false, "SKey": false, "secre t": false, "": false,
	} {
		if got := wordsNameSecret([]byte(s)); got != want {
			t.Errorf("wordsNameSecret(%q) = %v, want %v", s, got, want)
		}
	}
}

// TestNearbyAfterLongLines: lines longer than the reader's chunk move its boundaries (the reader
// then cuts inside the line); pairs after them are still found whole.
func TestNearbyAfterLongLines(t *testing.T) {
	var sb strings.Builder
	wants := map[string]string{}
	for i, n := range []int{textChunk + textChunk/2, textChunk - 100, 2*textChunk + 777, nearBytes - 3, 3 * textChunk} {
		sb.WriteString(strings.Repeat("z", n) + "\n")
		for k := 0; k < 2*nearLines+1; k++ {
			sb.WriteString("filler line\n")
		}
		id := fmt.Sprintf("LTAI5tFAKE%014d", i)
		sec := fmt.Sprintf("FAKE%06dabcdefghijKLMNOPQRST", i)
		wants[id] = sec
		sb.WriteString("access_key_id: " + id + "\naccess_key_secret: " + sec + "\n")
		for k := 0; k < 2*nearLines+1; k++ {
			sb.WriteString("filler line\n")
		}
	}
	res, err := Read(context.Background(), strings.NewReader(sb.String()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != len(wants) {
		t.Fatalf("%d findings, want %d", len(res.Findings), len(wants))
	}
	for _, f := range res.Findings {
		if f.Secret.Reveal() != wants[f.KeyID.String()] {
			t.Errorf("%s not paired (notes %q)", f.KeyID, f.Notes)
		}
	}
}

// randomDoc builds a short text from the pieces pairing depends on: ids, secrets, names,
// separators and line breaks.
func randomDoc(r *rand.Rand) string {
	pieces := []string{id24, id24b, id16, sts, sec1, sec2, "0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c",
		"ACCESS_KEY_ID=", "ACCESS_KEY_SECRET=", "secret: ", "sk=", "password=", "OSSAccessKeyId=", "x",
		"\n", "\n", "\n", "\r\n", " ", ",", "'", "\"", "(", ")", ";"}
	var sb strings.Builder
	for n := r.IntN(40); n >= 0; n-- {
		sb.WriteString(pieces[r.IntN(len(pieces))])
	}
	return sb.String()
}

type pairing struct {
	id, secret string
	notes      string
}

func pairingsOf(t *testing.T, in string) ([]pairing, error) {
	t.Helper()
	res, err := Read(context.Background(), strings.NewReader(in), Options{Format: FormatText})
	var out []pairing
	for _, f := range res.Findings {
		out = append(out, pairing{f.KeyID.String(), f.Secret.Reveal(), strings.Join(f.Notes, "|")})
	}
	return out, err
}

// TestNearbyShiftInvariant: where a text falls in the reader's chunks (at the start of the input,
// or straddling the point where one step ends and the next carries on) changes nothing about
// which ids are found and which secrets they get.
func TestNearbyShiftInvariant(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	filler := strings.Repeat("filler line of some length\n", 2*textChunk/27+1)
	for i := 0; i < 150; i++ {
		doc := "\n" + randomDoc(r) + "\n"
		want, err := pairingsOf(t, "\n\n\n\n\n\n\n"+doc)
		if err != nil {
			continue // no id in it
		}
		checkTextPairs(t, []byte(doc))
		// Put the document so that the end of the first step (the last line break at least
		// textOverlap before the end of the full buffer) falls at a random place inside it.
		for _, back := range []int{0, r.IntN(len(doc)), len(doc) - 1} {
			cut := 2*textChunk - textOverlap - back
			pad := filler[:cut-cut%27]
			got, err := pairingsOf(t, pad+doc+filler[:textChunk])
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("doc %q at offset %d: got %+v (%v), want %+v", doc, len(pad), got, err, want)
			}
		}
	}
}

// TestNearbySamples pins which secret each id of the neighbouring-line samples gets (the
// goldens only show whether one was found).
func TestNearbySamples(t *testing.T) {
	for name, want := range map[string]map[string]string{
		"credentials.ini": {
			"LTAI5tFAKEv7Tc3Jn9Ws5Qe1": "FAKEz4Xk8Hr2Np6Dm9Sg3Lb7Ty5Wq1",
			"LTAI5tFAKEk3yQ9mZ7pR2wXn": "FAKEs3cr3tQ9mZ7pR2wXnB4vL8tY6u",
		},
		"nearby-lines.txt": {
			"LTAI5tFAKEb8HnR4sW6cJq2d": "FAKEm7Lp2Qx9Vr4Ts8Nk3Hd6Bz1Wc5",
			"LTAI5tFAKEp4Gz8Kd2Ym6Rw9": "FAKEq2Wn8Rt5Zy3Lk7Pb4Mx9Cv6Jh1",
			"LTAI5tFAKEh2Jm8Rq4Vx6Zc9": "FAKEc5Vb9Nm2Lk7Jh4Gf8Ds3Aq6Wp1",
			"LTAI5tFAKEw3Ne7Ry1Ui5Op9": "",
			"LTAI5tFAKEt9Yu3Io7Pa1Sd5": "",
			"LTAIFAKE7q2Wd9Xz":         "",
			"LTAI5tFAKEa1Bc2De3Fg4Hi5": "",
		},
		"config.yaml": {
			"LTAI5tFAKEv7Tc3Jn9Ws5Qe1": "FAKEz4Xk8Hr2Np6Dm9Sg3Lb7Ty5Wq1",
			"LTAI5tFAKEk3yQ9mZ7pR2wXn": "FAKEs3cr3tQ9mZ7pR2wXnB4vL8tY6u",
		},
	} {
		// Secrets without an id, in order: key_secret: beside two ids, sk= ten lines below one.
		alone := map[string][]string{"nearby-lines.txt": {"FAKEk8Jh2Gf5Ds9Aq3Wp7Zx1Cv4Bn6", "FAKEr5Ty7Ui9Op1As3Df5Gh7Jk9Lz2"}}
		data, err := os.ReadFile(filepath.Join(formatsDir, name))
		if err != nil {
			t.Fatal(err)
		}
		res, err := Read(context.Background(), strings.NewReader(string(data)), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Findings) != len(want)+len(alone[name]) {
			t.Errorf("%s: %d findings, want %d", name, len(res.Findings), len(want)+len(alone[name]))
		}
		var gotAlone []string
		for _, f := range res.Findings {
			if f.Kind == KindSecretOnly {
				gotAlone = append(gotAlone, f.Secret.Reveal())
				continue
			}
			if s, ok := want[f.KeyID.String()]; !ok || f.Secret.Reveal() != s {
				t.Errorf("%s: %s has the wrong secret (or is unexpected)", name, f.KeyID)
			}
		}
		if !slices.Equal(gotAlone, alone[name]) {
			t.Errorf("%s: %d secrets without an id, want %d (or not these)", name, len(gotAlone), len(alone[name]))
		}
	}
}
