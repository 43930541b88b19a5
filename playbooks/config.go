package playbooks

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
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

var configKeys = []string{"accounts", "resource-directory", "sinks", "notify", "canaries", "playbooks", "rules", "state-dir", "locate", "serve"}

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
			items := stringList(l, f.v, f.place, "AccessKey ids")
			for i, it := range items {
				c.pos[f.place+"["+strconv.Itoa(i)+"]"] = it.pos
			}
			c.Canaries = vals(items)
		case "playbooks":
			c.decodePlaybookRefs(l, f)
		case "rules":
			c.decodeRules(l, f)
		case "state-dir":
			c.StateDir, _ = scalar(l, f.v, f.place, "a directory")
		case "locate":
			items := stringList(l, f.v, f.place, "strategies ("+strings.Join(Strategies(), ", ")+")")
			for i, it := range items {
				c.pos[f.place+"["+strconv.Itoa(i)+"]"] = it.pos
			}
			c.Locate = vals(items)
		case "serve":
			c.decodeServe(l, f)
		}
	}
	if !l.ok() {
		return nil, l.err()
	}
	c.validate(l)
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
		case "include", "exclude":
			items := stringList(l, g.v, g.place, "account ids")
			for i, it := range items {
				c.pos[g.place+"["+strconv.Itoa(i)+"]"] = it.pos
			}
			if g.key == "include" {
				rd.Include = vals(items)
			} else {
				rd.Exclude = vals(items)
			}
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

var (
	accountNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)
	accountIDRe   = regexp.MustCompile(`^[0-9]{5,20}$`)
	regionRe      = regexp.MustCompile(`^[a-z]{2,}(-[a-z0-9]+)+$`)
	envNameRe     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	roleARNRe     = regexp.MustCompile(`^acs:ram::[0-9]{5,20}:role/[A-Za-z0-9.-]{1,64}$`)
	roleNameRe    = regexp.MustCompile(`^[A-Za-z0-9.-]{1,64}$`)
	profileRe     = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
)

// Validate checks the configuration and every reference in it: accounts named by sinks, rules and
// Resource Directory exist; the playbooks rules name exist; the sinks and channels the loaded
// playbooks name exist.
func (c *Config) Validate() error {
	l := &errList{file: c.Source}
	c.validate(l)
	return l.err()
}

