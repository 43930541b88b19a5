package doctor

import (
	"slices"
	"strings"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
)

// What each step of a playbook calls, as probes: the permissions a run needs. Optional ones are
// those a run goes on without (ActionTrail: the owner strategy and the assessment are skipped with
// a warning; the plan's last-use date; the recycle-bin purge).

// need is one permission a run may use in an account.
type need struct {
	kind     ram.ProbeKind
	required bool
	neededBy []string // "standard (delete)"
	note     string   // why it is optional
}

// stepNeeds are the probes of a step: required, then optional with why.
type probeNeed struct {
	kind ram.ProbeKind
	note string // non-empty: optional, and why
}

const (
	noteTrail = "optional: without it the ActionTrail owner search and the impact assessment are skipped with a warning"
	noteLast  = "optional: the plan shows the key's last use when it can read it"
	noteBin   = "optional: finding a key already deleted (in its user's recycle bin) needs it"
	noteClose = "optional unless a Security Center poll is configured: closing Security Center's record of a leak needs it"
	noteHunt  = "optional: without it the hunt cannot read or check part of what the leaked key created (left unknown, " +
		"listed in the hunt's errors); the run goes on"
	noteAgain = "optional: read only when a deny policy of respond's name already exists (a resumed run)"
)

// huntReads are what the hunt reads: the events of the principals it follows, then the present
// state of each finding (hunt.Cloud).
var huntReads = []ram.ProbeKind{ram.ProbeLookupEvents, ram.ProbeGetUser, ram.ProbeListAccessKeys, ram.ProbeGetLoginProfile,
	ram.ProbeListPoliciesForUser, ram.ProbeListPoliciesForRole, ram.ProbeListPoliciesForGroup, ram.ProbeGetPolicy,
	ram.ProbeListGroupsForUser, ram.ProbeGetRole}

// eradicateWrites are what hunt.Apply and the removal of expired role denies call: the attacker's
// keys deleted and purged, console passwords, group memberships, attachments (to users, roles,
// groups) and policies removed, a deny created and attached to each role the attacker assumed.
var eradicateWrites = []ram.ProbeKind{ram.ProbeDeleteAccessKey, ram.ProbeDeleteAccessKeyInRecycleBin, ram.ProbeDeleteLoginProfile,
	ram.ProbeRemoveUserFromGroup, ram.ProbeDetachPolicyFromUser, ram.ProbeDetachPolicyFromRole, ram.ProbeDetachPolicyFromGroup,
	ram.ProbeDeletePolicy, ram.ProbeCreatePolicy, ram.ProbeAttachPolicyToRole}

func needsOf(kinds []ram.ProbeKind, note string) []probeNeed {
	out := make([]probeNeed, len(kinds))
	for i, k := range kinds {
		out[i] = probeNeed{kind: k, note: note}
	}
	return out
}

// incidentNeeds are the needs of the hunt, contain and eradicate steps. The hunt only reads, and
// a refused read leaves a finding unknown while the run goes on: optional. Eradication removes
// only what the hunt read and confirmed (it fails without the hunt's graph, and leaves alone
// what the hunt could not check), so with an eradicate step the hunt's reads are required too.
// A containment that fails is a warning, yet the step is the playbook's choice and its
// quarantine must come off again once the key is deleted: required.
func incidentNeeds(s playbooks.Step) []probeNeed {
	switch s.ID {
	case playbooks.StepHunt:
		return needsOf(huntReads, noteHunt)
	case playbooks.StepContain:
		if s.Options.ContainMethod == playbooks.ContainNetworkPolicy {
			// The key's owner by its user principal name (IMS GetUser), then its network policy.
			return []probeNeed{{kind: ram.ProbeIMSGetUser}, {kind: ram.ProbeSetAccessKeyPolicy}}
		}
		// The quarantine created and attached, then detached and deleted once the key is gone.
		return []probeNeed{{kind: ram.ProbeCreatePolicy}, {kind: ram.ProbeAttachPolicyToUser},
			{kind: ram.ProbeDetachPolicyFromUser}, {kind: ram.ProbeDeletePolicy}, {kind: ram.ProbeGetPolicy, note: noteAgain}}
	case playbooks.StepEradicate:
		return append(needsOf(huntReads, ""), needsOf(eradicateWrites, "")...)
	}
	return nil
}

