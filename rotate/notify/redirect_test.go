package notify

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/respond-dev/respond/ram/accesskey"
)

// answerBody is what a hostile or misconfigured endpoint answers; it must never reach an error
// (which becomes the step's detail, the report, the journal and the audit log).
const answerBody = "INJECTED answer text \x1b]0;PWNED\a from the other side"

// TestChannels_redirectsNotFollowed: a 307 would re-POST the signed body to the Location, and a
// 302 would become a GET whose answer was copied into the error. Neither is followed: the
// message fails with the status, and the Location's server never hears of it.
func TestChannels_redirectsNotFollowed(t *testing.T) {
	for _, code := range []int{301, 302, 303, 307, 308} {
		for _, ch := range channels {
			t.Run(ch.kind+"/"+http.StatusText(code), func(t *testing.T) {
				elsewhere := newReceiver(t, func(w http.ResponseWriter) {
					_, _ = w.Write([]byte(answerBody))
				})
				redirect := func(w http.ResponseWriter) {
					w.Header().Set("Location", elsewhere.srv.URL+"/collect")
					w.WriteHeader(code)
					_, _ = w.Write([]byte(answerBody))
				}
				rcv := newReceiver(t, redirect, redirect)
				var logs bytes.Buffer
				var waits []time.Duration
				for _, o := range []Options{testOptions(&logs, &waits), withClient(testOptions(&logs, &waits))} {
					n, err := ch.make(rcv.srv.URL+ch.path, accesskey.NewSecret(signSecret), o)
					if err != nil {
						t.Fatal(err)
					}
					err = n.Notify(context.Background(), sampleMessage())
					want := "HTTP " + strconv.Itoa(code)
					if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "does not follow redirects") {
						t.Fatalf("err = %v, want a failure naming %q and the redirect", err, want)
					}
					if strings.Contains(err.Error(), "INJECTED") || strings.Contains(err.Error(), "PWNED") || strings.Contains(err.Error(), "/collect") {
						t.Errorf("the answer's body or Location was copied: %v", err)
					}
					noSecrets(t, "error", err.Error())
				}
				if len(elsewhere.requests) != 0 {
					t.Errorf("the redirect was followed: %d request(s) to the Location", len(elsewhere.requests))
				}
				if len(rcv.requests) != 2 {
					t.Errorf("%d requests to the webhook, want 1 per Notify (a 3xx is not retried)", len(rcv.requests))
				}
				noSecrets(t, "log", logs.String())
			})
		}
	}
}

// withClient passes a caller's http.Client whose own policy follows redirects: the channel must
// not follow them either way, nor change the caller's client.
func withClient(o Options) Options {
	o.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	return o
}

// TestChannels_answerBodyNeverCopied: an error status or an error code in a 200 is reported by
// its number; the answer's text is not copied.
func TestChannels_answerBodyNeverCopied(t *testing.T) {
	scripts := map[string]func(http.ResponseWriter){
		"400 with text": func(w http.ResponseWriter) {
			w.WriteHeader(400)
			_, _ = w.Write([]byte(answerBody))
		},
		"200 with an error code": func(w http.ResponseWriter) {
			_, _ = w.Write([]byte(`{"errcode":310000,"errmsg":"` + strings.NewReplacer("\x1b", `\u001b`, "\a", `\u0007`).Replace(answerBody) + `","code":19021,"msg":"INJECTED"}`))
		},
	}
	for name, script := range scripts {
		for _, ch := range channels {
			if name == "200 with an error code" && (ch.kind == "slack" || ch.kind == "webhook") {
				continue
			}
			t.Run(ch.kind+"/"+name, func(t *testing.T) {
				rcv := newReceiver(t, script)
				var logs bytes.Buffer
				var waits []time.Duration
				n, _ := ch.make(rcv.srv.URL+ch.path, accesskey.NewSecret(signSecret), testOptions(&logs, &waits))
				err := n.Notify(context.Background(), sampleMessage())
				if err == nil {
					t.Fatal("delivered")
				}
				if strings.Contains(err.Error(), "INJECTED") || strings.Contains(logs.String(), "INJECTED") {
					t.Errorf("the answer's body was copied: %v\nlog: %s", err, logs.String())
				}
				if name == "200 with an error code" && !strings.Contains(err.Error(), "310000") && !strings.Contains(err.Error(), "19021") {
					t.Errorf("error does not name the code: %v", err)
				}
			})
		}
	}
}
