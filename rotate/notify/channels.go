package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/journal"
)

// DingTalk posts a markdown message to a DingTalk group robot. With a signing secret ("SEC…"),
// each request carries timestamp and sign query parameters (DingTalk's signed mode).
type DingTalk struct {
	s    *sender
	sign accesskey.Secret
}

// NewDingTalk returns a DingTalk channel. webhook is the robot URL with its access_token;
// signSecret is empty unless the robot has signing enabled.
func NewDingTalk(name string, webhook, signSecret accesskey.Secret, opts Options) (*DingTalk, error) {
	s, err := newSender(name, "dingtalk", webhook, opts, signSecret)
	if err != nil {
		return nil, err
	}
	return &DingTalk{s: s, sign: signSecret}, nil
}

// Name implements Notifier.
func (d *DingTalk) Name() string { return d.s.name }

// DingTalkSign is DingTalk's signature: base64(HMAC-SHA256(secret, timestamp+"\n"+secret)), with
// timestamp in milliseconds. The caller URL-escapes it.
func DingTalkSign(timestampMillis int64, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(timestampMillis, 10) + "\n" + secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Notify implements Notifier.
func (d *DingTalk) Notify(ctx context.Context, m Message) error {
	body, err := json.Marshal(map[string]any{
		"msgtype":  "markdown",
		"markdown": map[string]string{"title": Title(m), "text": Markdown(m)},
	})
	if err != nil {
		return d.s.errorf("encode: %v", err)
	}
	u := *d.s.url
	if !d.sign.IsZero() {
		ts := d.s.now().UnixMilli()
		q := u.Query()
		q.Set("timestamp", strconv.FormatInt(ts, 10))
		q.Set("sign", DingTalkSign(ts, d.sign.Reveal()))
		u.RawQuery = q.Encode()
	}
	return d.s.post(ctx, &u, body, nil, checkCode("errcode"))
}

// checkCode reads a JSON answer whose numeric code field must be 0 (DingTalk errcode, Lark code).
// The error names the code only: the answer's message is another service's text, never copied.
func checkCode(codeField string) func(int, []byte) error {
	return func(_ int, body []byte) error {
		var v map[string]any
		if len(strings.TrimSpace(string(body))) == 0 || json.Unmarshal(body, &v) != nil {
			return nil // not JSON: the HTTP status already said OK
		}
		code, ok := v[codeField].(float64)
		if !ok {
			if sc, ok2 := v["StatusCode"].(float64); ok2 { // Lark's older answer
				code, ok = sc, true
			}
		}
		if !ok || code == 0 {
			return nil
		}
		return fmt.Errorf("%s %s", codeField, strconv.FormatFloat(code, 'f', -1, 64))
	}
}

// Slack posts to a Slack incoming webhook: "text" as the notification fallback, "blocks" for the
// message itself.
type Slack struct{ s *sender }

// NewSlack returns a Slack channel; webhook is the https://hooks.slack.com/services/… URL.
func NewSlack(name string, webhook accesskey.Secret, opts Options) (*Slack, error) {
	s, err := newSender(name, "slack", webhook, opts)
	if err != nil {
		return nil, err
	}
	return &Slack{s: s}, nil
}

// Name implements Notifier.
func (c *Slack) Name() string { return c.s.name }

// slackTextLimit is Slack's limit on a section's text (3000), with room for the code fence.
const slackTextLimit = 2900

func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && cut < len(s) && s[cut]&0xC0 == 0x80 { // do not cut a UTF-8 sequence
		cut--
	}
	return s[:cut] + "\n…"
}

