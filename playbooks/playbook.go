// Package playbooks holds the schema of respond's playbooks (which steps run, in which order,
// with which options, sinks and notifications) and of its configuration file (accounts and their
// credential sources, sinks, notification channels, canaries, and which playbook answers which
// key). Both are YAML, decoded strictly: every problem is reported with its file, line and column
// and what was expected. Built-in playbooks are embedded YAML files (see builtin/).
//
// It is also the one owner of respond's vocabulary (design §4): the step ids, the owner-search
// strategies, the on-store-failure policies, the defaults and limits of the step options, and the
// rules of step order. The engine (rotate) uses these; it declares none of its own.
//
// The package does no cloud I/O and imports only the standard library and yaml.v3.
package playbooks

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// StepID names a step of the playbook vocabulary (design §5).
type StepID string

// Step ids.
const (
	StepLocate    StepID = "locate"
	StepAssess    StepID = "assess"
	StepHunt      StepID = "hunt"
	StepContain   StepID = "contain"
	StepCreate    StepID = "create"
	StepStore     StepID = "store"
	StepDelete    StepID = "delete"
	StepEradicate StepID = "eradicate"
	StepVerify    StepID = "verify"
	// StepClose marks the source's alerts about the key handled (Security Center records), once
	// the key is remediated (design §5, step 10).
	StepClose  StepID = "close"
	StepNotify StepID = "notify"
)

// StepIDs returns the known step ids in their usual order.
func StepIDs() []string {
	return []string{string(StepLocate), string(StepAssess), string(StepHunt), string(StepContain), string(StepCreate), string(StepStore),
		string(StepDelete), string(StepEradicate), string(StepVerify), string(StepClose), string(StepNotify)}
}

// What happens when the new key cannot be stored (on-failure: {store: …}).
const (
	// OnStoreFailureContain deletes the unstored replacement and still deletes the leaked key (the
	// default: containment first).
	OnStoreFailureContain = "contain"
	// OnStoreFailureHold deletes the unstored replacement, keeps the leaked key and stops, so
	// the application keeps working while a human fixes the sink.
	OnStoreFailureHold = "hold"
)

// Owner search strategies of the locate step (design §5.1), cheapest first.
const (
	StrategyIMS         = "ims"
	StrategyActionTrail = "actiontrail"
	StrategyScan        = "scan"
	StrategySelf        = "self"
	// StrategyRecycleBin finds a key already deleted (in its user's AccessKey recycle bin,
	// restorable until purged): last, since every other strategy looks for a live key.
	StrategyRecycleBin = "recycle-bin"
)

// Strategies returns every locate strategy in the default order.
func Strategies() []string {
	return []string{StrategyIMS, StrategyActionTrail, StrategyScan, StrategySelf, StrategyRecycleBin}
}

// Defaults and limits of the step options. The default verify timeout is 30 s: long enough for a
// new key to propagate and for the late-create window (rotate.DefaultLateCreateWindow, 10 s) to
// close inside the verify step.
const (
	DefaultVerifyTimeout  = 30 * time.Second
	DefaultVerifyInterval = 2 * time.Second
	DefaultAssessWindow   = 7 * 24 * time.Hour
	MaxAssessWindow       = 90 * 24 * time.Hour
	MaxVerifyTimeout      = time.Hour
)

// ErrAssessWindow is matched (errors.Is) by the error for an assess window out of range.
var ErrAssessWindow = errors.New("the assess window must be more than 0 and at most 90 days")

// CheckAssessWindow checks that d is an assess window: more than 0 and at most MaxAssessWindow.
// The error wraps ErrAssessWindow.
func CheckAssessWindow(d time.Duration) error {
	if d <= 0 || d > MaxAssessWindow {
		return fmt.Errorf("%w (got %s)", ErrAssessWindow, d)
	}
	return nil
}

