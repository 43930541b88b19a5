package main

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unicode"
	"unicode/utf8"
)

// The corpus of hostile inputs under testdata/hostile (README.md there), through the binary: no
// panic or crash, bad input exits 2 with one line, nothing prints a control character raw or a
// secret, and nothing the cloud does not confirm is acted on (issue 12; design §6 rules 8–10).
func TestE2EHostileCorpus(t *testing.T) {
	t.Parallel()
	dir, err := filepath.Abs("../../testdata/hostile") // respond runs in its own working directory
	if err != nil {
		t.Fatal(err)
	}
	t.Run("detect", func(t *testing.T) { hostileDetect(t, filepath.Join(dir, "detect")) })
	t.Run("inputs", func(t *testing.T) { hostileInputs(t, filepath.Join(dir, "inputs")) })
	t.Run("journals", func(t *testing.T) { hostileJournals(t, filepath.Join(dir, "journals")) })
	t.Run("state", func(t *testing.T) { hostileState(t, filepath.Join(dir, "state.tsv")) })
	t.Run("key-ids", func(t *testing.T) { hostileKeyIDs(t, filepath.Join(dir, "key-ids.txt")) })
}

// smallSecrets are the secrets of testdata/orgs/small.yaml.
var smallSecrets = []string{"FakeSmallRootSecret00000000001", "FakeSmallAdminSecret0000000001", "FakeSmallWebAppSecret000000001"}

// secretLike finds the 30-character words of an input: whatever it holds that could be a secret.
var secretLike = regexp.MustCompile(`[A-Za-z0-9]{30}`)

// checkHostile asserts what holds for every run: no crash, an exit code of design §10, at most one
// line on stderr for exit 2, no raw control character, no secret.
func checkHostile(t *testing.T, what string, r runResult, secrets []string) {
	t.Helper()
	out := r.Stdout + r.Stderr
	for _, m := range []string{"panic:", "goroutine ", "fatal error:", "runtime error"} {
		if strings.Contains(out, m) {
			t.Errorf("%s: crashed (%q):\n%s", what, m, r)
		}
	}
	if r.Code < 0 || r.Code > 5 {
		t.Errorf("%s: exit %d is not one of respond's", what, r.Code)
	}
	if r.Code == 2 && strings.Count(strings.TrimSpace(r.Stderr), "\n") > 0 {
		t.Errorf("%s: exit 2 with more than one line on stderr:\n%s", what, r.Stderr)
	}
	for name, s := range map[string]string{"stdout": r.Stdout, "stderr": r.Stderr} {
		if c, at, ok := rawControl(s); ok {
			t.Errorf("%s: %s holds %U raw at %d: %q", what, name, c, at, s[max(0, at-40):min(len(s), at+40)])
		}
		for _, sec := range secrets {
			if strings.Contains(s, sec) {
				t.Errorf("%s: %s holds the secret %s…", what, name, sec[:6])
			}
		}
	}
}

// rawControl finds a character a terminal could act on: an ASCII control but \n and \t, DEL, a C1
// control, a Unicode format character (bidi overrides), a line or paragraph separator, or a byte
// that is not UTF-8.
func rawControl(s string) (rune, int, bool) {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1,
			r < 0x20 && r != '\n' && r != '\t', r == 0x7f, r >= 0x80 && r <= 0x9f,
			unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp):
			return r, i, true
		}
		i += n
	}
	return 0, 0, false
}

// tsv reads a tab-separated table, without comments and blank lines.
func tsv(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := sc.Text(); l != "" && !strings.HasPrefix(l, "#") {
			rows = append(rows, strings.Split(l, "\t"))
		}
	}
	if len(rows) == 0 {
		t.Fatalf("%s: no rows", path)
	}
	return rows
}

