package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/respond-dev/respond/ram/accesskey"
)

var update = flag.Bool("update", false, "rewrite golden files")

const (
	hookToken   = "tok3nXYZ0123456789abcdefSECRET"
	signSecret  = "SECsigningsecret0123456789abcdef"
	leakedValue = "LeakedSecretAAAABBBBCCCCDDDD12"
)

var fixedNow = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func sampleMessage() Message {
	impact, _ := os.ReadFile("../../testdata/assess/typical.golden.txt")
	return Message{
		KeyID:       "LTAI5tLeakedKeyAAAABBBBC",
		UserName:    "app-deployer",
		AccountID:   "1234567890123456",
		AccountName: "prod",
		Outcome:     "remediated",
		Summary:     "The leaked key was deleted; the replacement LTAI5tNewKeyAAAABBBBCCCC is in file:/etc/app/creds.env and kms:app/ak.",
		Steps: []StepLine{
			{Step: "locate", Outcome: "done", Detail: "owner found by IMS GetUser"},
			{Step: "assess", Outcome: "done", Detail: "12 events in 7 days, 9 flagged"},
			{Step: "create", Outcome: "done", Detail: "LTAI5tNewKeyAAAABBBBCCCC"},
			{Step: "store", Outcome: "done", Detail: "file /etc/app/creds.env; kms app/ak"},
			{Step: "delete", Outcome: "done", Detail: "DeleteAccessKey (never disabled: a disabled key can be re-enabled)"},
			{Step: "verify", Outcome: "done", Detail: "leaked key gone; new key authenticates"},
		},
		Impact: string(impact),
		Time:   time.Date(2026, 3, 10, 11, 58, 0, 0, time.UTC),
	}
}

// receiver is an httptest server that answers from a script and records requests.
type receiver struct {
	mu       sync.Mutex
	requests []recorded
	script   []func(w http.ResponseWriter)
	srv      *httptest.Server
}

type recorded struct {
	url    *url.URL
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, script ...func(w http.ResponseWriter)) *receiver {
	r := &receiver{script: script}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		n := len(r.requests)
		r.requests = append(r.requests, recorded{url: req.URL, header: req.Header.Clone(), body: body})
		r.mu.Unlock()
		if n < len(r.script) {
			r.script[n](w)
			return
		}
		w.WriteHeader(200)
		_, _ = w.Write([]byte(`{"errcode":0,"errmsg":"ok","code":0,"msg":"success"}`))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func status(code int, hdr ...string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte("server says no to " + hookToken))
	}
}

