package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// locate and assess against the emulator (subprocess), happy and error paths.
func TestE2ELocateAssess(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "demo.yaml"))
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"locate by ims", []string{"locate", "--key-id", demoLeak}, 0, []string{"RAM user billing-app", "found by:  ims"}},
		{"locate by scan", []string{"locate", "--key-id", demoLeak, "--locate", "scan"}, 0, []string{"billing-app", "found by:  scan"}},
		{"locate root", []string{"locate", "--key-id", demoRoot}, 0, []string{"root account", "console"}},
		{"locate unknown", []string{"locate", "--key-id", "LTAI5tFAKENOBODY00000001"}, 3, []string{"LTAI5tFAKENOBODY00000001"}},
		{"locate sts", []string{"locate", "--key-id", "STS.NUFAKEtemporary0000000001"}, 5, []string{"STS"}},
		{"locate no id", []string{"locate"}, 2, []string{"--key-id is required"}},
		{"assess", []string{"assess", "--key-id", demoLeak}, 0, []string{"185.220.101.34", "RunInstances"}},
		{"assess bad window", []string{"assess", "--key-id", demoLeak, "--window", "0s"}, 2, []string{"--window"}},
		{"assess bad id", []string{"assess", "--key-id", "nope"}, 2, []string{"--key-id"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.run("", tc.args...)
			wantCode(t, r, tc.code)
			mustContain(t, "output", r.Stdout+r.Stderr, tc.want...)
		})
	}
	r := e.run("", "locate", "--key-id", demoLeak, "--output", "json")
	wantCode(t, r, 0)
	var owner struct {
		UserName string `json:"user_name"`
		Account  struct {
			ID string `json:"id"`
		} `json:"account"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &owner); err != nil || owner.UserName != demoUser || owner.Account.ID != "1000000000000001" {
		t.Errorf("locate json: %v %+v\n%s", err, owner, r.Stdout)
	}
	r = e.run("", "assess", "--key-id", demoLeak, "--output", "json")
	wantCode(t, r, 0)
	var a struct {
		KeyID      string `json:"key_id"`
		Assessment struct {
			Total int `json:"total"`
		} `json:"assessment"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &a); err != nil || a.KeyID != demoLeak || a.Assessment.Total == 0 {
		t.Errorf("assess json: %v %+v", err, a)
	}
	e.noMutation()
}

// Commands that need no cloud, in-process through Main: scan, playbook, config.
func TestE2EOfflineCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		code  int
		want  []string // in stdout+stderr
	}{
		{"scan gitleaks", []string{"scan", "../../testdata/formats/gitleaks.json"}, "", 0, []string{"LTAI5tFAKEb8HnR4sW6cJq2d", "secret found (redacted)", "LTAI5tFAKEk3yQ9mZ7pR2wXn"}},
		{"scan stdin json", []string{"scan", "-", "--output", "json"}, "key LTAI5tFAKEb8HnR4sW6cJq2d\n", 0, []string{`"key_id": "LTAI5tFAKEb8HnR4sW6cJq2d"`}},
		{"scan missing", []string{"scan", dir + "/nope.json"}, "", 2, []string{"nope.json"}},
		{"scan bad format", []string{"scan", "-", "--format", "xml"}, "", 2, []string{"xml"}},
		{"scan no arg", []string{"scan"}, "", 2, []string{"arg"}},
		{"unknown command", []string{"frobnicate"}, "", 2, []string{"frobnicate"}},
		{"playbook list", []string{"playbook", "list"}, "", 0, []string{"standard", "contain-first", "contain-only", "delete → create"}},
		{"playbook show", []string{"playbook", "show", "contain-first"}, "", 0, []string{"name: contain-first"}},
		{"playbook show unknown", []string{"playbook", "show", "nope"}, "", 2, []string{"nope"}},
		{"playbook validate", []string{"playbook", "validate", "../../testdata/playbooks/valid/ci-fast.yaml"}, "", 0, []string{"is valid"}},
		{"config validate", []string{"config", "validate", "--config", "../../testdata/config/valid/two-accounts.yaml"}, "", 0, []string{"valid: 2 account(s)"}},
		{"config validate literal secret", []string{"config", "validate", "--config", "../../testdata/config/invalid/literal-secret-key.yaml"}, "", 2, []string{"literal-secret-key.yaml:"}},
		{"config validate none", []string{"config", "validate"}, "", 2, []string{"no configuration file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, out, errb := newTestStreams(tc.stdin)
			s.Env = func(k string) (string, bool) {
				if k == "HOME" || k == "XDG_CONFIG_HOME" {
					return dir, true
				}
				return "", false
			}
			code := Main(tc.args, s)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, tc.code, out, errb)
			}
			mustContain(t, "output", out.String()+errb.String(), tc.want...)
			if code == 2 && strings.Count(strings.TrimSpace(errb.String()), "\n") > 0 && tc.name != "config validate literal secret" {
				t.Errorf("more than one line on stderr:\n%s", errb)
			}
		})
	}
	// Every invalid playbook is refused with its position, exit 2.
	t.Run("playbook validate invalid", func(t *testing.T) {
		t.Parallel()
		s, out, errb := newTestStreams("")
		code := Main([]string{"playbook", "validate", "../../testdata/playbooks/invalid/" + firstInvalidPlaybook(t)}, s)
		if code != 2 || !strings.Contains(errb.String(), ".yaml:") {
			t.Errorf("exit %d\n%s\n%s", code, out, errb)
		}
	})
}

func firstInvalidPlaybook(t *testing.T) string {
	entries, err := readDirNames("../../testdata/playbooks/invalid")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range entries {
		if strings.HasSuffix(n, ".yaml") {
			return n
		}
	}
	t.Fatal("no invalid playbook")
	return ""
}

// RESPOND_READ_TIMEOUT: a bad value is bad input (exit 2, nothing called); a good one is used
// (the fault matrix's "latency past the read timeout" column relies on it).
func TestE2EReadTimeoutVariable(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "demo.yaml"))
	for _, tc := range []struct {
		value string
		code  int
		want  []string
	}{
		{"soon", 2, []string{"RESPOND_READ_TIMEOUT", "soon"}},
		{"-1s", 2, []string{"RESPOND_READ_TIMEOUT"}},
		{"0", 2, []string{"RESPOND_READ_TIMEOUT"}},
		{"2s", 0, []string{"billing-app"}},
	} {
		t.Run(tc.value, func(t *testing.T) {
			before := len(e.s.RequestLog())
			e.env["RESPOND_READ_TIMEOUT"] = tc.value
			r := e.run("", "locate", "--key-id", demoLeak)
			wantCode(t, r, tc.code)
			mustContain(t, "output", r.Stdout+r.Stderr, tc.want...)
			if called := len(e.s.RequestLog()) - before; tc.code == 2 && called != 0 {
				t.Errorf("%d calls made with a bad RESPOND_READ_TIMEOUT", called)
			}
		})
	}
}
