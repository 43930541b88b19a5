package main

import (
	"bytes"
	"os"
	"path/filepath"
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