// testOptions returns options with a captured log, a fixed clock and recorded, unslept waits.
func testOptions(logBuf *bytes.Buffer, waits *[]time.Duration) Options {
	return Options{
		Logger: slog.New(slog.NewTextHandler(logBuf, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:    func() time.Time { return fixedNow },
		Retry: Retry{Max: 3, WaitMin: 100 * time.Millisecond, WaitMax: 5 * time.Second, Wait: func(_ int, d time.Duration) time.Duration {
			*waits = append(*waits, d)
			return 0
		}},
	}
}

type channelCase struct {
	kind string
	path string // webhook path (the token lives in it or in the query)
	make func(u string, sign accesskey.Secret, o Options) (Notifier, error)
}

var channels = []channelCase{
	{"dingtalk", "/robot/send?access_token=" + hookToken, func(u string, s accesskey.Secret, o Options) (Notifier, error) {
		return NewDingTalk("ops-dingtalk", accesskey.NewSecret(u), s, o)
	}},
	{"slack", "/services/T000/B000/" + hookToken, func(u string, _ accesskey.Secret, o Options) (Notifier, error) {
		return NewSlack("ops-slack", accesskey.NewSecret(u), o)
	}},
	{"lark", "/open-apis/bot/v2/hook/" + hookToken, func(u string, s accesskey.Secret, o Options) (Notifier, error) {
		return NewLark("ops-lark", accesskey.NewSecret(u), s, o)
	}},
	{"webhook", "/hooks/respond?token=" + hookToken, func(u string, s accesskey.Secret, o Options) (Notifier, error) {
		return NewWebhook("soc", accesskey.NewSecret(u), s, o)
	}},
}

func noSecrets(t *testing.T, what, s string) {
	t.Helper()
	for _, sec := range []string{hookToken, signSecret, leakedValue} {
		if strings.Contains(s, sec) {
			t.Errorf("%s contains a secret (%.6s…): %s", what, sec, s)
		}
	}
}

func TestChannels_payloadAndSignature(t *testing.T) {
	for _, ch := range channels {
		t.Run(ch.kind, func(t *testing.T) {
			rcv := newReceiver(t)
			var logs bytes.Buffer
			var waits []time.Duration
			n, err := ch.make(rcv.srv.URL+ch.path, accesskey.NewSecret(signSecret), testOptions(&logs, &waits))
			if err != nil {
				t.Fatal(err)
			}
			if err := n.Notify(context.Background(), sampleMessage()); err != nil {
				t.Fatal(err)
			}
			if len(rcv.requests) != 1 {
				t.Fatalf("%d requests", len(rcv.requests))
			}
			req := rcv.requests[0]
			var body map[string]any
			if err := json.Unmarshal(req.body, &body); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			checkPayload(t, ch.kind, req, body)
			golden(t, ch.kind+".golden.json", req.body)
			noSecrets(t, "log", logs.String())
			if !strings.Contains(logs.String(), "notification sent") {
				t.Errorf("nothing logged: %s", logs.String())
			}
		})
	}
}

func checkPayload(t *testing.T, kind string, req recorded, body map[string]any) {
	t.Helper()
	text := string(req.body)
	for _, want := range []string{"LTAI5tLeakedKeyAAAABBBBC", "app-deployer", "1234567890123456", "filter-repo", "CreateAccessKey"} {
		if !strings.Contains(text, want) {
			t.Errorf("payload lacks %q", want)
		}
	}
	switch kind {
	case "dingtalk":
		md, _ := body["markdown"].(map[string]any)
		if body["msgtype"] != "markdown" || md["title"] == "" || md["text"] == "" {
			t.Errorf("dingtalk shape: %s", text)
		}
		q := req.url.Query()
		ts, _ := strconv.ParseInt(q.Get("timestamp"), 10, 64)
		if ts != fixedNow.UnixMilli() || q.Get("access_token") != hookToken {
			t.Errorf("dingtalk query %v", q)
		}
		// Independent check of the signature: HMAC-SHA256 keyed by the secret over ts\nsecret.
		mac := hmac.New(sha256.New, []byte(signSecret))
		mac.Write([]byte(q.Get("timestamp") + "\n" + signSecret))
		if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); q.Get("sign") != want {
			t.Errorf("dingtalk sign %q, want %q", q.Get("sign"), want)
		}
		if !strings.Contains(req.url.RawQuery, "sign="+url.QueryEscape(q.Get("sign"))) {
			t.Errorf("sign not URL-escaped in %s", req.url.RawQuery)
		}
	case "slack":
		blocks, _ := body["blocks"].([]any)
		if body["text"] == "" || len(blocks) < 4 {
			t.Fatalf("slack shape: %s", text)
		}
		for _, b := range blocks {
			bm := b.(map[string]any)
			tx := bm["text"].(map[string]any)
			if s, _ := tx["text"].(string); len(s) > 3000 {
				t.Errorf("slack block text %d > 3000", len(s))
			}
			if bm["type"] != "header" && bm["type"] != "section" {
				t.Errorf("block type %v", bm["type"])
			}
		}
	case "lark":
		card, _ := body["card"].(map[string]any)
		if body["msg_type"] != "interactive" || card == nil || card["elements"] == nil {
			t.Fatalf("lark shape: %s", text)
		}
		if body["timestamp"] != strconv.FormatInt(fixedNow.Unix(), 10) {
			t.Errorf("lark timestamp %v", body["timestamp"])
		}
		// Independent check: key = ts\nsecret, empty message.
		mac := hmac.New(sha256.New, []byte(body["timestamp"].(string)+"\n"+signSecret))
		if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); body["sign"] != want {
			t.Errorf("lark sign %v, want %s", body["sign"], want)
		}
	case "webhook":
		if body["event"] != "respond.notification" || body["message"] == nil || body["text"] == "" {
			t.Fatalf("webhook shape: %s", text)
		}
		if req.header.Get(TimestampHeader) != strconv.FormatInt(fixedNow.Unix(), 10) {
			t.Errorf("timestamp header %q", req.header.Get(TimestampHeader))
		}
		mac := hmac.New(sha256.New, []byte(signSecret))
		mac.Write(req.body)
		if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); req.header.Get(SignatureHeader) != want {
			t.Errorf("signature %q, want %q", req.header.Get(SignatureHeader), want)
		}
	}
}

