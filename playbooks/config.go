package playbooks

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/respond-dev/respond/ram/accesskey"
)

// Config is respond's configuration file: which accounts to search and with which credentials
// source, where a new key goes (sinks), whom to tell (notify), which keys are canaries, and which
// playbook answers which key (rules).
type Config struct {
	Accounts          []AccountConfig
	ResourceDirectory *RDConfig
	Sinks             map[string]SinkConfig
	Notify            map[string]NotifyConfig
	// Canaries are honeytoken key ids: never rotated, they raise an alert.
	Canaries []string
	// Playbooks lists the playbooks the rules may name besides the built-ins.
	Playbooks []PlaybookRef
	// Rules choose a playbook: the first whose match matches wins.
	Rules []Rule
	// StateDir holds journals and locks; empty means the caller's default.
	StateDir string
	// Locate is the default order of owner search strategies; empty means Strategies().
	Locate []string
	// Trust lists the finding sources whose id-only findings are acted on (trust.go).
	Trust []Trust
	// SecretMatch tunes the secret-match strategy (secretmatch.go).
	SecretMatch SecretMatchConfig
	// Assess is how the impact assessment reads ActionTrail (config_assess.go).
	Assess AssessConfig
	// Serve is the serve: section (respond serve); nil when absent.
	Serve *ServeConfig
	// Source is the file the configuration was read from.
	Source string

	pos positions
}

// AccountConfig is one account respond may act in.
type AccountConfig struct {
	Name        string
	ID          string // numeric account id, optional
	Credentials Credentials
	Region      string
	Endpoint    string // endpoint override (e.g. the emulator), optional
}

// Credential sources. The SDK's own provider chain reads the values; the file only names where.
const (
	CredentialsEnv     = "env"      // ALIBABA_CLOUD_ACCESS_KEY_ID / _SECRET (and _SECURITY_TOKEN)
	CredentialsProfile = "profile"  // a profile of the aliyun CLI's config.json
	CredentialsECSRole = "ecs-role" // the ECS instance's RAM role
	CredentialsRoleARN = "role-arn" // assume this role with the default chain's credentials
	CredentialsDefault = "default"  // the SDK's default chain
)

// CredentialSources returns the accepted credential sources.
func CredentialSources() []string {
	return []string{CredentialsEnv, CredentialsProfile, CredentialsECSRole, CredentialsRoleARN, CredentialsDefault}
}

// Credentials names where an account's credentials come from.
type Credentials struct {
	Source   string
	Profile  string // source: profile
	RoleARN  string // source: role-arn
	RoleName string // source: ecs-role (optional: the instance's role is discovered)
}

// RDConfig turns on Resource Directory discovery: the member accounts of the organisation are
// searched through a role assumed from the management account.
type RDConfig struct {
	Account  string   // the management account's name in Accounts
	RoleName string   // role assumed in each member; default ResourceDirectoryAccountAccessRole
	Include  []string // member account ids to search; empty means all
	Exclude  []string // member account ids to skip
}

// DefaultRDRoleName is the role Resource Directory creates in each member account.
const DefaultRDRoleName = "ResourceDirectoryAccountAccessRole"

// Sink types.
const (
	SinkFile = "file"
	SinkKMS  = "kms"
	SinkExec = "exec"
)

// SinkConfig is one place a new key is stored.
type SinkConfig struct {
	Name string
	Type string // file, kms or exec
	// file
	Path   string // templated
	Format string // json (default) or dotenv
	// kms
	SecretName string // templated
	Create     bool   // create the secret if it does not exist
	Account    string // account holding the secret; default: the key's account
	// exec: argv, run without a shell; the new pair is written to stdin as JSON.
	Command []string
	// Target is the parsed Path or SecretName.
	Target *Template
}

// ExpandTarget returns the sink's path or secret name for a rotation.
func (s SinkConfig) ExpandTarget(v TemplateValues) (string, error) {
	if s.Target == nil {
		return "", fmt.Errorf("sink %s has no templated target", s.Name)
	}
	return s.Target.Expand(v)
}

