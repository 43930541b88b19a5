package playbooks

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Strictness. yaml.v3's Decoder.KnownFields reports an unknown key with its line only and stops
// being strict below any custom unmarshaller, so the schema here is walked over the yaml.Node
// tree instead: every unknown key, wrong kind or bad value is reported at the line and column of
// the key or value, and all of them at once.

// parseDocument decodes exactly one YAML document and returns its root content node, or nil
// after recording why not. A document that holds a literal secret is refused here, before any
// decoder reads it.
func parseDocument(l *errList, data []byte, what string) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			l.add(1, 1, "empty %s: expected a YAML mapping", what)
			return nil
		}
		addYAMLError(l, err)
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		l.add(extra.Line, extra.Column, "a second YAML document: expected exactly one %s per file", what)
		return nil
	} else if !errors.Is(err, io.EOF) {
		addYAMLError(l, err)
		return nil
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		l.add(1, 1, "empty %s: expected a YAML mapping", what)
		return nil
	}
	root := doc.Content[0]
	if !checkNoAliases(l, root) {
		return nil
	}
	if isNull(root) {
		l.add(root.Line, root.Column, "empty %s: expected a YAML mapping", what)
		return nil
	}
	if !scanSecrets(l, root) {
		return nil
	}
	return root
}

var yamlLineRe = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

func addYAMLError(l *errList, err error) {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		l.add(n, 0, "invalid YAML: %s", m[2])
		return
	}
	l.add(0, 0, "invalid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
}

// checkNoAliases refuses anchors and aliases: they make a file harder to review, and a crafted
// alias tree can make a walk exponential.
func checkNoAliases(l *errList, n *yaml.Node) bool {
	ok := true
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.AliasNode || n.Anchor != "" {
			l.add(n.Line, n.Column, "YAML anchors and aliases are not supported: write the value out")
			ok = false
			return
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	return ok
}

func isNull(n *yaml.Node) bool {
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

func at(n *yaml.Node) pos { return pos{n.Line, n.Column} }

func kindName(n *yaml.Node) string {
	switch {
	case isNull(n):
		return "nothing"
	case n.Kind == yaml.MappingNode:
		return "a mapping"
	case n.Kind == yaml.SequenceNode:
		return "a list"
	case n.Kind == yaml.ScalarNode:
		return "a scalar"
	}
	return "an unsupported node"
}

// field is one key of a mapping.
type field struct {
	key   string
	k, v  *yaml.Node
	place string // "steps[2].verify.timeout", for messages
}

// mapping returns the keys of n in order. It reports a non-mapping, duplicate keys, and keys not
// in allowed (with the list of expected keys). A null node is an empty mapping.
func mapping(l *errList, n *yaml.Node, place string, allowed []string) []field {
	label := place
	if label == "" {
		label = "top level"
	}
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		l.addAt(at(n), "%s: expected a mapping with keys %s, got %s", label, strings.Join(allowed, ", "), kindName(n))
		return nil
	}
	seen := map[string]bool{}
	var out []field
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			l.addAt(at(k), "%s: expected a plain key, got %s", label, kindName(k))
			continue
		}
		key := k.Value
		if seen[key] {
			l.addAt(at(k), "%s: key %s appears twice", label, show(key))
			continue
		}
		seen[key] = true
		if !contains(allowed, key) {
			l.addAt(at(k), "%s: unknown key %s%s; expected one of: %s", label, show(key), suggest(key, allowed), strings.Join(allowed, ", "))
			continue
		}
		out = append(out, field{key: key, k: k, v: v, place: join(place, key)})
	}
	return out
}

func join(place, key string) string {
	if place == "" {
		return key
	}
	return place + "." + key
}

// scalar returns a non-null scalar's value.
func scalar(l *errList, n *yaml.Node, place, expected string) (string, bool) {
	if n.Kind != yaml.ScalarNode || isNull(n) {
		l.addAt(at(n), "%s: expected %s, got %s", place, expected, kindName(n))
		return "", false
	}
	return n.Value, true
}

func boolean(l *errList, n *yaml.Node, place string) (bool, bool) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		b, err := strconv.ParseBool(strings.ToLower(n.Value))
		if err == nil {
			return b, true
		}
	}
	l.addAt(at(n), "%s: expected true or false, got %s", place, describe(n))
	return false, false
}

// item is a string with where it was.
type item struct {
	val string
	pos pos
}

// stringList returns a list of scalars. Duplicates are reported.
func stringList(l *errList, n *yaml.Node, place, expected string) []item {
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		l.addAt(at(n), "%s: expected a list of %s, got %s", place, expected, kindName(n))
		return nil
	}
	var out []item
	seen := map[string]bool{}
	for i, c := range n.Content {
		p := place + "[" + strconv.Itoa(i) + "]"
		v, ok := scalar(l, c, p, expected)
		if !ok {
			continue
		}
		if seen[v] {
			l.addAt(at(c), "%s: %s is listed twice", p, show(v))
			continue
		}
		seen[v] = true
		out = append(out, item{v, at(c)})
	}
	return out
}

func vals(items []item) []string {
	if len(items) == 0 {
		return nil
	}
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.val
	}
	return out
}

func describe(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		return show(n.Value)
	}
	return kindName(n)
}

// show quotes a value for a message, unless it could be a secret.
func show(v string) string {
	if looksSecret(v) || embedsSecret(v) || looksTokenURL(v) {
		return "[REDACTED]"
	}
	if len(v) > 80 {
		v = v[:77] + "..."
	}
	return strconv.Quote(v)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns ` (did you mean "x"?)` for a near miss.
func suggest(key string, allowed []string) string {
	best, ok := Nearest(key, allowed)
	if !ok {
		return ""
	}
	return " (did you mean " + strconv.Quote(best) + "?)"
}

// Nearest is the word of allowed closest to typed (lower-cased), within two edits: what a
// person who typed it probably meant (a key of a file, a flag of respond).
func Nearest(typed string, allowed []string) (string, bool) {
	best, bestD := "", 3
	for _, a := range allowed {
		if d := distance(strings.ToLower(typed), a); d < bestD {
			best, bestD = a, d
		}
	}
	return best, best != ""
}

// distance is the Levenshtein distance, for short keys.
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			c = min(c, prev[j]+1, cur[j-1]+1)
			cur[j] = c
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

var nameRe = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// validName reports whether s is a kebab-case name (playbooks, sinks, notifiers, step ids).
func validName(s string) bool { return len(s) <= 63 && nameRe.MatchString(s) }

// parseDuration accepts Go durations ("90s", "1h30m") and whole days ("7d").
func parseDuration(s string) (time.Duration, bool) {
	if strings.HasSuffix(s, "d") {
		n, err := strconv.Atoi(strings.TrimSuffix(s, "d"))
		if err != nil || n < 0 || n > 100000 {
			return 0, false
		}
		return time.Duration(n) * 24 * time.Hour, true
	}
	d, err := time.ParseDuration(s)
	return d, err == nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
