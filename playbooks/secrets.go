package playbooks

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// A playbook or configuration names where credentials come from, never what they are. These
// checks refuse a file that holds something that looks like a secret, before anything else reads
// it, and never repeat the value in the message.

const (
	keyIDPrefix   = "LTAI"
	secretLen     = 30
	longTermIDLen = 24
	legacyIDLen   = 16
)

// secretKeys are mapping keys (lower case, without '-' and '_') that may only hold a literal
// secret.
var secretKeys = []string{
	"secret", "password", "passwd", "token", "accesskeysecret", "accesssecret", "secretkey",
	"secretaccesskey", "accesskeyid", "securitytoken", "ststoken", "apikey", "privatekey",
	"credential", "webhooksecret", "signingsecret",
}

func isAlnum(c byte) bool {
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func allAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return true
}

// looksSecret reports a string of exactly 30 letters and digits: the shape of an AccessKey secret.
func looksSecret(s string) bool { return len(s) == secretLen && allAlnum(s) }

// embedsSecret reports an AccessKey secret inside a longer string ("--key=<secret>",
// `sh -c "echo <secret>"`): a run of exactly 30 letters and digits, bounded by other characters
// or the string's ends, that looks random — upper- and lower-case letters, and at least
// minClassChanges changes between upper case, lower case and digits from one character to the
// next (a random secret has about 18; a name such as TestE2EBuiltinPlaybookscontain has 6, hex
// has one case only) — or any such run when the string also holds an AccessKey id (a pair).
func embedsSecret(s string) bool {
	pair := containsKeyID(s)
	for i := 0; i < len(s); {
		if !isAlnum(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isAlnum(s[j]) {
			j++
		}
		// A whole path element (between slashes) is a directory or file name, often generated
		// (a temporary directory named after a test and a random number): not taken for a secret
		// unless the string also holds an id.
		pathElement := i > 0 && s[i-1] == '/' && (j == len(s) || s[j] == '/')
		if j-i == secretLen && (pair || looksRandom(s[i:j]) && !pathElement) {
			return true
		}
		i = j
	}
	return false
}

// minClassChanges is how many character-class changes a run needs to look random. For 30
// random base-62 characters the count is binomial (29 draws, p ≈ 0.62, mean 18, sd 2.6), so
// fewer than 10 happens about once in a thousand secrets.
const minClassChanges = 10

func charClass(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return 1
	case c >= 'a' && c <= 'z':
		return 2
	}
	return 3
}

// looksRandom reports letters of both cases and at least minClassChanges class changes.
func looksRandom(run string) bool {
	var seen [4]bool
	changes := 0
	for k := 0; k < len(run); k++ {
		seen[charClass(run[k])] = true
		if k > 0 && charClass(run[k]) != charClass(run[k-1]) {
			changes++
		}
	}
	return seen[1] && seen[2] && changes >= minClassChanges
}

// validKeyID reports the shape of a long-term AccessKey id: LTAI and 12 or 20 letters and digits.
// (playbooks keeps its own check so that it imports nothing but yaml; ram/accesskey is the
// authority.)
func validKeyID(s string) bool {
	return (len(s) == longTermIDLen || len(s) == legacyIDLen) && strings.HasPrefix(s, keyIDPrefix) && allAlnum(s)
}

// containsKeyID reports an LTAI id anywhere in s.
func containsKeyID(s string) bool {
	for i := strings.Index(s, keyIDPrefix); i >= 0; {
		j := i + len(keyIDPrefix)
		for j < len(s) && isAlnum(s[j]) {
			j++
		}
		if n := j - i; n >= legacyIDLen {
			return true
		}
		k := strings.Index(s[i+1:], keyIDPrefix)
		if k < 0 {
			break
		}
		i += 1 + k
	}
	return false
}

var tokenURLMarkers = []string{
	"access_token=", "oapi.dingtalk.com/robot", "hooks.slack.com/services/",
	"open.feishu.cn/open-apis/bot/", "open.larksuite.com/open-apis/bot/", "token=", "sign=",
}

// looksTokenURL reports a webhook URL that carries its token.
func looksTokenURL(s string) bool {
	ls := strings.ToLower(s)
	if !strings.Contains(ls, "://") {
		return false
	}
	for _, m := range tokenURLMarkers {
		if strings.Contains(ls, m) {
			return true
		}
	}
	return false
}

func normKey(k string) string {
	return strings.NewReplacer("-", "", "_", "", " ", "").Replace(strings.ToLower(k))
}

// scanSecrets walks the whole tree and reports every literal secret. It returns false if any was
// found.
func scanSecrets(l *errList, root *yaml.Node) bool {
	before := len(l.errs)
	var walk func(n *yaml.Node, inCredentials bool)
	walk = func(n *yaml.Node, inCredentials bool) {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				nk := normKey(k.Value)
				if k.Kind == yaml.ScalarNode && contains(secretKeys, nk) && !isNull(v) && !(v.Kind == yaml.ScalarNode && v.Value == "") {
					l.addAt(at(k), "key %s holds a literal secret: respond never reads credentials from a file; name their source instead (credentials: {source: env|profile|ecs-role|role-arn|default}, url-env:, secret-env:)", show(k.Value))
					continue
				}
				if k.Kind == yaml.ScalarNode {
					checkScalar(l, k, inCredentials)
				} else {
					walk(k, inCredentials)
				}
				walk(v, inCredentials || nk == "credentials")
			}
		case yaml.SequenceNode, yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, inCredentials)
			}
		case yaml.ScalarNode:
			checkScalar(l, n, inCredentials)
		}
	}
	walk(root, false)
	return len(l.errs) == before
}

func checkScalar(l *errList, n *yaml.Node, inCredentials bool) {
	v := n.Value
	switch {
	case looksSecret(v):
		l.addAt(at(n), "a value of 30 letters and digits looks like an AccessKey secret: the file must never hold secrets; name the credentials' source instead (credentials: {source: ...})")
	case embedsSecret(v):
		l.addAt(at(n), "this value holds a run of 30 letters and digits that looks like an AccessKey secret: the file must never hold secrets, not even inside a command or an option; let the command read it from its environment or a file, or name the credentials' source (credentials: {source: ...})")
	case looksTokenURL(v):
		l.addAt(at(n), "a webhook URL with its token: webhook URLs carry tokens; put the URL in an environment variable and name it with url-env, or in a file named by url-file")
	case inCredentials && containsKeyID(v):
		l.addAt(at(n), "an AccessKey id under credentials: credentials are named by source, never written in the file; use source: env (ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET), profile, ecs-role, role-arn or default")
	}
}
