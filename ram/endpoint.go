package ram

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Endpoint is where a Client sends every product's calls instead of the cloud's own hosts (the
// emulator, a proxy), parsed from Config.Endpoint.
type Endpoint struct {
	Host   string // host or host:port, as the SDK's domain
	Scheme string // HTTPS or HTTP
	// Warning is set when calls will travel as plain HTTP to a host that is not this machine:
	// CreateAccessKey answers (new secrets) and KMS secret values would cross the network
	// unencrypted. Client.Warnings carries it to the caller, who shows it.
	Warning string
}

// ParseEndpoint reads an endpoint override:
//
//	https://host[:port]   HTTPS
//	http://host[:port]    plain HTTP, with a Warning unless host is loopback
//	host[:port]           HTTPS, or plain HTTP when host is loopback (127.0.0.0/8, ::1,
//	                      localhost): the emulator and `respond sandbox` listen there
//
// A URL with a path, a query, a fragment or user information is refused.
func ParseEndpoint(s string) (Endpoint, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Endpoint{}, errors.New("empty endpoint")
	}
	var e Endpoint
	if i := strings.Index(s, "://"); i >= 0 {
		u, err := url.Parse(s)
		if err != nil {
			return Endpoint{}, fmt.Errorf("endpoint %q: %w", s, errors.Unwrap(err))
		}
		switch strings.ToLower(u.Scheme) {
		case "https":
			e.Scheme = "HTTPS"
		case "http":
			e.Scheme = "HTTP"
		default:
			return Endpoint{}, fmt.Errorf("endpoint %q: scheme %q: expected https:// or http://", s, u.Scheme)
		}
		if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
			return Endpoint{}, fmt.Errorf("endpoint %q: expected scheme://host[:port], without a path, query or user", s)
		}
		e.Host = u.Host
	} else {
		if strings.ContainsAny(s, "/?#@ ") {
			return Endpoint{}, fmt.Errorf("endpoint %q: expected host[:port] or https://host[:port]", s)
		}
		e.Host = s
	}
	host, err := endpointHost(e.Host)
	if err != nil {
		return Endpoint{}, fmt.Errorf("endpoint %q: %w", s, err)
	}
	if e.Scheme == "" {
		e.Scheme = "HTTPS"
		if IsLoopbackHost(host) {
			e.Scheme = "HTTP"
		}
	}
	e.Warning = plainHTTPWarning(e.Scheme, e.Host, host)
	return e, nil
}

// endpointHost returns the host of host[:port] (IPv6 in brackets), checking the host's
// characters and the port.
func endpointHost(hp string) (string, error) {
	if hp == "" {
		return "", errors.New("no host")
	}
	host, port, err := net.SplitHostPort(hp)
	if err == nil && strings.Contains(hp, "]") && !strings.HasPrefix(hp, "[") {
		return "", fmt.Errorf("%q is not host[:port]", hp)
	}
	if err != nil {
		// no port: a name, an IPv4 address, or a bracketed IPv6 address
		host = hp
		if strings.HasPrefix(hp, "[") && strings.HasSuffix(hp, "]") {
			host = hp[1 : len(hp)-1]
			if !strings.Contains(host, ":") {
				return "", fmt.Errorf("%q is not an IPv6 address", host)
			}
		} else if strings.ContainsAny(hp, ":[]") {
			return "", fmt.Errorf("%q is not host[:port] (an IPv6 address goes in brackets)", hp)
		}
	} else if p, perr := strconv.Atoi(port); perr != nil || p < 1 || p > 65535 || strings.Trim(port, "0123456789") != "" {
		return "", fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	if host == "" {
		return "", errors.New("no host")
	}
	if strings.Contains(host, ":") {
		if ip := net.ParseIP(host); ip == nil || ip.To4() != nil {
			return "", fmt.Errorf("%q is not an IPv6 address", host)
		}
		return host, nil
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return "", errors.New("a host name has only letters, digits, '-', '.' and '_'")
		}
	}
	return host, nil
}

// IsLoopbackHost reports whether host (no port) is this machine's loopback: localhost, an
// address of 127.0.0.0/8 or ::1.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		return true
	}
	ip := net.ParseIP(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	return ip != nil && ip.IsLoopback()
}

func plainHTTPWarning(scheme, hostPort, host string) string {
	if scheme != "HTTP" || IsLoopbackHost(host) {
		return ""
	}
	where := hostPort
	if where == "" {
		where = "the cloud's hosts"
	}
	return fmt.Sprintf("plain HTTP to %s, which is not this machine: new AccessKey secrets and KMS secret values will cross the network unencrypted; use https:// unless this is a test", where)
}

// resolveEndpoint sets cfg.Endpoint to its host[:port] and cfg.Scheme from it (or checks an
// explicit Scheme against it), and returns the warnings for the caller.
func resolveEndpoint(cfg *Config) ([]string, error) {
	scheme := strings.ToUpper(cfg.Scheme)
	if scheme != "" && scheme != "HTTP" && scheme != "HTTPS" {
		return nil, fmt.Errorf("scheme %q is neither HTTP nor HTTPS", cfg.Scheme)
	}
	if cfg.Endpoint == "" {
		if scheme == "" {
			scheme = "HTTPS"
		}
		cfg.Scheme = scheme
		if w := plainHTTPWarning(scheme, "", ""); w != "" {
			return []string{w}, nil
		}
		return nil, nil
	}
	e, err := ParseEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	explicitURL := strings.Contains(cfg.Endpoint, "://")
	switch {
	case scheme == "":
	case explicitURL && scheme != e.Scheme:
		return nil, fmt.Errorf("endpoint %q says %s but the scheme is set to %s", cfg.Endpoint, strings.ToLower(e.Scheme), scheme)
	default:
		host, _ := endpointHost(e.Host)
		e.Scheme, e.Warning = scheme, plainHTTPWarning(scheme, e.Host, host)
	}
	cfg.Endpoint, cfg.Scheme = e.Host, e.Scheme
	if e.Warning != "" {
		return []string{e.Warning}, nil
	}
	return nil, nil
}