// SlackPayload is the Slack webhook body for m.
func SlackPayload(m Message) map[string]any {
	blocks := []map[string]any{{
		"type": "header",
		"text": map[string]any{"type": "plain_text", "text": clip(Title(m), 150)},
	}}
	for _, s := range sections(m) {
		var b strings.Builder
		if s.title != "" {
			b.WriteString("*" + s.title + "*\n")
		}
		body := slackEscape(strings.Join(s.lines, "\n"))
		if s.code {
			body = "```" + clip(body, slackTextLimit-len(s.title)) + "```"
		} else {
			body = clip(body, slackTextLimit-len(s.title))
		}
		b.WriteString(body)
		blocks = append(blocks, map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": b.String()}})
	}
	return map[string]any{"text": slackEscape(Title(m)), "blocks": blocks}
}

// Notify implements Notifier.
func (c *Slack) Notify(ctx context.Context, m Message) error {
	body, err := json.Marshal(SlackPayload(m))
	if err != nil {
		return c.s.errorf("encode: %v", err)
	}
	return c.s.post(ctx, c.s.url, body, nil, nil)
}

// Lark posts an interactive card to a Lark/Feishu custom bot. With a signing secret, the body
// carries timestamp (seconds) and sign (Lark's signed mode).
type Lark struct {
	s    *sender
	sign accesskey.Secret
}

// NewLark returns a Lark/Feishu channel; webhook is the …/open-apis/bot/v2/hook/… URL.
func NewLark(name string, webhook, signSecret accesskey.Secret, opts Options) (*Lark, error) {
	s, err := newSender(name, "lark", webhook, opts, signSecret)
	if err != nil {
		return nil, err
	}
	return &Lark{s: s, sign: signSecret}, nil
}

// Name implements Notifier.
func (c *Lark) Name() string { return c.s.name }

// LarkSign is Lark's signature: base64(HMAC-SHA256(key = timestamp+"\n"+secret, message = "")),
// with timestamp in seconds.
func LarkSign(timestampSeconds int64, secret string) string {
	mac := hmac.New(sha256.New, []byte(strconv.FormatInt(timestampSeconds, 10)+"\n"+secret))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

var larkTemplates = map[journal.Outcome]string{"remediated": "green", "partial": "orange", "failed": "red", "canary": "red", "refused": "grey"}

// LarkPayload is the Lark bot body for m, without the signature.
func LarkPayload(m Message) map[string]any {
	var elements []map[string]any
	for i, s := range sections(m) {
		if i > 0 {
			elements = append(elements, map[string]any{"tag": "hr"})
		}
		var b strings.Builder
		if s.title != "" {
			b.WriteString("**" + s.title + "**\n")
		}
		b.WriteString(strings.Join(s.lines, "\n"))
		elements = append(elements, map[string]any{"tag": "div", "text": map[string]any{"tag": "lark_md", "content": b.String()}})
	}
	template := larkTemplates[m.Outcome]
	if template == "" {
		template = "blue"
	}
	return map[string]any{
		"msg_type": "interactive",
		"card": map[string]any{
			"config":   map[string]any{"wide_screen_mode": true},
			"header":   map[string]any{"title": map[string]any{"tag": "plain_text", "content": Title(m)}, "template": template},
			"elements": elements,
		},
	}
}

// Notify implements Notifier.
func (c *Lark) Notify(ctx context.Context, m Message) error {
	p := LarkPayload(m)
	if !c.sign.IsZero() {
		ts := c.s.now().Unix()
		p["timestamp"] = strconv.FormatInt(ts, 10)
		p["sign"] = LarkSign(ts, c.sign.Reveal())
	}
	body, err := json.Marshal(p)
	if err != nil {
		return c.s.errorf("encode: %v", err)
	}
	return c.s.post(ctx, c.s.url, body, nil, checkCode("code"))
}

// Webhook posts the message as JSON to any URL. With a signing secret, the request carries
// X-Respond-Signature: sha256=<hex of HMAC-SHA256(secret, body)> and X-Respond-Timestamp (Unix
// seconds, also inside the signed body as sent_at, so a receiver can refuse replays).
type Webhook struct {
	s    *sender
	sign accesskey.Secret
}

// Header names of the generic webhook.
const (
	SignatureHeader = "X-Respond-Signature"
	TimestampHeader = "X-Respond-Timestamp"
)

// NewWebhook returns a generic JSON webhook channel.
func NewWebhook(name string, webhook, signSecret accesskey.Secret, opts Options) (*Webhook, error) {
	s, err := newSender(name, "webhook", webhook, opts, signSecret)
	if err != nil {
		return nil, err
	}
	return &Webhook{s: s, sign: signSecret}, nil
}

// Name implements Notifier.
func (c *Webhook) Name() string { return c.s.name }

// WebhookBody is what the generic webhook posts.
type WebhookBody struct {
	Event   string    `json:"event"` // always "respond.notification"
	Version int       `json:"version"`
	SentAt  time.Time `json:"sent_at"`
	Title   string    `json:"title"`
	Text    string    `json:"text"`
	Message Message   `json:"message"`
}

// WebhookSignature is the X-Respond-Signature value for body.
func WebhookSignature(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Notify implements Notifier.
func (c *Webhook) Notify(ctx context.Context, m Message) error {
	now := c.s.now().UTC().Truncate(time.Second)
	m.LeftForHuman = leftForHuman(m)
	body, err := json.Marshal(WebhookBody{Event: "respond.notification", Version: 1, SentAt: now, Title: Title(m), Text: Text(m), Message: m})
	if err != nil {
		return c.s.errorf("encode: %v", err)
	}
	if c.s.redactOut != nil {
		// Redact before signing, so the signature covers the bytes sent.
		body = []byte(c.s.redactOut(string(body)))
	}
	h := http.Header{}
	h.Set(TimestampHeader, strconv.FormatInt(now.Unix(), 10))
	if !c.sign.IsZero() {
		h.Set(SignatureHeader, WebhookSignature(c.sign.Reveal(), body))
	}
	return c.s.post(ctx, c.s.url, body, h, nil)
}

// Compile-time proof that every channel is a Notifier.
var (
	_ Notifier = (*DingTalk)(nil)
	_ Notifier = (*Slack)(nil)
	_ Notifier = (*Lark)(nil)
	_ Notifier = (*Webhook)(nil)
)
