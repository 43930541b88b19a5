package playbooks

import "slices"

// Candidates returns every playbook that may answer a key of the account (by id or configured
// name; either may be empty), filled in as Select fills the one it chooses, in the order Select
// would consider them, without duplicates: the playbooks of the rules whose match does not rule
// the account out, then those of the playbooks listed with a match block, then the built-in
// rule's for each of sources (the finding sources a run may see, beyond what the rules name:
// security-center when Security Center is polled) that no rule or match block takes all of, then
// the default — each list stopping at the first entry that matches every key of the account (a
// match on the account alone, or none). respond doctor checks what these need. A nil *Config
// has the built-in rule's and the default.
func (c *Config) Candidates(accountID, accountName string, sources ...string) ([]*Playbook, error) {
	in := PlaybookInput{AccountID: accountID, AccountName: accountName}
	var names []string
	add := func(name string) {
		if !contains(names, name) {
			names = append(names, name)
		}
	}
	// accountOnly reports whether m can match a key of the account, and whether it matches
	// every one (nothing but the account restricts it).
	accountOnly := func(m Match) (can, all bool) {
		rest := m
		rest.Accounts = nil
		if len(m.Accounts) > 0 {
			if ok, _ := (Match{Accounts: m.Accounts}).matches(in, c); !ok {
				return false, false
			}
		}
		return true, rest.IsZero()
	}
	// takesAll reports whether m matches every key of the account from source.
	takesAll := func(m Match, source string) bool {
		if can, _ := accountOnly(m); !can {
			return false
		}
		if len(m.Sources) > 0 {
			if ok, _ := (Match{Sources: m.Sources}).matches(PlaybookInput{Source: source}, c); !ok {
				return false
			}
		}
		m.Accounts, m.Sources = nil, nil
		return m.IsZero()
	}
	done := false
	var matches []Match // the rules' and match blocks' that Select reads before the built-in rule
	if c != nil {
		for _, r := range c.Rules {
			matches = append(matches, r.Match)
			if can, all := accountOnly(r.Match); can {
				add(r.Playbook)
				if all {
					done = true
					break
				}
			}
		}
		for _, r := range c.Playbooks {
			if done {
				break
			}
			if r.Playbook == nil || r.Playbook.Match.IsZero() {
				continue
			}
			matches = append(matches, r.Playbook.Match)
			if can, all := accountOnly(r.Playbook.Match); can {
				add(r.Playbook.Name)
				done = all
			}
		}
	}
	if !done {
		for _, src := range sources {
			name, _, ok := BuiltinRule(PlaybookInput{AccountID: accountID, AccountName: accountName, Source: src})
			if ok && !slices.ContainsFunc(matches, func(m Match) bool { return takesAll(m, src) }) {
				add(name)
			}
		}
		add(DefaultPlaybook)
	}
	out := make([]*Playbook, 0, len(names))
	for _, name := range names {
		p, err := c.Playbook(name)
		if err != nil {
			return nil, err
		}
		c.fill(p)
		out = append(out, p)
	}
	return out, nil
}

// SearchOrder is the owner search's order for a key when no --locate names one. When the rules
// choose by owner (ChoosesByOwner) and no playbook is forced (--playbook), the search runs before
// the choice, in the configuration's locate: order; otherwise in that of pb, the playbook chosen
// or forced (completed by Select or Completed: its locate step's strategies). Either way the
// default order (Strategies) when none is named, or when pb has no locate step.
func (c *Config) SearchOrder(pb *Playbook, forced bool) []string {
	var order []string
	switch {
	case pb == nil || (!forced && c.ChoosesByOwner()):
		if c != nil {
			order = c.Locate
		}
	default:
		if st, ok := pb.Step(StepLocate); ok {
			order = st.Options.Strategies
		}
	}
	if len(order) == 0 {
		return Strategies()
	}
	return order
}

// Channels names the notification channels a run of pb (chosen or forced, completed by Select or
// Completed) notifies: the playbook's, which are every configured one when it names none. A
// canary's alert (canary), when the playbook has no notify step, goes to every configured channel:
// an intrusion signal must reach someone.
func (c *Config) Channels(pb *Playbook, canary bool) []string {
	if canary && len(pb.Notify) == 0 && c != nil {
		return sortedKeys(c.Notify)
	}
	return pb.Notify
}
