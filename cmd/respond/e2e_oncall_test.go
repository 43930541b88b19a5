package main

// Issue 14: what an on-call engineer trips over, each through the built binary.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The resume command respond status prints works verbatim: pasted into a shell, from another
// directory, without the endpoint variable the interrupted run had, with paths that need quoting.
func TestE2EResumeCommandWorksVerbatim(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "small.yaml"))
	e.state = filepath.Join(filepath.Dir(e.state), "state dir's")
	cfg := e.fileSinkConfig("")
	// The sink's directory is a regular file: the store fails, the run ends partial (exit 4).
	if err := os.Remove(e.sinkDir()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.sinkDir(), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	e.env["RESPOND_ENDPOINT"] = e.s.Endpoint()
	r := e.runRaw("", "--key-id", smallLeak, "--yes", "--config", cfg, "--state-dir", e.state)
	wantCode(t, r, 4)
	delete(e.env, "RESPOND_ENDPOINT")

	s := e.runRaw("", "status", "--state-dir", e.state)
	wantCode(t, s, 0)
	_, resume, ok := strings.Cut(s.Stdout, "resume with: ")
	if !ok {
		t.Fatalf("status prints no resume command:\n%s", s)
	}
	resume = strings.TrimSpace(strings.SplitN(resume, "\n", 2)[0])
	for _, want := range []string{"respond --key-id " + smallLeak, "--state-dir '" + strings.ReplaceAll(e.state, "'", `'\''`) + "'",
		"--config " + cfg, "--endpoint " + e.s.Endpoint()} {
		if !strings.Contains(resume, want) {
			t.Errorf("resume command %q lacks %q", resume, want)
		}
	}
	if err := os.Remove(e.sinkDir()); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(e.sinkDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	sh := exec.Command("/bin/sh", "-c", resume)
	sh.Dir = e.home // not where the first run started
	sh.Env = append(e.environ(), "PATH="+filepath.Dir(respondBin)+":/usr/bin:/bin")
	var out bytes.Buffer
	sh.Stdout, sh.Stderr = &out, &out
	if err := sh.Run(); err != nil {
		t.Fatalf("the printed command %q failed: %v\n%s", resume, err, out.String())
	}
	e.checkRotated(smallUser, smallLeak)
}

// A stdin that is /dev/null (cron, docker run without -i) is no terminal: respond refuses to act
// unconfirmed, exit 2, and changes nothing.
func TestE2ENullStdinIsNoTerminal(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "small.yaml"))
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	cmd, out, errb := e.command("", append([]string{"--key-id", smallLeak}, e.globals()...)...)
	cmd.Stdin = null
	r := e.result(cmd.Run(), out, errb)
	wantCode(t, r, 2)
	mustContain(t, "stderr", r.Stderr, "refusing to change anything without confirmation", "--yes")
	if ids := e.keyIDs(smallUser); !slices.Equal(ids, []string{smallLeak}) {
		t.Errorf("keys %v, want the leaked key untouched", ids)
	}
}

// A "no" at the prompt (on a real terminal: script(1) gives respond one) is its own outcome:
// nothing changed, exit 0, said so.
func TestE2EDeclinedPrompt(t *testing.T) {
	t.Parallel()
	limit(t)
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script (util-linux) is not on PATH: it gives respond the terminal its prompt needs")
	}
	e := newE2E(t, orgFromFile(t, "small.yaml"))
	cfg := e.fileSinkConfig("")
	line := strings.Join(append([]string{respondBin, "--key-id", smallLeak, "--config", cfg}, e.globals()...), " ")
	cmd := exec.Command(script, "-qec", line, os.DevNull)
	cmd.Env, cmd.Dir, cmd.Stdin = e.environ(), e.work, strings.NewReader("n\n")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("want exit 0 after a declined prompt: %v\n%s", err, out)
	}
	mustContain(t, "terminal", string(out), "[y/N]", "Declined: nothing was changed.")
	if ids := e.keyIDs(smallUser); !slices.Equal(ids, []string{smallLeak}) {
		t.Errorf("keys %v after a declined prompt, want the leaked key untouched", ids)
	}
	if n := e.count("CreateAccessKey") + e.count("DeleteAccessKey"); n != 0 {
		t.Errorf("%d mutations after a declined prompt", n)
	}
}

