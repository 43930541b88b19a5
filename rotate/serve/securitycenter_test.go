package serve

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/sas"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
	"github.com/respond-dev/respond/ram/emulator/emulatortest"
	"github.com/respond-dev/respond/rotate"
	"github.com/respond-dev/respond/rotate/source"
)

// The demo organisation's Security Center records (emulator demo.yaml), and a canary's.
const (
	demoMgmt      = "1000000000000001"
	billingKey    = "LTAI5tFAKEBILLING0LEAK01"
	billingRecord = 389357
	rootRecord    = 389358
	canaryKey     = "LTAI5tFAKECANARY00000001" // a canary in newEnv's configuration
	canaryRecord  = 389500
)

// A Security Center poll in serve keeps the records left pending as the CLI does (respond status
// lists them): the root key's record is left pending at poll time with the CLI's reason; the
// billing-app leak is remediated and its record closed, which takes it off the list an earlier
// run had left it on; a canary's record is refused by the engine and left pending, with why.
func TestSecurityCenter_recordsLeftPendingAsFindingsEnd(t *testing.T) {
	e := newEnv(t)
	e.emu.AddLeaks(demoMgmt, emulator.Leak{ID: canaryRecord, AccessKeyID: canaryKey, Ago: time.Hour,
		URL: "https://github.com/acme-example/traps/blob/" + strings.Repeat("c", 40) + "/.env"})
	s := e.server(Options{SecurityCenter: sessionSC{sess: e.batch.Session.(*rotate.Session), stateDir: e.state, now: time.Now}})
	earlier := time.Now().Add(-48 * time.Hour)
	if _, err := source.UpdatePending(context.Background(), e.state, []source.Pending{{Record: source.Record{AccountID: demoMgmt, ID: billingRecord, KeyID: accesskey.MustParseID(billingKey)},
		Reason: "left by an earlier run"}}, nil, earlier); err != nil {
		t.Fatal(err)
	}
	s.pollOnce(context.Background())
	// The root key's record is on the list once the poll has read it, before any worker runs.
	if left := loadPending(t, e.state); left[demoMgmt+"/"+strconv.Itoa(rootRecord)].Reason != rotate.RootRecordReason {
		t.Errorf("the root key's record is not left pending by the poll: %+v", left)
	}
	if s.Pending() != 2 {
		t.Fatalf("%d findings accepted, want 2 (billing-app's and the canary's; not the root key's)", s.Pending())
	}
	start(t, s)
	waitIdle(t, s)
	left := loadPending(t, e.state)
	if len(left) != 2 {
		t.Errorf("records left pending: %+v", left)
	}
	if _, ok := left[demoMgmt+"/"+strconv.Itoa(billingRecord)]; ok {
		t.Errorf("the closed billing-app record is still listed as pending: %+v", left)
	}
	root := left[demoMgmt+"/"+strconv.Itoa(rootRecord)]
	if root.Reason != rotate.RootRecordReason || root.RunID != "" || root.Record.KeyID.String() != "LTAI5tFAKEROOTACME000001" || root.Since.IsZero() {
		t.Errorf("root key's record: %+v", root)
	}
	canary := left[demoMgmt+"/"+strconv.Itoa(canaryRecord)]
	if !strings.Contains(canary.Reason, "not remediated (refused)") || !strings.Contains(canary.Reason, "canary") || canary.Record.KeyID.String() != canaryKey {
		t.Errorf("canary's record: %+v", canary)
	}
	// The cloud agrees, through the SDK's sas client.
	status := e.sasStatus()
	if status[billingRecord] != "dealed" || status[rootRecord] != "pending" || status[canaryRecord] != "pending" {
		t.Errorf("Security Center records: %v", status)
	}
	// respond status reads the same list.
	st, err := rotate.ReadStatus(e.state, false)
	if err != nil || len(st.SecurityCenterPending) != 2 {
		t.Errorf("respond status: %+v %v", st.SecurityCenterPending, err)
	}
	// A second poll (every record read again) does not forget the root key's record, nor when it
	// was first left.
	s.pollOnce(context.Background())
	waitIdle(t, s)
	if again := loadPending(t, e.state)[demoMgmt+"/"+strconv.Itoa(rootRecord)]; !again.Since.Equal(root.Since) {
		t.Errorf("the root key's record after a second poll: %+v (first: %+v)", again, root)
	}
}

// Workers ending findings at once update the list one at a time: none is lost; an entry that
// ended without the engine (given up) leaves its records pending with its error and run.
func TestSecurityCenter_pendingUpdatesConcurrently(t *testing.T) {
	s, err := New(Options{StateDir: t.TempDir(), Runner: nopRunner{}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			e := &Entry{ID: fmt.Sprintf("sc-%d", i), Source: source.SecurityCenterName, KeyID: billingKey, RunID: fmt.Sprintf("run-%d", i),
				Records: []source.Record{{AccountID: demoMgmt, ID: int64(1000 + i), KeyID: accesskey.MustParseID(billingKey)}},
				Outcome: OutcomeGaveUp, Error: "gave up after 8 attempts: close: boom; resume by hand with: respond --key-id " + billingKey + " --yes"}
			s.recordsEnded(e, nil)
		})
	}
	wg.Wait()
	left := loadPending(t, s.opts.StateDir)
	if len(left) != n {
		t.Fatalf("%d records left pending, want %d", len(left), n)
	}
	p := left[demoMgmt+"/1007"]
	if p.RunID != "run-7" || !strings.Contains(p.Reason, "(gave-up): gave up after 8 attempts") || !strings.Contains(p.Reason, "respond --key-id") {
		t.Errorf("record left pending: %+v", p)
	}
	// An entry without records leaves the list alone.
	s.recordsEnded(&Entry{ID: "x", Outcome: OutcomeGaveUp, Error: accesskey.Printable("no records")}, nil)
	if len(loadPending(t, s.opts.StateDir)) != n {
		t.Error("an entry without records changed the list")
	}
}