func (c *Config) validate(l *errList) {
	ps := c.pos
	if ps == nil {
		ps = positions{}
	}
	names := map[string]bool{}
	ids := map[string]bool{}
	for i, a := range c.Accounts {
		place := "accounts[" + strconv.Itoa(i) + "]"
		switch {
		case a.Name == "":
			l.addAt(ps.at(place), "%s: missing name: every account needs a name for rules, sinks and reports", place)
		case !accountNameRe.MatchString(a.Name):
			l.addAt(ps.at(place+".name"), "%s.name: %s is not a valid account name: expected letters, digits, '.', '_' and '-'", place, show(a.Name))
		case names[a.Name]:
			l.addAt(ps.at(place+".name"), "%s.name: account %s is defined twice", place, show(a.Name))
		}
		names[a.Name] = true
		if a.ID != "" {
			if !accountIDRe.MatchString(a.ID) {
				l.addAt(ps.at(place+".id"), "%s.id: %s is not an account id: expected digits (e.g. 1234567890123456)", place, show(a.ID))
			} else if ids[a.ID] {
				l.addAt(ps.at(place+".id"), "%s.id: account id %s is used twice", place, a.ID)
			}
			ids[a.ID] = true
		}
		if a.Region != "" && !regionRe.MatchString(a.Region) {
			l.addAt(ps.at(place+".region"), "%s.region: %s is not a region id: expected e.g. cn-hangzhou or ap-southeast-1", place, show(a.Region))
		}
		if a.Endpoint != "" {
			checkEndpoint(l, ps.at(place+".endpoint"), place+".endpoint", a.Endpoint)
		}
		checkCredentials(l, ps, place+".credentials", a.Credentials)
	}
	if rd := c.ResourceDirectory; rd != nil {
		if rd.Account == "" {
			l.addAt(ps.at("resource-directory"), "resource-directory: missing account: expected the name of the management account (from accounts) whose credentials list the members")
		} else if !names[rd.Account] {
			l.addAt(ps.at("resource-directory.account"), "resource-directory.account: no account named %s in accounts", show(rd.Account))
		}
		if !roleNameRe.MatchString(rd.RoleName) {
			l.addAt(ps.at("resource-directory.role-name"), "resource-directory.role-name: %s is not a RAM role name", show(rd.RoleName))
		}
		for _, k := range []string{"include", "exclude"} {
			list := rd.Include
			if k == "exclude" {
				list = rd.Exclude
			}
			for i, id := range list {
				p := "resource-directory." + k + "[" + strconv.Itoa(i) + "]"
				if !accountIDRe.MatchString(id) {
					l.addAt(ps.at(p), "%s: %s is not an account id: expected digits", p, show(id))
				}
			}
		}
	}
	for _, name := range sortedKeys(c.Sinks) {
		c.validateSink(l, ps, name, c.Sinks[name], names)
	}
	for _, name := range sortedKeys(c.Notify) {
		validateNotify(l, ps, name, c.Notify[name])
	}
	for i, k := range c.Canaries {
		p := "canaries[" + strconv.Itoa(i) + "]"
		if !validKeyID(k) {
			l.addAt(ps.at(p), "%s: %s is not an AccessKey id: expected LTAI followed by 12 or 20 letters and digits", p, show(k))
		}
	}
	seenStrategy := map[string]bool{}
	for i, s := range c.Locate {
		p := "locate[" + strconv.Itoa(i) + "]"
		if !contains(Strategies(), s) {
			l.addAt(ps.at(p), "%s: unknown strategy %s; expected one of: %s", p, show(s), strings.Join(Strategies(), ", "))
		} else if seenStrategy[s] {
			l.addAt(ps.at(p), "%s: strategy %s is listed twice", p, s)
		}
		seenStrategy[s] = true
	}
	if c.StateDir == "" && ps["state-dir"] != (pos{}) {
		l.addAt(ps.at("state-dir"), "state-dir: empty: expected a directory, or remove the key for the default")
	}
	// Playbooks.
	available := map[string]bool{}
	for _, n := range BuiltinNames() {
		available[n] = true
	}
	unresolved := false
	for i, r := range c.Playbooks {
		place := "playbooks[" + strconv.Itoa(i) + "]"
		switch {
		case r.Name != "" && r.Path != "":
			l.addAt(ps.at(place), "%s: expected one of name or path, not both", place)
		case r.Name != "":
			if !IsBuiltin(r.Name) {
				l.addAt(ps.at(place), "%s: no built-in playbook %s: expected one of %s, or path: FILE for your own", place, show(r.Name), strings.Join(BuiltinNames(), ", "))
			}
		case r.Path != "" && r.Playbook == nil:
			unresolved = true
		case r.Playbook != nil:
			pb := r.Playbook
			if IsBuiltin(pb.Name) {
				l.addAt(ps.at(place), "%s: playbook %s (from %s) has the name of a built-in: choose another name", place, show(pb.Name), r.Path)
			} else if available[pb.Name] {
				l.addAt(ps.at(place), "%s: a second playbook named %s (from %s): playbook names must be unique", place, show(pb.Name), r.Path)
			}
			available[pb.Name] = true
			c.checkPlaybookRefs(l, ps.at(place), place, pb)
		}
	}
	for i, r := range c.Rules {
		place := "rules[" + strconv.Itoa(i) + "]"
		if r.Playbook == "" {
			l.addAt(ps.at(place), "%s: missing playbook", place)
		} else if !available[r.Playbook] && !unresolved {
			l.addAt(ps.at(place+".playbook"), "%s.playbook: no playbook named %s: expected a built-in (%s) or one listed under playbooks", place, show(r.Playbook), strings.Join(BuiltinNames(), ", "))
		}
		validateMatch(l, r.Match, place+".match", ps)
	}
}

func (c *Config) checkPlaybookRefs(l *errList, p pos, place string, pb *Playbook) {
	for _, s := range pb.Sinks {
		if _, ok := c.Sinks[s]; !ok {
			l.addAt(p, "%s: playbook %s names sink %s, which is not defined under sinks (defined: %s)", place, pb.Name, show(s), listOrNone(sortedKeys(c.Sinks)))
		}
	}
	for _, n := range pb.Notify {
		if _, ok := c.Notify[n]; !ok {
			l.addAt(p, "%s: playbook %s names notification channel %s, which is not defined under notify (defined: %s)", place, pb.Name, show(n), listOrNone(sortedKeys(c.Notify)))
		}
	}
}

