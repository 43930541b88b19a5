package ram

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
)

func TestParseEndpoint(t *testing.T) {
	tests := []struct {
		in, host, scheme string
		warn             bool
		err              string
	}{
		{"https://ram.example.com", "ram.example.com", "HTTPS", false, ""},
		{"https://ram.example.com:8443", "ram.example.com:8443", "HTTPS", false, ""},
		{"https://ram.example.com:8443/", "ram.example.com:8443", "HTTPS", false, ""},
		{"HTTPS://ram.example.com", "ram.example.com", "HTTPS", false, ""},
		{"ram.example.com", "ram.example.com", "HTTPS", false, ""},
		{"ram.example.com:8443", "ram.example.com:8443", "HTTPS", false, ""},
		{"10.0.0.5:8080", "10.0.0.5:8080", "HTTPS", false, ""},
		{"http://10.0.0.5:8080", "10.0.0.5:8080", "HTTP", true, ""},
		{"http://proxy.corp", "proxy.corp", "HTTP", true, ""},
		// loopback: the emulator and the sandbox
		{"127.0.0.1:8080", "127.0.0.1:8080", "HTTP", false, ""},
		{"127.9.8.7:1", "127.9.8.7:1", "HTTP", false, ""},
		{"localhost:8080", "localhost:8080", "HTTP", false, ""},
		{"LOCALHOST", "LOCALHOST", "HTTP", false, ""},
		{"[::1]:8080", "[::1]:8080", "HTTP", false, ""},
		{"[::1]", "[::1]", "HTTP", false, ""},
		{"http://127.0.0.1:8080", "127.0.0.1:8080", "HTTP", false, ""},
		{"http://[::1]:8080", "[::1]:8080", "HTTP", false, ""},
		{"https://127.0.0.1:8443", "127.0.0.1:8443", "HTTPS", false, ""},
		// look-alikes of loopback are not
		{"128.0.0.1:80", "128.0.0.1:80", "HTTPS", false, ""},
		{"localhost.evil.example:80", "localhost.evil.example:80", "HTTPS", false, ""},
		{"http://127.0.0.1.nip.io", "127.0.0.1.nip.io", "HTTP", true, ""},
		{"[::2]:80", "[::2]:80", "HTTPS", false, ""},
		// refused
		{"", "", "", false, "empty"},
		{"ftp://ram.example.com", "", "", false, "expected https:// or http://"},
		{"https://ram.example.com/path", "", "", false, "without a path"},
		{"https://ram.example.com?x=1", "", "", false, "without a path"},
		{"https://user:pw@ram.example.com", "", "", false, "without a path, query or user"},
		{"https://", "", "", false, "no host"},
		{"https://ram.example.com:0", "", "", false, "port"},
		{"https://ram.example.com:99999", "", "", false, "port"},
		{"ram.example.com:http", "", "", false, "port"},
		{"ram.example.com/x", "", "", false, "expected host[:port]"},
		{"::1", "", "", false, "brackets"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			e, err := ParseEndpoint(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseEndpoint(%q) = %+v, %v; want error %q", tt.in, e, err, tt.err)
				}
				return
			}
			if err != nil || e.Host != tt.host || e.Scheme != tt.scheme || (e.Warning != "") != tt.warn {
				t.Errorf("ParseEndpoint(%q) = %+v, %v; want %s %s warning=%v", tt.in, e, err, tt.scheme, tt.host, tt.warn)
			}
		})
	}
}

// redirectDial sends every connection to addr, whatever host the URL names: a test stands for
// a remote endpoint on this machine.
func redirectDial(addr string) func(ctx context.Context, network, _ string) (net.Conn, error) {
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
}

