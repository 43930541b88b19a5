package rotate

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
	"github.com/respond-dev/respond/rotate/journal"
	"github.com/respond-dev/respond/rotate/sink"
)

func hermetic(t *testing.T) {
	for _, v := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	t.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	t.Setenv("ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "true")
}

type emuEnv struct {
	s      *emulator.Server
	org    *emulator.Org
	admin  *ram.Client
	cfg    ram.Config
	sink   *memSink
	deps   Deps
	keyIDs map[string]string
}

func newEmu(t *testing.T) *emuEnv {
	hermetic(t)
	org := emulator.DemoOrg()
	s := emulator.NewServer(org)
	t.Cleanup(s.Close)
	a := org.Admin()
	cfg := ram.Config{Endpoint: s.Endpoint(), Scheme: "HTTP", Credentials: ram.StaticCredentials(a.AccessKeyID, accesskey.NewSecret(a.AccessKeySecret))}
	ctx := context.Background()
	c, err := ram.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &emuEnv{s: s, org: org, admin: c, cfg: cfg, sink: &memSink{name: "mem"}}
	e.deps = Deps{
		Locator:  emuLocator{c: c, acct: a.AccountID},
		Accounts: fakeAccounts{api: c},
		Verifier: emuVerifier{cfg: cfg},
		Sinks:    []sink.Sink{e.sink},
		StateDir: t.TempDir(),
		Sleep:    func(ctx context.Context, d time.Duration) error { return ctx.Err() },
		// faults here answer or drop at once, and never commit late (the late-commit tests
		// set their own window)
		LateCreateWindow: 300 * time.Millisecond,
	}
	return e
}

type emuLocator struct {
	c    *ram.Client
	acct string
}

func (l emuLocator) Locate(ctx context.Context, id accesskey.ID) (ram.Owner, error) {
	u, err := l.c.GetUserByAccessKey(ctx, id)
	if errors.Is(err, ram.ErrNotFound) {
		return ram.Owner{}, &ram.NotFoundError{KeyID: id}
	}
	if err != nil {
		return ram.Owner{}, err
	}
	return ram.Owner{KeyID: id, Account: ram.Account{ID: l.acct}, UserName: u.UserName, UserID: u.UserID, Strategy: ram.StrategyIMS}, nil
}

type emuVerifier struct{ cfg ram.Config }

func (v emuVerifier) Authenticates(ctx context.Context, id accesskey.ID, s accesskey.Secret) (ram.Identity, error) {
	cfg := v.cfg
	cfg.Credentials = ram.StaticCredentials(id.String(), s)
	c, err := ram.New(ctx, cfg)
	if err != nil {
		return ram.Identity{}, err
	}
	return c.GetCallerIdentity(ctx)
}

func (e *emuEnv) keys(t *testing.T, user string) []string {
	t.Helper()
	return keyIDsOf(t, e.admin, user)
}

// keyIDsOf lists user's key ids through c.
func keyIDsOf(t *testing.T, c *ram.Client, user string) []string {
	t.Helper()
	ks, err := c.ListAccessKeys(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range ks {
		out = append(out, k.ID.String())
	}
	return out
}

func TestEmulatorRotation(t *testing.T) {
	tests := []struct {
		name, user, leaked, keep string
	}{
		{"normal", "ci-deploy", "LTAI5tFAKECIDEPLOY000001", ""},
		{"at-limit", "billing-app", "LTAI5tFAKEBILLING0LEAK01", "LTAI5tFAKEBILLING0KEEP01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEmu(t)
			ctx := context.Background()
			cred, _ := e.org.Key(tt.leaked)
			f := detect.Finding{KeyID: accesskey.MustParseID(tt.leaked), Secret: accesskey.NewSecret(cred.AccessKeySecret)}
			s := Settings{CheckLeakedSecret: true, VerifyTimeout: 5 * time.Second, VerifyInterval: 10 * time.Millisecond,
				Self: accesskey.MustParseID(e.org.Admin().AccessKeyID), Sinks: DescribeSinks(e.deps.Sinks)}
			// dry run: Inspect and Plan only read
			p := NewPlan(f, Inspect(ctx, f, e.deps), s)
			for _, r := range e.s.RequestLog() {
				if strings.HasPrefix(r.Action, "Create") || strings.HasPrefix(r.Action, "Delete") || strings.HasPrefix(r.Action, "Update") {
					t.Fatalf("planning made a mutation: %s", r.Action)
				}
			}
			if p.Decision != DecisionRotate || p.Reordered != (tt.keep != "") {
				t.Fatalf("plan: %s reordered=%v", p.Decision, p.Reordered)
			}
			r := Execute(ctx, p, e.deps)
			if r.Outcome != journal.OutcomeRemediated {
				t.Fatalf("%s %v %+v", r.Outcome, r.Err, r.Steps)
			}
			ids := e.keys(t, tt.user)
			want := 1
			if tt.keep != "" {
				want = 2
				if !contains(ids, tt.keep) {
					t.Errorf("the other key was touched: %v", ids)
				}
			}
			if len(ids) != want || contains(ids, tt.leaked) || !contains(ids, r.NewKeyID) {
				t.Errorf("keys after rotation = %v (new %s)", ids, r.NewKeyID)
			}
			for _, req := range e.s.RequestLog() {
				if strings.Contains(req.Action, "UpdateAccessKey") {
					t.Errorf("UpdateAccessKey was sent")
				}
			}
			// the new secret in the sink authenticates
			if _, err := (emuVerifier{e.cfg}).Authenticates(ctx, accesskey.MustParseID(r.NewKeyID), accesskey.NewSecret(e.sink.got[r.NewKeyID])); err != nil {
				t.Errorf("the stored secret does not authenticate: %v", err)
			}
			// re-run: already remediated
			p2 := NewPlan(f, Inspect(ctx, f, e.deps), s)
			if r2 := Execute(ctx, p2, e.deps); r2.Outcome != journal.OutcomeAlreadyRemediated {
				t.Errorf("re-run: %s %v", r2.Outcome, r2.Err)
			}
		})
	}
}

func TestEmulatorRefusals(t *testing.T) {
	e := newEmu(t)
	ctx := context.Background()
	s := Settings{Self: accesskey.MustParseID(e.org.Admin().AccessKeyID), Canaries: []accesskey.ID{accesskey.MustParseID("LTAI5tFAKECANARY00000001")}}
	for _, id := range []string{e.org.Admin().AccessKeyID, "LTAI5tFAKECANARY00000001"} {
		f := detect.Finding{KeyID: accesskey.MustParseID(id)}
		r := Execute(ctx, NewPlan(f, Inspect(ctx, f, e.deps), s), e.deps)
		var re *RefusedError
		if !errors.As(r.Err, &re) {
			t.Errorf("%s: %s %v", id, r.Outcome, r.Err)
		}
	}
	if len(e.keys(t, "backup-canary")) != 1 || len(e.keys(t, "admin")) != 1 {
		t.Error("a refused key was touched")
	}
}

// TestEmulatorContainOnly: a playbook without create and store deletes the leaked key, creates
// nothing, needs no sink, and counts as remediated; the settings refuse create without store.
func TestEmulatorContainOnly(t *testing.T) {
	e := newEmu(t)
	e.deps.Sinks = nil
	ctx := context.Background()
	const leaked = "LTAI5tFAKECIDEPLOY000001"
	f := detect.Finding{KeyID: accesskey.MustParseID(leaked)}
	s := Settings{Playbook: "contain-only", Steps: []playbooks.StepID{playbooks.StepLocate, playbooks.StepAssess, playbooks.StepDelete, playbooks.StepVerify, playbooks.StepNotify},
		VerifyTimeout: time.Second, VerifyInterval: 10 * time.Millisecond, Self: accesskey.MustParseID(e.org.Admin().AccessKeyID)}
	if err := s.Validate(); err != nil {
		t.Fatalf("contain-only settings refused: %v", err)
	}
	p := NewPlan(f, Inspect(ctx, f, e.deps), s)
	for _, ps := range p.Steps {
		for _, a := range ps.Actions {
			if strings.Contains(a, "new key") || strings.Contains(a, "CreateAccessKey") {
				t.Errorf("contain-only plan mentions a replacement: %s: %s", ps.Step, a)
			}
		}
	}
	r := Execute(ctx, p, e.deps)
	if r.Outcome != journal.OutcomeRemediated || r.Err != nil || r.NewKeyID != "" {
		t.Fatalf("outcome %s err %v new %q", r.Outcome, r.Err, r.NewKeyID)
	}
	if ids := e.keys(t, "ci-deploy"); len(ids) != 0 {
		t.Errorf("keys after contain-only = %v, want none", ids)
	}
	for _, req := range e.s.RequestLog() {
		if req.Action == "CreateAccessKey" || req.Action == "UpdateAccessKey" {
			t.Errorf("%s was sent", req.Action)
		}
	}
	bad := s
	bad.Steps = []playbooks.StepID{playbooks.StepCreate, playbooks.StepDelete}
	if err := bad.Validate(); err == nil {
		t.Error("create without store was accepted")
	}
	bad.Steps = []playbooks.StepID{playbooks.StepCreate, playbooks.StepStore}
	if err := bad.Validate(); err == nil {
		t.Error("a playbook without delete was accepted")
	}
}
