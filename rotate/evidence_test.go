package rotate

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/journal"
)

// Design §6 rule 8: an id-only finding is acted on only when a person named the key, when a
// leak-reporting service reported it, or when the configuration trusts its source.
func TestUntrustedIDOnly(t *testing.T) {
	id := accesskey.MustParseID(leakedID)
	secret := accesskey.NewSecret("vtAZaFH4CqJcqFj5oyyuRobivPNK8p")
	gl := []detect.Location{{Source: "stdin", Format: "gitleaks-json"}}
	tests := []struct {
		name  string
		f     detect.Finding
		trust []string
		want  bool
	}{
		{"id alone from gitleaks", detect.Finding{KeyID: id, Evidence: detect.EvidenceNone, Source: "gitleaks-json", Locations: gl}, nil, true},
		{"trusted source", detect.Finding{KeyID: id, Evidence: detect.EvidenceNone, Source: "gitleaks-json", Locations: gl}, []string{"gitleaks-json"}, false},
		{"another source trusted", detect.Finding{KeyID: id, Evidence: detect.EvidenceNone, Source: "text"}, []string{"gitleaks-json"}, true},
		{"source from the location", detect.Finding{KeyID: id, Evidence: detect.EvidenceNone, Locations: gl}, []string{"gitleaks-json"}, false},
		{"with its secret", detect.Finding{KeyID: id, Secret: secret, Evidence: detect.EvidenceSecret, Source: "text"}, nil, false},
		{"secret but marked none", detect.Finding{KeyID: id, Secret: secret, Evidence: detect.EvidenceNone, Source: "text"}, nil, false},
		{"Security Center", detect.Finding{KeyID: id, Evidence: detect.EvidenceSource, Source: "security-center"}, nil, false},
		{"--key-id", detect.Finding{KeyID: id, Evidence: detect.EvidenceOperator, Source: "flag"}, nil, false},
		{"made in code", detect.Finding{KeyID: id}, nil, false},
		{"secret without its id", detect.Finding{Kind: detect.KindSecretOnly, Secret: secret, Evidence: detect.EvidenceNone}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			trusts := func(src string) bool {
				return slices.ContainsFunc(tt.trust, func(t string) bool { return strings.EqualFold(t, src) })
			}
			if got := untrustedIDOnly(tt.f, trusts); got != tt.want {
				t.Errorf("untrustedIDOnly = %v, want %v", got, tt.want)
			}
		})
	}
}

// The plan of an untrusted id-only finding: decision id-only, why, and how to act anyway; the
// canary, self and STS refusals come first. Executing it changes nothing: outcome id-only,
// refused by policy.
func TestPlanIDOnly(t *testing.T) {
	f, snap, s := planInputs()
	f.Secret, f.Evidence, f.Source = accesskey.Secret{}, detect.EvidenceNone, "gitleaks-json"
	p := NewPlan(f, snap, s)
	if p.Decision != DecisionIDOnly || len(p.Steps) != 0 {
		t.Fatalf("decision %s, steps %v", p.Decision, p.Steps)
	}
	var txt bytes.Buffer // the whole text is TestPlanGolden's id-only case
	if err := WritePlanText(&txt, p); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"respond --key-id " + leakedID, "trust: [{source: gitleaks-json}]"} {
		if !strings.Contains(txt.String(), want) {
			t.Errorf("the plan does not say %q:\n%s", want, txt.String())
		}
	}
	s.Trusts = func(src string) bool { return src == "gitleaks-json" }
	if p := NewPlan(f, snap, s); p.Decision != DecisionRotate {
		t.Errorf("trusted: decision %s", p.Decision)
	}
	s.Trusts = nil
	for _, tt := range []struct {
		id   accesskey.ID
		want Decision
	}{{s.Canaries[0], DecisionRefuseCanary}, {s.Self, DecisionRefuseSelf}, {accesskey.MustParseID("STS.NUgYrLnoC37mZZCNnAbez2nRz"), DecisionRefuseSTS}} {
		g := f
		g.KeyID = tt.id
		if p := NewPlan(g, snap, s); p.Decision != tt.want {
			t.Errorf("%s: decision %s, want %s", tt.id, p.Decision, tt.want)
		}
	}
	r := Execute(context.Background(), p, Deps{StateDir: t.TempDir()})
	var re *RefusedError
	if r.Outcome != journal.OutcomeIDOnly || !errors.As(r.Err, &re) || SeverityOf(r.Err) != SeverityRefused {
		t.Errorf("Execute: %s %v", r.Outcome, r.Err)
	}
}

// A batch neither locates nor inspects an untrusted id-only finding: no call is made for it, and
// it ends id-only (refused); the finding with its secret next to it is rotated.
func TestBatch_idOnly(t *testing.T) {
	const other = "LTAI5tFAKEWITHSECRET0001"
	f := newFake(user, leakedID, other)
	owner := func(ctx context.Context, id accesskey.ID) (ram.Owner, error) {
		return ram.Owner{KeyID: id, UserName: user, Account: ram.Account{ID: "1001"}, Strategy: "ims"}, nil
	}
	conn := newFakeConn(f, owner)
	contain, err := playbooks.Builtin("contain-only")
	if err != nil {
		t.Fatal(err)
	}
	idOnly := finding(leakedID)
	idOnly.Evidence, idOnly.Source = detect.EvidenceNone, "gitleaks-json"
	withSecret := finding(other)
	withSecret.Secret, withSecret.Evidence, withSecret.Source = accesskey.NewSecret(f.secrets[other]), detect.EvidenceSecret, "gitleaks-json"
	b := &Batch{Session: conn, Playbook: contain, StateDir: t.TempDir()}
	items, err := b.Run(context.Background(), []detect.Finding{idOnly, withSecret})
	if err != nil {
		t.Fatal(err)
	}
	if got := conn.loc[idOnly.KeyID].calls; got != 0 {
		t.Errorf("the id-only finding was searched %d times", got)
	}
	if r := items[0].Result; r == nil || r.Outcome != journal.OutcomeIDOnly || items[0].Severity() != SeverityRefused {
		t.Fatalf("id-only item: %+v", items[0].Result)
	}
	if r := items[1].Result; r == nil || r.Outcome != journal.OutcomeRemediated {
		t.Fatalf("item with its secret: %+v", items[1].Result)
	}
	if ids := f.ids(user); !slices.Equal(ids, []string{leakedID}) {
		t.Errorf("keys now %v, want the id-only key kept and the other deleted", ids)
	}
	for _, c := range f.calls {
		if strings.Contains(c, leakedID) {
			t.Errorf("a call about the id-only key: %s", c)
		}
	}
}
