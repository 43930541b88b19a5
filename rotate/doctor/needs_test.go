package doctor

import (
	"context"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
)

func builtinPlaybook(t *testing.T, name string) *playbooks.Playbook {
	t.Helper()
	p, err := playbooks.Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestNeeds: what each playbook needs, required or optional, in every account.
func TestNeeds(t *testing.T) {
	builtin := func(name string) *playbooks.Playbook { return builtinPlaybook(t, name) }
	future := &playbooks.Playbook{Name: "future", Steps: []playbooks.Step{
		{ID: playbooks.StepLocate, Options: playbooks.StepOptions{Strategies: []string{playbooks.StrategyRecycleBin, playbooks.StrategySecretMatch}}},
		{ID: playbooks.StepContain}, {ID: playbooks.StepDelete}, {ID: playbooks.StepClose},
	}}
	network := &playbooks.Playbook{Name: "network", Steps: []playbooks.Step{{ID: playbooks.StepContain,
		Options: playbooks.StepOptions{IncidentOptions: playbooks.IncidentOptions{ContainMethod: playbooks.ContainNetworkPolicy}}}}}
	huntOnly := &playbooks.Playbook{Name: "hunt-only", Steps: []playbooks.Step{{ID: playbooks.StepHunt}}}
	huntReads := []ram.ProbeKind{ram.ProbeLookupEvents, ram.ProbeGetUser, ram.ProbeGetLoginProfile, ram.ProbeListPoliciesForUser,
		ram.ProbeListPoliciesForRole, ram.ProbeListPoliciesForGroup, ram.ProbeGetPolicy, ram.ProbeListGroupsForUser, ram.ProbeGetRole}
	eradicate := []ram.ProbeKind{ram.ProbeDeleteAccessKey, ram.ProbeDeleteAccessKeyInRecycleBin, ram.ProbeDeleteLoginProfile,
		ram.ProbeRemoveUserFromGroup, ram.ProbeDetachPolicyFromUser, ram.ProbeDetachPolicyFromRole, ram.ProbeDetachPolicyFromGroup,
		ram.ProbeDeletePolicy, ram.ProbeCreatePolicy, ram.ProbeAttachPolicyToRole}
	tests := []struct {
		name      string
		pbs       []*playbooks.Playbook
		sc        bool
		required  []ram.ProbeKind
		optional  []ram.ProbeKind
		notNeeded []ram.ProbeKind
	}{
		{"standard", []*playbooks.Playbook{builtin("standard")}, false,
			// the delete step is done only once the purge's check finds the key in no recycle bin
			[]ram.ProbeKind{ram.ProbeListAccessKeys, ram.ProbeIMSGetUser, ram.ProbeListUsers, ram.ProbeCreateAccessKey, ram.ProbeDeleteAccessKey,
				ram.ProbeDeleteAccessKeyInRecycleBin, ram.ProbeGetAccessKeyInfoInRecycleBin},
			// standard closes Security Center's records (close): optional unless --security-center
			[]ram.ProbeKind{ram.ProbeGetAccessKeyLastUsed, ram.ProbeLastUsedInfo, ram.ProbeLookupEvents, ram.ProbeLeakList},
			[]ram.ProbeKind{ram.ProbeAttachPolicyToUser}},
		{"contain-only creates nothing", []*playbooks.Playbook{builtin("contain-only")}, false,
			[]ram.ProbeKind{ram.ProbeDeleteAccessKey}, nil, []ram.ProbeKind{ram.ProbeCreateAccessKey}},
		// the recycle-bin strategy's read is optional, but the delete step's purge check needs it
		{"contain, close, and the recycle-bin and secret-match strategies", []*playbooks.Playbook{future}, false,
			[]ram.ProbeKind{ram.ProbeAttachPolicyToUser, ram.ProbeDetachPolicyFromUser, ram.ProbeListUsers, ram.ProbeGetAccessKeyInfoInRecycleBin},
			[]ram.ProbeKind{ram.ProbeLeakList, ram.ProbeLeakDeal}, nil},
		{"the recycle-bin strategy without a delete step", []*playbooks.Playbook{{Name: "bin-only", Steps: []playbooks.Step{
			{ID: playbooks.StepLocate, Options: playbooks.StepOptions{Strategies: []string{playbooks.StrategyRecycleBin}}}}}}, false,
			nil, []ram.ProbeKind{ram.ProbeGetAccessKeyInfoInRecycleBin}, []ram.ProbeKind{ram.ProbeDeleteAccessKeyInRecycleBin}},
		{"--security-center makes close's needs required", []*playbooks.Playbook{future}, true,
			[]ram.ProbeKind{ram.ProbeLeakList, ram.ProbeLeakDeal}, nil, nil},
		// The hunt only reads, and goes on without a read (the finding stays unknown): optional.
		{"standard hunts: its reads are optional", []*playbooks.Playbook{builtin("standard")}, false,
			nil, huntReads[2:], append([]ram.ProbeKind{ram.ProbeCreatePolicy, ram.ProbeDeleteLoginProfile, ram.ProbeSetAccessKeyPolicy}, eradicate[2:]...)},
		{"a hunt alone reads", []*playbooks.Playbook{huntOnly}, false,
			[]ram.ProbeKind{ram.ProbeListAccessKeys}, huntReads, eradicate},
		// Eradication removes only what the hunt read: with it the hunt's reads are required.
		{"contain-first hunts, contains and eradicates", []*playbooks.Playbook{builtin("contain-first")}, false,
			append(append(append([]ram.ProbeKind{ram.ProbeAttachPolicyToUser, ram.ProbeDetachPolicyFromUser}, huntReads...), eradicate...), ram.ProbeListAccessKeys),
			[]ram.ProbeKind{ram.ProbeGetAccessKeyLastUsed, ram.ProbeLeakList},
			[]ram.ProbeKind{ram.ProbeSetAccessKeyPolicy}},
		{"contain by network policy", []*playbooks.Playbook{network}, false,
			[]ram.ProbeKind{ram.ProbeIMSGetUser, ram.ProbeSetAccessKeyPolicy}, nil,
			[]ram.ProbeKind{ram.ProbeCreatePolicy, ram.ProbeAttachPolicyToUser, ram.ProbeDeletePolicy}},
		{"one playbook's requirement wins over another's option", []*playbooks.Playbook{future, builtin("standard")}, false,
			[]ram.ProbeKind{ram.ProbeCreateAccessKey}, []ram.ProbeKind{ram.ProbeLeakList}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l needList
			l.addPlaybooks(nil, tt.pbs, false)
			if tt.sc {
				l.add(ram.ProbeLeakList, "security-center (poll)", "")
				l.add(ram.ProbeLeakDeal, "security-center (close)", "")
			}
			got := map[ram.ProbeKind]*need{}
			for _, n := range l {
				if got[n.kind] != nil {
					t.Errorf("%s twice", n.kind)
				}
				got[n.kind] = n
			}
			for _, k := range tt.required {
				if n := got[k]; n == nil || !n.required || n.note != "" {
					t.Errorf("%s: %+v, want required", k, n)
				}
			}
			for _, k := range tt.optional {
				if n := got[k]; n == nil || n.required || n.note == "" {
					t.Errorf("%s: %+v, want optional with a note", k, n)
				}
			}
			for _, k := range tt.notNeeded {
				if got[k] != nil {
					t.Errorf("%s needed: %+v", k, got[k])
				}
			}
		})
	}
}

