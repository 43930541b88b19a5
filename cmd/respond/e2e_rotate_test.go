package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	sdkram "github.com/aliyun/alibaba-cloud-sdk-go/services/ram"

	"github.com/respond-dev/respond/ram/emulator"
)

const (
	smallLeak  = "LTAI5tFAKESMALLWEBAPP001"
	smallUser  = "web-app"
	demoLeak   = "LTAI5tFAKEBILLING0LEAK01"
	demoKeep   = "LTAI5tFAKEBILLING0KEEP01"
	demoUser   = "billing-app"
	demoCIKey  = "LTAI5tFAKECIDEPLOY000001"
	demoRoot   = "LTAI5tFAKEROOTACME000001"
	demoAdmin  = "LTAI5tFAKEADMIN000000001"
	limitLeak  = "LTAI5tFAKELIMITFULL00002"
	limitOther = "LTAI5tFAKELIMITFULL00001"
)

// A normal rotation from a configuration with a file sink: the stored secret authenticates.
func TestE2ENormalRotation(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "small.yaml"))
	cfg := e.fileSinkConfig("")
	r := e.run("", "--key-id", smallLeak, "--yes", "--config", cfg, "--output", "json")
	wantCode(t, r, 0)
	rep := decodeReport(t, r)
	newID, _ := e.checkRotated(smallUser, smallLeak)
	res := rep.Results[0].Result
	if res == nil || res.Outcome != "remediated" || res.NewKeyID != newID || res.UserName != smallUser {
		t.Fatalf("result %+v, want remediated with %s", res, newID)
	}
	want := []string{"locate:done", "assess:done", "hunt:done", "create:done", "store:done", "delete:done", "verify:done", "notify:skipped"}
	if got := rep.stepOrder(0); !slices.Equal(got, want) {
		t.Errorf("steps %v, want %v", got, want)
	}
	if n := e.count("CreateAccessKey"); n != 1 {
		t.Errorf("%d CreateAccessKey calls, want 1", n)
	}
	if n := e.count("UpdateAccessKey"); n != 0 {
		t.Errorf("respond disabled a key (%d UpdateAccessKey): it must delete, never disable", n)
	}
	st, err := os.Stat(filepath.Join(e.sinkDir(), smallUser+".json"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("sink file mode %v (%v), want 0600", st.Mode(), err)
	}
}

// A user at the two-key limit: the leaked key goes first, the other key is never touched.
func TestE2EKeyLimit(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "key-limit.yaml"))
	cfg := e.fileSinkConfig("")
	r := e.run("", "--key-id", limitLeak, "--yes", "--config", cfg, "--output", "json")
	wantCode(t, r, 0)
	rep := decodeReport(t, r)
	e.checkRotated("full-user", limitLeak, limitOther)
	order := rep.stepOrder(0)
	if slices.Index(order, "delete:done") > slices.Index(order, "create:done") {
		t.Errorf("at the key limit the leaked key must be deleted before the create: %v", order)
	}
	// No LimitExceeded: the plan reordered instead of failing first.
	for _, q := range e.s.RequestLog() {
		if strings.HasPrefix(q.Code, "LimitExceeded") {
			t.Errorf("respond hit the key limit: %+v", q)
		}
	}
}

// Refusals: a root-account key, respond's own key, and a canary from the configuration (with an
// alert received by a webhook). Nothing changes in the cloud.
func TestE2ERefusals(t *testing.T) {
	t.Parallel()
	t.Run("root", func(t *testing.T) {
		t.Parallel()
		limit(t)
		e := newE2E(t, orgFromFile(t, "demo.yaml"))
		r := e.run("", "--key-id", demoRoot, "--yes")
		wantCode(t, r, 5)
		mustContain(t, "output", r.Stdout+r.Stderr, "root", "console")
		e.noMutation()
	})
	t.Run("self", func(t *testing.T) {
		t.Parallel()
		limit(t)
		e := newE2E(t, orgFromFile(t, "demo.yaml"))
		r := e.run("", "--key-id", demoAdmin, "--yes", "--output", "json")
		wantCode(t, r, 5)
		rep := decodeReport(t, r)
		if p := rep.Results[0].Plan; p == nil || p.Decision != "refuse-self" {
			t.Errorf("plan %+v, want refuse-self", p)
		}
		e.noMutation()
		if ids := e.keyIDs("admin"); !slices.Contains(ids, demoAdmin) {
			t.Errorf("respond's own key is gone: %v", ids)
		}
	})
	t.Run("canary", func(t *testing.T) {
		t.Parallel()
		limit(t)
		var mu sync.Mutex
		var bodies []string
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			bodies = append(bodies, string(b))
			mu.Unlock()
			w.WriteHeader(200)
			_, _ = w.Write([]byte(`{"ok":true}`))
		}))
		t.Cleanup(hook.Close)
		e := newE2E(t, orgFromFile(t, "demo.yaml"))
		e.env["E2E_HOOK_URL"] = hook.URL + "/hook"
		cfg := e.fileSinkConfig("canaries: [" + demoCIKey + "]\nnotify:\n  oncall:\n    type: webhook\n    url-env: E2E_HOOK_URL\n")
		r := e.run("", "--key-id", demoCIKey, "--yes", "--config", cfg, "--output", "json")
		wantCode(t, r, 5)
		rep := decodeReport(t, r)
		if p := rep.Results[0].Plan; p == nil || p.Decision != "refuse-canary" {
			t.Errorf("plan %+v, want refuse-canary", p)
		}
		e.noMutation()
		if ids := e.keyIDs("ci-deploy"); !slices.Equal(ids, []string{demoCIKey}) {
			t.Errorf("canary touched: keys %v", ids)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(bodies) == 0 {
			t.Fatal("no alert reached the webhook")
		}
		mustContain(t, "the alert", strings.Join(bodies, "\n"), demoCIKey)
	})
}