// An interrupted read-only command says what it was doing, that nothing changed, and exits 130.
func TestE2EInterruptedLocate(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "small.yaml"))
	p := e.s.PauseAt("ListUsers")
	st := e.start("locate", "--key-id", smallLeak, "--locate", "scan")
	e.waitReached(p, st)
	if err := st.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	r := e.wait(st)
	p.Release()
	wantCode(t, r, 130)
	mustContain(t, "stderr", r.Stderr, "interrupted while locating the owner of "+smallLeak+"; nothing was changed")
}

// With several keys that end alike, each step line names its key unambiguously.
func TestE2EStepLinesTellKeysApart(t *testing.T) {
	t.Parallel()
	limit(t)
	keys := []string{"LTAI5tFAKEAAAAAAAAAA0001", "LTAI5tFAKEBBBBBBBBBB0001", "LTAI5tFAKECCCCCCCCCC0001"}
	var users strings.Builder
	for i, k := range keys {
		fmt.Fprintf(&users, "      - name: app-%d\n        keys:\n          - {id: %s, secret: FakeAlikeSecret%015d}\n", i, k, i)
	}
	e := newE2E(t, orgFromYAML(t, `accounts:
  - id: "1111000000000001"
    name: alike
    management: true
    users:
      - name: admin
        admin: true
        keys:
          - {id: LTAI5tFAKEALIKEADMIN0001, secret: FakeAlikeAdminSecret0000000001}
`+users.String()))
	cfg := e.fileSinkConfig("")
	r := e.run("", "--key-id", strings.Join(keys, ","), "--yes", "--config", cfg)
	wantCode(t, r, 0)
	for _, short := range []string{"LTAI…A0001 create", "LTAI…B0001 create", "LTAI…C0001 create"} {
		if !strings.Contains(r.Stderr, short) {
			t.Errorf("stderr has no step line %q:\n%s", short, r.Stderr)
		}
	}
	if strings.Contains(r.Stderr, "LTAI…0001 ") {
		t.Errorf("an ambiguous abbreviation is printed:\n%s", r.Stderr)
	}
}

// An endpoint that accepts connections and never answers: respond says on stderr what it waits
// for, and the error names RESPOND_READ_TIMEOUT.
func TestE2ESilentEndpoint(t *testing.T) {
	t.Parallel()
	limit(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		var held []net.Conn
		for {
			c, err := l.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c) // read nothing, answer nothing
		}
	}()
	e := newE2E(t, orgFromFile(t, "small.yaml"))
	e.env["RESPOND_READ_TIMEOUT"] = "1500ms"
	r := e.runRaw("", "locate", "--key-id", smallLeak, "--endpoint", l.Addr().String(), "--state-dir", e.state)
	wantCode(t, r, 1)
	mustContain(t, "stderr", r.Stderr, "respond: signing in at "+l.Addr().String(), "no answer yet", "retrying in",
		"no answer within the read timeout of 1.5s (RESPOND_READ_TIMEOUT sets it)")
}

// No credentials anywhere: one line that says what was tried and how to provide some, exit 2.
func TestE2ENoCredentials(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "small.yaml"))
	e.env["ALIBABA_CLOUD_ACCESS_KEY_ID"], e.env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"] = "", ""
	r := e.run("", "locate", "--key-id", smallLeak)
	wantCode(t, r, 2)
	mustContain(t, "stderr", r.Stderr, "respond: sign in: no credentials found; tried: the environment", "--profile NAME")
	if strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 || strings.Contains(r.Stderr, "enviroment") || strings.Contains(r.Stderr, "fileopen") {
		t.Errorf("want one line in respond's words, not the SDK's:\n%s", r.Stderr)
	}
}

// respond --version and respond version print the same line: version, commit (or why there is
// none: CI builds with -buildvcs=false) and the Go version.
func TestE2EVersion(t *testing.T) {
	t.Parallel()
	e := newE2E(t, orgFromFile(t, "small.yaml"))
	a, b := e.runRaw("", "--version"), e.runRaw("", "version")
	wantCode(t, a, 0)
	wantCode(t, b, 0)
	if a.Stdout != b.Stdout {
		t.Errorf("--version %q, version %q", a.Stdout, b.Stdout)
	}
	if !regexp.MustCompile(`^respond \S+ \((commit [0-9a-f]{7,}(, modified)?, \S+|no commit recorded: built without VCS information;) go\S+\)\n$`).MatchString(a.Stdout) {
		t.Errorf("version line %q", a.Stdout)
	}
	j := e.runRaw("", "version", "--output", "json")
	var v struct{ Version, Go string }
	if err := json.Unmarshal([]byte(j.Stdout), &v); err != nil || v.Version == "" || !strings.HasPrefix(v.Go, "go") {
		t.Errorf("version json: %v %+v", err, v)
	}
}

