package journal

import "time"

// The incident writes whose policies outlive the step that made them (issue 16): the quarantine on
// the leaked key's owner (removed once the leaked key is deleted) and the self-expiring deny on a
// role the attacker assumed (removed by a later run once it has expired). The journal remembers
// them so that a resumed run finds its own, and `respond status` lists those still in place.
const (
	// ActionQuarantine attaches the contain step's deny policy to the owner (Target user/<name>).
	ActionQuarantine = "contain:quarantine"
	// ActionDenyRole attaches the eradicate step's deny policy to a role (Target role/<name>).
	ActionDenyRole = "eradicate:deny-role"
	// ActionLift detaches such a policy and deletes it.
	ActionLift = "quarantine:lift"
)

// Quarantine is a deny policy respond attached (or may have attached: an intent whose result
// never came) and whether it was removed since.
type Quarantine struct {
	Policy string `json:"policy"`
	// Target is what it is attached to: "user/<name>" or "role/<name>".
	Target string `json:"target"`
	// Expires is when the policy stops applying by itself (its acs:CurrentTime condition).
	Expires time.Time `json:"expires,omitzero"`
	// Step is the step that attached it (contain, eradicate).
	Step string `json:"step"`
	// Attached: a result confirmed it; else only the intent was written (it may be in place).
	Attached bool `json:"attached"`
	Removed  bool `json:"removed"`
}

// Active reports whether the policy may still be in place.
func (q Quarantine) Active() bool { return !q.Removed }

// ActiveQuarantines are the quarantines that may still be in place.
func (s State) ActiveQuarantines() []Quarantine {
	var out []Quarantine
	for _, q := range s.Quarantines {
		if q.Active() {
			out = append(out, q)
		}
	}
	return out
}

// quarantine folds one record into s.Quarantines.
func (s *State) quarantine(r Record) {
	if r.Policy == "" {
		return
	}
	find := func() *Quarantine {
		for i := range s.Quarantines {
			if q := &s.Quarantines[i]; q.Policy == r.Policy && q.Target == r.Target {
				return q
			}
		}
		return nil
	}
	switch r.Action {
	case ActionQuarantine, ActionDenyRole:
		q := find()
		if q == nil {
			s.Quarantines = append(s.Quarantines, Quarantine{Policy: r.Policy, Target: r.Target, Step: r.Step})
			q = &s.Quarantines[len(s.Quarantines)-1]
		}
		if !r.Expires.IsZero() {
			q.Expires = r.Expires
		}
		if r.Kind == KindResult && r.Outcome == OutcomeDone {
			q.Attached, q.Removed = true, false
		}
	case ActionLift:
		if q := find(); q != nil && r.Kind == KindResult && r.Outcome == OutcomeDone {
			q.Removed = true
		}
	}
}
