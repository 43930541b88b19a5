package rotate

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/journal"
)

const seedSecret = "vtAZaFH4CqJcqFj5oyyuRobivPNK8p"

func secretOnly(secret string, line int) detect.Finding {
	return detect.Finding{Kind: detect.KindSecretOnly, Secret: accesskey.NewSecret(secret), Evidence: detect.EvidenceSecret,
		Source: "text", Locations: []detect.Location{{Source: "stdin", Format: "text", Line: line}}}
}

// recordingMatch is a fake secret match: it records what it was asked, and finds the key whose
// fake secret is the one given.
type recordingMatch struct {
	mu    sync.Mutex
	asked []ram.SecretMatch
	f     *fakeAPI
}

func (r *recordingMatch) match(ctx context.Context, secret accesskey.Secret, m ram.SecretMatch) (ram.Owner, ram.MatchReport, error) {
	r.mu.Lock()
	r.asked = append(r.asked, m)
	r.mu.Unlock()
	rep := ram.MatchReport{Candidates: 3, Tried: 3, MaxCandidates: m.MaxCandidates, ListCalls: 2}
	r.f.mu.Lock()
	defer r.f.mu.Unlock()
	for u, keys := range r.f.keys {
		for _, k := range keys {
			if r.f.secrets[k.ID.String()] == secret.Reveal() {
				rep.Matched = k.ID
				return ram.Owner{KeyID: k.ID, UserName: u, Account: ram.Account{ID: "1001"}, Key: k, Keys: keys,
					Strategy: ram.StrategySecretMatch}, rep, nil
			}
		}
	}
	return ram.Owner{}, rep, &ram.NoMatchError{Report: rep, AccountIDs: []string{"1001"}}
}

// A secret found without its id: without secret-match it is its own finding, never collapsed
// with another, planned as secret-only (exit 3 whether it runs or not) with the guidance and
// where it was found; with secret-match its key is found, and it is rotated like any other.
func TestBatch_secretOnly(t *testing.T) {
	const leaked = "LTAI5tFAKESECRETONLY0001"
	tests := []struct {
		name       string
		config     string
		strategies []string
		dryRun     bool
		secrets    []string // of the secret-only findings
		ids        []string // findings with an id
		wantItems  int
		wantMatch  bool // the key is found and rotated
		wantAsked  int  // secret matches run
		wantReason string
	}{
		{name: "not allowed, dry run", dryRun: true, secrets: []string{seedSecret}, wantItems: 1,
			wantReason: "the secret-match strategy is not allowed"},
		{name: "not allowed: nothing runs", secrets: []string{seedSecret}, wantItems: 1,
			wantReason: "the secret-match strategy is not allowed"},
		{name: "two distinct secrets stay two findings", dryRun: true, secrets: []string{seedSecret, "OtherSecret000000000000000000x"}, wantItems: 2,
			wantReason: "not allowed"},
		{name: "allowed by --locate, no key has it", strategies: []string{"ims", "scan", "secret-match"}, secrets: []string{"OtherSecret000000000000000000x"},
			wantItems: 1, wantAsked: 1, wantReason: "authenticates with none of the 3 candidate key ids"},
		{name: "allowed by --locate: found and rotated", strategies: []string{"ims", "scan", "secret-match"}, secrets: []string{"match"},
			wantItems: 1, wantMatch: true, wantAsked: 1},
		{name: "allowed by the playbook trusted for the source", config: "canaries: [LTAI5tCanary0000000000AB]\nsecret-match: {max-candidates: 77}\n" +
			"playbooks:\n  - path: p.yaml\nrules:\n  - match: {sources: [text]}\n    playbook: trusted\n",
			secrets: []string{"match"}, wantItems: 1, wantMatch: true, wantAsked: 1},
		{name: "the key's other finding is folded into the match", strategies: []string{"secret-match", "ims"}, secrets: []string{"match"},
			ids: []string{leaked}, wantItems: 1, wantMatch: true, wantAsked: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(user, leaked)
			rm := &recordingMatch{f: f}
			conn := newFakeConn(f, func(ctx context.Context, id accesskey.ID) (ram.Owner, error) {
				return ram.Owner{KeyID: id, UserName: user, Account: ram.Account{ID: "1001"}, Strategy: "ims"}, nil
			})
			conn.match = rm.match
			var conf *playbooks.Config
			var pb *playbooks.Playbook
			if tt.config != "" {
				var err error
				trusted, err := playbooks.Parse("p.yaml", []byte("name: trusted\nsteps:\n  - locate: {strategies: [ims, secret-match]}\n  - delete\n  - verify\n"))
				if err != nil {
					t.Fatal(err)
				}
				if conf, err = playbooks.ParseConfig("config.yaml", []byte(tt.config)); err != nil {
					t.Fatal(err)
				}
				conf.Playbooks[0].Playbook = trusted
			} else {
				var err error
				if pb, err = playbooks.Builtin("contain-only"); err != nil {
					t.Fatal(err)
				}
			}
			var findings []detect.Finding
			for _, id := range tt.ids {
				findings = append(findings, finding(id))
			}
			for i, s := range tt.secrets {
				if s == "match" {
					s = f.secrets[leaked]
				}
				findings = append(findings, secretOnly(s, i+1))
			}
			b := &Batch{Session: conn, Config: conf, Playbook: pb, Strategies: tt.strategies, DryRun: tt.dryRun, StateDir: t.TempDir(),
				Deps: Deps{Sleep: func(ctx context.Context, d time.Duration) error { return ctx.Err() }, NoEvents: true}}
			items, err := b.Run(context.Background(), findings)
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != tt.wantItems {
				t.Fatalf("%d items, want %d", len(items), tt.wantItems)
			}
			if len(rm.asked) != tt.wantAsked {
				t.Errorf("%d secret matches, want %d", len(rm.asked), tt.wantAsked)
			}
			for _, m := range rm.asked {
				if tt.config != "" && (m.MaxCandidates != 77 || len(m.Skip) != 1 || m.Skip[0].String() != "LTAI5tCanary0000000000AB") {
					t.Errorf("asked %+v, want the configuration's max-candidates and canaries", m)
				}
				if tt.config == "" && m.MaxCandidates != playbooks.DefaultMaxCandidates {
					t.Errorf("max-candidates %d, want the default", m.MaxCandidates)
				}
			}
			for i, it := range items {
				if it.Err != nil {
					t.Fatalf("item %d: %v", i, it.Err)
				}
				var text bytes.Buffer
				if err := WritePlanText(&text, it.Plan); err != nil {
					t.Fatal(err)
				}
				if tt.wantMatch {
					checkMatched(t, it, f, leaked, len(tt.ids)+1, text.String())
					continue
				}
				checkSecretOnly(t, it, tt.dryRun, tt.wantAsked > 0, tt.wantReason, text.String())
			}
		})
	}
}

