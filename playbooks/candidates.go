package playbooks

// Candidates returns every playbook that may answer a key of the account (by id or configured
// name; either may be empty), filled in as Select fills the one it chooses, in the order Select
// would consider them, without duplicates: the playbooks of the rules whose match does not rule
// the account out, then those of the playbooks listed with a match block, then the default —
// each list stopping at the first entry that matches every key of the account (a match on the
// account alone, or none). respond doctor checks what these need. A nil *Config has one
// candidate: the default.
func (c *Config) Candidates(accountID, accountName string) ([]*Playbook, error) {
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
	done := false
	if c != nil {
		for _, r := range c.Rules {
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
			if can, all := accountOnly(r.Playbook.Match); can {
				add(r.Playbook.Name)
				done = all
			}
		}
	}
	if !done {
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
