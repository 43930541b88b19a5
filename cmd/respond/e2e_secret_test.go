package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// leakedPairInput is a text finding that carries the leaked pair of gitleaksOrg's env-app.
// (The text reader pairs a secret on the same line only.)
const leakedPairInput = "+ aliyun configure set --access-key-id LTAI5tFAKEb8HnR4sW6cJq2d --access-key-secret " + gitleaksSecret + "\n"

// assertSecretsOnlyInSinks checks that no secret appears in any byte respond wrote outside the
// sink files.
func assertSecretsOnlyInSinks(t *testing.T, written map[string][]byte, sinks map[string]bool, secrets map[string]string) {
	t.Helper()
	if len(written) == 0 {
		t.Fatal("nothing collected")
	}
	for name, b := range written {
		for what, s := range secrets {
			if s == "" {
				t.Fatalf("empty %s", what)
			}
			if bytes.Contains(b, []byte(s)) && !sinks[name] {
				t.Errorf("the %s appears in %s", what, name)
			}
		}
	}
	for name := range sinks {
		found := false
		for _, s := range secrets {
			found = found || bytes.Contains(written[name], []byte(s))
		}
		if !found {
			t.Errorf("sink %s holds none of the secrets (collection is broken)", name)
		}
	}
}

// Every byte respond wrote (stdout, stderr, journal, audit log, receipts) is free of the leaked
// and the new secret, except the sink file.
func TestE2ESecretGrep(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromYAML(t, gitleaksOrg))
	in := e.writeFile("findings.txt", leakedPairInput)
	cfg := e.fileSinkConfig("")
	written := map[string][]byte{}
	for i, args := range [][]string{
		{"--from", in, "--dry-run", "--config", cfg},
		{"--from", in, "--yes", "--config", cfg, "--locate", "ims,caller"},
		{"--from", in, "--yes", "--config", cfg, "--output", "json"}, // the re-run
		{"status", "--all", "--output", "json"},
		{"scan", in},
		{"scan", in, "--output", "json"},
	} {
		r := e.run("", args...)
		if r.Code != 0 {
			t.Fatalf("run %d %v: %s", i, args, r)
		}
		written["stdout of run "+string(rune('0'+i))] = []byte(r.Stdout)
		written["stderr of run "+string(rune('0'+i))] = []byte(r.Stderr)
	}
	sink := filepath.Join(e.sinkDir(), "env-app.json")
	for p, b := range readTree(t, e.state) {
		written[p] = b
	}
	for p, b := range readTree(t, e.sinkDir()) {
		written[p] = b
	}
	for p, b := range readTree(t, e.home) {
		written[p] = b
	}
	newID, newSecret := e.sinkCredential("env-app")
	if err := e.authenticates(newID, newSecret); err != nil {
		t.Fatal(err)
	}
	if _, ok := written[filepath.Join(e.state, "audit.jsonl")]; !ok {
		t.Fatalf("no audit log collected: %v", keysOf(written))
	}
	assertSecretsOnlyInSinks(t, written, map[string]bool{sink: true},
		map[string]string{"leaked secret": gitleaksSecret, "new secret": newSecret})
}

// The same across a crash (SIGKILL during the sink write) and the resume.
func TestE2ESecretGrepCrash(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromYAML(t, gitleaksOrg))
	in := e.writeFile("findings.txt", leakedPairInput)
	g := newFifoGate(t, e.work)
	cfg := e.writeFile("config.yaml", "sinks:\n  gate:\n    type: exec\n    command: "+g.argv()+"\n")
	args := []string{"--from", in, "--yes", "--config", cfg}
	st := e.start(args...)
	g.waitStarted(t, st)
	_ = st.cmd.Process.Signal(syscall.SIGKILL)
	first := e.wait(st)
	_, secret1 := readPair(t, g.out)
	sink1, _ := os.ReadFile(g.out)
	g.open(t)
	second := e.run("", args...)
	wantCode(t, second, 0)
	e.checkGateRotated(g, "env-app", "LTAI5tFAKEb8HnR4sW6cJq2d")
	_, secret2 := readPair(t, g.out)
	written := map[string][]byte{
		"stdout of the killed run": []byte(first.Stdout), "stderr of the killed run": []byte(first.Stderr),
		"stdout of the resume": []byte(second.Stdout), "stderr of the resume": []byte(second.Stderr),
		"sink after the killed run": sink1,
	}
	for p, b := range readTree(t, e.state) {
		written[p] = b
	}
	for p, b := range readTree(t, e.home) {
		written[p] = b
	}
	written[g.out] = mustRead(t, g.out)
	if !strings.Contains(string(written[filepath.Join(e.state, "LTAI5tFAKEb8HnR4sW6cJq2d.jsonl")]), "create") {
		t.Errorf("journal not collected or without the create: %v", keysOf(written))
	}
	assertSecretsOnlyInSinks(t, written, map[string]bool{g.out: true, "sink after the killed run": true},
		map[string]string{"leaked secret": gitleaksSecret, "first new secret": secret1, "second new secret": secret2})
}

