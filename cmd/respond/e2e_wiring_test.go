package main

import (
	"os"
	"strings"
	"testing"
)

// Issue 12 §2: the state directory must belong to the user and be closed to others, else every
// command that uses it stops at once (exit 2) with one line naming the command that fixes it.
func TestE2EStateDirMustBeClosed(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "small.yaml"))
	if err := os.MkdirAll(e.state, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(e.state, 0o777); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--key-id", smallLeak, "--yes"}, {"--key-id", smallLeak, "--dry-run"}, {"status"}} {
		r := e.run("", args...)
		wantCode(t, r, 2)
		if lines := strings.Count(strings.TrimSpace(r.Stderr), "\n") + 1; lines != 1 || r.Stdout != "" {
			t.Errorf("%v: want one line on stderr only:\n%s", args, r)
		}
		mustContain(t, "stderr", r.Stderr, "is writable by group or others (mode 0777)", "run: chmod go-w '"+e.state+"'")
	}
	if len(e.s.RequestLog()) != 0 {
		t.Errorf("respond called the cloud before checking its state directory: %v", e.actions())
	}
	if ids := e.keyIDs(smallUser); len(ids) != 1 || ids[0] != smallLeak {
		t.Errorf("keys now %v", ids)
	}
}

// Issue 12 §5: an endpoint reached over plain HTTP that is not this machine is warned about on
// stderr, once however many clients use it (respond's own and an account's); --help says how to
// choose HTTPS or HTTP.
func TestE2EEndpointWarnings(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "small.yaml"))
	// 0.0.0.0 reaches this machine's listeners on Linux, but it is not a loopback address: the
	// warning's case without another machine.
	port := e.s.Endpoint()[strings.LastIndex(e.s.Endpoint(), ":")+1:]
	remote := "http://0.0.0.0:" + port
	e.env["RESPOND_ENDPOINT"] = remote
	cfg := e.writeFile("config.yaml", "accounts:\n  - name: small\n    endpoint: "+remote+"\n    region: cn-shanghai\n    credentials: {source: env}\n")
	r := e.runRaw("", "locate", "--key-id", smallLeak, "--config", cfg, "--state-dir", e.state)
	wantCode(t, r, 0)
	const warning = "respond: warning: plain HTTP to 0.0.0.0:"
	if n := strings.Count(r.Stderr, warning); n != 1 {
		t.Errorf("the warning is printed %d times, want once:\n%s", n, r)
	}
	mustContain(t, "stdout", r.Stdout, smallUser)
	// loopback: no warning
	r = e.run("", "locate", "--key-id", smallLeak)
	wantCode(t, r, 0)
	if strings.Contains(r.Stderr, "warning") {
		t.Errorf("a warning for the loopback emulator:\n%s", r)
	}
	h := e.runRaw("", "--help")
	mustContain(t, "--help", h.Stdout, "https://host[:port]", "http://host[:port]")
}