func TestChannels_unsigned(t *testing.T) {
	for _, ch := range channels {
		t.Run(ch.kind, func(t *testing.T) {
			rcv := newReceiver(t)
			var logs bytes.Buffer
			var waits []time.Duration
			n, _ := ch.make(rcv.srv.URL+ch.path, accesskey.Secret{}, testOptions(&logs, &waits))
			if err := n.Notify(context.Background(), sampleMessage()); err != nil {
				t.Fatal(err)
			}
			req := rcv.requests[0]
			if req.url.Query().Has("sign") || strings.Contains(string(req.body), `"sign"`) || req.header.Get(SignatureHeader) != "" {
				t.Errorf("unsigned channel sent a signature")
			}
		})
	}
}

func TestChannels_retries(t *testing.T) {
	for _, ch := range channels {
		t.Run(ch.kind, func(t *testing.T) {
			rcv := newReceiver(t, status(503), status(429, "Retry-After", "2"), status(500))
			var logs bytes.Buffer
			var waits []time.Duration
			n, _ := ch.make(rcv.srv.URL+ch.path, accesskey.NewSecret(signSecret), testOptions(&logs, &waits))
			if err := n.Notify(context.Background(), sampleMessage()); err != nil {
				t.Fatalf("not delivered after retries: %v", err)
			}
			if len(rcv.requests) != 4 {
				t.Errorf("%d requests, want 4", len(rcv.requests))
			}
			want := []time.Duration{100 * time.Millisecond, 2 * time.Second, 400 * time.Millisecond}
			if len(waits) != 3 || waits[0] != want[0] || waits[1] != want[1] || waits[2] != want[2] {
				t.Errorf("waits %v, want %v (exponential, Retry-After respected)", waits, want)
			}
			noSecrets(t, "log", logs.String())
			if !strings.Contains(logs.String(), "retrying") {
				t.Errorf("retries not logged: %s", logs.String())
			}
		})
	}
}

func TestChannels_failures(t *testing.T) {
	cases := []struct {
		name     string
		script   []func(http.ResponseWriter)
		requests int
		want     string
	}{
		{"5xx exhausted", []func(http.ResponseWriter){status(502), status(502), status(502), status(502)}, 4, "HTTP 502 after 4 attempt(s)"},
		{"4xx not retried", []func(http.ResponseWriter){status(400)}, 1, "HTTP 400 after 1 attempt(s)"},
		{"Retry-After too long", []func(http.ResponseWriter){status(429, "Retry-After", "3600")}, 1, "asked to wait 1h0m0s"},
		{"error code in a 200", []func(http.ResponseWriter){func(w http.ResponseWriter) {
			_, _ = w.Write([]byte(`{"errcode":310000,"errmsg":"sign not match","code":19021,"msg":"sign match fail"}`))
		}}, 1, "rejected the message"},
	}
	for _, ch := range channels {
		for _, tc := range cases {
			if tc.name == "error code in a 200" && (ch.kind == "slack" || ch.kind == "webhook") {
				continue
			}
			t.Run(ch.kind+"/"+tc.name, func(t *testing.T) {
				rcv := newReceiver(t, tc.script...)
				var logs bytes.Buffer
				var waits []time.Duration
				n, _ := ch.make(rcv.srv.URL+ch.path, accesskey.NewSecret(signSecret), testOptions(&logs, &waits))
				err := n.Notify(context.Background(), sampleMessage())
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want %q", err, tc.want)
				}
				if len(rcv.requests) != tc.requests {
					t.Errorf("%d requests, want %d", len(rcv.requests), tc.requests)
				}
				noSecrets(t, "error", err.Error())
				noSecrets(t, "log", logs.String())
				if !strings.Contains(err.Error(), n.Name()) {
					t.Errorf("error does not name the channel: %v", err)
				}
			})
		}
	}
}