func mustRead(t testing.TB, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func keysOf(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// The seed's own case (issue 20): its example line, a secret without its id. respond scan lists
// it; a dry run says where to look (exit 3); with secret-match the key is found in a member
// account, rotated and checked through the SDK. The leaked secret appears in no byte respond
// wrote, and the new one only in the sink.
func TestE2ESecretGrepSecretOnly(t *testing.T) {
	t.Parallel()
	limit(t)
	const (
		seedLine = "export ALIYUN_SECRET_ACCESS_KEY=vtAZaFH4CqJcqFj5oyyuRobivPNK8p\n"
		secret   = "vtAZaFH4CqJcqFj5oyyuRobivPNK8p"
		leaked   = "LTAI5tFAKESEEDREPORTS001"
		sibling  = "LTAI5tFAKESEEDREPORTS002"
		canary   = "LTAI5tFAKESEEDCANARY0001"
		member   = "3333000000000002"
	)
	e := newE2E(t, orgFromFile(t, "secret-only.yaml"))
	cfg := e.fileSinkConfig("accounts:\n  - name: mgmt\n    credentials: {source: env}\nresource-directory:\n  account: mgmt\ncanaries: [" + canary + "]\n")
	written := map[string][]byte{}
	runs := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"scan", "-"}, 0, []string{"(no id)", "secret without its id", "redacted"}},
		{[]string{"scan", "-", "--output", "json"}, 0, []string{`"kind": "secret-only"`}},
		{[]string{"--from", "-", "--dry-run", "--config", cfg}, 3, []string{"decision:   secret-only", "respond --key-id <ID>", "found in:   :1 (stdin)", "CI variables"}},
		{[]string{"--from", "-", "--yes", "--config", cfg}, 3, []string{"secret-only"}},
		{[]string{"--from", "-", "--yes", "--config", cfg, "--locate", "ims,scan,secret-match", "--output", "json"}, 0, nil},
	}
	var rep e2eReport
	for i, run := range runs {
		r := e.run(seedLine, run.args...)
		wantCode(t, r, run.code)
		mustContain(t, "stdout", r.Stdout, run.want...)
		written["stdout of run "+string(rune('0'+i))] = []byte(r.Stdout)
		written["stderr of run "+string(rune('0'+i))] = []byte(r.Stderr)
		if i == len(runs)-1 {
			rep = decodeReport(t, r)
			mustContain(t, "the report", r.Stdout, `"candidates_tried"`, `"matched": "`+leaked+`"`, "pair authenticated")
		}
	}
	if len(rep.Results) != 1 || rep.Results[0].KeyID != leaked || rep.Results[0].Result == nil || rep.Results[0].Result.Outcome != "remediated" {
		t.Fatalf("report %+v", rep.Results)
	}
	// Through the SDK, in the member account: the leaked key is gone, its sibling kept, the
	// replacement is the sink's and authenticates, the leaked pair does not.
	ids := listKeys(t, e.memberRAM(member, "ResourceDirectoryAccountAccessRole"), "reports-cron")
	newID, newSecret := e.sinkCredential("reports-cron")
	if len(ids) != 2 || !slices.Contains(ids, sibling) || !slices.Contains(ids, newID) || slices.Contains(ids, leaked) {
		t.Fatalf("keys of reports-cron %v, sink holds %s", ids, newID)
	}
	if err := e.authenticates(newID, newSecret); err != nil {
		t.Fatal(err)
	}
	if err := e.authenticates(leaked, secret); err == nil {
		t.Error("the leaked pair still authenticates")
	}
	// The cloud's view of the search: the canary and the inactive key never signed a call; the
	// leaked key signed one GetCallerIdentity that authenticated (the match) before its delete.
	matched := 0
	for _, r := range e.s.RequestLog() {
		switch {
		case r.AccessKeyID == canary, r.AccessKeyID == "LTAI5tFAKESEEDOLDBATCH01":
			t.Errorf("%s signed %s", r.AccessKeyID, r.Action)
		case r.AccessKeyID == leaked && r.Code == "":
			matched++
			if r.Action != "GetCallerIdentity" {
				t.Errorf("the leaked key signed %s", r.Action)
			}
		}
	}
	if matched != 1 {
		t.Errorf("the leaked key authenticated %d calls, want 1 (the match)", matched)
	}
	for _, dir := range []string{e.state, e.sinkDir(), e.home} {
		for p, b := range readTree(t, dir) {
			written[p] = b
		}
	}
	assertSecretsOnlyInSinks(t, written, map[string]bool{filepath.Join(e.sinkDir(), "reports-cron.json"): true},
		map[string]string{"leaked secret": secret, "new secret": newSecret})
}