// Playbook is a validated playbook.
type Playbook struct {
	Name        string
	Description string
	Steps       []Step
	// OnStoreFailure is OnStoreFailureContain or OnStoreFailureHold.
	OnStoreFailure string
	// Sinks and Notify name entries of the configuration's sinks and notify sections. Empty means
	// every configured one (Config.Select fills them in).
	Sinks, Notify []string
	Match         Match
	// Source is the file it was read from, or "builtin".
	Source string
}

// Step is one step of a playbook.
type Step struct {
	ID      StepID
	Options StepOptions
}

// StepOptions are the options of all steps; each step reads only its own and the others are zero.
type StepOptions struct {
	// verify
	VerifyTimeout, VerifyInterval time.Duration
	CheckLeakedSecret             bool
	// assess
	AssessWindow time.Duration
	// locate
	Strategies      []string
	UseLeakedSecret bool
	// hunt, contain (incident.go)
	IncidentOptions
	KMSOptions // delete (kms.go)

	strategiesSet bool // the playbook named its strategies (else Config.Locate applies)
}

// DefaultOptions returns the options a step gets when the playbook sets none.
func DefaultOptions(id StepID) StepOptions {
	switch id {
	case StepVerify:
		return StepOptions{VerifyTimeout: DefaultVerifyTimeout, VerifyInterval: DefaultVerifyInterval, CheckLeakedSecret: true}
	case StepAssess:
		return StepOptions{AssessWindow: DefaultAssessWindow}
	case StepLocate:
		return StepOptions{Strategies: Strategies()}
	case StepHunt, StepContain:
		return StepOptions{IncidentOptions: defaultIncidentOptions(id)}
	case StepDelete:
		return StepOptions{KMSOptions: defaultKMSOptions()}
	}
	return StepOptions{}
}

// Match says which keys a playbook or rule is for. Every non-empty field must match; within a
// field any entry may. An empty Match matches every key.
type Match struct {
	// Accounts are account names (from the configuration) or numeric account ids.
	Accounts []string
	// Users are glob patterns (path.Match syntax: * ? [a-z]) on the RAM user name.
	Users []string
	// Sources are finding sources: gitleaks, trufflehog, flag (--key-id), ….
	Sources []string
	// KeyIDs are leaked AccessKey ids.
	KeyIDs []string
	// Evidence is what makes the finding a leak: secret, source, operator or none (trust.go).
	Evidence []string
}

// IsZero reports an empty match.
func (m Match) IsZero() bool {
	return len(m.Accounts) == 0 && len(m.Users) == 0 && len(m.Sources) == 0 && len(m.KeyIDs) == 0 && len(m.Evidence) == 0
}

// Has reports whether the playbook has the step.
func (p *Playbook) Has(id StepID) bool {
	_, ok := p.Step(id)
	return ok
}

// Step returns the step with the id.
func (p *Playbook) Step(id StepID) (Step, bool) {
	for _, s := range p.Steps {
		if s.ID == id {
			return s, true
		}
	}
	return Step{}, false
}

// StepIDs returns the ids of the playbook's steps, in order.
func (p *Playbook) StepIDs() []string {
	out := make([]string, len(p.Steps))
	for i, s := range p.Steps {
		out[i] = string(s.ID)
	}
	return out
}

// Load reads and parses a playbook file.
func Load(file string) (*Playbook, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read playbook: %w", err)
	}
	return Parse(file, data)
}

var playbookKeys = []string{"name", "description", "steps", "on-failure", "sinks", "notify", "match"}
var matchKeys = []string{"accounts", "users", "sources", "key-ids", "evidence"}

// positions maps a place in the file ("steps[2]", "on-failure.store") to where it is.
type positions map[string]pos

func (ps positions) at(place string) pos { return ps[place] }

// Parse parses and validates a playbook. name is used in errors (usually the file name).
func Parse(name string, data []byte) (*Playbook, error) {
	l := &errList{file: name}
	root := parseDocument(l, data, "playbook")
	if root == nil {
		return nil, l.err()
	}
	p, ps := decodePlaybook(l, root)
	if !l.ok() {
		return nil, l.err()
	}
	p.Source = name
	validatePlaybook(l, p, ps)
	if !l.ok() {
		return nil, l.err()
	}
	return p, nil
}