func TestChannels_connectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	for _, ch := range channels {
		t.Run(ch.kind, func(t *testing.T) {
			var logs bytes.Buffer
			var waits []time.Duration
			n, _ := ch.make(base+ch.path, accesskey.NewSecret(signSecret), testOptions(&logs, &waits))
			err := n.Notify(context.Background(), sampleMessage())
			if err == nil || !strings.Contains(err.Error(), "after 4 attempt(s)") {
				t.Fatalf("err = %v", err)
			}
			noSecrets(t, "error", err.Error())
			noSecrets(t, "log", logs.String())
			if strings.Contains(logs.String(), ch.path) || strings.Contains(err.Error(), "/services/") {
				t.Errorf("webhook path leaked: %s / %v", logs.String(), err)
			}
		})
	}
}

func TestChannels_contextCancelled(t *testing.T) {
	rcv := newReceiver(t, status(503), status(503), status(503), status(503))
	ctx, cancel := context.WithCancel(context.Background())
	o := Options{Now: func() time.Time { return fixedNow }, Retry: Retry{Max: 3, Wait: func(int, time.Duration) time.Duration {
		cancel()
		return time.Hour
	}}}
	n, _ := NewSlack("s", accesskey.NewSecret(rcv.srv.URL+"/services/"+hookToken), o)
	err := n.Notify(ctx, sampleMessage())
	if err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Fatalf("err = %v", err)
	}
	if len(rcv.requests) != 1 {
		t.Errorf("%d requests after cancel", len(rcv.requests))
	}
}

func TestChannels_redactNet(t *testing.T) {
	rcv := newReceiver(t)
	m := sampleMessage()
	m.Summary += " oops: " + leakedValue
	o := Options{Redact: func(s string) string { return strings.ReplaceAll(s, leakedValue, accesskey.Redacted) }}
	n, _ := NewWebhook("soc", accesskey.NewSecret(rcv.srv.URL+"/h"), accesskey.NewSecret(signSecret), o)
	if err := n.Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	req := rcv.requests[0]
	noSecrets(t, "payload", string(req.body))
	mac := hmac.New(sha256.New, []byte(signSecret))
	mac.Write(req.body)
	if req.header.Get(SignatureHeader) != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
		t.Error("signature does not cover the redacted body")
	}
}

func TestNewChannel_badURL(t *testing.T) {
	for _, u := range []string{"", "ftp://x/" + hookToken, "not a url " + hookToken, "https:///" + hookToken} {
		_, err := NewSlack("s", accesskey.NewSecret(u), Options{})
		if err == nil {
			t.Errorf("%q accepted", u)
			continue
		}
		noSecrets(t, "error", err.Error())
	}
}

func TestBackoff(t *testing.T) {
	r := Retry{WaitMin: time.Second, WaitMax: 10 * time.Second}
	resp := func(h string) *http.Response {
		x := &http.Response{StatusCode: 429, Header: http.Header{}}
		if h != "" {
			x.Header.Set("Retry-After", h)
		}
		return x
	}
	for _, tc := range []struct {
		attempt int
		resp    *http.Response
		want    time.Duration
	}{
		{0, nil, time.Second},
		{1, nil, 2 * time.Second},
		{3, nil, 8 * time.Second},
		{4, nil, 10 * time.Second},
		{200, nil, 10 * time.Second},
		{0, resp("3"), 3 * time.Second},
		{0, resp("60"), 10 * time.Second},
		{0, resp(fixedNow.Add(5 * time.Second).Format(http.TimeFormat)), 5 * time.Second},
		{2, resp("garbage"), 4 * time.Second},
	} {
		if got := Backoff(r, tc.attempt, tc.resp, fixedNow); got != tc.want {
			t.Errorf("Backoff(attempt %d) = %s, want %s", tc.attempt, got, tc.want)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "120", "-1", "Wed, 21 Oct 2015 07:28:00 GMT", "", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := ParseRetryAfter(v, fixedNow)
		if d < 0 || (!ok && d != 0) {
			t.Fatalf("ParseRetryAfter(%q) = %s, %v", v, d, ok)
		}
	})
}

func TestRender_golden(t *testing.T) {
	m := sampleMessage()
	golden(t, "message.txt", []byte(Text(m)))
	golden(t, "message.md", []byte(Markdown(m)))
	c := Message{KeyID: "LTAI5tCanaryKeyAAAABBBBC", Outcome: "canary", Canary: true, Summary: "A canary key was used; it was not rotated."}
	if strings.Contains(Text(c), "filter-repo") {
		t.Error("a canary message tells the user to clean git history")
	}
	if !strings.Contains(Title(c), "CANARY") {
		t.Errorf("canary title %q", Title(c))
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("../../testdata/notify", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}