// loadPending reads the list of records left pending by account/id.
func loadPending(t *testing.T, dir string) map[string]source.Pending {
	t.Helper()
	ps, err := source.LoadPending(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]source.Pending{}
	for _, p := range ps {
		out[p.Record.AccountID+"/"+strconv.FormatInt(p.Record.ID, 10)] = p
	}
	return out
}

// waitIdle waits until every accepted finding has ended.
func waitIdle(t *testing.T, s *Server) {
	t.Helper()
	for i := 0; s.Pending() > 0; i++ {
		if i > 3000 {
			t.Fatalf("%d findings still pending", s.Pending())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sasStatus reads the management account's records' status through the SDK's sas client.
func (e *env) sasStatus() map[int64]string {
	e.t.Helper()
	c := emulatortest.SAS(e.t, e.emu, emulatortest.AK(e.org.Admin()))
	req := sas.CreateDescribeAccesskeyLeakListRequest()
	req.PageSize = "100"
	resp, err := c.DescribeAccesskeyLeakList(req)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[int64]string{}
	for _, l := range resp.AccessKeyLeakList {
		out[l.Id] = l.Status
	}
	return out
}

// scPolls answers each poll with the next findings, and counts the polls remembered (Done).
type scPolls struct {
	polls [][]source.Finding
	done  int
}

func (p *scPolls) Poll(context.Context) (Polled, error) {
	fs := p.polls[0]
	p.polls = p.polls[1:]
	return Polled{Findings: fs, Done: func() error { p.done++; return nil }}, nil
}

// A poll that finds a new record of a key whose finding is still queued is not remembered as a
// success: the record is not in that finding (nor closed by its close step), so the next poll
// must read it again, as the CLI's next poll does when a rotation of its did not end (Finish). A
// poll that finds only records the queued finding carries is remembered.
func TestSecurityCenter_newRecordOfAQueuedKey(t *testing.T) {
	s, err := New(Options{StateDir: t.TempDir(), Runner: nopRunner{}})
	if err != nil {
		t.Fatal(err)
	}
	key := accesskey.MustParseID(billingKey)
	rec := func(id int64) source.Record { return source.Record{AccountID: demoMgmt, ID: id, KeyID: key} }
	finding := func(recs ...source.Record) source.Finding {
		return source.Finding{Finding: detect.Finding{KeyID: key, Kind: detect.KindAccessKey, Evidence: detect.EvidenceSource,
			Source: source.SecurityCenterName}, Records: recs}
	}
	p := &scPolls{polls: [][]source.Finding{{finding(rec(1))}, {finding(rec(1))}, {finding(rec(1), rec(2))}}}
	s.opts.SecurityCenter = p
	s.pollOnce(context.Background())
	if s.Pending() != 1 || p.done != 1 {
		t.Fatalf("first poll: %d pending, %d remembered", s.Pending(), p.done)
	}
	s.pollOnce(context.Background()) // the same record: the queued finding has it
	if s.Pending() != 1 || p.done != 2 {
		t.Fatalf("second poll: %d pending, %d remembered", s.Pending(), p.done)
	}
	s.pollOnce(context.Background()) // a new record of the queued key
	if s.Pending() != 1 || p.done != 2 {
		t.Errorf("a poll with a new record of a queued key: %d pending, remembered %d times, want 1 and 2", s.Pending(), p.done)
	}
}

// An entry given up on names the command that resumes its rotation: the batches' own (with the
// state directory and the configuration a bare respond --key-id would miss), as the engine's
// partial result and respond status name it.
func TestGaveUpNamesTheResumeCommand(t *testing.T) {
	const cmd = "respond --key-id %s --yes --state-dir /var/lib/respond --config /etc/respond/config.yaml"
	s, err := New(Options{StateDir: t.TempDir(), Runner: nopRunner{}, MaxAttempts: 1, ResumeCommand: cmd})
	if err != nil {
		t.Fatal(err)
	}
	e := &Entry{ID: "f-1", Source: SourceFindings, KeyID: billingKey, Error: "boom"}
	s.retry(e, "batch")
	if want := "resume by hand with: respond --key-id " + billingKey + " --yes --state-dir /var/lib/respond --config /etc/respond/config.yaml"; e.Outcome != OutcomeGaveUp || !strings.HasSuffix(e.Error, want) {
		t.Errorf("given up: %s %q, want it to end with %q", e.Outcome, e.Error, want)
	}
	var o Options
	o.Attach(nil, func() *rotate.Batch { return &rotate.Batch{ResumeCommand: cmd} }, time.Now)
	if o.ResumeCommand != cmd {
		t.Errorf("Attach: resume command %q, want the batch's", o.ResumeCommand)
	}
}