func decodePlaybook(l *errList, root *yaml.Node) (*Playbook, positions) {
	p := &Playbook{OnStoreFailure: OnStoreFailureContain}
	ps := positions{}
	fields := mapping(l, root, "", playbookKeys)
	seen := map[string]bool{}
	for _, f := range fields {
		seen[f.key] = true
		ps[f.key] = at(f.v)
		switch f.key {
		case "name":
			p.Name, _ = scalar(l, f.v, f.place, "a kebab-case name")
		case "description":
			p.Description, _ = scalar(l, f.v, f.place, "text")
		case "steps":
			p.Steps = decodeSteps(l, f.v, ps)
		case "on-failure":
			for _, g := range mapping(l, f.v, f.place, []string{"store"}) {
				ps[g.place] = at(g.v)
				p.OnStoreFailure, _ = scalar(l, g.v, g.place, "contain or hold")
			}
		case "sinks":
			p.Sinks = positionedList(l, ps, f, "names from the configuration's sinks section")
		case "notify":
			p.Notify = positionedList(l, ps, f, "names from the configuration's notify section")
		case "match":
			p.Match = decodeMatch(l, f.v, f.place, ps)
		}
	}
	if root.Kind == yaml.MappingNode {
		for _, k := range []string{"name", "steps"} {
			if !seen[k] {
				l.add(root.Line, root.Column, "missing key %q: a playbook needs a name and its steps", k)
			}
		}
	}
	return p, ps
}

func decodeMatch(l *errList, n *yaml.Node, place string, ps positions) Match {
	var m Match
	for _, f := range mapping(l, n, place, matchKeys) {
		var expected string
		switch f.key {
		case "accounts":
			expected = "account names or ids"
		case "users":
			expected = "user name patterns"
		case "sources":
			expected = "finding sources"
		case "key-ids":
			expected = "AccessKey ids"
		case "evidence":
			expected = "evidence (" + strings.Join(EvidenceValues(), ", ") + ")"
		}
		items := stringList(l, f.v, f.place, expected)
		for i, it := range items {
			ps[f.place+"["+strconv.Itoa(i)+"]"] = it.pos
		}
		ps[f.place] = at(f.v)
		switch f.key {
		case "accounts":
			m.Accounts = vals(items)
		case "users":
			m.Users = vals(items)
		case "sources":
			m.Sources = vals(items)
		case "key-ids":
			m.KeyIDs = vals(items)
		case "evidence":
			m.Evidence = vals(items)
		}
	}
	return m
}

var stepOptionKeys = map[StepID][]string{
	StepLocate:  {"strategies", "use-leaked-secret"},
	StepAssess:  {"window"},
	StepVerify:  {"timeout", "interval", "check-leaked-secret"},
	StepHunt:    huntOptionKeys,
	StepContain: containOptionKeys,
	StepDelete:  kmsOptionKeys,
}

func decodeSteps(l *errList, n *yaml.Node, ps positions) []Step {
	if n.Kind != yaml.SequenceNode {
		l.addAt(at(n), "steps: expected a list of steps (%s), got %s", strings.Join(StepIDs(), ", "), kindName(n))
		return nil
	}
	var steps []Step
	for i, c := range n.Content {
		place := "steps[" + strconv.Itoa(i) + "]"
		var id string
		var opts *yaml.Node
		switch {
		case c.Kind == yaml.ScalarNode && !isNull(c):
			id = c.Value
		case c.Kind == yaml.MappingNode && len(c.Content) == 2 && c.Content[0].Kind == yaml.ScalarNode:
			id, opts = c.Content[0].Value, c.Content[1]
		default:
			l.addAt(at(c), "%s: expected a step id (%s) or a one-key mapping such as {verify: {timeout: 30s}}, got %s", place, strings.Join(StepIDs(), ", "), kindName(c))
			continue
		}
		ps[place] = at(c)
		if !contains(StepIDs(), id) {
			l.addAt(at(c), "%s: unknown step %s%s; expected one of: %s", place, show(id), suggest(id, StepIDs()), strings.Join(StepIDs(), ", "))
			continue
		}
		s := Step{ID: StepID(id), Options: DefaultOptions(StepID(id))}
		if opts != nil {
			decodeOptions(l, s.ID, opts, place+"."+id, &s.Options, ps)
		}
		steps = append(steps, s)
	}
	return steps
}

