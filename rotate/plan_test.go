package rotate

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/hunt"
	"github.com/respond-dev/respond/rotate/journal"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/rotate")

const (
	leakedID = "LTAI5tMYCr1pxcx4vz2o7riE"
	otherID  = "LTAI5tOTHERKEY0000000001"
	selfID   = "LTAI5tRESPONDSELF0000001"
)

func planInputs() (detect.Finding, Snapshot, Settings) {
	created := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	f := detect.Finding{KeyID: accesskey.MustParseID(leakedID), Secret: accesskey.NewSecret("vtAZaFH4CqJcqFj5oyyuRobivPNK8p"),
		Locations: []detect.Location{{Source: "gitleaks", File: "deploy/ci.env", Line: 3, Commit: "1a2b3c4"}}}
	snap := Snapshot{
		Owner: ram.Owner{KeyID: f.KeyID, Account: ram.Account{ID: "1234567890123456", Name: "prod"}, UserName: "ci-deploy",
			Strategy: ram.StrategyIMS, Key: ram.AccessKey{ID: f.KeyID, Status: ram.StatusActive, CreateDate: created}},
		Keys:     []ram.AccessKey{{ID: f.KeyID, Status: ram.StatusActive, CreateDate: created}},
		LastUsed: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC),
		Found:    true,
	}
	snap.Events, snap.EventQuery = sampleEvents(f.KeyID)
	s := Settings{Playbook: "default", CheckLeakedSecret: true, Self: accesskey.MustParseID(selfID),
		Canaries: []accesskey.ID{accesskey.MustParseID("LTAI5tCANARY000000000001")},
		Sinks:    []PlannedSink{{Name: "ci-env", Kind: "file", Describe: "dotenv file /srv/ci/.env (mode 0600)"}}}
	return f, snap, s
}

// assessEnd is the end of the sample assessment window.
var assessEnd = time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)

// sampleEvents is a small ActionTrail history of id: an attacker's reconnaissance and a failed
// CreateUser from one address, the application's own use from another, and a call made by
// respond itself (excluded from the summary).
func sampleEvents(id accesskey.ID) ([]ram.Event, ram.EventQuery) {
	at := func(h int) time.Time { return assessEnd.Add(-time.Duration(h) * time.Hour) }
	k := id.String()
	evs := []ram.Event{
		{ID: "e1", Name: "GetCallerIdentity", Service: "Sts", Time: at(50), SourceIP: "185.220.101.34", UserAgent: "aliyun-cli/3.0.200", AccessKeyID: k},
		{ID: "e2", Name: "DescribeInstances", Service: "Ecs", Time: at(40), SourceIP: "185.220.101.34", UserAgent: "python-requests/2.31.0", AccessKeyID: k},
		{ID: "e3", Name: "CreateUser", Service: "Ram", Time: at(30), SourceIP: "185.220.101.34", UserAgent: "aliyun-cli/3.0.200", AccessKeyID: k, ErrorCode: "NoPermission"},
		{ID: "e4", Name: "PutObject", Service: "Oss", Time: at(3), SourceIP: "10.0.3.17", UserAgent: "ci-deploy/1.0", AccessKeyID: k},
		{ID: "e5", Name: "ListAccessKeys", Service: "Ram", Time: at(1), SourceIP: "10.0.0.9", UserAgent: "AlibabaCloud (linux; amd64) respond/0.1.0", AccessKeyID: k},
	}
	return evs, ram.EventQuery{AccessKeyID: id, Start: assessEnd.Add(-7 * 24 * time.Hour), End: assessEnd}
}