// TestAccountNeeds_order: reads are probed before writes (the probe user is checked first).
func TestAccountNeeds_order(t *testing.T) {
	r := &runner{}
	needs, _, err := r.accountNeeds(ram.Account{ID: "1"})
	if err != nil {
		t.Fatal(err)
	}
	write := map[ram.ProbeKind]bool{}
	for _, p := range ram.ProbeCatalog() {
		write[p.Kind] = p.Write
	}
	var seq []bool
	for _, n := range needs {
		seq = append(seq, write[n.kind])
	}
	if !sort.SliceIsSorted(seq, func(i, j int) bool { return !seq[i] && seq[j] }) || !slices.Contains(seq, true) {
		t.Errorf("order %v", seq)
	}
}

// answers is a prober that answers each probe as told (granted and found when not told).
type answers map[ram.ProbeKind]ram.ProbeResult

func (a answers) Probe(_ context.Context, k ram.ProbeKind, _ ram.ProbeTarget) ram.ProbeResult {
	if r, ok := a[k]; ok {
		return r
	}
	return ram.ProbeResult{Kind: k, Grant: ram.GrantGranted, Code: "EntityNotExist.User", Inferred: true}
}

// TestTargetExists: no write is probed when the made-up user exists, nor, for playbooks whose
// write probes name it, when the made-up policy exists; a refused or not-found check goes on.
func TestTargetExists(t *testing.T) {
	found := ram.ProbeResult{Grant: ram.GrantGranted}
	refused := ram.ProbeResult{Grant: ram.GrantDenied, Code: "NoPermission"}
	var standard, first needList
	standard.addPlaybooks(nil, []*playbooks.Playbook{builtinPlaybook(t, "standard")}, false)
	first.addPlaybooks(nil, []*playbooks.Playbook{builtinPlaybook(t, "contain-first")}, false)
	tests := []struct {
		name  string
		a     answers
		needs needList
		item  string // "" when the probes go on
	}{
		{"nothing exists", answers{}, first, ""},
		{"the user exists", answers{ram.ProbeGetUser: found}, standard, "probe user"},
		{"the policy exists, and a write names it", answers{ram.ProbeGetPolicy: found}, first, "probe policy"},
		{"the policy exists, and no write names it", answers{ram.ProbeGetPolicy: found}, standard, ""},
		{"the policy cannot be read", answers{ram.ProbeGetPolicy: refused}, first, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, stop := targetExists(context.Background(), tt.a, ram.ProbeTarget{UserName: "respond-doctor-1", PolicyName: "respond-doctor-1"}, tt.needs)
			if stop != (tt.item != "") || c.Item != tt.item || stop && (c.Status != StatusError || !strings.Contains(c.Detail, "respond-doctor-1 exists")) {
				t.Errorf("got %+v, %v; want %q", c, stop, tt.item)
			}
		})
	}
}