// searchNeeds are the probes of the owner search in this order (playbooks.Config.SearchOrder).
func searchNeeds(order []string) []probeNeed {
	out := []probeNeed{{kind: ram.ProbeListAccessKeys}}
	for _, st := range order {
		switch st {
		case playbooks.StrategyIMS:
			out = append(out, probeNeed{kind: ram.ProbeIMSGetUser})
		case playbooks.StrategyActionTrail:
			out = append(out, probeNeed{kind: ram.ProbeLastUsedInfo, note: noteTrail})
		case playbooks.StrategyScan, playbooks.StrategySecretMatch:
			out = append(out, probeNeed{kind: ram.ProbeListUsers})
		case playbooks.StrategyRecycleBin:
			out = append(out, probeNeed{kind: ram.ProbeGetAccessKeyInfoInRecycleBin, note: noteBin})
		}
	}
	return out
}

// stepNeeds are the probes of a step but locate, whose search (searchNeeds) runs with or
// without the step, in the order the configuration says.
func stepNeeds(s playbooks.Step) []probeNeed {
	switch s.ID {
	case playbooks.StepAssess:
		return []probeNeed{{kind: ram.ProbeLookupEvents, note: noteTrail}}
	case playbooks.StepCreate:
		return []probeNeed{{kind: ram.ProbeListAccessKeys}, {kind: ram.ProbeCreateAccessKey}}
	case playbooks.StepDelete:
		// The step is done only once the purge's check finds the key in no recycle bin: a purge
		// or a bin read refused fails it, and the run ends partial with the key's alerts open.
		return []probeNeed{{kind: ram.ProbeDeleteAccessKey}, {kind: ram.ProbeDeleteAccessKeyInRecycleBin},
			{kind: ram.ProbeGetAccessKeyInfoInRecycleBin}}
	case playbooks.StepVerify:
		return []probeNeed{{kind: ram.ProbeListAccessKeys}}
	case playbooks.StepHunt, playbooks.StepContain, playbooks.StepEradicate:
		return incidentNeeds(s)
	case playbooks.StepClose:
		return []probeNeed{{kind: ram.ProbeLeakList, note: noteClose}, {kind: ram.ProbeLeakDeal, note: noteClose}}
	}
	return nil
}

// needList is the needs of one account, in first-seen order, one per probe.
type needList []*need

// add records that by needs k (optional with why when note is set): a need stays optional only
// while everything that needs it does so optionally.
func (l *needList) add(k ram.ProbeKind, by, note string) {
	for _, n := range *l {
		if n.kind == k {
			if note == "" && !n.required {
				n.required, n.note = true, ""
			}
			if !slices.Contains(n.neededBy, by) {
				n.neededBy = append(n.neededBy, by)
			}
			return
		}
	}
	*l = append(*l, &need{kind: k, required: note == "", neededBy: []string{by}, note: note})
}

// addPlaybooks adds what the playbooks (conf's candidates, or the one forced) need: the owner
// search in the order conf gives a run without --locate (playbooks.Config.SearchOrder), each
// step's.
func (l *needList) addPlaybooks(conf *playbooks.Config, pbs []*playbooks.Playbook, forced bool) {
	for _, pb := range pbs {
		// Every key is inspected before it is planned: its keys listed, its last use read.
		l.add(ram.ProbeListAccessKeys, pb.Name+" (plan)", "")
		l.add(ram.ProbeGetAccessKeyLastUsed, pb.Name+" (plan)", noteLast)
		for _, pn := range searchNeeds(conf.SearchOrder(pb, forced)) {
			l.add(pn.kind, pb.Name+" ("+string(playbooks.StepLocate)+")", pn.note)
		}
		for _, s := range pb.Steps {
			for _, pn := range stepNeeds(s) {
				l.add(pn.kind, pb.Name+" ("+string(s.ID)+")", pn.note)
			}
		}
	}
}

