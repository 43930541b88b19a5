package rotate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/journal"
)

// fakeKMS is one RAM credentials secret managing user's key: RotateSecret creates a key (as
// KMS's role), moves ACSCurrent to it and deletes the old key after `after` looks at the secret
// (0: at once); stall: a rotation is accepted and never carried out.
type fakeKMS struct {
	name, user    string
	current, prev string
	versions      map[string]bool
	sent          []string // every VersionId asked for
	stall         bool
	after         int // GetSecretValue calls before the old key is deleted
	pending       string
	looks         int
	rotations     int
	denyValue     bool
	errRotate     error
}

func (f *fakeAPI) withKMS(secret, user, current string) *fakeKMS {
	f.kms = &fakeKMS{name: secret, user: user, current: current, versions: map[string]bool{}}
	return f.kms
}

func (f *fakeAPI) ListRAMSecrets(ctx context.Context) ([]ram.RAMSecret, error) {
	if err, _ := f.begin("ListSecrets"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.kms == nil {
		return nil, nil
	}
	return []ram.RAMSecret{{Name: f.kms.name, UserName: f.kms.user, SubType: ram.SecretSubTypeRAMUserAccessKey}}, nil
}

func (f *fakeAPI) GetRAMSecretValue(ctx context.Context, name, stage string) (ram.RAMSecretValue, error) {
	if err, _ := f.begin("GetSecretValue"); err != nil {
		return ram.RAMSecretValue{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	k := f.kms
	if k == nil || name != k.name {
		return ram.RAMSecretValue{}, &ram.Error{Action: "GetSecretValue", Code: "Forbidden.ResourceNotFound", Class: ram.ErrNotFound}
	}
	k.looks++
	if k.pending != "" && k.looks > k.after {
		f.deleteLocked(k.user, k.pending)
		k.pending = ""
	}
	if k.denyValue {
		return ram.RAMSecretValue{}, &ram.Error{Action: "GetSecretValue", Code: "Forbidden.NoPermission", Class: ram.ErrNoPermission}
	}
	id := k.current
	if stage == ram.StagePrevious {
		id = k.prev
	}
	if id == "" {
		return ram.RAMSecretValue{}, &ram.Error{Action: "GetSecretValue", Code: "Forbidden.ResourceNotFound", Class: ram.ErrNotFound}
	}
	return ram.RAMSecretValue{Name: name, AccessKeyID: accesskey.MustParseID(id), Secret: accesskey.NewSecret(f.secrets[id])}, nil
}

func (f *fakeAPI) RotateSecret(ctx context.Context, name, version string) (ram.SecretRotation, error) {
	if err, _ := f.begin("RotateSecret"); err != nil {
		return ram.SecretRotation{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	k := f.kms
	k.sent = append(k.sent, version)
	if k.errRotate != nil {
		return ram.SecretRotation{}, k.errRotate
	}
	if k.versions[version] {
		return ram.SecretRotation{Name: name, VersionID: version}, nil // an existing VersionId: ignored, success
	}
	k.versions[version] = true
	k.rotations++
	if k.stall {
		return ram.SecretRotation{Name: name, VersionID: version}, nil
	}
	f.n++
	id := fmt.Sprintf("LTAI5tKMS%015d", f.n)
	f.keys[k.user] = append(f.keys[k.user], ram.AccessKey{ID: accesskey.MustParseID(id), Status: ram.StatusActive, CreateDate: time.Now().UTC()})
	f.secrets[id] = fmt.Sprintf("KMSSECRET%021d", f.n)
	k.prev, k.current, k.pending = k.current, id, k.current
	return ram.SecretRotation{Name: name, VersionID: version, RequestID: "req-rotate"}, nil
}

// deleteLocked is KMS's delete of the old key (into the recycle bin); f.mu is held.
func (f *fakeAPI) deleteLocked(user, id string) {
	ks := f.keys[user]
	for i, k := range ks {
		if k.ID.String() == id {
			f.keys[user] = append(ks[:i:i], ks[i+1:]...)
			delete(f.secrets, id)
			if f.bin == nil {
				f.bin = map[string]string{}
			}
			f.bin[id] = user
		}
	}
}

func (e *env) callCount(prefix string) int {
	e.f.mu.Lock()
	defer e.f.mu.Unlock()
	n := 0
	for _, c := range e.f.calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

const kmsSecretName = "acs/ram/user/ci-deploy"

func TestKMSRotation(t *testing.T) {
	tests := []struct {
		name    string
		steps   string // builtin playbook
		setup   func(k *fakeKMS)
		wantDec Decision
		wantOut journal.Outcome
		// rotations KMS carried out; whether respond deleted the leaked key itself
		wantRotations int
		wantOwnDelete bool
		wantErr       string
	}{
		{"KMS rotates, respond waits and purges", playbooks.DefaultPlaybook, func(k *fakeKMS) { k.after = 2 }, DecisionRotateViaKMS, journal.OutcomeRemediated, 1, false, ""},
		{"value not readable: user name alone decides", playbooks.DefaultPlaybook, func(k *fakeKMS) { k.denyValue = true }, DecisionRotateViaKMS, journal.OutcomeRemediated, 1, false, ""},
		{"KMS stalls: respond deletes, partial", playbooks.DefaultPlaybook, func(k *fakeKMS) { k.stall = true }, DecisionRotateViaKMS, journal.OutcomePartial, 1, true, "serves a dead key"},
		{"hourly limit: respond deletes, partial", playbooks.DefaultPlaybook, func(k *fakeKMS) {
			k.errRotate = &ram.Error{Action: "RotateSecret", Code: "Rejected.RotationLimitExceeded", Class: ram.ErrRotationLimit}
		}, DecisionRotateViaKMS, journal.OutcomePartial, 0, true, "limit of rotations per hour"},
		{"in progress: waited for", playbooks.DefaultPlaybook, func(k *fakeKMS) {
			k.errRotate = &ram.Error{Action: "RotateSecret", Code: "Rejected.RotationInProgress", Class: ram.ErrRotationInProgress}
		}, DecisionRotateViaKMS, journal.OutcomePartial, 0, true, "did not replace"},
		{"contain-first deletes at once", "contain-first", nil, DecisionRotateViaKMS, journal.OutcomePartial, 0, true, "deletes before it creates"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, leakedID)
			e.s.Steps = builtinSteps(tt.steps)
			e.s.KMSWait = 50 * time.Millisecond
			k := e.f.withKMS(kmsSecretName, user, leakedID)
			if tt.setup != nil {
				tt.setup(k)
			}
			d := e.deps()
			d.Sleep = func(ctx context.Context, dd time.Duration) error { time.Sleep(time.Millisecond); return ctx.Err() }
			r := e.runWith(context.Background(), leakedID, d)
			if r.Decision != tt.wantDec || r.Outcome != tt.wantOut {
				t.Fatalf("decision %s outcome %s (%v); want %s %s", r.Decision, r.Outcome, r.Err, tt.wantDec, tt.wantOut)
			}
			if tt.wantErr != "" && (r.Err == nil || !strings.Contains(r.Err.Error()+strings.Join(r.Warnings, ";"), tt.wantErr)) {
				t.Errorf("error %v, warnings %q: want %q", r.Err, r.Warnings, tt.wantErr)
			}
			if k.rotations != tt.wantRotations {
				t.Errorf("KMS rotations = %d, want %d", k.rotations, tt.wantRotations)
			}
			if n := e.callCount("CreateAccessKey"); n != 0 {
				t.Errorf("respond created %d keys; KMS creates the replacement", n)
			}
			if own := e.callCount("DeleteAccessKey "+leakedID) > 0; own != tt.wantOwnDelete {
				t.Errorf("respond deleted the leaked key itself: %v, want %v", own, tt.wantOwnDelete)
			}
			if len(e.sink.got) != 0 {
				t.Errorf("a sink was written: %v", e.sink.got)
			}
			if contains(e.f.ids(user), leakedID) || contains(e.f.binned(), leakedID) {
				t.Fatalf("the leaked key is alive or restorable: keys %v bin %v", e.f.ids(user), e.f.binned())
			}
			if r.Outcome == journal.OutcomeRemediated && r.NewKeyID != k.current {
				t.Errorf("new key %s, want KMS's %s", r.NewKeyID, k.current)
			}
			e.noSecrets()
		})
	}
}

// A run killed while it waits for KMS converges when run again: the wait, the purge; whether or
// not respond may read the secret's value (without it, KMS's key is told by its CreateDate).
func TestKMSResumeAfterCrashInTheWait(t *testing.T) {
	for _, deny := range []bool{false, true} {
		t.Run(fmt.Sprintf("value denied %v", deny), func(t *testing.T) {
			e := newEnv(t, leakedID)
			e.s.KMSWait = time.Minute
			k := e.f.withKMS(kmsSecretName, user, leakedID)
			k.after, k.denyValue = 1000, deny // KMS deletes the old key only after many looks
			ctx, cancel := context.WithCancel(context.Background())
			d := e.deps()
			looks := 0
			d.Sleep = func(c context.Context, dd time.Duration) error {
				if looks++; looks == 3 {
					cancel() // the crash: the run stops in the wait
				}
				return c.Err()
			}
			r := e.runWith(ctx, leakedID, d)
			if r.Outcome != journal.OutcomePartial || k.rotations != 1 {
				t.Fatalf("first run: outcome %s rotations %d (%v)", r.Outcome, k.rotations, r.Err)
			}
			if !contains(e.f.ids(user), leakedID) {
				t.Fatal("the first run deleted the leaked key itself")
			}
			k.after = k.looks + 2 // KMS deletes the old key during the re-run's wait
			r = e.run(context.Background(), leakedID)
			if r.Outcome != journal.OutcomeRemediated || r.NewKeyID != k.current {
				t.Fatalf("re-run: %s, new key %s (KMS's %s) (%v)", r.Outcome, r.NewKeyID, k.current, r.Err)
			}
			if k.rotations != 1 || e.callCount("RotateSecret") > 2 {
				t.Errorf("RotateSecret sent %d times, KMS rotated %d times; want one rotation", e.callCount("RotateSecret"), k.rotations)
			}
			if contains(e.f.ids(user), leakedID) || contains(e.f.binned(), leakedID) || e.callCount("DeleteAccessKey "+leakedID) > 0 {
				t.Fatalf("keys %v bin %v", e.f.ids(user), e.f.binned())
			}
		})
	}
}

func TestKMSPlan(t *testing.T) {
	e := newEnv(t, leakedID)
	e.f.withKMS(kmsSecretName, user, leakedID)
	f := e.finding(leakedID)
	p := NewPlan(f, Inspect(context.Background(), f, e.deps()), e.s)
	if p.Decision != DecisionRotateViaKMS || p.KMS == nil || p.KMS.Evidence != KMSEvidenceCurrent || len(p.Sinks) != 0 {
		t.Fatalf("plan %+v", p)
	}
	var b strings.Builder
	if err := WritePlanText(&b, p); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"kms:RotateSecret(SecretName=" + kmsSecretName + ", VersionId=respond-<run id>)", "KMS is the sink", "restart them", "6 hours"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("plan text lacks %q:\n%s", want, b.String())
		}
	}
	if strings.Contains(b.String(), "ram:CreateAccessKey") {
		t.Errorf("the plan creates a key:\n%s", b.String())
	}
	if n := e.callCount("RotateSecret") + e.callCount("DeleteAccessKey"); n != 0 {
		t.Errorf("planning changed something (%d calls)", n)
	}
	// the other way round: a secret that serves another of the user's keys is not the leaked one's
	e2 := newEnv(t, leakedID, otherID)
	e2.f.withKMS(kmsSecretName, user, otherID)
	f2 := e2.finding(leakedID)
	p2 := NewPlan(f2, Inspect(context.Background(), f2, e2.deps()), e2.s)
	if p2.Decision != DecisionRotate || !strings.Contains(strings.Join(p2.Warnings, ";"), "not the leaked key") {
		t.Fatalf("plan for a key KMS does not serve: %s %q", p2.Decision, p2.Warnings)
	}
	// KMS cannot be asked: a warning, a plain rotation
	e3 := newEnv(t, leakedID)
	e3.f.fault = func(action string, n int) (error, bool) {
		if action == "ListSecrets" {
			return &ram.Error{Action: "ListSecrets", Code: "Forbidden.NoPermission", Class: ram.ErrNoPermission}, false
		}
		return nil, false
	}
	f3 := e3.finding(leakedID)
	p3 := NewPlan(f3, Inspect(context.Background(), f3, e3.deps()), e3.s)
	if p3.Decision != DecisionRotate || !strings.Contains(strings.Join(p3.Warnings, ";"), KMSWarningPrefix) {
		t.Fatalf("plan without KMS: %s %q", p3.Decision, p3.Warnings)
	}
	j, _ := json.Marshal(p)
	if !strings.Contains(string(j), `"kms":{"secret":"`+kmsSecretName) {
		t.Errorf("plan JSON: %s", j)
	}
}

func TestKMSVersionID(t *testing.T) {
	for _, run := range []string{"20261130T042655.123456789Z-1234", strings.Repeat("x", 200), "a/b c"} {
		v := KMSVersionID(run)
		if len(v) > 64 || !strings.HasPrefix(v, "respond-") || strings.ContainsAny(v, "/ .") || v != KMSVersionID(run) {
			t.Errorf("KMSVersionID(%q) = %q", run, v)
		}
	}
	if errors.Is(&KMSFallbackError{}, ram.ErrThrottled) {
		t.Error("a fallback is not a throttle")
	}
}

// A run killed in the wait before KMS acted asks again with the same VersionId (KMS ignores it).
func TestKMSResumeSendsTheSameVersionID(t *testing.T) {
	e := newEnv(t, leakedID)
	e.s.KMSWait = time.Minute
	k := e.f.withKMS(kmsSecretName, user, leakedID)
	k.stall = true
	for range 2 {
		ctx, cancel := context.WithCancel(context.Background())
		d := e.deps()
		d.Sleep = func(c context.Context, dd time.Duration) error { cancel(); return c.Err() }
		if r := e.runWith(ctx, leakedID, d); r.Outcome != journal.OutcomePartial {
			t.Fatalf("outcome %s (%v)", r.Outcome, r.Err)
		}
	}
	if len(k.sent) != 2 || k.sent[0] != k.sent[1] || k.rotations != 1 {
		t.Fatalf("VersionIds sent %q, rotations %d: want the same id twice, one rotation", k.sent, k.rotations)
	}
	if !contains(e.f.ids(user), leakedID) || e.callCount("DeleteAccessKey") > 0 {
		t.Fatal("an interrupted wait deleted the leaked key")
	}
}

// A user already at two keys leaves KMS no slot: the leaked key is deleted at once, the other key
// is not touched, KMS is not asked to rotate.
func TestKMSAtTheKeyLimit(t *testing.T) {
	e := newEnv(t, leakedID, otherID)
	k := e.f.withKMS(kmsSecretName, user, leakedID)
	r := e.run(context.Background(), leakedID)
	if r.Decision != DecisionRotateViaKMS || r.Outcome != journal.OutcomePartial || !strings.Contains(r.Error, "no slot") {
		t.Fatalf("%s %s %v", r.Decision, r.Outcome, r.Err)
	}
	if k.rotations != 0 || contains(e.f.ids(user), leakedID) || !contains(e.f.ids(user), otherID) || e.callCount("CreateAccessKey") != 0 {
		t.Fatalf("rotations %d, keys %v", k.rotations, e.f.ids(user))
	}
}
