package source

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/respond-dev/respond/ram/accesskey"
)

// FuzzParseWebhook: any body parses or fails without panicking, and an actionable delivery
// always names a repository and number that can go into an API path.
func FuzzParseWebhook(f *testing.F) {
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "formats", "github-secret-scanning-webhook.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte(`{"action":"created","alert":{"number":1,"secret_type":"alibaba_cloud_access_key_id"},"repository":{"full_name":"../../x"}}`))
	f.Add([]byte(`{"action":"publicly_leaked","alert":{"number":-1},"repository":{"full_name":"a/b"}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		w, err := ParseWebhook(body)
		if err != nil {
			return
		}
		if w.Actionable() {
			if !w.Alert.Valid() || strings.Contains(alertPath(w.Alert), "..") || strings.ContainsAny(alertPath(w.Alert), "?#%\\ ") {
				t.Fatalf("actionable delivery with a bad path %q", alertPath(w.Alert))
			}
		}
	})
}

// FuzzVerifySignature: only the right HMAC of the exact body passes.
func FuzzVerifySignature(f *testing.F) {
	f.Add([]byte("Hello, World!"), "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
	f.Add([]byte(""), "sha256=")
	f.Add([]byte("x"), "")
	secret := accesskey.NewSecret("It's a Secret to Everybody")
	f.Fuzz(func(t *testing.T, body []byte, header string) {
		err := VerifySignature(secret, body, header)
		// Hex digits may be of either case; nothing else may differ.
		if want := Sign(secret, body); err == nil && !(strings.HasPrefix(header, "sha256=") && strings.EqualFold(header, want)) {
			t.Fatalf("accepted %q for a body whose signature is %q", header, Sign(secret, body))
		}
		if VerifySignature(secret, body, Sign(secret, body)) != nil {
			t.Fatal("the right signature was refused")
		}
	})
}
