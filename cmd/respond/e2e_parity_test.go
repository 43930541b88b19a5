package main

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// A playbook's notify: names the channels it uses (playbooks README: empty means every
// configured one), as respond doctor reads it: a run notifies those and no other, and a channel
// no playbook names is not even opened, so its missing URL does not stop the run (doctor does not
// require it either).
func TestE2ENotifyThePlaybooksChannels(t *testing.T) {
	t.Parallel()
	limit(t)
	var oncall, platform atomic.Int32
	hook := func(n *atomic.Int32) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { n.Add(1) }))
		t.Cleanup(s.Close)
		return s
	}
	e := newE2E(t, orgFromFile(t, "demo.yaml"))
	e.env["E2E_ONCALL_URL"] = hook(&oncall).URL + "/hook"
	e.env["E2E_PLATFORM_URL"] = hook(&platform).URL + "/hook"
	e.writeFile("quiet.yaml", "name: quiet\nsteps: [locate, delete, verify, notify]\nnotify: [oncall]\n")
	cfg := e.fileSinkConfig(`notify:
  oncall:
    type: webhook
    url-env: E2E_ONCALL_URL
  platform:
    type: webhook
    url-env: E2E_PLATFORM_URL
playbooks:
  - path: quiet.yaml
rules:
  - playbook: quiet
`)
	r := e.run("", "--key-id", demoLeak, "--yes", "--config", cfg)
	wantCode(t, r, 0)
	if oncall.Load() != 1 || platform.Load() != 0 {
		t.Errorf("messages: oncall %d, platform %d; want 1 and 0 (the playbook names oncall)", oncall.Load(), platform.Load())
	}

	delete(e.env, "E2E_PLATFORM_URL")
	r = e.run("", "--key-id", demoCIKey, "--yes", "--config", cfg)
	wantCode(t, r, 0)
	if oncall.Load() != 2 {
		t.Errorf("oncall got %d messages, want 2", oncall.Load())
	}
	r = e.run("", "doctor", "--config", cfg, "--output", "json")
	_, failed := doctorFailed(t, r, false)
	for _, f := range failed {
		t.Errorf("doctor: %s", f)
	}
}
