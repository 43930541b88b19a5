package doctor

import (
	"context"
	"crypto/tls"
	"errors"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/rotate"
	"github.com/respond-dev/respond/rotate/notify"
)

// channels checks every notification channel: its URL and signing secret resolve, its host
// answers a connection (no request is sent: a GET or HEAD on a webhook URL is still a request
// that carries its token, and what a webhook does with one is its own business), and with
// SendTest a test message, marked as such, goes out.
func (r *runner) channels(ctx context.Context) []Check {
	conf := r.o.Config
	if conf == nil {
		return nil
	}
	var out []Check
	for _, name := range slices.Sorted(maps.Keys(conf.Notify)) {
		out = append(out, r.channel(ctx, conf.Notify[name])...)
	}
	return out
}

func (r *runner) channel(ctx context.Context, nc playbooks.NotifyConfig) []Check {
	used := r.use.channels[nc.Name]
	chk := func(item string) Check {
		return Check{Kind: KindNotify, Component: "notify " + nc.Name + " (" + nc.Type + ")", Item: item,
			Required: len(used) > 0, NeededBy: used}
	}
	var out []Check
	c := chk("webhook URL")
	from := "$" + nc.URLEnv
	if nc.URLEnv == "" {
		from = "file " + nc.URLFile
	}
	u, _, err := rotate.NotifyRefs(r.o.Getenv, nc)
	var target *url.URL
	if err == nil {
		target, err = webhookURL(u.Reveal())
	}
	if err != nil {
		c.Status, c.Detail, c.Fix = StatusError, err.Error(), "set "+from+" to the channel's webhook URL (and its signing secret)"
		return append(out, c)
	}
	c.Status, c.Detail = StatusOK, "from "+from+" (host "+target.Host+")"
	if nc.SecretEnv != "" {
		c.Detail += "; signing secret from $" + nc.SecretEnv
	}
	out = append(out, c)
	out = append(out, r.reach(ctx, chk("reachable"), target))
	t := chk("test message")
	t.Required = false
	if !r.o.SendTest {
		t.Status, t.Detail = StatusNotChecked, "not sent (pass --send-test to send one)"
		return append(out, t)
	}
	one := &playbooks.Config{Notify: map[string]playbooks.NotifyConfig{nc.Name: nc}}
	// No redactor: the test message is respond's own text, about no key.
	ns, err := rotate.Notifiers(one, r.o.Getenv, nil)
	if err == nil && len(ns) == 1 {
		err = ns[0].Notify(ctx, notify.DoctorMessage(nc.Name, r.o.Now()))
	}
	if err != nil {
		t.Status, t.Detail, t.Required = StatusError, err.Error(), len(used) > 0
		return append(out, t)
	}
	t.Status, t.Detail = StatusOK, "sent, marked as a test"
	return append(out, t)
}

// webhookURL parses a webhook URL. Its error never quotes the URL, which carries the token.
func webhookURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, errors.New("the webhook URL is not an http(s) URL")
	}
	return u, nil
}

// reach opens a connection to the channel's host (or the proxy its requests would take) and, for
// https, completes the TLS handshake; it sends nothing.
func (r *runner) reach(ctx context.Context, c Check, u *url.URL) Check {
	addr := u.Host
	if u.Port() == "" {
		port := "443"
		if u.Scheme == "http" {
			port = "80"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	via := ""
	req := &http.Request{Method: http.MethodPost, URL: &url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/"}, Header: http.Header{}}
	if p, err := r.o.Proxy(req); err == nil && p != nil {
		addr, via = p.Host, " through proxy "+p.Host
		if p.Port() == "" {
			addr = net.JoinHostPort(p.Hostname(), "80")
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := r.o.Dial(cctx, "tcp", addr)
	if err != nil {
		c.Status, c.Detail = StatusError, "cannot connect to "+addr+via+": "+err.Error()
		c.Fix = "check DNS, the network path and any firewall from this host"
		return c
	}
	defer conn.Close()
	if u.Scheme == "https" && via == "" {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if r.o.TLS != nil {
			cfg = r.o.TLS.Clone()
		}
		cfg.ServerName = u.Hostname()
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(cctx); err != nil {
			c.Status, c.Detail = StatusError, "TLS with "+u.Hostname()+" failed: "+err.Error()
			return c
		}
		c.Status, c.Detail = StatusOK, "connected to "+addr+" (TLS verified); nothing sent"
		return c
	}
	c.Status, c.Detail = StatusOK, "connected to "+addr+via+"; nothing sent"
	return c
}