// Typos get what was probably meant.
func TestE2ETypos(t *testing.T) {
	t.Parallel()
	e := newE2E(t, orgFromFile(t, "small.yaml"))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--key-id", smallLeak, "--dryrun"}, "unknown flag: --dryrun; did you mean --dry-run?"},
		{[]string{"--key_id", smallLeak}, "did you mean --key-id?"},
		{[]string{"locat", "--key-id", smallLeak}, `unknown command "locat" for "respond"; did you mean locate?`},
		{[]string{smallLeak}, "to respond to a key id, use --key-id " + smallLeak},
		{[]string{"playbook", "shwo", "standard"}, "did you mean show?"},
		{[]string{"locate", "--keyid", smallLeak}, "did you mean --key-id?"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := e.runRaw("", tc.args...)
			wantCode(t, r, 2)
			mustContain(t, "stderr", r.Stderr, tc.want)
		})
	}
	// An id with its secret run together, or a secret alone, given as an argument: cobra's error
	// would quote it; respond says what it looks like without repeating it.
	const secret = "abcdefghijABCDEFGHIJ0123456789"
	for _, arg := range []string{smallLeak + secret, secret} {
		for _, args := range [][]string{{arg}, {"locate", arg}} {
			r := e.runRaw("", args...)
			wantCode(t, r, 2)
			mustContain(t, "stderr", r.Stderr, "not repeated", "use --key-id with the id alone")
			if strings.Contains(r.Stdout+r.Stderr, secret) {
				t.Errorf("%v: the secret is repeated:\n%s", args, r)
			}
		}
	}
}

// Shell completion of flag values and arguments, through cobra's __complete.
func TestE2ECompletion(t *testing.T) {
	t.Parallel()
	e := newE2E(t, orgFromFile(t, "small.yaml"))
	e.writeFile("mine.yaml", "name: mine\nsteps: [locate, delete]\n")
	cfg := e.fileSinkConfig("playbooks:\n  - path: mine.yaml\n")
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--output", ""}, []string{"text", "json"}},
		{[]string{"status", "--output", ""}, []string{"text", "json"}},
		{[]string{"--progress", ""}, []string{"auto", "plain", "none"}},
		{[]string{"--format", ""}, []string{"gitleaks-json", "trufflehog", "sas", "text"}},
		{[]string{"scan", "--format", ""}, []string{"gitleaks-json", "github"}},
		{[]string{"--locate", "ims,"}, []string{"ims,scan", "ims,caller"}},
		{[]string{"locate", "--locate", ""}, []string{"ims", "actiontrail", "scan", "self"}},
		{[]string{"--playbook", ""}, []string{"standard", "contain-first", "contain-only"}},
		{[]string{"--config", cfg, "--playbook", ""}, []string{"standard", "mine"}},
		{[]string{"--config", cfg, "--sink", ""}, []string{"app-file"}},
		{[]string{"playbook", "show", ""}, []string{"standard", "contain-first", "contain-only"}},
		{[]string{"docs", ""}, []string{"man", "markdown"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := e.runRaw("", append([]string{"__complete"}, tc.args...)...)
			wantCode(t, r, 0)
			got := strings.Split(strings.TrimSpace(r.Stdout), "\n")
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("completions %q lack %q", got, w)
				}
			}
		})
	}
}

// respond --help lists the environment variables respond and the SDK read.
func TestE2EHelpListsEnvironment(t *testing.T) {
	t.Parallel()
	e := newE2E(t, orgFromFile(t, "small.yaml"))
	r := e.runRaw("", "--help")
	wantCode(t, r, 0)
	mustContain(t, "help", r.Stdout, "RESPOND_ENDPOINT", "RESPOND_CONFIG", "RESPOND_STATE_DIR", "RESPOND_READ_TIMEOUT",
		"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_REGION_ID", "DEBUG")
	b := e.runRaw("", "--progress", "sometimes", "locate", "--key-id", smallLeak)
	wantCode(t, b, 2)
	mustContain(t, "stderr", b.Stderr, "--progress must be auto, plain or none")
}

