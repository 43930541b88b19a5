package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	sdkram "github.com/aliyun/alibaba-cloud-sdk-go/services/ram"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sas"

	"github.com/respond-dev/respond/ram/emulator/emulatortest"
)

// The demo's Security Center records (ram/emulator/demo.yaml): 389357 for the leaked key, whose
// snippet (Code) holds its secret, and 389358 for a root key.
const (
	demoLeakRecord   = 389357
	demoRootRecord   = 389358
	demoLeakedSecret = "FakeBillingLeakedSecret0000001"
)

// serveSandbox starts `respond sandbox serve` (extra flags appended) and points e's respond at it
// through the three lines it prints; it returns the process and the lines.
func serveSandbox(t *testing.T, e *e2e, extra ...string) (*exec.Cmd, map[string]string) {
	t.Helper()
	srv := exec.Command(respondBin, append([]string{"sandbox", "serve", "--listen", "127.0.0.1:0"}, extra...)...)
	srv.Env = e.environ()
	stdout, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var srvErr strings.Builder
	srv.Stderr = &srvErr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	vars := map[string]string{}
	sc := bufio.NewScanner(stdout)
	for len(vars) < 3 && sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			t.Fatalf("unexpected line %q", sc.Text())
		}
		vars[k] = v
	}
	for _, k := range []string{"ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "RESPOND_ENDPOINT"} {
		if vars[k] == "" {
			t.Fatalf("sandbox serve did not print %s: %v (stderr %s)", k, vars, srvErr.String())
		}
		e.env[k] = vars[k]
	}
	return srv, vars
}

// leakRecord is a record as the SDK's own sas client reads it: its list entry and its detail's
// remark.
type leakRecord struct {
	sas.AccessKeyLeak
	Remark string
}

// leakRecords lists every record of the signing account through the SDK's typed sas client.
func leakRecords(t *testing.T, c *sas.Client) map[int64]leakRecord {
	t.Helper()
	req := sas.CreateDescribeAccesskeyLeakListRequest()
	req.CurrentPage, req.PageSize = "1", "100"
	resp, err := c.DescribeAccesskeyLeakList(req)
	if err != nil {
		t.Fatalf("SDK DescribeAccesskeyLeakList: %v", err)
	}
	out := map[int64]leakRecord{}
	for _, l := range resp.AccessKeyLeakList {
		dreq := sas.CreateDescribeAccessKeyLeakDetailRequest()
		dreq.Id = requests.NewInteger64(l.Id)
		d, err := c.DescribeAccessKeyLeakDetail(dreq)
		if err != nil {
			t.Fatalf("SDK DescribeAccessKeyLeakDetail %d: %v", l.Id, err)
		}
		out[l.Id] = leakRecord{AccessKeyLeak: l, Remark: d.Remark}
	}
	return out
}

// scReport is the part of respond's JSON report the Security Center tests read.
type scReport struct {
	ExitCode int `json:"exit_code"`
	Results  []struct {
		KeyID          string   `json:"key_id"`
		Playbook       string   `json:"playbook"`
		PlaybookReason string   `json:"playbook_reason"`
		Notes          []string `json:"notes"`
		ExitCode       int      `json:"exit_code"`
		Plan           *struct {
			Decision string `json:"decision"`
			Steps    []struct {
				Step    string   `json:"step"`
				Actions []string `json:"actions"`
			} `json:"steps"`
		} `json:"plan"`
		Result *struct {
			Outcome  string `json:"outcome"`
			NewKeyID string `json:"new_key_id"`
			RunID    string `json:"run_id"`
			Alerts   []struct {
				Alert     string `json:"alert"`
				Outcome   string `json:"outcome"`
				RequestID string `json:"request_id"`
			} `json:"alerts"`
		} `json:"result"`
	} `json:"results"`
	SecurityCenter *struct {
		Records     int `json:"records"`
		LeftPending []struct {
			Record struct {
				ID int64 `json:"id"`
			} `json:"record"`
			Reason string `json:"reason"`
		} `json:"left_pending"`
	} `json:"security_center"`
}