// CheckPlaybook reports the sinks and channels a playbook names that this configuration does not
// define (for `respond playbook validate FILE` with a configuration).
func (c *Config) CheckPlaybook(pb *Playbook) error {
	l := &errList{file: pb.Source}
	c.checkPlaybookRefs(l, pos{}, "playbook", pb)
	return l.err()
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func checkEndpoint(l *errList, p pos, place, e string) {
	if strings.Contains(e, "://") {
		u, err := url.Parse(e)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
			l.addAt(p, "%s: %s is not an endpoint: expected https://host[:port] (http only for a local emulator) or a host name", place, show(e))
		}
		return
	}
	if strings.ContainsAny(e, "/ ?#@") || e == "" {
		l.addAt(p, "%s: %s is not an endpoint: expected a host name such as ram.aliyuncs.com", place, show(e))
	}
}

func checkCredentials(l *errList, ps positions, place string, cr Credentials) {
	only := func(key, source string) {
		l.addAt(ps.at(place+"."+key), "%s.%s: only used with source: %s (this account's source is %s)", place, key, source, cr.Source)
	}
	switch cr.Source {
	case CredentialsEnv, CredentialsDefault:
		if cr.Profile != "" {
			only("profile", CredentialsProfile)
		}
		if cr.RoleARN != "" {
			only("role-arn", CredentialsRoleARN)
		}
		if cr.RoleName != "" {
			only("role-name", CredentialsECSRole)
		}
	case CredentialsProfile:
		if cr.Profile == "" {
			l.addAt(ps.at(place), "%s: source profile needs profile: NAME (a profile of the aliyun CLI configuration)", place)
		} else if !profileRe.MatchString(cr.Profile) {
			l.addAt(ps.at(place+".profile"), "%s.profile: %s is not a profile name", place, show(cr.Profile))
		}
		if cr.RoleARN != "" {
			only("role-arn", CredentialsRoleARN)
		}
		if cr.RoleName != "" {
			only("role-name", CredentialsECSRole)
		}
	case CredentialsECSRole:
		if cr.RoleName != "" && !roleNameRe.MatchString(cr.RoleName) {
			l.addAt(ps.at(place+".role-name"), "%s.role-name: %s is not a RAM role name", place, show(cr.RoleName))
		}
		if cr.Profile != "" {
			only("profile", CredentialsProfile)
		}
		if cr.RoleARN != "" {
			only("role-arn", CredentialsRoleARN)
		}
	case CredentialsRoleARN:
		if cr.RoleARN == "" {
			l.addAt(ps.at(place), "%s: source role-arn needs role-arn: acs:ram::ACCOUNT:role/NAME", place)
		} else if !roleARNRe.MatchString(cr.RoleARN) {
			l.addAt(ps.at(place+".role-arn"), "%s.role-arn: %s is not a role ARN: expected acs:ram::ACCOUNT:role/NAME", place, show(cr.RoleARN))
		}
		if cr.RoleName != "" {
			only("role-name", CredentialsECSRole)
		}
	default:
		l.addAt(ps.at(place+".source"), "%s.source: %s is not a credentials source: expected one of %s", place, show(cr.Source), strings.Join(CredentialSources(), ", "))
	}
}