// noMutation asserts that no call changed anything.
func (e *e2e) noMutation() {
	e.t.Helper()
	for _, q := range e.s.RequestLog() {
		if !readOnlyAction(q.Action) {
			e.t.Errorf("mutating call %s (%s)", q.Action, q.Code)
		}
	}
}

func readOnlyAction(a string) bool {
	return strings.HasPrefix(a, "List") || strings.HasPrefix(a, "Get") || strings.HasPrefix(a, "Describe") || a == "LookupEvents"
}

// A key that is already gone. Deleted by someone else while respond runs (between its plan and
// its delete): the delete counts as done and the rotation completes; a re-run then says already
// remediated.
func TestE2EAlreadyGone(t *testing.T) {
	t.Parallel()
	t.Run("during the run", func(t *testing.T) {
		t.Parallel()
		limit(t)
		e := newE2E(t, orgFromFile(t, "small.yaml"))
		cfg := e.fileSinkConfig("")
		p := e.s.PauseAt("DeleteAccessKey")
		st := e.start("--key-id", smallLeak, "--yes", "--config", cfg)
		e.waitReached(p, st)
		e.deleteKey(smallUser, smallLeak)
		p.Release()
		r := e.wait(st)
		wantCode(t, r, 0)
		e.checkRotated(smallUser, smallLeak)
		r = e.run("", "--key-id", smallLeak, "--yes", "--config", cfg)
		wantCode(t, r, 0)
		mustContain(t, "re-run", r.Stdout, "already-remediated")
	})
	// Deleted before respond ever saw it: TestE2EConsoleDeletedKey (the key is in the recycle
	// bin: purged; purged too: nobody owns it any more, exit 3).
}

func (e *e2e) deleteKey(user, id string) {
	e.t.Helper()
	req := sdkram.CreateDeleteAccessKeyRequest()
	req.UserName, req.UserAccessKeyId = user, id
	if _, err := e.ramClient().DeleteAccessKey(req); err != nil {
		e.t.Fatalf("SDK DeleteAccessKey: %v", err)
	}
}

// noMutationAfter asserts that no call respond made after the first n of the log changed
// anything (the test's own setup calls come first). It fails too when none of the calls after n
// is respond's: a User-Agent the filter does not recognise would otherwise pass every run.
func (e *e2e) noMutationAfter(n int) {
	e.t.Helper()
	log := e.s.RequestLog()
	if !slices.ContainsFunc(log[min(n, len(log)):], func(q emulator.Request) bool { return strings.Contains(q.UserAgent, "respond") }) {
		e.t.Errorf("no call after the first %d of the log carries respond's User-Agent", n)
	}
	if m := e.respondMutations(n); len(m) > 0 {
		e.t.Errorf("respond made mutating calls %v", m)
	}
}

