package doctor

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// TestReach: a connection, and for https a verified TLS handshake, without a request.
func TestReach(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { requests.Add(1) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	defer srv.Close()
	u, _ := url.Parse(srv.URL + "/robot/send?access_token=tok") // the test certificate names 127.0.0.1
	trusted := srv.Client().Transport.(*http.Transport).TLSClientConfig
	dial := (&net.Dialer{}).DialContext
	noProxy := func(*http.Request) (*url.URL, error) { return nil, nil }
	for _, tc := range []struct {
		name string
		tls  *tls.Config
		dial func(context.Context, string, string) (net.Conn, error)
		want Status
		says string
	}{
		{"verified", trusted, dial, StatusOK, "TLS verified"},
		{"untrusted certificate", nil, dial, StatusError, "TLS with 127.0.0.1 failed"},
		{"unreachable", trusted, func(context.Context, string, string) (net.Conn, error) {
			return nil, errors.New("connection refused")
		}, StatusError, "cannot connect to 127.0.0.1:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &runner{o: Options{Dial: tc.dial, TLS: tc.tls, Proxy: noProxy}}
			c := r.reach(context.Background(), Check{}, u)
			if c.Status != tc.want || !strings.Contains(c.Detail, tc.says) || strings.Contains(c.Detail, "tok") {
				t.Errorf("%+v", c)
			}
		})
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d HTTP requests reached the webhook", n)
	}
	// Through a proxy: the proxy is what must answer.
	var dialed string
	r := &runner{o: Options{Proxy: func(*http.Request) (*url.URL, error) { return url.Parse("http://proxy.example:3128") },
		Dial: func(_ context.Context, _, addr string) (net.Conn, error) {
			dialed = addr
			return nil, errors.New("no route")
		}}}
	c := r.reach(context.Background(), Check{}, u)
	if dialed != "proxy.example:3128" || c.Status != StatusError || !strings.Contains(c.Detail, "through proxy proxy.example:3128") {
		t.Errorf("proxy: dialed %q, %+v", dialed, c)
	}
}