func decodeOptions(l *errList, id StepID, n *yaml.Node, place string, o *StepOptions, ps positions) {
	allowed, ok := stepOptionKeys[id]
	if !ok {
		if !isNull(n) && !(n.Kind == yaml.MappingNode && len(n.Content) == 0) {
			l.addAt(at(n), "%s: step %s takes no options; write it as a plain list item: - %s", place, id, id)
		}
		return
	}
	for _, f := range mapping(l, n, place, allowed) {
		ps[f.place] = at(f.v)
		switch f.key {
		case "timeout", "interval", "window", "kms-wait":
			s, ok := scalar(l, f.v, f.place, `a duration such as "30s", "2m" or "7d"`)
			if !ok {
				continue
			}
			d, ok := parseDuration(s)
			if !ok {
				l.addAt(at(f.v), "%s: %s is not a duration: expected a number with a unit, such as \"30s\", \"2m\", \"168h\" or \"7d\"", f.place, show(s))
				continue
			}
			switch f.key {
			case "timeout":
				o.VerifyTimeout = d
			case "interval":
				o.VerifyInterval = d
			case "window":
				o.AssessWindow = d
			case "kms-wait":
				o.KMSWait = checkKMSWait(l, f, d)
			}
		case "check-leaked-secret":
			o.CheckLeakedSecret, _ = boolean(l, f.v, f.place)
		case "use-leaked-secret":
			o.UseLeakedSecret, _ = boolean(l, f.v, f.place)
		case "strategies":
			items := stringList(l, f.v, f.place, "strategies ("+strings.Join(KnownStrategies(), ", ")+")")
			for i, it := range items {
				ps[f.place+"["+strconv.Itoa(i)+"]"] = it.pos
			}
			o.Strategies = vals(items)
			o.strategiesSet = true
			if o.Strategies == nil {
				o.Strategies = []string{}
			}
		default:
			decodeIncidentOption(l, f, o, ps)
		}
	}
}

// Validate checks a playbook built in code by the same rules Parse applies.
func (p *Playbook) Validate() error {
	l := &errList{file: p.Source}
	validatePlaybook(l, p, positions{})
	return l.err()
}

func validatePlaybook(l *errList, p *Playbook, ps positions) {
	if !validName(p.Name) {
		l.addAt(ps.at("name"), "name: %s is not a valid playbook name: expected lower-case letters, digits and single dashes (kebab-case), at most 63 characters", show(p.Name))
	}
	validateSteps(l, p.Steps, p.OnStoreFailure, ps)
	checkNames(l, "sinks", p.Sinks, ps)
	checkNames(l, "notify", p.Notify, ps)
	if len(p.Sinks) > 0 && !p.Has(StepStore) {
		l.addAt(ps.at("sinks"), "sinks: the playbook has no store step, so no sink would be used; remove sinks or add create and store")
	}
	if len(p.Notify) > 0 && !p.Has(StepNotify) {
		l.addAt(ps.at("notify"), "notify: the playbook has no notify step, so no channel would be used; remove notify or add the notify step")
	}
	validateMatch(l, p.Match, "match", ps)
}

// ValidateSteps checks steps (in their order) with their options and the on-store-failure policy
// by the rules every playbook follows: known steps, each once, delete present, locate first,
// store right after create, assess before delete, verify after delete and store, notify last,
// hold only where it can keep the leaked key, hunt after assess, contain before create and
// delete, eradicate after hunt and delete, options in range. The engine checks its settings
// with it. An assess window out of range matches ErrAssessWindow.
func ValidateSteps(steps []Step, onStoreFailure string) error {
	l := &errList{}
	validateSteps(l, steps, onStoreFailure, positions{})
	return l.err()
}