// A re-run after success says already remediated, exits 0 and changes nothing.
func TestE2EReRun(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "small.yaml"))
	cfg := e.fileSinkConfig("")
	wantCode(t, e.run("", "--key-id", smallLeak, "--yes", "--config", cfg), 0)
	id1, _ := e.checkRotated(smallUser, smallLeak)
	r := e.run("", "--key-id", smallLeak, "--yes", "--config", cfg, "--output", "json")
	wantCode(t, r, 0)
	rep := decodeReport(t, r)
	if res := rep.Results[0].Result; res == nil || res.Outcome != "already-remediated" {
		t.Errorf("re-run result %+v, want already-remediated", res)
	}
	id2, _ := e.checkRotated(smallUser, smallLeak)
	if id1 != id2 || e.count("CreateAccessKey") != 1 || e.count("DeleteAccessKey") != 1 {
		t.Errorf("re-run changed something: %s -> %s, %d creates, %d deletes", id1, id2, e.count("CreateAccessKey"), e.count("DeleteAccessKey"))
	}
	// status lists the finished rotation with --all, nothing unfinished without.
	s := e.run("", "status")
	wantCode(t, s, 0)
	mustContain(t, "status", s.Stdout, "No unfinished rotations")
	s = e.run("", "status", "--all", "--output", "json")
	wantCode(t, s, 0)
	var st struct {
		Rotations []struct {
			KeyID      string `json:"key_id"`
			Unfinished bool   `json:"unfinished"`
		} `json:"rotations"`
	}
	if err := json.Unmarshal([]byte(s.Stdout), &st); err != nil || len(st.Rotations) != 1 || st.Rotations[0].Unfinished {
		t.Errorf("status --all: %v %+v\n%s", err, st, s.Stdout)
	}
}

// A dry-run provably changes nothing: only read actions reach the emulator.
func TestE2EDryRun(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "demo.yaml"))
	cfg := e.fileSinkConfig("")
	r := e.run("", "--key-id", demoLeak, "--dry-run", "--config", cfg)
	wantCode(t, r, 0)
	mustContain(t, "plan", r.Stdout, demoUser, "ram:DeleteAccessKey", "ram:CreateAccessKey", demoKeep, "not touched", "app-file")
	if len(e.s.RequestLog()) == 0 {
		t.Fatal("the dry-run made no call at all")
	}
	e.noMutation()
	if ids := e.keyIDs(demoUser); !slices.Equal(ids, []string{demoKeep, demoLeak}) {
		t.Errorf("keys %v changed by a dry-run", ids)
	}
	if _, err := os.Stat(filepath.Join(e.sinkDir(), demoUser+".json")); err == nil {
		t.Error("a dry-run wrote the sink")
	}
	if _, err := os.Stat(filepath.Join(e.state, "audit.jsonl")); err == nil {
		t.Error("a dry-run wrote the audit log")
	}
}

// Bad input and missing confirmation: exit 2, one line on stderr, no call that changes anything.
func TestE2EBadInput(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "small.yaml"))
	cfg := e.fileSinkConfig("")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad key id", []string{"--key-id", "not-a-key"}, "--key-id"},
		{"nothing", []string{"--yes"}, "nothing to respond to"},
		{"unknown flag", []string{"--key-id", smallLeak, "--frobnicate"}, "frobnicate"},
		{"missing from file", []string{"--from", "/nonexistent/x.json", "--yes"}, "x.json"},
		{"bad output", []string{"--key-id", smallLeak, "--yes", "--output", "yaml"}, "--output"},
		{"bad locate", []string{"--key-id", smallLeak, "--yes", "--locate", "guess"}, "guess"},
		{"bad format", []string{"--from", "-", "--format", "nope", "--yes"}, "nope"},
		{"no terminal without --yes", []string{"--key-id", smallLeak, "--config", cfg}, "--yes"},
		{"unknown playbook", []string{"--key-id", smallLeak, "--yes", "--playbook", "nope"}, "nope"},
		{"bad config", []string{"--key-id", smallLeak, "--yes", "--config", e.writeFile("bad.yaml", "sinks: [\n")}, "bad.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.run("", tc.args...)
			wantCode(t, r, 2)
			if strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 || r.Stderr == "" {
				t.Errorf("stderr is not one line:\n%s", r.Stderr)
			}
			mustContain(t, "stderr", r.Stderr, tc.want)
		})
	}
	e.noMutation()
	if ids := e.keyIDs(smallUser); !slices.Equal(ids, []string{smallLeak}) {
		t.Errorf("keys changed: %v", ids)
	}
}