func checkMatched(t *testing.T, it *Item, f *fakeAPI, leaked string, locations int, text string) {
	t.Helper()
	p := it.Plan
	if it.Finding.KeyID.String() != leaked || it.Finding.Kind != detect.KindAccessKey || it.Finding.Evidence != detect.EvidenceSecret ||
		!slices.ContainsFunc(it.Finding.Notes, func(n string) bool { return strings.HasPrefix(n, NotePairAuthenticated) }) {
		t.Errorf("finding %+v, want the key's with the pair authenticated", it.Finding)
	}
	if len(it.Finding.Locations) != locations {
		t.Errorf("locations %+v, want %d", it.Finding.Locations, locations)
	}
	if p.Decision != DecisionRotate || p.KeyID.String() != leaked || p.SecretMatch == nil || p.SecretMatch.Tried != 3 ||
		p.Owner == nil || p.Owner.Strategy != ram.StrategySecretMatch || !p.SecretKnown {
		t.Errorf("plan %+v, want a rotation with the match's report", p)
	}
	for _, want := range []string{"3 of 3 candidate key ids tried", "one sts:GetCallerIdentity signed by the leaked key"} {
		if !strings.Contains(text, want) {
			t.Errorf("plan text lacks %q:\n%s", want, text)
		}
	}
	if it.Result == nil || it.Result.Outcome != journal.OutcomeRemediated || !deleted(f) || it.Severity() != SeverityOK {
		t.Errorf("result %+v, want the key remediated (calls %v)", it.Result, f.calls)
	}
}

func checkSecretOnly(t *testing.T, it *Item, dryRun, searched bool, reason, text string) {
	t.Helper()
	p := it.Plan
	if p.Decision != DecisionSecretOnly || !p.KeyID.IsZero() || !strings.Contains(p.Reason, reason) || len(p.Locations) != 1 {
		t.Errorf("plan %+v, want secret-only because %q", p, reason)
	}
	if (p.SecretMatch != nil) != searched {
		t.Errorf("plan's secret match %+v, want one: %v", p.SecretMatch, searched)
	}
	for _, want := range []string{"Plan for (secret without id)", "found in:   :" + string(rune('0'+it.Finding.Locations[0].Line)) + " (stdin)",
		"respond --key-id <ID>", "CI variables", "secret-match", "near where it leaked (:"} {
		if !strings.Contains(text, want) {
			t.Errorf("plan text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, it.Finding.Secret.Reveal()) {
		t.Error("the plan text holds the secret")
	}
	if it.Severity() != SeverityNotFound {
		t.Errorf("severity %d, want not found", it.Severity())
	}
	switch {
	case dryRun && it.Result != nil:
		t.Errorf("a dry run ran: %+v", it.Result)
	case !dryRun && (it.Result == nil || it.Result.Outcome != journal.OutcomeSecretOnly || !errors.Is(it.Result.Err, ram.ErrOwnerNotFound)):
		t.Errorf("result %+v, want outcome secret-only (not found)", it.Result)
	case !dryRun && strings.Contains(it.Result.Error, it.Finding.Secret.Reveal()):
		t.Error("the result's error holds the secret")
	}
}