// Notification channel types.
const (
	NotifyDingTalk = "dingtalk"
	NotifySlack    = "slack"
	NotifyLark     = "lark"
	NotifyWebhook  = "webhook"
)

// NotifyConfig is one notification channel. The webhook URL carries a token, so it is never in
// the file: URLEnv names an environment variable holding it, or URLFile a file holding it.
// SecretEnv names an environment variable holding the signing secret (DingTalk, Lark, webhook).
type NotifyConfig struct {
	Name      string
	Type      string
	URLEnv    string
	URLFile   string
	SecretEnv string
}

// PlaybookRef is a playbook the configuration makes available: a built-in by Name, or a file by
// Path (relative to the configuration file). LoadConfig fills Playbook for a path.
type PlaybookRef struct {
	Name     string
	Path     string
	Playbook *Playbook
}

// Rule chooses a playbook for the keys its match matches (an empty match matches all).
type Rule struct {
	Match    Match
	Playbook string
}

// DefaultPlaybook is used when no rule matches.
const DefaultPlaybook = "standard"

// DefaultConfigPath returns where the configuration is read from by default:
// <userConfigDir>/respond/config.yaml (userConfigDir is os.UserConfigDir(), e.g.
// $XDG_CONFIG_HOME or ~/.config).
func DefaultConfigPath(userConfigDir string) string {
	return filepath.Join(userConfigDir, "respond", "config.yaml")
}

