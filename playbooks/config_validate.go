package playbooks

// The configuration's checks: every value, and every reference between its parts (Validate).

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

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
	c.validateAssess(l, ps)
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
		if !contains(KnownStrategies(), s) {
			l.addAt(ps.at(p), "%s: unknown strategy %s; expected one of: %s", p, show(s), strings.Join(KnownStrategies(), ", "))
		} else if seenStrategy[s] {
			l.addAt(ps.at(p), "%s: strategy %s is listed twice", p, s)
		}
		seenStrategy[s] = true
	}
	c.validateTrust(l, ps)
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
	switch cr.Source {
	case CredentialsEnv, CredentialsDefault:
	case CredentialsProfile:
		if cr.Profile == "" {
			l.addAt(ps.at(place), "%s: source profile needs profile: NAME (a profile of the aliyun CLI configuration)", place)
		} else if !profileRe.MatchString(cr.Profile) {
			l.addAt(ps.at(place+".profile"), "%s.profile: %s is not a profile name", place, show(cr.Profile))
		}
	case CredentialsECSRole:
		if cr.RoleName != "" && !roleNameRe.MatchString(cr.RoleName) {
			l.addAt(ps.at(place+".role-name"), "%s.role-name: %s is not a RAM role name", place, show(cr.RoleName))
		}
	case CredentialsRoleARN:
		if cr.RoleARN == "" {
			l.addAt(ps.at(place), "%s: source role-arn needs role-arn: acs:ram::ACCOUNT:role/NAME", place)
		} else if !roleARNRe.MatchString(cr.RoleARN) {
			l.addAt(ps.at(place+".role-arn"), "%s.role-arn: %s is not a role ARN: expected acs:ram::ACCOUNT:role/NAME", place, show(cr.RoleARN))
		}
	default:
		l.addAt(ps.at(place+".source"), "%s.source: %s is not a credentials source: expected one of %s", place, show(cr.Source), strings.Join(CredentialSources(), ", "))
		return
	}
	// Each of these keys belongs to one source (a role-arn account may sign its AssumeRole with a
	// profile).
	for _, f := range []struct{ key, value, source, alsoWith string }{
		{"profile", cr.Profile, CredentialsProfile, CredentialsRoleARN}, {"role-arn", cr.RoleARN, CredentialsRoleARN, ""},
		{"role-name", cr.RoleName, CredentialsECSRole, ""},
	} {
		if f.value != "" && cr.Source != f.source && cr.Source != f.alsoWith {
			l.addAt(ps.at(place+"."+f.key), "%s.%s: only used with source: %s (this account's source is %s)", place, f.key, f.source, cr.Source)
		}
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
