package rotate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/rotate/assess"
	"github.com/respond-dev/respond/rotate/journal"
	"github.com/respond-dev/respond/rotate/notify"
)

// fixedClock is a Clock at a fixed time (the end of the sample events' window).
type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// failNotifier always fails.
type failNotifier struct{ name string }

func (n failNotifier) Name() string { return n.name }
func (n failNotifier) Notify(ctx context.Context, m notify.Message) error {
	return errors.New("POST hooks.example.com: 503 Service Unavailable after 5 attempts")
}

func TestSettingsValidateAssessWindow(t *testing.T) {
	tests := []struct {
		w  time.Duration
		ok bool
	}{
		{0, true}, {24 * time.Hour, true}, {playbooks.MaxAssessWindow, true},
		{-time.Hour, false}, {playbooks.MaxAssessWindow + time.Hour, false},
	}
	for _, tt := range tests {
		err := Settings{AssessWindow: tt.w}.Validate()
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, playbooks.ErrAssessWindow)) {
			t.Errorf("window %s: err = %v, want ok=%v", tt.w, err, tt.ok)
		}
	}
}

func (e *env) withEvents() Deps {
	evs, _ := sampleEvents(e.finding(leakedID).KeyID)
	e.f.events = evs
	d := e.deps()
	d.Clock = fixedClock{assessEnd}
	return d
}

func TestExecuteAssessmentInPlanResultAndMessage(t *testing.T) {
	e := newEnv(t, leakedID)
	leakedSecret := e.f.secrets[leakedID]
	d := e.withEvents()
	f := e.finding(leakedID)
	s := e.s
	s.Sinks = DescribeSinks(d.Sinks)
	p := NewPlan(f, Inspect(context.Background(), f, d), s)
	if p.Assessment == nil || p.Assessment.Total != 4 || p.Assessment.Excluded != 1 || len(p.Assessment.Flagged) != 2 {
		t.Fatalf("plan assessment = %+v, warnings %v", p.Assessment, p.Warnings)
	}
	var txt bytes.Buffer
	if err := WritePlanText(&txt, p); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Impact", "185.220.101.34 (3)", "Ram:CreateUser", "last used:", "key:        Active"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("plan text lacks %q:\n%s", want, txt.String())
		}
	}
	r := Execute(context.Background(), p, d)
	if r.Outcome != journal.OutcomeRemediated || r.Assessment == nil || r.Assessment.Total != 4 || len(r.Warnings) != 0 {
		t.Fatalf("result %s %v assessment %+v warnings %v", r.Outcome, r.Err, r.Assessment, r.Warnings)
	}
	for _, a := range r.Assessment.ByAction {
		if a.Name == "Ram:ListAccessKeys" {
			t.Error("respond's own call is counted")
		}
	}
	if e.f.count["LookupEvents"] != 1 {
		t.Errorf("LookupEvents calls = %d, want 1 (the plan's read is reused)", e.f.count["LookupEvents"])
	}
	if !strings.Contains(r.Steps[1].Detail, "impact: 4 event(s)") || !strings.Contains(r.Steps[1].Detail, "2 flagged") {
		t.Errorf("assess step = %s", r.Steps[1].Detail)
	}
	rj, _ := json.Marshal(r)
	if !bytes.Contains(rj, []byte(`"assessment":{"window":"168h0m0s"`)) {
		t.Errorf("result JSON lacks the assessment: %s", rj)
	}
	if len(e.notif.msgs) != 1 {
		t.Fatalf("messages = %d", len(e.notif.msgs))
	}
	m := e.notif.msgs[0]
	if m.Outcome != journal.OutcomeRemediated || m.KeyID != leakedID || m.UserName != user || m.AccountID != "1" || len(m.Steps) != 7 { // the six steps before notify, and the hunt (skipped: no incident calls)
		t.Errorf("message = %+v", m)
	}
	if strings.Join(m.LeftForHuman, "|") != strings.Join(notify.DefaultLeftForHuman(), "|") {
		t.Errorf("left for human = %v", m.LeftForHuman)
	}
	var want bytes.Buffer
	_ = assess.WriteText(&want, *r.Assessment)
	if m.Impact != want.String() || !strings.Contains(m.Impact, "Flagged (2 events, 2 kinds)") {
		t.Errorf("impact = %q", m.Impact)
	}
	e.out = append(e.out, rj)
	e.noSecrets(leakedSecret)
	e.messagesHoldNoSecret(leakedSecret)
}