// LoadConfig reads a configuration file, loads the playbook files it names (relative to its
// directory) and cross-checks every reference.
func LoadConfig(file string) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	c, err := ParseConfig(file, data)
	if err != nil {
		return nil, err
	}
	l := &errList{file: file}
	dir := filepath.Dir(file)
	var loadErrs []error
	for i := range c.Playbooks {
		r := &c.Playbooks[i]
		if r.Path == "" {
			continue
		}
		p := r.Path
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		pb, err := Load(p)
		if err != nil {
			if len(Errors(err)) == 0 {
				l.addAt(c.pos.at("playbooks["+strconv.Itoa(i)+"]"), "playbooks[%d]: %v", i, err)
			} else {
				loadErrs = append(loadErrs, err)
			}
			continue
		}
		r.Playbook = pb
	}
	if !l.ok() || len(loadErrs) > 0 {
		if e := l.err(); e != nil {
			loadErrs = append([]error{e}, loadErrs...)
		}
		return nil, joinErrs(loadErrs)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

func joinErrs(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

var configKeys = []string{"accounts", "resource-directory", "sinks", "notify", "canaries", "playbooks", "rules", "state-dir", "locate", "trust", "secret-match", "assess", "serve"}

// positionedList decodes f as a list of strings (what says what is expected), remembering in ps
// where each item stands for later errors.
func positionedList(l *errList, ps positions, f field, what string) []string {
	items := stringList(l, f.v, f.place, what)
	for i, it := range items {
		ps[f.place+"["+strconv.Itoa(i)+"]"] = it.pos
	}
	return vals(items)
}

// ParseConfig parses and validates a configuration. It reads no files: playbooks named by path
// are left unloaded (LoadConfig loads them), and references to them are checked by Validate.
func ParseConfig(name string, data []byte) (*Config, error) {
	l := &errList{file: name}
	root := parseDocument(l, data, "configuration")
	if root == nil {
		return nil, l.err()
	}
	c := &Config{Source: name, pos: positions{}}
	for _, f := range mapping(l, root, "", configKeys) {
		c.pos[f.key] = at(f.v)
		switch f.key {
		case "accounts":
			c.decodeAccounts(l, f)
		case "resource-directory":
			c.decodeRD(l, f)
		case "sinks":
			c.decodeSinks(l, f)
		case "notify":
			c.decodeNotify(l, f)
		case "canaries":
			c.Canaries = positionedList(l, c.pos, f, "AccessKey ids")
		case "playbooks":
			c.decodePlaybookRefs(l, f)
		case "rules":
			c.decodeRules(l, f)
		case "state-dir":
			c.StateDir, _ = scalar(l, f.v, f.place, "a directory")
		case "locate":
			c.Locate = positionedList(l, c.pos, f, "strategies ("+strings.Join(KnownStrategies(), ", ")+")")
		case "trust":
			c.decodeTrust(l, f)
		case "secret-match":
			c.decodeSecretMatch(l, f)
		case "assess":
			c.decodeAssess(l, f)
		case "serve":
			c.decodeServe(l, f)
		}
	}
	// Validate also after a decoding error, so that every problem is reported at once; a
	// problem of a value that could not be decoded is said once, by the decoder.
	v := &errList{file: name}
	c.validate(v)
	l.addUnlessDecoded(v)
	if !l.ok() {
		return nil, l.err()
	}
	return c, nil
}

func seqItems(l *errList, f field, expected string) []*yaml.Node {
	if isNull(f.v) {
		return nil
	}
	if f.v.Kind != yaml.SequenceNode {
		l.addAt(at(f.v), "%s: expected a list of %s, got %s", f.place, expected, kindName(f.v))
		return nil
	}
	return f.v.Content
}

var accountKeys = []string{"name", "id", "credentials", "region", "endpoint"}
var credentialKeys = []string{"source", "profile", "role-arn", "role-name"}

func (c *Config) decodeAccounts(l *errList, f field) {
	for i, n := range seqItems(l, f, "accounts") {
		place := "accounts[" + strconv.Itoa(i) + "]"
		c.pos[place] = at(n)
		a := AccountConfig{Credentials: Credentials{Source: CredentialsDefault}}
		for _, g := range mapping(l, n, place, accountKeys) {
			c.pos[g.place] = at(g.v)
			switch g.key {
			case "name":
				a.Name, _ = scalar(l, g.v, g.place, "an account name")
			case "id":
				a.ID, _ = scalar(l, g.v, g.place, "a numeric account id")
			case "region":
				a.Region, _ = scalar(l, g.v, g.place, "a region id such as cn-hangzhou")
			case "endpoint":
				a.Endpoint, _ = scalar(l, g.v, g.place, "a URL or host name")
			case "credentials":
				for _, h := range mapping(l, g.v, g.place, credentialKeys) {
					c.pos[h.place] = at(h.v)
					v, _ := scalar(l, h.v, h.place, "a name")
					switch h.key {
					case "source":
						a.Credentials.Source = v
					case "profile":
						a.Credentials.Profile = v
					case "role-arn":
						a.Credentials.RoleARN = v
					case "role-name":
						a.Credentials.RoleName = v
					}
				}
			}
		}
		c.Accounts = append(c.Accounts, a)
	}
}

var rdKeys = []string{"account", "role-name", "include", "exclude"}

func (c *Config) decodeRD(l *errList, f field) {
	rd := &RDConfig{RoleName: DefaultRDRoleName}
	for _, g := range mapping(l, f.v, f.place, rdKeys) {
		c.pos[g.place] = at(g.v)
		switch g.key {
		case "account":
			rd.Account, _ = scalar(l, g.v, g.place, "the management account's name")
		case "role-name":
			rd.RoleName, _ = scalar(l, g.v, g.place, "a RAM role name")
		case "include":
			rd.Include = positionedList(l, c.pos, g, "account ids")
		case "exclude":
			rd.Exclude = positionedList(l, c.pos, g, "account ids")
		}
	}
	c.ResourceDirectory = rd
}

var sinkKeys = []string{"type", "path", "format", "secret-name", "create", "account", "command"}

func (c *Config) decodeSinks(l *errList, f field) {
	c.Sinks = map[string]SinkConfig{}
	for _, g := range namedMapping(l, f) {
		c.pos[g.place] = at(g.k)
		s := SinkConfig{Name: g.key}
		for _, h := range mapping(l, g.v, g.place, sinkKeys) {
			c.pos[h.place] = at(h.v)
			switch h.key {
			case "type":
				s.Type, _ = scalar(l, h.v, h.place, "file, kms or exec")
			case "path":
				s.Path, _ = scalar(l, h.v, h.place, "a file path")
			case "format":
				s.Format, _ = scalar(l, h.v, h.place, "json or dotenv")
			case "secret-name":
				s.SecretName, _ = scalar(l, h.v, h.place, "a KMS secret name")
			case "create":
				s.Create, _ = boolean(l, h.v, h.place)
			case "account":
				s.Account, _ = scalar(l, h.v, h.place, "an account name")
			case "command":
				items := seqScalars(l, h.v, h.place, "command arguments")
				s.Command = items
			}
		}
		c.Sinks[g.key] = s
	}
}

// seqScalars is a list of strings where repeats are allowed (argv).
func seqScalars(l *errList, n *yaml.Node, place, expected string) []string {
	if n.Kind != yaml.SequenceNode {
		l.addAt(at(n), "%s: expected a list of %s (argv, run without a shell), got %s", place, expected, kindName(n))
		return nil
	}
	out := []string{}
	for i, c := range n.Content {
		v, ok := scalar(l, c, place+"["+strconv.Itoa(i)+"]", "a string")
		if ok {
			out = append(out, v)
		}
	}
	return out
}

// namedMapping decodes a mapping of user-chosen names.
func namedMapping(l *errList, f field) []field {
	if isNull(f.v) {
		return nil
	}
	if f.v.Kind != yaml.MappingNode {
		l.addAt(at(f.v), "%s: expected a mapping of names to settings, got %s", f.place, kindName(f.v))
		return nil
	}
	var out []field
	seen := map[string]bool{}
	for i := 0; i+1 < len(f.v.Content); i += 2 {
		k, v := f.v.Content[i], f.v.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			l.addAt(at(k), "%s: expected a name, got %s", f.place, kindName(k))
			continue
		}
		if seen[k.Value] {
			l.addAt(at(k), "%s: %s is defined twice", f.place, show(k.Value))
			continue
		}
		seen[k.Value] = true
		if !validName(k.Value) {
			l.addAt(at(k), "%s: %s is not a valid name: expected lower-case letters, digits and dashes", f.place, show(k.Value))
			continue
		}
		out = append(out, field{key: k.Value, k: k, v: v, place: f.place + "." + k.Value})
	}
	return out
}

var notifyKeys = []string{"type", "url-env", "url-file", "secret-env", "url"}

func (c *Config) decodeNotify(l *errList, f field) {
	c.Notify = map[string]NotifyConfig{}
	for _, g := range namedMapping(l, f) {
		c.pos[g.place] = at(g.k)
		n := NotifyConfig{Name: g.key}
		for _, h := range mapping(l, g.v, g.place, notifyKeys) {
			c.pos[h.place] = at(h.v)
			switch h.key {
			case "type":
				n.Type, _ = scalar(l, h.v, h.place, "dingtalk, slack, lark or webhook")
			case "url-env":
				n.URLEnv, _ = scalar(l, h.v, h.place, "an environment variable name")
			case "url-file":
				n.URLFile, _ = scalar(l, h.v, h.place, "a file path")
			case "secret-env":
				n.SecretEnv, _ = scalar(l, h.v, h.place, "an environment variable name")
			case "url":
				l.addAt(at(h.k), "%s: a literal webhook URL is refused: webhook URLs carry access tokens; put the URL in an environment variable and name it with url-env, or in a file (mode 0600) named by url-file", h.place)
			}
		}
		c.Notify[g.key] = n
	}
}

func (c *Config) decodePlaybookRefs(l *errList, f field) {
	for i, n := range seqItems(l, f, "playbooks ({name: BUILTIN} or {path: FILE})") {
		place := "playbooks[" + strconv.Itoa(i) + "]"
		c.pos[place] = at(n)
		var r PlaybookRef
		fs := mapping(l, n, place, []string{"name", "path"})
		for _, g := range fs {
			v, _ := scalar(l, g.v, g.place, "a name or path")
			if g.key == "name" {
				r.Name = v
			} else {
				r.Path = v
			}
		}
		if n.Kind == yaml.MappingNode && len(fs) != 1 {
			l.addAt(at(n), "%s: expected exactly one of name (a built-in playbook) or path (a playbook file)", place)
		}
		c.Playbooks = append(c.Playbooks, r)
	}
}

func (c *Config) decodeRules(l *errList, f field) {
	for i, n := range seqItems(l, f, "rules ({match: {...}, playbook: NAME})") {
		place := "rules[" + strconv.Itoa(i) + "]"
		c.pos[place] = at(n)
		var r Rule
		seen := false
		for _, g := range mapping(l, n, place, []string{"match", "playbook"}) {
			c.pos[g.place] = at(g.v)
			switch g.key {
			case "match":
				r.Match = decodeMatch(l, g.v, g.place, c.pos)
			case "playbook":
				r.Playbook, _ = scalar(l, g.v, g.place, "a playbook name")
				seen = true
			}
		}
		if n.Kind == yaml.MappingNode && !seen {
			l.addAt(at(n), "%s: missing key \"playbook\": a rule names the playbook its match selects", place)
		}
		c.Rules = append(c.Rules, r)
	}
}

// CanaryIDs are the canary (honeytoken) key ids, parsed (Validate refuses one that is not an id;
// a nil configuration has none).
func (c *Config) CanaryIDs() []accesskey.ID {
	if c == nil {
		return nil
	}
	var out []accesskey.ID
	for _, k := range c.Canaries {
		if id, err := accesskey.ParseID(k); err == nil {
			out = append(out, id)
		}
	}
	return out
}

// ChoosesByOwner reports whether a rule, or a configured playbook's own match, looks at the
// owner's account or user: then a playbook can be chosen only once the owner is found.
func (c *Config) ChoosesByOwner() bool {
	if c == nil {
		return false
	}
	byOwner := func(m Match) bool { return len(m.Accounts) > 0 || len(m.Users) > 0 }
	for _, r := range c.Rules {
		if byOwner(r.Match) {
			return true
		}
	}
	for _, r := range c.Playbooks {
		if r.Playbook != nil && byOwner(r.Playbook.Match) {
			return true
		}
	}
	return false
}

// Account returns the account with the name.
func (c *Config) Account(name string) (AccountConfig, bool) {
	for _, a := range c.Accounts {
		if a.Name == name {
			return a, true
		}
	}
	return AccountConfig{}, false
}

// Playbook returns a fresh copy of the named playbook: a built-in or one the configuration loaded.
func (c *Config) Playbook(name string) (*Playbook, error) {
	if c != nil {
		for _, r := range c.Playbooks {
			if r.Playbook != nil && r.Playbook.Name == name {
				return clonePlaybook(r.Playbook), nil
			}
		}
	}
	return Builtin(name)
}

func clonePlaybook(p *Playbook) *Playbook {
	q := *p
	q.Steps = append([]Step(nil), p.Steps...)
	for i := range q.Steps {
		q.Steps[i].Options.Strategies = append([]string(nil), q.Steps[i].Options.Strategies...)
	}
	q.Sinks = append([]string(nil), p.Sinks...)
	q.Notify = append([]string(nil), p.Notify...)
	q.Match = Match{
		Accounts: append([]string(nil), p.Match.Accounts...),
		Users:    append([]string(nil), p.Match.Users...),
		Sources:  append([]string(nil), p.Match.Sources...),
		KeyIDs:   append([]string(nil), p.Match.KeyIDs...),
		Evidence: append([]string(nil), p.Match.Evidence...),
	}
	return &q
}

// Summary counts what the configuration defines, for respond config validate.
func (c *Config) Summary() string {
	return fmt.Sprintf("%d account(s), %d sink(s), %d notification channel(s), %d canary key(s), %d rule(s)",
		len(c.Accounts), len(c.Sinks), len(c.Notify), len(c.Canaries), len(c.Rules))
}