func validateSteps(l *errList, steps []Step, onStoreFailure string, ps positions) {
	if len(steps) == 0 {
		l.addAt(ps.at("steps"), "steps: a playbook needs at least the delete step")
		return
	}
	first := map[StepID]int{}
	for i, s := range steps {
		place := "steps[" + strconv.Itoa(i) + "]"
		if !contains(StepIDs(), string(s.ID)) {
			l.addAt(ps.at(place), "%s: unknown step %s; expected one of: %s", place, show(string(s.ID)), strings.Join(StepIDs(), ", "))
			continue
		}
		if j, dup := first[s.ID]; dup {
			l.addAt(ps.at(place), "%s: step %s appears twice (first as steps[%d]): each step runs once", place, s.ID, j)
			continue
		}
		first[s.ID] = i
		validateOptions(l, s, place+"."+string(s.ID), ps)
	}
	idx := func(id StepID) int {
		if i, ok := first[id]; ok {
			return i
		}
		return -1
	}
	stepAt := func(id StepID) pos { return ps.at("steps[" + strconv.Itoa(idx(id)) + "]") }
	del := idx(StepDelete)
	if del < 0 {
		l.addAt(ps.at("steps"), "steps: no delete step: a playbook that never deletes the leaked key is refused, because whoever holds the leaked pair can keep using it (and a disabled key can be re-enabled, so respond deletes, never disables)")
	}
	if i := idx(StepLocate); i > 0 {
		l.addAt(stepAt(StepLocate), "steps[%d]: locate must be the first step: every other step needs the key's owner", i)
	}
	if c, s := idx(StepCreate), idx(StepStore); c >= 0 && (s < 0 || s < c) {
		if s < 0 {
			l.addAt(stepAt(StepCreate), "steps[%d]: create without a store step after it: the new key would reach no sink; add store after create (or remove create for a contain-only playbook)", c)
		} else {
			l.addAt(stepAt(StepStore), "steps[%d]: store runs before create: expected store after create", s)
		}
	} else if c < 0 && s >= 0 {
		l.addAt(stepAt(StepStore), "steps[%d]: store without create: there is no new key to store; add create before store, or remove store", s)
	}
	if a := idx(StepAssess); a >= 0 && del >= 0 && a > del {
		l.addAt(stepAt(StepAssess), "steps[%d]: assess after delete: the key's status and last use are gone once it is deleted; expected assess before delete", a)
	}
	if v := idx(StepVerify); v >= 0 {
		if del >= 0 && v < del {
			l.addAt(stepAt(StepVerify), "steps[%d]: verify before delete: verify checks that the leaked key is gone; expected verify after delete", v)
		} else if s := idx(StepStore); s >= 0 && v < s {
			l.addAt(stepAt(StepVerify), "steps[%d]: verify before store: verify checks the new key; expected verify after store", v)
		}
	}
	validateIncidentOrder(l, idx, stepAt)
	validateClose(l, idx, stepAt)
	if n := idx(StepNotify); n >= 0 && n != len(steps)-1 {
		l.addAt(stepAt(StepNotify), "steps[%d]: notify must be the last step: it reports what the others did", n)
	}
	switch onStoreFailure {
	case OnStoreFailureContain:
	case OnStoreFailureHold:
		c := idx(StepCreate)
		if c < 0 {
			l.addAt(ps.at("on-failure.store"), "on-failure.store: hold applies only to a playbook that creates and stores a replacement; remove it or use contain")
		} else if del >= 0 && del < c {
			l.addAt(ps.at("on-failure.store"), "on-failure.store: hold cannot keep the leaked key, because delete runs before create in this playbook; use contain, or move delete after store")
		}
	default:
		l.addAt(ps.at("on-failure.store"), "on-failure.store: %s is not a policy: expected contain (still delete the leaked key, the default) or hold (keep the leaked key and stop)", show(onStoreFailure))
	}
}