func decodeSC(t *testing.T, r runResult) scReport {
	t.Helper()
	var rep scReport
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("stdout is not a JSON report: %v\n%s", err, r)
	}
	if rep.ExitCode != r.Code {
		t.Errorf("report exit_code %d, process exit %d", rep.ExitCode, r.Code)
	}
	return rep
}

func (rep scReport) key(id string) int {
	for i, kr := range rep.Results {
		if kr.KeyID == id {
			return i
		}
	}
	return -1
}

// Issue 15's done-means, through the real binary against `respond sandbox serve`: --dry-run
// shows the marks it would make and changes nothing; the run remediates the leaked key with
// contain-first, marks its record dealed (read back through the SDK's typed sas client), refuses
// the root-key record and leaves it pending (exit 5); respond status lists it; a second run finds
// nothing to do (exit 0).
func TestE2ESecurityCenterServe(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "small.yaml")) // for the home and state directories only
	_, vars := serveSandbox(t, e)
	cred := credentials.NewStaticAKCredentialsProvider(vars["ALIBABA_CLOUD_ACCESS_KEY_ID"], vars["ALIBABA_CLOUD_ACCESS_KEY_SECRET"])
	sc, err := sas.NewClientWithOptions("cn-hangzhou", sdk.NewConfig().WithScheme("HTTP"), cred)
	if err != nil {
		t.Fatal(err)
	}
	sc.Domain = vars["RESPOND_ENDPOINT"]
	rc, err := sdkram.NewClientWithOptions("cn-hangzhou", sdk.NewConfig().WithScheme("HTTP"), cred)
	if err != nil {
		t.Fatal(err)
	}
	rc.Domain = vars["RESPOND_ENDPOINT"]
	cfg := e.fileSinkConfig("")
	run := func(args ...string) runResult {
		return e.runRaw("", append(args, "--config", cfg, "--state-dir", e.state)...)
	}

	// --dry-run: the plan shows the marks as calls it would make; nothing changes.
	r := run("--from", "security-center", "--dry-run", "--output", "json")
	wantCode(t, r, 0)
	rep := decodeSC(t, r)
	i, j := rep.key(demoLeak), rep.key(demoRoot)
	if len(rep.Results) != 2 || i < 0 || j < 0 || rep.SecurityCenter == nil || rep.SecurityCenter.Records != 2 {
		t.Fatalf("dry run: %s", r)
	}
	if p := rep.Results[i]; p.Playbook != "contain-first" || !strings.Contains(p.PlaybookReason, "built-in rule") || p.Plan == nil || p.Result != nil {
		t.Errorf("dry run, leaked key: %+v", p)
	} else {
		var closeActions []string
		for _, s := range p.Plan.Steps {
			if s.Step == "close" {
				closeActions = s.Actions
			}
		}
		if len(closeActions) != 1 || !strings.Contains(closeActions[0], "ModifyAccessKeyLeakDeal Id=389357 Type=manual") {
			t.Errorf("dry run: close step %v", closeActions)
		}
	}
	if p := rep.Results[j]; p.Plan == nil || p.Plan.Decision != "refuse-root" {
		t.Errorf("dry run, root key: %+v", p)
	}
	recs := leakRecords(t, sc)
	if recs[demoLeakRecord].Status != "pending" || recs[demoRootRecord].Status != "pending" {
		t.Fatalf("the dry run changed a record: %+v", recs)
	}
	if ids := listKeys(t, rc, demoUser); !slices.Contains(ids, demoLeak) || len(ids) != 2 {
		t.Fatalf("the dry run changed the keys: %v", ids)
	}
	if _, err := os.Stat(filepath.Join(e.state, "security-center-poll.json")); !os.IsNotExist(err) {
		t.Errorf("the dry run remembered the poll: %v", err)
	}

	// The run: the leaked key remediated and its record dealed; the root record refused and
	// left pending; exit 5.
	r = run("--from", "security-center", "--yes", "--output", "json")
	wantCode(t, r, 5)
	rep = decodeSC(t, r)
	i, j = rep.key(demoLeak), rep.key(demoRoot)
	if i < 0 || j < 0 {
		t.Fatalf("run: %s", r)
	}
	res := rep.Results[i].Result
	if res == nil || res.Outcome != "remediated" || rep.Results[i].ExitCode != 0 || len(res.Alerts) != 1 || res.Alerts[0].Outcome != "closed" || res.Alerts[0].RequestID == "" {
		t.Fatalf("run, leaked key: %+v", rep.Results[i])
	}
	if rr := rep.Results[j]; rr.ExitCode != 5 || rr.Result == nil || rr.Result.Outcome != "refused" || len(rr.Result.Alerts) != 0 {
		t.Errorf("run, root key: %+v", rr)
	}
	if lp := rep.SecurityCenter.LeftPending; len(lp) != 1 || lp[0].Record.ID != demoRootRecord || !strings.Contains(lp[0].Reason, "root-account key") {
		t.Errorf("left pending: %+v", rep.SecurityCenter.LeftPending)
	}
	recs = leakRecords(t, sc)
	if l := recs[demoLeakRecord]; l.Status != "dealed" || l.DealType != "manual" || !strings.Contains(l.Remark, "respond run "+res.RunID) || !strings.Contains(l.Remark, "replacement "+res.NewKeyID+" stored") {
		t.Errorf("record %d through the SDK: %+v", demoLeakRecord, l)
	}
	if l := recs[demoRootRecord]; l.Status != "pending" {
		t.Errorf("the root record was touched: %+v", l)
	}
	ids := listKeys(t, rc, demoUser)
	newID, newSecret := e.sinkCredential(demoUser)
	if slices.Contains(ids, demoLeak) || !slices.Contains(ids, demoKeep) || !slices.Contains(ids, newID) || newID != res.NewKeyID || newSecret == "" {
		t.Errorf("keys %v, sink %s, result %s", ids, newID, res.NewKeyID)
	}

	// respond status lists the record left pending, and why.
	r = run("status")
	wantCode(t, r, 0)
	mustContain(t, "status", r.Stdout, "Security Center records respond left pending (1)", "record 389358", demoRoot, "root-account key")
	// the command that takes it up again reads the same state directory and configuration
	mustContain(t, "status", r.Stdout, "take them up again with: respond --from security-center --state-dir "+e.state+" --config "+cfg+" --endpoint ")
	r = run("status", "--output", "json")
	wantCode(t, r, 0)
	var st struct {
		Pending []struct {
			Record struct {
				ID int64 `json:"id"`
			} `json:"record"`
		} `json:"security_center_pending"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &st); err != nil || len(st.Pending) != 1 || st.Pending[0].Record.ID != demoRootRecord {
		t.Errorf("status JSON: %v %s", err, r.Stdout)
	}

	// The second poll reads from the first one's start (less an hour): nothing to do.
	r = run("--from", "security-center", "--yes", "--output", "json")
	wantCode(t, r, 0)
	if rep = decodeSC(t, r); len(rep.Results) != 0 {
		t.Errorf("second run: %s", r)
	}
	r = run("--from", "security-center", "--yes")
	wantCode(t, r, 0)
	mustContain(t, "text", r.Stdout, "nothing to do", "Security Center: 0 pending record(s) read (records found since")
	// A wider window takes the root record up again, and refuses it again.
	r = run("scan", "security-center", "--since", "720h")
	wantCode(t, r, 0)
	mustContain(t, "scan", r.Stdout, demoRoot)
	if strings.Contains(r.Stdout, demoLeak) {
		t.Errorf("scan lists the closed record's key:\n%s", r.Stdout)
	}
}

// --dry-run makes no write call (the emulator's request log), and the secret that Security
// Center's snippet holds, like the new secret, appears in no byte respond writes but the sink's
// (the byte-grep test, for this source).
func TestE2ESecurityCenterNoWriteNoSecret(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "demo.yaml"))
	cfg := e.fileSinkConfig("")
	written := map[string][]byte{}
	collect := func(name string, r runResult) {
		written["stdout of "+name] = []byte(r.Stdout)
		written["stderr of "+name] = []byte(r.Stderr)
	}
	for _, args := range [][]string{
		{"--from", "security-center", "--dry-run"},
		{"--from", "security-center", "--dry-run", "--output", "json"},
		{"scan", "security-center"},
		{"scan", "security-center", "--output", "json"},
	} {
		r := e.run("", append(args, "--config", cfg)...)
		wantCode(t, r, 0)
		collect(strings.Join(args, " "), r)
	}
	e.noMutation()
	if n := e.count("DescribeAccessKeyLeakDetail"); n == 0 {
		t.Fatal("the records' details were never read: the secret was never there to leak")
	}
	for _, args := range [][]string{
		{"--from", "security-center", "--yes"},
		{"--from", "security-center", "--yes", "--output", "json", "--since", "720h"},
		{"status", "--all"},
		{"status", "--output", "json"},
	} {
		r := e.run("", append(args, "--config", cfg)...)
		if r.Code != 0 && r.Code != 5 {
			t.Fatalf("%v: %s", args, r)
		}
		collect(strings.Join(args, " "), r)
	}
	if n := e.count("ModifyAccessKeyLeakDeal"); n != 1 {
		t.Errorf("ModifyAccessKeyLeakDeal calls %d, want 1 (the second run found the record dealed)", n)
	}
	c := emulatortest.SAS(t, e.s, emulatortest.AK(e.admin))
	if recs := leakRecords(t, c); recs[demoLeakRecord].Status != "dealed" || recs[demoRootRecord].Status != "pending" {
		t.Errorf("records %+v", recs)
	}
	for p, b := range readTree(t, e.state) {
		written[p] = b
	}
	for p, b := range readTree(t, e.home) {
		written[p] = b
	}
	for p, b := range readTree(t, e.sinkDir()) {
		written[p] = b
	}
	if _, ok := written[filepath.Join(e.state, "security-center-pending.json")]; !ok {
		t.Fatalf("the records left pending were not collected: %v", keysOf(written))
	}
	_, newSecret := e.sinkCredential(demoUser)
	assertSecretsOnlyInSinks(t, written, map[string]bool{filepath.Join(e.sinkDir(), demoUser+".json"): true},
		map[string]string{"leaked secret from the record's Code": demoLeakedSecret, "new secret": newSecret})
}

// An account whose records cannot be read makes the poll partial: the others' records are
// handled, the run exits 4 (run it again), and the poll is not remembered, so that the next one
// reads the same window.
func TestE2ESecurityCenterAccountNotRead(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "demo.yaml"))
	if err := mkdir(e.sinkDir()); err != nil {
		t.Fatal(err)
	}
	cfg := e.writeFile("config.yaml", `accounts:
  - name: home
    credentials: {source: env}
  - name: ghost
    id: "1999000000000009"
    credentials:
      source: role-arn
      role-arn: acs:ram::1999000000000009:role/respond
sinks:
  app-file:
    type: file
    path: `+e.sinkDir()+`/{{.UserName}}.json
`)
	r := e.run("", "--from", "security-center", "--yes", "--output", "json", "--config", cfg)
	wantCode(t, r, 4)
	var rep struct {
		ExitCode       int `json:"exit_code"`
		SecurityCenter struct {
			Records         int      `json:"records"`
			AccountsNotRead []string `json:"accounts_not_read"`
		} `json:"security_center"`
		Warnings []string `json:"warnings"`
		Results  []struct {
			KeyID    string `json:"key_id"`
			ExitCode int    `json:"exit_code"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("%v\n%s", err, r)
	}
	if rep.ExitCode != 4 || rep.SecurityCenter.Records != 2 || !slices.Equal(rep.SecurityCenter.AccountsNotRead, []string{"1999000000000009"}) ||
		!slices.ContainsFunc(rep.Warnings, func(w string) bool { return strings.Contains(w, "1999000000000009") }) || len(rep.Results) != 2 {
		t.Errorf("report %+v", rep)
	}
	if _, err := os.Stat(filepath.Join(e.state, "security-center-poll.json")); !os.IsNotExist(err) {
		t.Errorf("a partial poll was remembered: %v", err)
	}
	if _, err := os.Stat(filepath.Join(e.state, "security-center-pending.json")); err != nil {
		t.Errorf("the root record left pending was not remembered: %v", err)
	}
	if n := e.count("ModifyAccessKeyLeakDeal"); n != 1 {
		t.Errorf("ModifyAccessKeyLeakDeal calls %d, want 1", n)
	}
}