func TestPlanGolden(t *testing.T) {
	atLimit := func(f *detect.Finding, s *Snapshot, st *Settings) {
		s.Keys = append(s.Keys, ram.AccessKey{ID: accesskey.MustParseID(otherID), Status: ram.StatusInactive})
	}
	tests := []struct {
		name     string
		mod      func(*detect.Finding, *Snapshot, *Settings)
		decision Decision
	}{
		{"rotate", func(*detect.Finding, *Snapshot, *Settings) {}, DecisionRotate},
		{"at-limit", atLimit, DecisionRotate},
		{"contain-first", func(f *detect.Finding, s *Snapshot, st *Settings) {
			st.Steps = builtinSteps("contain-first")
			st.Playbook = "contain-first"
		}, DecisionRotate},
		{"hold-id-only", func(f *detect.Finding, s *Snapshot, st *Settings) {
			f.Secret = accesskey.Secret{}
			st.OnStoreFailure = playbooks.OnStoreFailureHold
		}, DecisionRotate},
		{"id-only", func(f *detect.Finding, s *Snapshot, st *Settings) {
			f.Secret, f.Evidence, f.Source = accesskey.Secret{}, detect.EvidenceNone, "gitleaks-json"
		}, DecisionIDOnly},
		{"canary", func(f *detect.Finding, s *Snapshot, st *Settings) { f.KeyID = st.Canaries[0] }, DecisionRefuseCanary},
		{"self", func(f *detect.Finding, s *Snapshot, st *Settings) { f.KeyID = st.Self }, DecisionRefuseSelf},
		{"root", func(f *detect.Finding, s *Snapshot, st *Settings) { s.Owner.Root = true; s.Owner.UserName = "" }, DecisionRefuseRoot},
		{"sts", func(f *detect.Finding, s *Snapshot, st *Settings) {
			f.KeyID = accesskey.MustParseID("STS.NUgYrLnoC37mZZCNnAbez2nRz")
		}, DecisionRefuseSTS},
		{"not-found", func(f *detect.Finding, s *Snapshot, st *Settings) {
			*s = Snapshot{LocateErr: &ram.NotFoundError{KeyID: f.KeyID, AccountIDs: []string{"1234567890123456"}, UsersScanned: 42}}
		}, DecisionOwnerNotFound},
		{"already-gone", func(f *detect.Finding, s *Snapshot, st *Settings) {
			s.Keys = nil
			s.Found = false
			s.AlreadyGone = true
		}, DecisionAlreadyRemediated},
		{"assess-failed", func(f *detect.Finding, s *Snapshot, st *Settings) {
			s.Events, s.EventQuery = nil, ram.EventQuery{}
			s.AssessErr = errors.New("look up ActionTrail events of key " + leakedID + ": ram: actiontrail:LookupEvents: no permission (NoPermission)")
			s.LastUsedErr = errors.New("get last use of " + leakedID + ": no permission")
			s.LastUsed = time.Time{}
		}, DecisionRotate},
		{"incident", incidentInputs(t, "contain-first"), DecisionRotate},
		{"incident-standard", incidentInputs(t, "standard"), DecisionRotate},
		{"incident-lifts", func(f *detect.Finding, s *Snapshot, st *Settings) {
			incidentInputs(t, "contain-first")(f, s, st)
			s.Keys, s.Found, s.AlreadyGone, s.Incident = nil, false, true, nil
			s.Inspected = s.Inspected.Add(12 * time.Hour)
			s.Resume = &journal.State{Runs: 2, Done: true, RunID: "20261128T120000.000000000Z-42", Quarantines: []journal.Quarantine{
				{Policy: "respond-deny-ops-admin-20261128T120000-000000000Z-42", Target: "role/ops-admin", Step: "eradicate", Attached: true,
					Expires: time.Date(2026, 11, 28, 21, 0, 0, 0, time.UTC)},
				{Policy: "respond-deny-web-20261128T120000-000000000Z-42", Target: "role/web", Step: "eradicate", Attached: true,
					Expires: time.Date(2026, 11, 29, 23, 0, 0, 0, time.UTC)},
			}}
		}, DecisionAlreadyRemediated},
		{"resuming", func(f *detect.Finding, s *Snapshot, st *Settings) {
			began := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC) // the cloud dates the replacement after the journal began
			s.Keys = append(s.Keys, ram.AccessKey{ID: accesskey.MustParseID("LTAI5tNEW000000000000001"), Status: ram.StatusActive, CreateDate: began.Add(time.Second)})
			s.Resume = &journal.State{Runs: 1, Started: began, FirstCreate: began, NewKeys: []journal.NewKey{{ID: "LTAI5tNEW000000000000001", Created: true}}}
		}, DecisionRotate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, snap, s := planInputs()
			tt.mod(&f, &snap, &s)
			p := NewPlan(f, snap, s)
			if p.Decision != tt.decision {
				t.Fatalf("decision = %s, want %s", p.Decision, tt.decision)
			}
			txt, js := planGoldens(t, tt.name, p)
			for _, b := range [][]byte{txt.Bytes(), js} {
				if bytes.Contains(b, []byte("vtAZaFH4CqJcqFj5oyyuRobivPNK8p")) {
					t.Error("the plan contains the leaked secret")
				}
			}
		})
	}
}