// JSON documents carry their schema, and empty lists are [] (never null).
func TestE2EJSONSchemasAndEmptyLists(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "demo.yaml"))
	log := e.writeFile("app.log", "aws? no: key="+demoLeak+"\n")
	for _, tc := range []struct {
		args   []string
		schema string
	}{
		{[]string{"scan", log, "--output", "json"}, "respond.scan/v1"},
		{[]string{"locate", "--key-id", demoLeak, "--output", "json"}, "respond.locate/v1"},
		{[]string{"--key-id", demoLeak, "--dry-run", "--output", "json", "--playbook", "contain-only"}, "respond.report/v1"},
		{[]string{"--from", log, "--dry-run", "--output", "json", "--playbook", "contain-only"}, "respond.report/v1"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := e.run("", tc.args...)
			wantCode(t, r, 0)
			var doc map[string]any
			if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil {
				t.Fatalf("%v\n%s", err, r)
			}
			if doc["schema"] != tc.schema {
				t.Errorf("schema %v, want %s", doc["schema"], tc.schema)
			}
			if strings.Contains(r.Stdout, "null") {
				t.Errorf("null in the JSON:\n%s", r.Stdout)
			}
			if tc.schema == "respond.report/v1" {
				if w, ok := doc["warnings"].([]any); !ok {
					t.Errorf("warnings %v, want a list", doc["warnings"])
				} else if tc.args[0] == "--key-id" && len(w) != 0 {
					t.Errorf("warnings %v, want []", w)
				}
			}
			if tc.schema == "respond.locate/v1" {
				if d, ok := doc["duration_ns"].(float64); !ok || d <= 0 {
					t.Errorf("duration_ns %v", doc["duration_ns"])
				}
			}
		})
	}
}