// TestEndpoint_schemeThroughSDK drives the real SDK against the emulator served over TLS and
// over plain HTTP: an endpoint names its scheme or gets HTTPS, except on loopback.
func TestEndpoint_schemeThroughSDK(t *testing.T) {
	org := emulator.GenerateOrg(emulator.GenSpec{Accounts: 1, UsersPerAccount: 1, Seed: 1})
	emu := emulator.NewUnstartedServer(org)
	tlsSrv := httptest.NewTLSServer(emu.Handler())
	t.Cleanup(tlsSrv.Close)
	plainSrv := httptest.NewServer(emu.Handler())
	t.Cleanup(plainSrv.Close)
	tlsAddr := tlsSrv.Listener.Addr().String()
	plainAddr := plainSrv.Listener.Addr().String()
	_, tlsPort, _ := net.SplitHostPort(tlsAddr)

	// The httptest certificate is valid for 127.0.0.1 and example.com.
	roots := tlsSrv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	transport := func(dialTo string) http.RoundTripper {
		return &http.Transport{
			DialContext:     redirectDial(dialTo),
			TLSClientConfig: &tls.Config{RootCAs: roots},
		}
	}
	tests := []struct {
		name     string
		endpoint string
		scheme   string
		dialTo   string
		warn     bool
	}{
		{"https URL, remote host", "https://example.com:" + tlsPort, "", tlsAddr, false},
		{"https URL, default port", "https://example.com", "", tlsAddr, false},
		{"host:port, remote host, is HTTPS", "example.com:" + tlsPort, "", tlsAddr, false},
		{"https URL, loopback", "https://" + tlsAddr, "", tlsAddr, false},
		{"loopback host:port is plain HTTP", plainAddr, "", plainAddr, false},
		{"http URL, loopback", "http://" + plainAddr, "", plainAddr, false},
		{"http URL, remote host, warned", "http://example.com:8080", "", plainAddr, true},
		{"explicit scheme HTTP, remote host, warned", "example.com:8080", "HTTP", plainAddr, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(context.Background(), Config{
				Endpoint:    tt.endpoint,
				Scheme:      tt.scheme,
				Credentials: StaticCredentials(org.Admin().AccessKeyID, accesskey.NewSecret(org.Admin().AccessKeySecret)),
				Transport:   transport(tt.dialTo),
				Retry:       RetryPolicy{MaxAttempts: 1},
			})
			if err != nil {
				t.Fatal(err)
			}
			id, err := c.GetCallerIdentity(context.Background())
			if err != nil {
				t.Fatalf("GetCallerIdentity via %s: %v", tt.endpoint, err)
			}
			if id.AccountID != org.Accounts[0].ID {
				t.Errorf("identity %+v", id)
			}
			w := c.Warnings()
			if (len(w) > 0) != tt.warn {
				t.Errorf("warnings = %q, want warned=%v", w, tt.warn)
			}
			for _, s := range w {
				if !strings.Contains(s, "plain HTTP") || strings.Contains(s, org.Admin().AccessKeySecret) {
					t.Errorf("warning %q", s)
				}
			}
		})
	}
	t.Run("scheme contradicting the URL", func(t *testing.T) {
		_, err := New(context.Background(), Config{Endpoint: "https://example.com", Scheme: "HTTP", Credentials: StaticCredentials("x", accesskey.NewSecret("y"))})
		if err == nil || !strings.Contains(err.Error(), "says https") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("plain HTTP to the real cloud is warned", func(t *testing.T) {
		c, err := New(context.Background(), Config{Scheme: "http", Credentials: StaticCredentials("x", accesskey.NewSecret("y"))})
		if err != nil || len(c.Warnings()) != 1 {
			t.Errorf("New = %v, warnings %q", err, c.Warnings())
		}
	})
}

func FuzzParseEndpoint(f *testing.F) {
	for _, s := range []string{"https://ram.example.com:8443", "127.0.0.1:8080", "[::1]:1", "http://x", "localhost", "ftp://x", "https://a/b?c#d", "a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseEndpoint(s)
		if err != nil {
			return
		}
		if e.Host == "" || (e.Scheme != "HTTP" && e.Scheme != "HTTPS") {
			t.Fatalf("ParseEndpoint(%q) = %+v", s, e)
		}
		if e.Warning != "" && e.Scheme != "HTTP" {
			t.Fatalf("warning without plain HTTP: %+v", e)
		}
		// The parsed form, written as a URL, reads back the same.
		again, err := ParseEndpoint(strings.ToLower(e.Scheme) + "://" + e.Host)
		if err != nil || again.Host != e.Host || again.Scheme != e.Scheme {
			t.Fatalf("ParseEndpoint(%q) = %+v; its URL form reads back %+v, %v", s, e, again, err)
		}
	})
}