// messagesHoldNoSecret greps every message the fake notifier received, marshalled and as Go
// values, for the leaked secret and every secret the sink holds.
func (e *env) messagesHoldNoSecret(secrets ...string) {
	e.t.Helper()
	for _, s := range e.sink.got {
		secrets = append(secrets, s)
	}
	if len(secrets) < 2 {
		e.t.Fatal("no secret to look for")
	}
	for _, m := range e.notif.msgs {
		js, err := json.Marshal(m)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, text := range []string{string(js), notify.Text(m), notify.Markdown(m), m.Impact, m.Summary} {
			for _, s := range secrets {
				if s != "" && strings.Contains(text, s) {
					e.t.Errorf("a notification carries a secret: %s", text)
				}
			}
		}
	}
}

func TestExecuteAssessFailureIsAWarning(t *testing.T) {
	e := newEnv(t, leakedID)
	e.f.eventsErr = &ram.Error{Action: "LookupEvents", Code: "NoPermission", Class: ram.ErrNoPermission}
	d := e.withEvents()
	f := e.finding(leakedID)
	s := e.s
	s.Sinks = DescribeSinks(d.Sinks)
	p := NewPlan(f, Inspect(context.Background(), f, d), s)
	if p.Decision != DecisionRotate || p.Assessment != nil || len(p.Warnings) != 1 || !strings.HasPrefix(p.Warnings[0], AssessWarningPrefix) {
		t.Fatalf("plan %s assessment %v warnings %v", p.Decision, p.Assessment, p.Warnings)
	}
	r := Execute(context.Background(), p, d)
	if r.Outcome != journal.OutcomeRemediated || r.Err != nil {
		t.Fatalf("an assessment failure must not be fatal: %s %v", r.Outcome, r.Err)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "NoPermission") || r.Assessment != nil {
		t.Errorf("warnings %v assessment %v", r.Warnings, r.Assessment)
	}
	if r.Steps[1].Step != playbooks.StepAssess || r.Steps[1].Outcome != journal.OutcomeDone || !strings.Contains(r.Steps[1].Detail, "impact unknown") {
		t.Errorf("assess step = %+v", r.Steps[1])
	}
	if m := e.notif.msgs[0]; !strings.Contains(m.Impact, "Unknown") {
		t.Errorf("impact = %q", m.Impact)
	}
}

func TestExecuteRereadsAShortWindow(t *testing.T) {
	e := newEnv(t, leakedID)
	d := e.withEvents()
	d.AssessWindow = 24 * time.Hour // Inspect reads one day only
	f := e.finding(leakedID)
	s := e.s
	s.Sinks = DescribeSinks(d.Sinks)
	p := NewPlan(f, Inspect(context.Background(), f, d), s)
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "read over 24h0m0s only") {
		t.Fatalf("plan warnings = %v", p.Warnings)
	}
	if p.Assessment.Total != 1 {
		t.Errorf("one day holds one event, got %d", p.Assessment.Total)
	}
	r := Execute(context.Background(), p, d)
	if r.Outcome != journal.OutcomeRemediated || len(r.Warnings) != 0 || r.Assessment.Total != 4 || e.f.count["LookupEvents"] != 2 {
		t.Errorf("%s warnings %v total %d lookups %d", r.Outcome, r.Warnings, r.Assessment.Total, e.f.count["LookupEvents"])
	}
}