// --output json carries every documented key of respond.report/v1, respond.plan/v1 and
// respond.result/v1.
func TestE2EJSONSchema(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "small.yaml"))
	cfg := e.fileSinkConfig("")
	for _, dry := range []bool{true, false} {
		args := []string{"--key-id", smallLeak, "--yes", "--config", cfg, "--output", "json"}
		if dry {
			args = append(args, "--dry-run")
		}
		r := e.run("", args...)
		wantCode(t, r, 0)
		var doc map[string]any
		dec := json.NewDecoder(strings.NewReader(r.Stdout))
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("decode: %v\n%s", err, r.Stdout)
		}
		if dec.More() {
			t.Error("more than one JSON document on stdout")
		}
		requireKeys(t, "report", doc, "schema", "dry_run", "caller", "results", "exit_code")
		results, _ := doc["results"].([]any)
		if len(results) != 1 {
			t.Fatalf("results: %v", doc["results"])
		}
		kr := results[0].(map[string]any)
		requireKeys(t, "results[0]", kr, "key_id", "kind", "playbook", "plan", "exit_code")
		plan := kr["plan"].(map[string]any)
		requireKeys(t, "plan", plan, "schema", "key_id", "playbook", "decision", "owner", "key_status", "key_created",
			"at_key_limit", "reordered", "steps", "sinks", "delete_not_disable", "secret_known", "resuming",
			"on_store_failure", "verify_timeout_ns", "verify_interval_ns", "check_leaked_secret")
		if plan["schema"] != "respond.plan/v1" {
			t.Errorf("plan schema %v", plan["schema"])
		}
		steps, _ := plan["steps"].([]any)
		if len(steps) == 0 {
			t.Errorf("plan.steps: %v, want the planned steps", plan["steps"])
		}
		for _, s := range steps {
			requireKeys(t, "plan.steps", s.(map[string]any), "step", "actions")
		}
		if dry {
			if _, ok := kr["result"]; ok {
				t.Error("a dry-run has a result")
			}
			continue
		}
		res, ok := kr["result"].(map[string]any)
		if !ok {
			t.Fatalf("no result: %v", kr)
		}
		requireKeys(t, "result", res, "schema", "run_id", "key_id", "decision", "outcome", "account_id", "user_name",
			"new_key_id", "receipts", "steps")
		if res["schema"] != "respond.result/v1" {
			t.Errorf("result schema %v", res["schema"])
		}
		for _, s := range res["steps"].([]any) {
			requireKeys(t, "result.steps", s.(map[string]any), "step", "outcome", "started", "duration_ns")
		}
		for _, rc := range res["receipts"].([]any) {
			requireKeys(t, "result.receipts", rc.(map[string]any), "sink", "kind", "where")
		}
	}
}

func requireKeys(t testing.TB, what string, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("%s: missing documented key %q (have %v)", what, k, mapKeys(m))
		}
	}
}

func mapKeys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// respond status reads the state directory the configuration names, where a run with that
// configuration (and no --state-dir) keeps its journals.
func TestE2EStatusConfigStateDir(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "small.yaml"))
	cfg := e.fileSinkConfig("state-dir: " + e.state + "\n")
	wantCode(t, e.runRaw("", "--key-id", smallLeak, "--yes", "--config", cfg, "--endpoint", e.s.Endpoint()), 0)
	r := e.runRaw("", "status", "--all", "--config", cfg)
	wantCode(t, r, 0)
	mustContain(t, "status", r.Stdout, smallLeak)
}

// respond doctor checks the state directory a run would use: the configuration's state-dir over
// the default, --state-dir over both.
func TestE2EDoctorConfigStateDir(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "small.yaml"))
	fromConfig, fromFlag := filepath.Join(e.state, "from-config"), filepath.Join(e.state, "from-flag")
	cfg := e.fileSinkConfig("state-dir: " + fromConfig + "\n")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, fromConfig},
		{[]string{"--state-dir", fromFlag}, fromFlag},
	} {
		r := e.runRaw("", append([]string{"doctor", "--config", cfg, "--endpoint", e.s.Endpoint(), "--output", "json"}, tt.args...)...)
		rep, _ := doctorFailed(t, r, false)
		if !slices.ContainsFunc(rep.Checks, func(c doctorCheck) bool { return c.Component == "state directory "+tt.want }) {
			t.Errorf("%v: no check of %s:\n%s", tt.args, tt.want, r)
		}
	}
}

// An unsafe journal of another key (a link planted in the state directory) does not stop a run of
// this key — each key's own journal is checked as it is inspected — while respond status, which
// reads every journal, still refuses the directory and names the file.
func TestE2EOtherKeysUnsafeJournal(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "small.yaml"))
	if err := os.MkdirAll(e.state, 0o700); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(e.state, "LTAI5tFAKEOTHERJOURNAL01.jsonl")
	if err := os.Symlink(filepath.Join(e.work, "victim"), other); err != nil {
		t.Fatal(err)
	}
	r := e.run("", "--key-id", smallLeak, "--yes", "--config", e.fileSinkConfig(""))
	wantCode(t, r, 0)
	mustContain(t, "run", r.Stdout, "remediated")
	s := e.run("", "status")
	wantCode(t, s, 2)
	mustContain(t, "status", s.Stdout+s.Stderr, "LTAI5tFAKEOTHERJOURNAL01.jsonl", "symbolic link")
}
