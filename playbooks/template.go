package playbooks

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"
)

// Templates name a sink's target from the rotation: a KMS secret name from the user name, a file
// path from the account. They are not text/template: the only thing between "{{" and "}}" may be
// one of the fields below (spaces around it allowed); anything else is refused when the file is
// loaded. Substituted values are checked for the target's kind when expanded.
//
//	{{.UserName}}     the RAM user that owns the key
//	{{.AccountID}}    the account's numeric id
//	{{.AccountName}}  the account's name in the configuration
//	{{.KeyID}}        the new AccessKey id
//	{{.Date}}         the rotation's date, UTC, 2006-01-02

// TemplateFields lists the fields a target template may use.
var templateFields = []string{"UserName", "AccountID", "AccountName", "KeyID", "Date"}

// TemplateFields returns the fields a sink target template may use.
func TemplateFields() []string { return append([]string(nil), templateFields...) }

// TargetKind says what a template names, which decides what its values may contain.
type TargetKind int

const (
	// TargetFilePath is a file sink's path: substituted values must not contain '/', '\\' or
	// "..", nor be empty, nor make a path element "." or ".." with the text around them.
	TargetFilePath TargetKind = iota + 1
	// TargetKMSSecretName is a KMS secret name: letters, digits and _ + = . @ - (and / in the
	// template's own text), at most 192 characters, not starting with "acs/".
	TargetKMSSecretName
)

// TemplateValues are the values a template may substitute.
type TemplateValues struct {
	UserName    string
	AccountID   string
	AccountName string
	KeyID       string
	Date        time.Time
}

func (v TemplateValues) get(field string) string {
	switch field {
	case "UserName":
		return v.UserName
	case "AccountID":
		return v.AccountID
	case "AccountName":
		return v.AccountName
	case "KeyID":
		return v.KeyID
	case "Date":
		if v.Date.IsZero() {
			return ""
		}
		return v.Date.UTC().Format("2006-01-02")
	}
	return ""
}

type templatePart struct {
	lit   string
	field string // set for a substitution
}

// Template is a parsed sink target.
type Template struct {
	raw   string
	kind  TargetKind
	parts []templatePart
}

// String returns the template as written.
func (t *Template) String() string {
	if t == nil {
		return ""
	}
	return t.raw
}

// Kind returns what the template names.
func (t *Template) Kind() TargetKind { return t.kind }

// Fields returns the fields the template uses.
func (t *Template) Fields() []string {
	var out []string
	for _, p := range t.parts {
		if p.field != "" && !contains(out, p.field) {
			out = append(out, p.field)
		}
	}
	return out
}

const kmsNameMax = 192

func kmsChar(c byte, slash bool) bool {
	return isAlnum(c) || strings.IndexByte("_+=.@-", c) >= 0 || (slash && c == '/')
}

// ParseTemplate parses s as a target of the given kind.
func ParseTemplate(s string, kind TargetKind) (*Template, error) {
	if s == "" {
		return nil, errors.New("empty target")
	}
	t := &Template{raw: s, kind: kind}
	rest := s
	for rest != "" {
		i := strings.Index(rest, "{{")
		j := strings.Index(rest, "}}")
		if j >= 0 && (i < 0 || j < i) {
			return nil, errors.New(`"}}" without "{{"`)
		}
		if i < 0 {
			t.parts = append(t.parts, templatePart{lit: rest})
			break
		}
		if i > 0 {
			t.parts = append(t.parts, templatePart{lit: rest[:i]})
		}
		rest = rest[i+2:]
		j = strings.Index(rest, "}}")
		if j < 0 {
			return nil, errors.New(`"{{" without "}}"`)
		}
		expr := strings.TrimSpace(rest[:j])
		field, ok := strings.CutPrefix(expr, ".")
		if !ok || !contains(templateFields, field) {
			return nil, fmt.Errorf("unsupported template expression %s: expected one of {{.%s}}", show("{{"+rest[:j]+"}}"), strings.Join(templateFields, "}}, {{."))
		}
		t.parts = append(t.parts, templatePart{field: field})
		rest = rest[j+2:]
	}
	var lit strings.Builder
	for _, p := range t.parts {
		lit.WriteString(p.lit)
	}
	switch kind {
	case TargetFilePath:
		if strings.IndexByte(s, 0) >= 0 {
			return nil, errors.New("a path must not contain NUL")
		}
		for _, el := range strings.FieldsFunc(s, func(r rune) bool { return r == '/' || r == '\\' }) {
			if el == ".." {
				return nil, errors.New(`a path must not contain ".."`)
			}
		}
	case TargetKMSSecretName:
		l := lit.String()
		for i := 0; i < len(l); i++ {
			if !kmsChar(l[i], true) {
				return nil, fmt.Errorf("character %q is not allowed in a KMS secret name: expected letters, digits and _ + = . @ - /", l[i])
			}
		}
		if strings.HasPrefix(s, "acs/") {
			return nil, errors.New(`a KMS secret name must not start with "acs/" (reserved for managed secrets)`)
		}
		if len(l) > kmsNameMax {
			return nil, fmt.Errorf("a KMS secret name has at most %d characters", kmsNameMax)
		}
	default:
		return nil, errors.New("unknown target kind")
	}
	return t, nil
}