// hostileDetect runs detect's corpus through the binary: `scan` and a dry run of the findings.
func hostileDetect(t *testing.T, dir string) {
	want, wantFrom := map[string]int{}, map[string]int{}
	for _, row := range tsv(t, filepath.Join(dir, "expect.tsv")) {
		code := 0
		if strings.HasPrefix(row[1], "error:") && row[1] != "error:empty" {
			code = 2 // an empty input is a scanner that found nothing: nothing to do
		}
		want[row[0]], wantFrom[row[0]] = code, code
		// findings that are all secrets without their id: nothing maps them to a key (exit 3)
		var findings, alone string
		for _, kv := range strings.Split(row[1], ",") {
			k, v, _ := strings.Cut(kv, ":")
			switch k {
			case "findings":
				findings = v
			case "alone":
				alone = v
			}
		}
		if findings != "" && findings != "0" && findings == alone {
			wantFrom[row[0]] = 3
		}
	}
	e := newE2E(t, orgFromFile(t, "small.yaml"))
	for name, code := range want {
		in := filepath.Join(dir, name)
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		secrets := append(secretLike.FindAllString(string(data), -1), smallSecrets...)
		for _, args := range [][]string{{"scan", in}, {"scan", in, "--output", "json"}, {"--from", in, "--dry-run"}} {
			r := e.run("", args...)
			checkHostile(t, name+" "+args[0], r, secrets)
			if args[0] == "--from" {
				code = wantFrom[name]
			}
			if r.Code != code {
				t.Errorf("%s %v: exit %d, want %d\n%s", name, args[:1], r.Code, code, r)
			}
		}
	}
	e.noMutation()
}