// accountNeeds are the probes for one account: what its candidate playbooks need, and Security
// Center's when a poll is configured (or asked for). Reads come before writes.
func (r *runner) accountNeeds(acct ram.Account) ([]*need, []*playbooks.Playbook, error) {
	pbs, err := r.candidates(acct.ID, acct.Name)
	if err != nil {
		return nil, nil, err
	}
	var needs needList
	needs.addPlaybooks(r.o.Config, pbs, r.o.Playbook != nil)
	if r.poll != "" {
		needs.add(ram.ProbeLeakList, "security-center poll ("+r.poll+")", "")
		needs.add(ram.ProbeLeakDeal, "security-center close ("+r.poll+")", "")
	}
	writes := map[ram.ProbeKind]bool{}
	for _, p := range ram.ProbeCatalog() {
		writes[p.Kind] = p.Write
	}
	slices.SortStableFunc(needs, func(a, b *need) int {
		switch {
		case writes[a.kind] == writes[b.kind]:
			return 0
		case writes[b.kind]:
			return -1
		}
		return 1
	})
	return needs, pbs, nil
}

// uses are the sinks and channels some playbook may use, and by which; noSink the playbooks that
// create a replacement with no sink to store it in (the configuration has none).
type uses struct {
	sinks, channels map[string][]string
	noSink          []string
}

// sources are the finding sources whose built-in rule may choose a playbook here (Candidates):
// Security Center's when a poll is checked.
func (r *runner) sources() []string {
	if r.poll == "" {
		return nil
	}
	return []string{playbooks.SourceSecurityCenter}
}

// candidates are the playbooks that may answer a key of the account: the one forced
// (Options.Playbook), completed as a run completes it, else the configuration's candidates.
func (r *runner) candidates(accountID, accountName string) ([]*playbooks.Playbook, error) {
	if r.o.Playbook != nil {
		return []*playbooks.Playbook{r.o.Config.Completed(r.o.Playbook)}, nil
	}
	return r.o.Config.Candidates(accountID, accountName, r.sources()...)
}

// usedBy finds, over every configured account and a key of any other account, which sinks and
// channels the candidate playbooks use.
func (r *runner) usedBy() uses {
	conf := r.o.Config
	u := uses{sinks: map[string][]string{}, channels: map[string][]string{}}
	accts := []playbooks.AccountConfig{{}}
	if conf != nil {
		accts = append(accts, conf.Accounts...)
	}
	for _, a := range accts {
		pbs, err := r.candidates(a.ID, a.Name)
		if err != nil {
			continue
		}
		for _, pb := range pbs {
			if pb.Has(playbooks.StepCreate) && len(pb.Sinks) == 0 && !slices.Contains(u.noSink, pb.Name) {
				u.noSink = append(u.noSink, pb.Name)
			}
			for _, s := range pb.Sinks {
				if !slices.Contains(u.sinks[s], pb.Name) {
					u.sinks[s] = append(u.sinks[s], pb.Name)
				}
			}
			// the channels a run of pb notifies, and those of a canary's alert when one is listed
			chans := conf.Channels(pb, false)
			if conf != nil && len(conf.Canaries) > 0 {
				chans = append(chans, conf.Channels(pb, true)...)
			}
			for _, c := range chans {
				if !slices.Contains(u.channels[c], pb.Name) {
					u.channels[c] = append(u.channels[c], pb.Name)
				}
			}
		}
	}
	return u
}

func byList(names []string) string {
	if len(names) == 0 {
		return "no playbook uses it"
	}
	return "used by " + strings.Join(names, ", ")
}
