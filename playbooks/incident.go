package playbooks

import (
	"net/netip"
	"strconv"
	"time"
)

// The incident steps' vocabulary (issue 16): hunt (read-only: what the leaked key created or
// widened), contain (a quarantine on the owner for the minutes of the rotation) and eradicate
// (remove the footholds the hunt confirmed).

// Containment methods (contain: {method: …}).
const (
	// ContainDenyPolicy attaches a deny policy for high-risk actions to the leaked key's owner
	// (respond-quarantine-<run id>), conditioned on the attacker's addresses when the hunt knows
	// them, else on every address but allow-ips when given, else unconditioned; it is removed once
	// the leaked key is deleted. The default.
	ContainDenyPolicy = "deny-policy"
	// ContainNetworkPolicy sets the leaked key's own network policy (IMS SetAccessKeyPolicy) to
	// allow-ips only; it goes with the key when the key is deleted.
	ContainNetworkPolicy = "network-policy"
)

// ContainMethods returns the containment methods, the default first.
func ContainMethods() []string { return []string{ContainDenyPolicy, ContainNetworkPolicy} }

// Defaults and limits of the incident steps.
const (
	// DefaultHuntDepth is how many levels of creations the hunt follows (Alibaba's own incident
	// tooling goes 5 deep); MaxHuntDepth bounds the option.
	DefaultHuntDepth = 5
	MaxHuntDepth     = 10
	// QuarantineTTL is how long a quarantine policy applies at most (its acs:CurrentTime
	// condition): respond removes it as soon as the leaked key is deleted, and should respond never
	// come back, it stops applying by itself.
	QuarantineTTL = 24 * time.Hour
)

// IncidentOptions are the options of the hunt and contain steps.
type IncidentOptions struct {
	// hunt
	HuntDepth int
	// KnownIPs are the application's own addresses: the hunt does not count their writes as the
	// attacker's.
	KnownIPs []string
	// contain
	ContainMethod string
	// AllowIPs are the addresses the application calls from: a deny-policy quarantine denies
	// every other address when the attacker's are unknown; a network policy allows only these.
	AllowIPs []string
}

var (
	huntOptionKeys    = []string{"depth", "known-ips"}
	containOptionKeys = []string{"method", "allow-ips"}
)

func defaultIncidentOptions(id StepID) IncidentOptions {
	switch id {
	case StepHunt:
		return IncidentOptions{HuntDepth: DefaultHuntDepth}
	case StepContain:
		return IncidentOptions{ContainMethod: ContainDenyPolicy}
	}
	return IncidentOptions{}
}

// decodeIncidentOption decodes one option of hunt or contain (mapping already checked the key).
func decodeIncidentOption(l *errList, f field, o *StepOptions, ps positions) {
	switch f.key {
	case "depth":
		s, ok := scalar(l, f.v, f.place, "a number of levels")
		if !ok {
			return
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			l.addAt(at(f.v), "%s: %s is not a whole number of levels", f.place, show(s))
			return
		}
		o.HuntDepth = n
	case "method":
		o.ContainMethod, _ = scalar(l, f.v, f.place, "deny-policy or network-policy")
	case "known-ips":
		o.KnownIPs = positionedList(l, ps, f, "IP addresses or CIDR blocks")
	case "allow-ips":
		o.AllowIPs = positionedList(l, ps, f, "IP addresses or CIDR blocks")
	}
}

// validIPOrCIDR reports an IP address or a CIDR block.
func validIPOrCIDR(s string) bool {
	if _, err := netip.ParseAddr(s); err == nil {
		return true
	}
	_, err := netip.ParsePrefix(s)
	return err == nil
}

func validateIncidentOptions(l *errList, s Step, place string, ps positions) {
	o := s.Options
	checkIPs := func(key string, ips []string) {
		for i, ip := range ips {
			p := place + "." + key + "[" + strconv.Itoa(i) + "]"
			if !validIPOrCIDR(ip) {
				l.addAt(ps.at(p), "%s: %s is not an IP address or CIDR block", p, show(ip))
			}
		}
	}
	switch s.ID {
	case StepHunt:
		if o.HuntDepth < 1 || o.HuntDepth > MaxHuntDepth {
			l.addAt(ps.at(place+".depth"), "%s.depth: %d is out of range: expected 1 to %d levels of creations", place, o.HuntDepth, MaxHuntDepth)
		}
		checkIPs("known-ips", o.KnownIPs)
	case StepContain:
		switch o.ContainMethod {
		case ContainDenyPolicy:
		case ContainNetworkPolicy:
			if len(o.AllowIPs) == 0 {
				l.addAt(ps.at(place+".method"), "%s.method: network-policy allows only the listed addresses: add allow-ips (the application's addresses), or use deny-policy", place)
			}
		default:
			l.addAt(ps.at(place+".method"), "%s.method: %s is not a containment method: expected deny-policy (a deny policy on the owner, the default) or network-policy (the key's own IP allow-list)", place, show(o.ContainMethod))
		}
		checkIPs("allow-ips", o.AllowIPs)
	}
}

// validateIncidentOrder checks where hunt, contain and eradicate stand: the hunt starts from the
// events assess reads; containment limits the leaked key while the rotation runs, so it comes
// before create and delete; eradication removes what the hunt found, once the leaked key that
// could re-create it is deleted.
func validateIncidentOrder(l *errList, idx func(StepID) int, stepAt func(StepID) pos) {
	a, h, c, e := idx(StepAssess), idx(StepHunt), idx(StepContain), idx(StepEradicate)
	del, cr := idx(StepDelete), idx(StepCreate)
	if h >= 0 && (a < 0 || a > h) {
		l.addAt(stepAt(StepHunt), "steps[%d]: hunt without assess before it: the hunt starts from the leaked key's events, which assess reads; add assess before hunt", h)
	}
	if c >= 0 {
		if del >= 0 && del < c {
			l.addAt(stepAt(StepContain), "steps[%d]: contain after delete: containment limits the leaked key until it is deleted; expected contain before delete", c)
		} else if cr >= 0 && cr < c {
			l.addAt(stepAt(StepContain), "steps[%d]: contain after create: containment limits the leaked key while the rotation runs; expected contain before create", c)
		}
	}
	if e >= 0 {
		if h < 0 || h > e {
			l.addAt(stepAt(StepEradicate), "steps[%d]: eradicate without hunt before it: eradication removes what the hunt found; add hunt (after assess) before eradicate", e)
		}
		if del >= 0 && e < del {
			l.addAt(stepAt(StepEradicate), "steps[%d]: eradicate before delete: while the leaked key lives, whoever holds it can re-create what is removed; expected eradicate after delete", e)
		}
	}
}
