package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
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

// The command that resumes a rotation (respond status, the partial summary) repeats the run's
// --sink and --locate: a resume without them stored the replacement in the playbook's sinks,
// found it missing from one, deleted it (the key the application reading the --sink one uses) and
// created another.
func TestE2EResumeKeepsTheRunsSinks(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "small.yaml"))
	dirA, dirB := filepath.Join(e.sinkDir(), "a"), filepath.Join(e.sinkDir(), "b")
	for _, d := range []string{dirA, dirB} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	cfg := e.writeFile("two-sinks.yaml", "sinks:\n  a: {type: file, path: '"+dirA+"/{{.UserName}}.json'}\n  b: {type: file, path: '"+dirB+"/{{.UserName}}.json'}\n")
	p := e.s.PauseAt("DeleteAccessKey") // created and stored in b
	st := e.start("--key-id", smallLeak, "--yes", "--config", cfg, "--sink", "b", "--locate", "scan,self")
	e.waitReached(p, st)
	if err := st.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e.wait(st)
	p.Release()
	stored := func(dir string) string {
		b, err := os.ReadFile(filepath.Join(dir, smallUser+".json"))
		if err != nil {
			return ""
		}
		var v struct{ AccessKeyId string }
		if json.Unmarshal(b, &v) != nil {
			t.Fatalf("%s: %s", dir, b)
		}
		return v.AccessKeyId
	}
	first := stored(dirB)
	if first == "" {
		t.Fatal("the first run stored nothing in b")
	}

	s := e.run("", "status")
	_, resume, ok := strings.Cut(s.Stdout, "resume with: ")
	if !ok {
		t.Fatalf("status prints no resume command:\n%s", s)
	}
	resume = strings.TrimSpace(strings.SplitN(resume, "\n", 2)[0])
	mustContain(t, "the resume command", resume, "--sink b", "--locate scan,self")
	sh := exec.Command("/bin/sh", "-c", resume)
	sh.Env = append(e.environ(), "PATH="+filepath.Dir(respondBin)+":/usr/bin:/bin")
	if out, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", resume, err, out)
	}
	if got := stored(dirB); got != first || !slices.Contains(e.keyIDs(smallUser), first) || slices.Contains(e.keyIDs(smallUser), smallLeak) {
		t.Errorf("after the resume b holds %s (first run's %s), the user's keys are %v", got, first, e.keyIDs(smallUser))
	}
	if a := stored(dirA); a != "" {
		t.Errorf("the resume stored %s in a, a sink the run did not name", a)
	}
}

// An account's region (and endpoint) apply to its calls whatever its credentials are: a role-arn
// account's calls went out in the home account's region, as if it named none (a KMS sink or a
// KMS-managed key there was looked for in the wrong region), while a profile or env account's
// applied.
func TestE2ERoleAccountRegion(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "multi-account.yaml"))
	cfg := e.fileSinkConfig(`accounts:
  - name: mgmt
    credentials: {source: env}
  - name: prod
    id: "2222000000000002"
    credentials:
      source: role-arn
      role-arn: acs:ram::2222000000000002:role/ResourceDirectoryAccountAccessRole
    region: cn-shanghai
`)
	r := e.run("", "--key-id", "LTAI5tFAKEMULTIORDERS001", "--yes", "--config", cfg, "--output", "json")
	wantCode(t, r, 0)
	n := 0
	for _, q := range e.s.RequestLog() {
		if !strings.HasPrefix(q.Params["AccessKeyId"], "STS.") || q.Params["UserName"] != "orders-svc" {
			continue // not a call in the role's account about its user
		}
		n++
		if q.Params["RegionId"] != "cn-shanghai" {
			t.Errorf("%s in the role's account went to region %q, want the account's cn-shanghai", q.Action, q.Params["RegionId"])
		}
	}
	if n == 0 {
		t.Fatal("no call in the role's account about orders-svc")
	}
}