func TestNotifierFailureIsRecordedNotFatal(t *testing.T) {
	e := newEnv(t, leakedID)
	d := e.withEvents()
	d.Notifiers = append(d.Notifiers, failNotifier{name: "ops-dingtalk"})
	r := e.runWith(context.Background(), leakedID, d)
	if r.Outcome != journal.OutcomeRemediated || r.Err != nil {
		t.Fatalf("a notification failure changed the outcome: %s %v", r.Outcome, r.Err)
	}
	last := r.Steps[len(r.Steps)-1]
	if last.Step != playbooks.StepNotify || last.Outcome != journal.OutcomeFailed || !strings.Contains(last.Detail, "ops-dingtalk") || !strings.Contains(last.Detail, "sent to mem") {
		t.Errorf("notify step = %+v", last)
	}
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "ops-dingtalk") {
		t.Errorf("warnings = %v", r.Warnings)
	}
	if len(e.notif.msgs) != 1 {
		t.Errorf("the working channel got %d messages", len(e.notif.msgs))
	}
	jb, _ := os.ReadFile(filepath.Join(e.dir, leakedID+".jsonl"))
	ab, _ := os.ReadFile(filepath.Join(e.dir, journal.AuditFile))
	for name, b := range map[string][]byte{"journal": jb, "audit": ab} {
		if !bytes.Contains(b, []byte("notification channel ops-dingtalk failed")) {
			t.Errorf("the %s does not record the failed channel:\n%s", name, b)
		}
	}
	if !bytes.Contains(jb, []byte(`"action":"notify:mem"`)) {
		t.Errorf("the journal does not record the sent notification:\n%s", jb)
	}
	// the journal still says done: a re-run is already remediated
	if r2 := e.runWith(context.Background(), leakedID, d); r2.Outcome != journal.OutcomeAlreadyRemediated {
		t.Errorf("re-run: %s %v", r2.Outcome, r2.Err)
	}
}

func TestCanaryAlertMessage(t *testing.T) {
	const canary = "LTAI5tCANARY000000000001"
	e := newEnv(t, canary)
	evs, _ := sampleEvents(e.finding(canary).KeyID)
	for i := range evs {
		evs[i].AccessKeyID = canary
	}
	e.f.events = evs
	d := e.deps()
	d.Clock = fixedClock{assessEnd}
	r := e.runWith(context.Background(), canary, d)
	var re *RefusedError
	if r.Outcome != journal.OutcomeRefused || !errors.As(r.Err, &re) || re.Decision != DecisionRefuseCanary {
		t.Fatalf("%s %v", r.Outcome, r.Err)
	}
	if len(e.notif.msgs) != 1 {
		t.Fatalf("messages = %+v", e.notif.msgs)
	}
	m := e.notif.msgs[0]
	if !m.Canary || m.Outcome != "canary" || !strings.Contains(m.Impact, "185.220.101.34") || len(m.LeftForHuman) != 1 {
		t.Errorf("canary message = %+v", m)
	}
	if r.Assessment == nil || r.Assessment.Total != 4 {
		t.Errorf("result assessment = %+v", r.Assessment)
	}
	if len(e.mutations()) != 0 {
		t.Errorf("a canary was touched: %v", e.mutations())
	}
	e.messagesHoldNoSecret(e.f.secrets[canary], "NEWSECRET")

	// no notifier: the refusal stands and the missing alert is a warning
	d.Notifiers = nil
	r = e.runWith(context.Background(), canary, d)
	if r.Outcome != journal.OutcomeRefused || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "canary alert was not sent") {
		t.Errorf("%s warnings %v", r.Outcome, r.Warnings)
	}
}

func TestVerifyAfterResumeSaysSecretNotInMemory(t *testing.T) {
	e := newEnv(t, leakedID)
	e.f.hook = func(a string) {
		if a == "DeleteAccessKey "+leakedID {
			runtime.Goexit() // killed after the replacement was stored, before the delete
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.run(context.Background(), leakedID)
	}()
	<-done
	e.f.hook = nil
	r := e.run(context.Background(), leakedID)
	if r.Outcome != journal.OutcomeRemediated {
		t.Fatalf("resume: %s %v", r.Outcome, r.Err)
	}
	e.converged()
	var verify StepResult
	for _, s := range r.Steps {
		if s.Step == playbooks.StepVerify {
			verify = s
		}
	}
	for _, want := range []string{"NOT checked", "no longer in memory", "never reads it back", "ci-env"} {
		if !strings.Contains(verify.Detail, want) {
			t.Errorf("verify detail lacks %q: %s", want, verify.Detail)
		}
	}
}