func checkNames(l *errList, place string, names []string, ps positions) {
	seen := map[string]bool{}
	for i, n := range names {
		p := place + "[" + strconv.Itoa(i) + "]"
		if !validName(n) {
			l.addAt(ps.at(p), "%s: %s is not a valid name: expected lower-case letters, digits and dashes", p, show(n))
		}
		if seen[n] {
			l.addAt(ps.at(p), "%s: %s is listed twice", p, show(n))
		}
		seen[n] = true
	}
}

func validateOptions(l *errList, s Step, place string, ps positions) {
	o := s.Options
	switch s.ID {
	case StepVerify:
		if o.VerifyTimeout <= 0 || o.VerifyTimeout > MaxVerifyTimeout {
			l.addAt(ps.at(place+".timeout"), "%s.timeout: %s is out of range: expected more than 0 and at most %s", place, o.VerifyTimeout, MaxVerifyTimeout)
		}
		if o.VerifyInterval <= 0 || (o.VerifyTimeout > 0 && o.VerifyInterval > o.VerifyTimeout) {
			l.addAt(ps.at(place+".interval"), "%s.interval: %s is out of range: expected more than 0 and at most the timeout (%s)", place, o.VerifyInterval, o.VerifyTimeout)
		}
	case StepAssess:
		if err := CheckAssessWindow(o.AssessWindow); err != nil {
			l.addErrAt(ps.at(place+".window"), err, "%s.window: %s is out of range: expected more than 0 and at most 90 days (2160h), how far back ActionTrail is searched", place, o.AssessWindow)
		}
	case StepHunt, StepContain:
		validateIncidentOptions(l, s, place, ps)
	case StepDelete:
		validateKMSOptions(l, s, place, ps)
	case StepLocate:
		if len(o.Strategies) == 0 {
			l.addAt(ps.at(place+".strategies"), "%s.strategies: expected at least one of %s", place, strings.Join(Strategies(), ", "))
		}
		seen := map[string]bool{}
		for i, st := range o.Strategies {
			p := place + ".strategies[" + strconv.Itoa(i) + "]"
			if !contains(KnownStrategies(), st) {
				l.addAt(ps.at(p), "%s: unknown strategy %s; expected one of: %s", p, show(st), strings.Join(KnownStrategies(), ", "))
			} else if seen[st] {
				l.addAt(ps.at(p), "%s: strategy %s is listed twice", p, st)
			}
			seen[st] = true
		}
	}
}

var sourceRe = nameRe

func validateMatch(l *errList, m Match, place string, ps positions) {
	for i, a := range m.Accounts {
		p := place + ".accounts[" + strconv.Itoa(i) + "]"
		if a == "" || strings.ContainsAny(a, " \t*?[") {
			l.addAt(ps.at(p), "%s: %s is not an account: expected an account name from the configuration or a numeric account id", p, show(a))
		}
	}
	for i, u := range m.Users {
		p := place + ".users[" + strconv.Itoa(i) + "]"
		if _, err := path.Match(u, ""); err != nil || u == "" {
			l.addAt(ps.at(p), "%s: %s is not a valid pattern: expected a user name or a glob such as \"ci-*\"", p, show(u))
		}
	}
	for i, s := range m.Sources {
		p := place + ".sources[" + strconv.Itoa(i) + "]"
		if !sourceRe.MatchString(s) {
			l.addAt(ps.at(p), "%s: %s is not a finding source: expected a lower-case name such as gitleaks, trufflehog or flag", p, show(s))
		}
	}
	for i, k := range m.KeyIDs {
		p := place + ".key-ids[" + strconv.Itoa(i) + "]"
		if !validKeyID(k) {
			l.addAt(ps.at(p), "%s: %s is not an AccessKey id: expected LTAI followed by 12 or 20 letters and digits", p, show(k))
		}
	}
	validateEvidence(l, m, place, ps)
}