// The Markdown reference pages under cmd/respond/docs are the ones respond docs writes now
// (go test ./cmd/respond -run TestE2EReferencePages -update rewrites them); man pages are written
// for every command.
func TestE2EReferencePages(t *testing.T) {
	t.Parallel()
	e := newE2E(t, orgFromFile(t, "small.yaml"))
	md, man := filepath.Join(e.work, "md"), filepath.Join(e.work, "man")
	wantCode(t, e.runRaw("", "docs", "markdown", md), 0)
	wantCode(t, e.runRaw("", "docs", "man", man), 0)
	bogus := filepath.Join(e.work, "bogus")
	wantCode(t, e.runRaw("", "docs", "html", bogus), 2)
	if _, err := os.Stat(bogus); err == nil {
		t.Error("docs html DIR created DIR although it refused the format")
	}
	got := readTree(t, md)
	if *update {
		if err := os.RemoveAll("docs"); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll("docs", 0o755); err != nil {
			t.Fatal(err)
		}
		for p, b := range got {
			if err := os.WriteFile(filepath.Join("docs", filepath.Base(p)), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	committed := readTree(t, "docs")
	if len(committed) != len(got) {
		t.Errorf("%d pages committed, respond docs writes %d (run go test ./cmd/respond -run TestE2EReferencePages -update)", len(committed), len(got))
	}
	for p, b := range got {
		if c, ok := committed[filepath.Join("docs", filepath.Base(p))]; !ok || !bytes.Equal(b, c) {
			t.Errorf("docs/%s is out of date (run go test ./cmd/respond -run TestE2EReferencePages -update)", filepath.Base(p))
		}
	}
	for p := range got {
		name := strings.ReplaceAll(strings.TrimSuffix(filepath.Base(p), ".md"), "_", "-") + ".1"
		if _, err := os.Stat(filepath.Join(man, name)); err != nil {
			t.Errorf("no man page %s", name)
		}
	}
}

// config validate reports every problem at once: misspelt keys and bad values together.
func TestE2EConfigValidateEveryProblem(t *testing.T) {
	t.Parallel()
	e := newE2E(t, orgFromFile(t, "small.yaml"))
	cfg := e.writeFile("bad.yaml", "acounts: []\nsinks:\n  a:\n    type: fiel\n    pth: /x\nnotify:\n  n:\n    type: slak\n    url-env: HOOK\n")
	r := e.runRaw("", "config", "validate", "--config", cfg)
	wantCode(t, r, 2)
	mustContain(t, "stderr", r.Stderr, `unknown key "acounts"`, `"fiel" is not a sink type`, `unknown key "pth"`, `"slak" is not a channel type`, "4 problems")
}

// playbook list lists a playbook the configuration loads from a file (once).
func TestE2EPlaybookListConfigured(t *testing.T) {
	t.Parallel()
	e := newE2E(t, orgFromFile(t, "small.yaml"))
	e.writeFile("mine.yaml", "name: mine\nsteps: [locate, delete]\n")
	cfg := e.writeFile("config.yaml", "playbooks:\n  - path: mine.yaml\n  - name: contain-first\n")
	r := e.runRaw("", "playbook", "list", "--config", cfg)
	wantCode(t, r, 0)
	mustContain(t, "stdout", r.Stdout, "mine ", "locate → delete")
	if n := strings.Count(r.Stdout, "contain-first "); n != 1 {
		t.Errorf("contain-first listed %d times:\n%s", n, r.Stdout)
	}
}

// --sandbox without --state-dir: a dry run leaves no directory behind; a real run keeps its
// state and says where.
func TestE2ESandboxStateDirectory(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "small.yaml"))
	tmp := filepath.Join(e.work, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	e.env["TMPDIR"] = tmp
	left := func() []string {
		names, _ := readDirNames(tmp)
		return names
	}
	r := e.runRaw("", "--sandbox", "--key-id", demoLeak, "--dry-run")
	wantCode(t, r, 0)
	if l := left(); len(l) != 0 {
		t.Errorf("a dry run left %v", l)
	}
	wantCode(t, e.runRaw("", "--sandbox", "status"), 0)
	if l := left(); len(l) != 0 {
		t.Errorf("status left %v", l)
	}
	r = e.runRaw("", "--sandbox", "--key-id", demoLeak, "--yes")
	wantCode(t, r, 0)
	l := left()
	if len(l) != 1 {
		t.Fatalf("a real run left %v, want its state directory", l)
	}
	mustContain(t, "stderr", r.Stderr, "kept: "+filepath.Join(tmp, l[0]))
	sc := bufio.NewScanner(strings.NewReader(r.Stderr))
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "Sandbox state") && !strings.Contains(sc.Text(), l[0]) {
			t.Errorf("the kept directory is not named: %q", sc.Text())
		}
	}
}

// The owner search's order: --locate over everything; else the chosen playbook's own strategies;
// the configuration's locate: for a playbook that names none, and for a playbook chosen once the
// owner is found (README "Playbooks"). The strategy that found the owner is the first of the
// order (each finds the demo key).
func TestE2ELocateOrder(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "small.yaml"))
	e.writeFile("own.yaml", "name: own\nsteps:\n  - locate: {strategies: [ims]}\n  - delete\n  - verify\n")
	e.writeFile("plain.yaml", "name: plain\nsteps: [locate, delete, verify]\n")
	cfg := e.writeFile("config.yaml", "locate: [scan]\nplaybooks:\n  - path: own.yaml\n  - path: plain.yaml\n")
	byUser := e.writeFile("by-user.yaml", "locate: [scan]\nplaybooks:\n  - path: own.yaml\n  - path: plain.yaml\n"+
		"rules:\n  - match: {users: [nobody]}\n    playbook: own\n  - playbook: plain\n")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"the playbook's own", []string{"--config", cfg, "--playbook", "own"}, "ims"},
		{"--locate over the playbook's", []string{"--config", cfg, "--playbook", "own", "--locate", "self,scan"}, "scan"},
		{"the configuration's where the playbook names none", []string{"--config", cfg, "--playbook", "plain"}, "scan"},
		{"the configuration's when the playbook is chosen by owner", []string{"--config", byUser}, "scan"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.run("", append([]string{"--key-id", smallLeak, "--dry-run", "--output", "json"}, tc.args...)...)
			wantCode(t, r, 0)
			if !strings.Contains(r.Stdout, `"strategy": "`+tc.want+`"`) {
				t.Errorf("owner not found by %s:\n%s", tc.want, r)
			}
		})
	}
}
