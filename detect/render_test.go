package detect

import (
	"bytes"
	"strings"
	"testing"

	"github.com/respond-dev/respond/ram/accesskey"
)

// TestWriteRedactsEmbeddedSecret: a file name or URL that embeds a finding's secret is printed
// with the secret redacted, in text and in JSON.
func TestWriteRedactsEmbeddedSecret(t *testing.T) {
	const secret = "Xq7Lm2Np9Rt4Vw8Yz3Bc6Df1Gh5Jk0"
	res := Result{Format: FormatText, Findings: []Finding{{KeyID: accesskey.MustParseID("LTAI5tMYCr1pxcx4vz2o7riE"), Kind: KindAccessKey,
		Secret: accesskey.NewSecret(secret), Locations: []Location{{File: "leaks/" + secret + ".env", URL: "https://ci.example/?s=" + secret}}}}}
	for name, write := range map[string]func(*bytes.Buffer, Result) error{
		"text": func(b *bytes.Buffer, r Result) error { return r.WriteText(b) },
		"json": func(b *bytes.Buffer, r Result) error { return r.WriteJSON(b) },
	} {
		var out bytes.Buffer
		if err := write(&out, res); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out.String(), secret) || !strings.Contains(out.String(), "leaks/"+accesskey.Redacted) {
			t.Errorf("%s output:\n%s\nwant the file name with the secret redacted", name, out.String())
		}
	}
}