// Expand substitutes v into the template and checks the result for the target's kind. Errors
// name the field, not its value.
func (t *Template) Expand(v TemplateValues) (string, error) {
	var b strings.Builder
	for _, p := range t.parts {
		if p.field == "" {
			b.WriteString(p.lit)
			continue
		}
		val := v.get(p.field)
		if err := checkValue(t.kind, val); err != nil {
			return "", fmt.Errorf("expand target %s: {{.%s}}: %w", show(t.raw), p.field, err)
		}
		b.WriteString(val)
	}
	out := b.String()
	if t.kind == TargetFilePath {
		if err := t.checkExpandedPath(v, out); err != nil {
			return "", fmt.Errorf("expand target %s: %w", show(t.raw), err)
		}
	}
	if t.kind == TargetKMSSecretName && len(out) > kmsNameMax {
		return "", fmt.Errorf("expand target %s: the secret name is %d characters; at most %d are allowed", show(t.raw), len(out), kmsNameMax)
	}
	return out, nil
}

func checkValue(kind TargetKind, val string) error {
	if val == "" {
		return errors.New("empty value")
	}
	switch kind {
	case TargetFilePath:
		if strings.ContainsAny(val, "/\\\x00") {
			return errors.New(`the value contains '/', '\' or NUL`)
		}
		if strings.Contains(val, "..") {
			return errors.New(`the value contains ".."`)
		}
	case TargetKMSSecretName:
		for i := 0; i < len(val); i++ {
			if !kmsChar(val[i], false) {
				return errors.New("the value has a character a KMS secret name does not allow: expected letters, digits and _ + = . @ -")
			}
		}
	}
	return nil
}

func isPathSep(c byte) bool { return c == '/' || c == '\\' }

// checkExpandedPath re-checks an expanded file path as a whole: a value that is harmless alone
// can make a path element with the text around it ("{{.UserName}}." with the user "." is "..").
// No element that holds a substituted value may be "." or "..", and the cleaned path must stay
// under the template's fixed prefix (its text up to the last separator before the first field).
func (t *Template) checkExpandedPath(v TemplateValues, out string) error {
	var seg strings.Builder
	subst := false
	end := func() error {
		if s := seg.String(); subst && (s == "." || s == "..") {
			return errors.New(`a substituted value makes the path element "." or "..": the path would leave its directory`)
		}
		seg.Reset()
		subst = false
		return nil
	}
	var fixed strings.Builder
	inFixed := true
	for _, p := range t.parts {
		text := p.lit
		if p.field != "" {
			text, subst, inFixed = v.get(p.field), true, false
		} else if inFixed {
			fixed.WriteString(p.lit)
		}
		for i := 0; i < len(text); i++ {
			if !isPathSep(text[i]) {
				seg.WriteByte(text[i])
				continue
			}
			if err := end(); err != nil {
				return err
			}
		}
	}
	if err := end(); err != nil {
		return err
	}
	return underPrefix(out, fixed.String())
}

// underPrefix checks that the cleaned path stays in the directory the template's fixed text
// names (the text up to its last separator; nothing to check when there is none).
func underPrefix(out, fixed string) error {
	i := strings.LastIndexAny(fixed, "/\\")
	if i < 0 {
		return nil
	}
	dir, clean := path.Clean(fixed[:i+1]), path.Clean(out)
	var under bool
	switch dir {
	case "/":
		under = true
	case ".":
		under = clean != ".." && !strings.HasPrefix(clean, "../")
	default:
		under = clean == dir || strings.HasPrefix(clean, dir+"/")
	}
	if !under {
		return errors.New("the expanded path is not under the template's directory")
	}
	return nil
}
