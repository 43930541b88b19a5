package ram

import (
	"strings"
	"testing"
)

// FuzzScrubURLs: whatever surrounds a URL, its query never survives, and nothing panics.
func FuzzScrubURLs(f *testing.F) {
	for _, s := range []string{"", "EOF", `Post "http://127.0.0.1:1/?SecretData=abc": EOF`, "https://", "http://x http://y?z", "http://[::1"} {
		f.Add(s, "SecretValue123")
	}
	f.Fuzz(func(t *testing.T, msg, secret string) {
		if len(secret) < 4 || strings.ContainsAny(secret, " \t\n\"'") {
			return
		}
		in := msg + ` Post "https://kms.cn-hangzhou.aliyuncs.com/?SecretData=` + secret + `&x=1": EOF`
		out := scrubURLs(in)
		if strings.Contains(out, "SecretData="+secret) {
			t.Fatalf("query survived: %q", out)
		}
		_ = retryAfter(map[string][]string{"X-Acs-Retry-After": {msg}})
		_, _ = userFromArn(msg)
	})
}