func (c *Config) validateSink(l *errList, ps positions, name string, s SinkConfig, accounts map[string]bool) {
	orig := s
	place := "sinks." + name
	only := func(key, typ string) {
		l.addAt(ps.at(place+"."+key), "%s.%s: only used by %s sinks (this sink's type is %s)", place, key, typ, s.Type)
	}
	switch s.Type {
	case SinkFile:
		if s.Path == "" {
			l.addAt(ps.at(place), "%s: a file sink needs path: (may use %s)", place, fieldList())
		} else if t, err := ParseTemplate(s.Path, TargetFilePath); err != nil {
			l.addAt(ps.at(place+".path"), "%s.path: %v", place, err)
		} else {
			s.Target = t
		}
		if s.Format != "" && s.Format != "json" && s.Format != "dotenv" {
			l.addAt(ps.at(place+".format"), "%s.format: %s is not a format: expected json or dotenv", place, show(s.Format))
		}
		if s.Format == "" {
			s.Format = "json"
		}
		for _, k := range []struct {
			key string
			set bool
			typ string
		}{{"secret-name", s.SecretName != "", SinkKMS}, {"create", s.Create, SinkKMS}, {"account", s.Account != "", SinkKMS}, {"command", s.Command != nil, SinkExec}} {
			if k.set {
				only(k.key, k.typ)
			}
		}
	case SinkKMS:
		if s.SecretName == "" {
			l.addAt(ps.at(place), "%s: a kms sink needs secret-name: (may use %s)", place, fieldList())
		} else if t, err := ParseTemplate(s.SecretName, TargetKMSSecretName); err != nil {
			l.addAt(ps.at(place+".secret-name"), "%s.secret-name: %v", place, err)
		} else {
			s.Target = t
		}
		if s.Account != "" && !accounts[s.Account] {
			l.addAt(ps.at(place+".account"), "%s.account: no account named %s in accounts", place, show(s.Account))
		}
		for _, k := range []struct {
			key string
			set bool
			typ string
		}{{"path", s.Path != "", SinkFile}, {"format", s.Format != "", SinkFile}, {"command", s.Command != nil, SinkExec}} {
			if k.set {
				only(k.key, k.typ)
			}
		}
	case SinkExec:
		if len(s.Command) == 0 || s.Command[0] == "" {
			l.addAt(ps.at(place), "%s: an exec sink needs command: [PROGRAM, ARG...] (run without a shell; the new pair arrives on stdin as JSON)", place)
		}
		for _, k := range []struct {
			key string
			set bool
			typ string
		}{{"path", s.Path != "", SinkFile}, {"format", s.Format != "", SinkFile}, {"secret-name", s.SecretName != "", SinkKMS}, {"create", s.Create, SinkKMS}, {"account", s.Account != "", SinkKMS}} {
			if k.set {
				only(k.key, k.typ)
			}
		}
	default:
		l.addAt(ps.at(place+".type"), "%s.type: %s is not a sink type: expected file, kms or exec", place, show(s.Type))
	}
	// Fill in the parsed target and default format once; a later Validate writes nothing, so it
	// may run while others read the configuration.
	if c.Sinks != nil && (orig.Target == nil && s.Target != nil || orig.Format != s.Format || s.Name != name) {
		s.Name = name
		c.Sinks[name] = s
	}
}

func fieldList() string { return "{{." + strings.Join(templateFields, "}}, {{.") + "}}" }

func validateNotify(l *errList, ps positions, name string, n NotifyConfig) {
	place := "notify." + name
	switch n.Type {
	case NotifyDingTalk, NotifySlack, NotifyLark, NotifyWebhook:
	default:
		l.addAt(ps.at(place+".type"), "%s.type: %s is not a channel type: expected dingtalk, slack, lark or webhook", place, show(n.Type))
	}
	switch {
	case n.URLEnv == "" && n.URLFile == "":
		l.addAt(ps.at(place), "%s: missing url-env (the environment variable holding the webhook URL) or url-file (a file holding it)", place)
	case n.URLEnv != "" && n.URLFile != "":
		l.addAt(ps.at(place+".url-file"), "%s: expected one of url-env or url-file, not both", place)
	case n.URLEnv != "" && !envNameRe.MatchString(n.URLEnv):
		l.addAt(ps.at(place+".url-env"), "%s.url-env: %s is not an environment variable name", place, show(n.URLEnv))
	}
	if n.SecretEnv != "" {
		if !envNameRe.MatchString(n.SecretEnv) {
			l.addAt(ps.at(place+".secret-env"), "%s.secret-env: %s is not an environment variable name", place, show(n.SecretEnv))
		}
		if n.Type == NotifySlack {
			l.addAt(ps.at(place+".secret-env"), "%s.secret-env: Slack incoming webhooks are not signed; remove secret-env", place)
		}
	}
}

// IsCanary reports whether keyID is listed as a canary.
func (c *Config) IsCanary(keyID string) bool { return contains(c.Canaries, keyID) }

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
	}
	return &q
}