// planGoldens renders p as text and JSON and compares both with testdata/rotate/<name>.{txt,json}.
func planGoldens(t *testing.T, name string, p Plan) (*bytes.Buffer, []byte) {
	t.Helper()
	var txt bytes.Buffer
	if err := WritePlanText(&txt, p); err != nil {
		t.Fatal(err)
	}
	js, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	js = append(js, '\n')
	golden(t, filepath.Join("..", "testdata", "rotate", name+".txt"), txt.Bytes())
	golden(t, filepath.Join("..", "testdata", "rotate", name+".json"), js)
	return &txt, js
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./rotate -run TestPlanGolden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func stepOrder(p Plan) []playbooks.StepID {
	var out []playbooks.StepID
	for _, s := range p.Steps {
		out = append(out, s.Step)
	}
	return out
}

func TestPlanRules(t *testing.T) {
	f, snap, s := planInputs()
	p := NewPlan(f, snap, s)
	if o := stepOrder(p); p.Reordered || slices.Index(o, playbooks.StepCreate) > slices.Index(o, playbooks.StepDelete) {
		t.Errorf("one key: create must come first, got %v", stepOrder(p))
	}
	if p.DeleteNotDisable == "" {
		t.Error("the plan must say why it deletes rather than disables")
	}
	snap.Keys = append(snap.Keys, ram.AccessKey{ID: accesskey.MustParseID(otherID), Status: ram.StatusActive})
	p = NewPlan(f, snap, s)
	o := stepOrder(p)
	if !p.Reordered || slices.Index(o, playbooks.StepDelete) > slices.Index(o, playbooks.StepCreate) {
		t.Errorf("at the limit: delete must come before create, got %v", o)
	}
	if len(p.OtherKeys) != 1 || p.OtherKeys[0].Note != "not touched" {
		t.Errorf("other keys = %+v", p.OtherKeys)
	}
	for _, st := range p.Steps {
		for _, a := range st.Actions {
			if bytes.Contains([]byte(a), []byte("UpdateAccessKey")) {
				t.Errorf("the plan calls UpdateAccessKey: %s", a)
			}
		}
	}
	// pure: same inputs, same plan
	a, _ := json.Marshal(NewPlan(f, snap, s))
	b, _ := json.Marshal(NewPlan(f, snap, s))
	if !bytes.Equal(a, b) {
		t.Error("NewPlan is not deterministic")
	}
}

func TestSettingsValidate(t *testing.T) {
	tests := []struct {
		steps []playbooks.StepID
		ok    bool
	}{
		{builtinSteps("standard"), true},
		{builtinSteps("contain-first"), true},
		{[]playbooks.StepID{playbooks.StepStore, playbooks.StepCreate, playbooks.StepDelete}, false},
		{[]playbooks.StepID{playbooks.StepCreate, playbooks.StepStore}, false},
		{[]playbooks.StepID{playbooks.StepCreate, playbooks.StepStore, playbooks.StepDelete, playbooks.StepDelete}, false},
		{[]playbooks.StepID{playbooks.StepCreate, playbooks.StepStore, "disable", playbooks.StepDelete}, false},
		{[]playbooks.StepID{playbooks.StepVerify, playbooks.StepCreate, playbooks.StepStore, playbooks.StepDelete}, false},
	}
	for _, tt := range tests {
		err := Settings{Steps: tt.steps}.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("%v: err = %v, want ok=%v", tt.steps, err, tt.ok)
		}
	}
	if err := (Settings{OnStoreFailure: "ignore"}).Validate(); err == nil {
		t.Error("unknown on-store-failure accepted")
	}
	var re *RefusedError
	if !errors.As(error(&RefusedError{}), &re) {
		t.Error("RefusedError not errors.As-able")
	}
}

func TestLocationText(t *testing.T) {
	for _, tt := range []struct {
		l    detect.Location
		want string
	}{
		{detect.Location{Source: "gitleaks", File: "deploy/ci.env", Line: 3, Commit: "1a2b3c4"}, "deploy/ci.env:3@1a2b3c4 (gitleaks)"},
		{detect.Location{Format: "github", URL: "https://github.com/o/r/security/secret-scanning/1"}, "https://github.com/o/r/security/secret-scanning/1 (github)"},
		{detect.Location{Source: "flag"}, "flag"},
		{detect.Location{Line: 7}, ":7"},
		{detect.Location{}, ""},
	} {
		if got := locationText(tt.l); got != tt.want {
			t.Errorf("locationText(%+v) = %q, want %q", tt.l, got, tt.want)
		}
	}
}

// incidentInputs turns the plan inputs into testdata/orgs/incident.yaml's leak, hunted (the graph
// rotate/hunt's emulator test wrote), under the named built-in playbook.
func incidentInputs(t *testing.T, playbook string) func(*detect.Finding, *Snapshot, *Settings) {
	return func(f *detect.Finding, s *Snapshot, st *Settings) {
		b, err := os.ReadFile(filepath.Join("..", "testdata", "hunt", "incident.graph.json"))
		if err != nil {
			t.Fatal(err)
		}
		var g hunt.Graph
		if err := json.Unmarshal(b, &g); err != nil {
			t.Fatal(err)
		}
		leaked, old := accesskey.MustParseID("LTAI5tINCDEPLOYLEAKED001"), accesskey.MustParseID("LTAI5tINCDEPLOYOLDKEY001")
		f.KeyID = leaked
		s.Owner = ram.Owner{KeyID: leaked, Account: ram.Account{ID: "7000000000000001", Name: "globex"}, UserName: "deploy-bot", Strategy: ram.StrategyIMS}
		s.Keys = []ram.AccessKey{{ID: leaked, Status: ram.StatusActive}, {ID: old, Status: ram.StatusActive}}
		s.Events, s.EventQuery = nil, ram.EventQuery{AccessKeyID: leaked, Start: g.Start, End: g.End}
		s.Incident, s.Inspected = &g, g.Checked
		st.Steps, st.Playbook = builtinSteps(playbook), playbook
		st.Incident.KnownIPs = []string{"10.0.3.17"}
	}
}
