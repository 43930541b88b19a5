package playbooks

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// PlaybookInput is what playbook selection knows about a leaked key.
type PlaybookInput struct {
	AccountID   string
	AccountName string
	UserName    string
	KeyID       string
	// Source is the finding's source: gitleaks, trufflehog, flag (--key-id), ….
	Source string
	// Evidence is what makes the finding a leak: secret, source, operator or none.
	Evidence string
}

// Matches reports whether m matches in, and why (or why not).
func (m Match) Matches(in PlaybookInput) (bool, string) {
	return m.matches(in, nil)
}

func (m Match) matches(in PlaybookInput, c *Config) (bool, string) {
	if m.IsZero() {
		return true, "matches every key"
	}
	var why []string
	if len(m.Accounts) > 0 {
		hit := ""
		for _, a := range m.Accounts {
			if accountMatches(a, in, c) {
				hit = a
				break
			}
		}
		if hit == "" {
			return false, fmt.Sprintf("account %s is not in %s", describeAccount(in), strings.Join(m.Accounts, ", "))
		}
		why = append(why, fmt.Sprintf("account %s matches %q", describeAccount(in), hit))
	}
	if len(m.Users) > 0 {
		hit := ""
		for _, u := range m.Users {
			if ok, err := path.Match(u, in.UserName); err == nil && ok && in.UserName != "" {
				hit = u
				break
			}
		}
		if hit == "" {
			return false, fmt.Sprintf("user %q matches none of %s", in.UserName, strings.Join(m.Users, ", "))
		}
		why = append(why, fmt.Sprintf("user %q matches %q", in.UserName, hit))
	}
	if len(m.Sources) > 0 {
		hit := ""
		for _, s := range m.Sources {
			if strings.EqualFold(s, in.Source) && in.Source != "" {
				hit = s
				break
			}
		}
		if hit == "" {
			return false, fmt.Sprintf("source %q is not in %s", in.Source, strings.Join(m.Sources, ", "))
		}
		why = append(why, fmt.Sprintf("source %q", hit))
	}
	if len(m.KeyIDs) > 0 {
		if !contains(m.KeyIDs, in.KeyID) || in.KeyID == "" {
			return false, "the key id is not listed in key-ids"
		}
		why = append(why, "the key id is listed in key-ids")
	}
	if len(m.Evidence) > 0 {
		if !contains(m.Evidence, in.Evidence) || in.Evidence == "" {
			return false, fmt.Sprintf("evidence %q is not in %s", in.Evidence, strings.Join(m.Evidence, ", "))
		}
		why = append(why, fmt.Sprintf("evidence %q", in.Evidence))
	}
	return true, strings.Join(why, ", ")
}

func describeAccount(in PlaybookInput) string {
	switch {
	case in.AccountName != "" && in.AccountID != "":
		return fmt.Sprintf("%s (%s)", in.AccountName, in.AccountID)
	case in.AccountName != "":
		return in.AccountName
	case in.AccountID != "":
		return in.AccountID
	}
	return `""`
}

func accountMatches(entry string, in PlaybookInput, c *Config) bool {
	if entry == "" {
		return false
	}
	if entry == in.AccountID || entry == in.AccountName {
		return true
	}
	if c != nil && in.AccountID != "" {
		if a, ok := c.Account(entry); ok && a.ID == in.AccountID {
			return true
		}
	}
	return false
}

// Select chooses the playbook for a key: the first rule whose match matches; else the first
// playbook listed under playbooks whose own match block matches; else the built-in rule
// (Security Center findings: contain-first); else the default (standard).
// The returned playbook is a copy with Sinks and Notify filled in (empty in the playbook means
// every configured one, sorted by name) and the configuration's locate order applied where the
// playbook names none. reason says which rule or playbook matched and why. A nil *Config selects
// the default.
func (c *Config) Select(in PlaybookInput) (*Playbook, string, error) {
	name, reason := DefaultPlaybook, fmt.Sprintf("no rule matched; the default playbook %s applies", DefaultPlaybook)
	found := false
	if c != nil {
		for i, r := range c.Rules {
			if ok, why := r.Match.matches(in, c); ok {
				name = r.Playbook
				reason = fmt.Sprintf("rule %d%s chose %s: %s", i+1, c.lineOf("rules["+strconv.Itoa(i)+"]"), r.Playbook, why)
				found = true
				break
			}
		}
		if !found {
			for i, r := range c.Playbooks {
				if r.Playbook == nil || r.Playbook.Match.IsZero() {
					continue
				}
				if ok, why := r.Playbook.Match.matches(in, c); ok {
					name = r.Playbook.Name
					reason = fmt.Sprintf("playbook %s (playbooks[%d], %s) matched: %s", name, i, r.Playbook.Source, why)
					found = true
					break
				}
			}
		}
	}
	if !found {
		if n, why, ok := BuiltinRule(in); ok {
			name, reason = n, why
		}
	}
	p, err := c.Playbook(name)
	if err != nil {
		return nil, "", fmt.Errorf("select playbook for %s: %w", in.KeyID, err)
	}
	c.fill(p)
	return p, reason, nil
}

// Completed is p, on a copy, as the configuration completes a playbook it chooses (fill): for a
// playbook named on the command line (--playbook).
func (c *Config) Completed(p *Playbook) *Playbook {
	q := clonePlaybook(p)
	c.fill(q)
	return q
}

// fill gives a chosen playbook what the configuration adds: every configured sink and channel
// when it names none, and the configuration's locate order where it names no strategies.
func (c *Config) fill(p *Playbook) {
	if c == nil {
		return
	}
	if len(p.Sinks) == 0 && p.Has(StepStore) {
		p.Sinks = sortedKeys(c.Sinks)
	}
	if len(p.Notify) == 0 && p.Has(StepNotify) {
		p.Notify = sortedKeys(c.Notify)
	}
	if len(c.Locate) > 0 {
		for i := range p.Steps {
			if p.Steps[i].ID == StepLocate && !p.Steps[i].Options.strategiesSet {
				p.Steps[i].Options.Strategies = append([]string(nil), c.Locate...)
			}
		}
	}
}

func (c *Config) lineOf(place string) string {
	if p := c.pos.at(place); p.line > 0 {
		return fmt.Sprintf(" (%s:%d)", c.Source, p.line)
	}
	return ""
}