// hostileInputs rotates web-app's key from each hostile report, and greps every byte respond wrote.
func hostileInputs(t *testing.T, dir string) {
	for _, row := range tsv(t, filepath.Join(dir, "expect.tsv")) {
		name, code := row[0], atoi(t, row[1])
		t.Run(name, func(t *testing.T) {
			limit(t)
			e := newE2E(t, orgFromFile(t, "small.yaml"))
			in := filepath.Join(dir, name)
			cfg := e.fileSinkConfig("")
			for _, args := range [][]string{{"scan", in}, {"--from", in, "--dry-run", "--config", cfg}} {
				r := e.run("", args...)
				wantCode(t, r, 0)
				checkHostile(t, name+" "+args[0], r, smallSecrets)
			}
			r := e.run("", "--from", in, "--yes", "--config", cfg)
			checkHostile(t, name+" --yes", r, smallSecrets)
			wantCode(t, r, code)
			newID, newSecret := e.checkRotated(smallUser, smallLeak)
			mustContain(t, "summary", r.Stdout, smallLeak+"  remediated", newID)
			secrets := append([]string{newSecret}, smallSecrets...)
			checkHostile(t, name+" status", e.run("", "status", "--all"), secrets)
			for p, b := range readTree(t, e.state) {
				checkHostile(t, p, runResult{Stdout: string(b)}, secrets)
			}
			audit, err := os.ReadFile(filepath.Join(e.state, "audit.jsonl"))
			if err != nil || !strings.Contains(string(audit), `"finding"`) {
				t.Errorf("the audit log has no finding (%v):\n%s", err, audit)
			}
		})
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// hostileJournals plants each journal and runs respond on its key, then status.
func hostileJournals(t *testing.T, dir string) {
	for _, row := range tsv(t, filepath.Join(dir, "expect.tsv")) {
		name, key, code, phrase := row[0], row[1], atoi(t, row[2]), row[3]
		t.Run(name, func(t *testing.T) {
			limit(t)
			e := newE2E(t, orgFromFile(t, "demo.yaml"))
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(e.state, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(e.state, key+".jsonl"), b, 0o600); err != nil {
				t.Fatal(err)
			}
			before := map[string][]string{}
			for _, u := range []string{"auditor", demoUser, "ci-deploy"} {
				before[u] = e.keyIDs(u)
			}
			r := e.run("", "--key-id", key, "--yes", "--config", e.fileSinkConfig(""))
			checkHostile(t, name, r, demoSecrets)
			if r.Code != code {
				t.Fatalf("exit %d, want %d\n%s", r.Code, code, r)
			}
			mustContain(t, "output", r.Stdout+r.Stderr, phrase)
			for u, ids := range before {
				now := e.keyIDs(u)
				if code == 0 && u == demoUser {
					e.checkRotated(demoUser, demoLeak, demoKeep)
					continue
				}
				if strings.Join(now, ",") != strings.Join(ids, ",") {
					t.Errorf("%s's keys were %v, now %v", u, ids, now)
				}
			}
			s := e.run("", "status", "--all")
			checkHostile(t, name+" status", s, demoSecrets)
			if code == 2 {
				wantCode(t, s, 2)
			}
		})
	}
}

// demoSecrets are the secrets of testdata/orgs/demo.yaml a run could print.
var demoSecrets = []string{"FakeBillingLeakedSecret0000001", "FakeBillingKeepSecret000000001", "FakeAuditorSecret0000000000001", "FakeAdminSecret000000000000001"}

// hostileState builds each unsafe state directory and runs respond and status in it.
func hostileState(t *testing.T, path string) {
	for _, row := range tsv(t, path) {
		setup, name, phrase, statusCode := row[0], strings.ReplaceAll(row[1], "KEY", smallLeak), row[2], atoi(t, row[3])
		t.Run(setup+" "+name, func(t *testing.T) {
			limit(t)
			e := newE2E(t, orgFromFile(t, "small.yaml"))
			if err := os.MkdirAll(e.state, 0o700); err != nil {
				t.Fatal(err)
			}
			victim := filepath.Join(e.work, "victim.yaml")
			const precious = "precious: do not overwrite\n"
			if err := os.WriteFile(victim, []byte(precious), 0o600); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(e.state, name)
			var err error
			switch setup {
			case "mode-0777":
				err = os.Chmod(e.state, 0o777)
			case "mode-0722":
				err = os.Chmod(e.state, 0o722)
			case "symlink":
				err = os.Symlink(victim, p)
			case "fifo":
				err = syscall.Mkfifo(p, 0o600)
			case "hardlink":
				err = os.Link(victim, p)
			case "directory":
				err = os.Mkdir(p, 0o700)
			default:
				t.Fatalf("unknown setup %q", setup)
			}
			if err != nil {
				t.Fatal(err)
			}
			r := e.run("", "--key-id", smallLeak, "--yes", "--config", e.fileSinkConfig(""))
			checkHostile(t, setup, r, smallSecrets)
			wantCode(t, r, 2)
			mustContain(t, "output", r.Stdout+r.Stderr, phrase)
			if b, err := os.ReadFile(victim); err != nil || string(b) != precious {
				t.Errorf("the victim file changed: %q %v", b, err)
			}
			e.noMutation()
			s := e.run("", "status")
			checkHostile(t, setup+" status", s, smallSecrets)
			wantCode(t, s, statusCode)
		})
	}
}

// hostileKeyIDs passes each value as --key-id to the commands that take one.
func hostileKeyIDs(t *testing.T, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	e := newE2E(t, orgFromFile(t, "small.yaml"))
	for _, v := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		if strings.HasPrefix(v, "#") {
			continue
		}
		v = strings.NewReplacer(`\e`, "\x1b", `\a`, "\a").Replace(v)
		secrets := append(secretLike.FindAllString(v, -1), v, strings.TrimSpace(v))
		for _, args := range [][]string{{"--key-id", v, "--yes"}, {"--key-id", v, "--dry-run"}, {"locate", "--key-id", v}, {"assess", "--key-id", v}} {
			r := e.run("", args...)
			checkHostile(t, strconv.Quote(v)+" "+args[0], r, secrets)
			wantCode(t, r, 2)
			mustContain(t, "stderr", r.Stderr, "--key-id: ", "not repeated")
		}
	}
	r := e.run("", "--key-id", "abcdefghijABCDEFGHIJ0123456789", "--yes")
	mustContain(t, "stderr", r.Stderr, "30 letters and digits: that looks like an AccessKey secret, not an id")
	e.noMutation()
}
