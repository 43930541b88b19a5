package emulator

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// RAM policy documents (alibaba-api.md §10): parsed once when a policy or version is created,
// evaluated on every call of a principal it is attached to. Grammar:
//
//	{"Version":"1","Statement":[{"Effect":"Allow"|"Deny","Action"|"NotAction":…,
//	  "Resource"|"NotResource":…,"Condition":{<operator>:{<key>:[values]}}}]}
//
// Evaluation [DOC ramrepo "Policy evaluation process"]: any matching Deny wins; otherwise a
// matching Allow allows; otherwise the call is implicitly denied. Within a Condition the values
// of one key are ORed, keys and operators ANDed. Actions match case-insensitively, resources
// case-sensitively, both with the wildcards * and ?.

// maxPolicyDocument is the longest PolicyDocument accepted: 6,144 characters [DOC META 2026; the
// 2021 docs said 2,048 bytes].
const maxPolicyDocument = 6144

// policyDoc is a parsed policy document.
type policyDoc struct {
	stmts []stmt
	// principals are a trust policy's Principal RAM / Service entries (AssumeRolePolicyDocument).
	principals []string
}

type stmt struct {
	deny        bool
	notAction   bool
	actions     []string
	notResource bool
	resources   []string
	conds       []cond
}

type cond struct {
	op     string
	key    string // lower-case
	values []string
}

// condition operators and what they compare (string, numeric, date, bool, ip); neg marks the
// negated ones, which hold when the request lacks the key [INF, as AWS documents].
var condOps = map[string]struct {
	kind string
	neg  bool
}{
	"StringEquals": {"string", false}, "StringNotEquals": {"string", true},
	"StringEqualsIgnoreCase": {"string", false}, "StringNotEqualsIgnoreCase": {"string", true},
	"StringLike": {"string", false}, "StringNotLike": {"string", true},
	"NumericEquals": {"numeric", false}, "NumericNotEquals": {"numeric", true},
	"NumericLessThan": {"numeric", false}, "NumericLessThanEquals": {"numeric", false},
	"NumericGreaterThan": {"numeric", false}, "NumericGreaterThanEquals": {"numeric", false},
	"DateEquals": {"date", false}, "DateNotEquals": {"date", true},
	"DateLessThan": {"date", false}, "DateLessThanEquals": {"date", false},
	"DateGreaterThan": {"date", false}, "DateGreaterThanEquals": {"date", false},
	"Bool":      {"bool", false},
	"IpAddress": {"ip", false}, "NotIpAddress": {"ip", true},
}

// errMalformed is the documented 400 MalformedPolicyDocument, whose message is "{the error details}".
func errMalformed(format string, a ...any) *apiError {
	return errf(400, "MalformedPolicyDocument", format, a...)
}

// stringList reads a JSON value that may be one string or an array of strings (numbers and
// booleans are taken as their text, as condition values may be).
func stringList(raw json.RawMessage) ([]string, error) {
	var one any
	if err := json.Unmarshal(raw, &one); err != nil {
		return nil, err
	}
	var out []string
	add := func(v any) error {
		switch x := v.(type) {
		case string:
			out = append(out, x)
		case bool:
			out = append(out, strconv.FormatBool(x))
		case float64:
			out = append(out, strconv.FormatFloat(x, 'f', -1, 64))
		default:
			return errors.New("a value must be a string or an array of strings")
		}
		return nil
	}
	if arr, ok := one.([]any); ok {
		if len(arr) == 0 {
			return nil, errors.New("an empty array")
		}
		for _, v := range arr {
			if err := add(v); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	return out, add(one)
}

// parsePolicyDoc checks a policy document and parses it; trust selects the trust-policy form
// (Principal required, Resource not).
func parsePolicyDoc(doc string, trust bool) (*policyDoc, *apiError) {
	if len(doc) > maxPolicyDocument {
		return nil, violationf(400, "InvalidParameter.PolicyDocument.Length", `The parameter - "PolicyDocument" beyond the length limit.`)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal([]byte(doc), &top); err != nil {
		return nil, errMalformed("The policy document is not valid JSON.")
	}
	var version string
	if err := json.Unmarshal(top["Version"], &version); err != nil || version != "1" {
		return nil, errMalformed(`The policy Version must be "1".`)
	}
	for k := range top {
		if k != "Version" && k != "Statement" {
			return nil, errMalformed("Unknown policy element %q.", k)
		}
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(top["Statement"], &raws); err != nil {
		var one json.RawMessage
		if json.Unmarshal(top["Statement"], &one) != nil || len(one) == 0 || one[0] != '{' {
			return nil, errMalformed("The policy Statement must be an array of statements.")
		}
		raws = []json.RawMessage{one}
	}
	if len(raws) == 0 {
		return nil, errMalformed("The policy has no Statement.")
	}
	d := &policyDoc{}
	for i, raw := range raws {
		st, principals, e := parseStmt(raw, trust)
		if e != nil {
			e.Message = fmt.Sprintf("Statement %d: %s", i+1, e.Message)
			return nil, e
		}
		d.stmts = append(d.stmts, st)
		d.principals = append(d.principals, principals...)
	}
	return d, nil
}

func parseStmt(raw json.RawMessage, trust bool) (stmt, []string, *apiError) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return stmt{}, nil, errMalformed("a statement must be an object.")
	}
	var st stmt
	var effect string
	if err := json.Unmarshal(m["Effect"], &effect); err != nil {
		return stmt{}, nil, errMalformed("Effect must be Allow or Deny.")
	}
	switch strings.ToLower(effect) {
	case "allow":
	case "deny":
		st.deny = true
	default:
		return stmt{}, nil, errMalformed("Effect must be Allow or Deny.")
	}
	var err error
	switch a, na := m["Action"], m["NotAction"]; {
	case a != nil && na != nil:
		return stmt{}, nil, errMalformed("Action and NotAction cannot both be set.")
	case a != nil:
		st.actions, err = stringList(a)
	case na != nil:
		st.notAction = true
		st.actions, err = stringList(na)
	default:
		return stmt{}, nil, errMalformed("Action is required.")
	}
	if err != nil {
		return stmt{}, nil, errMalformed("Action: %v.", err)
	}
	for i, a := range st.actions {
		if a != "*" && !strings.Contains(a, ":") {
			return stmt{}, nil, errMalformed("Action %q is not service:Action.", a)
		}
		st.actions[i] = strings.ToLower(a) // matched case-insensitively: lowered once, here
	}
	switch r, nr := m["Resource"], m["NotResource"]; {
	case r != nil && nr != nil:
		return stmt{}, nil, errMalformed("Resource and NotResource cannot both be set.")
	case r != nil:
		st.resources, err = stringList(r)
	case nr != nil:
		st.notResource = true
		st.resources, err = stringList(nr)
	case trust:
		st.resources = []string{"*"}
	default:
		return stmt{}, nil, errMalformed("Resource is required.")
	}
	if err != nil {
		return stmt{}, nil, errMalformed("Resource: %v.", err)
	}
	var principals []string
	if p := m["Principal"]; p != nil {
		if !trust {
			return stmt{}, nil, errMalformed("Principal is only allowed in a trust policy.")
		}
		var pm map[string]json.RawMessage
		if json.Unmarshal(p, &pm) != nil {
			return stmt{}, nil, errMalformed("Principal must be an object.")
		}
		for _, k := range []string{"RAM", "Service", "Federated"} {
			if v := pm[k]; v != nil {
				l, err := stringList(v)
				if err != nil {
					return stmt{}, nil, errMalformed("Principal.%s: %v.", k, err)
				}
				principals = append(principals, l...)
			}
		}
	} else if trust {
		return stmt{}, nil, errMalformed("Principal is required in a trust policy.")
	}
	if c := m["Condition"]; c != nil {
		var ops map[string]map[string]json.RawMessage
		if json.Unmarshal(c, &ops) != nil {
			return stmt{}, nil, errMalformed("Condition must map operators to keys and values.")
		}
		for op, keys := range ops {
			if _, ok := condOps[op]; !ok {
				return stmt{}, nil, errMalformed("Unknown condition operator %q.", op)
			}
			for key, raw := range keys {
				vals, err := stringList(raw)
				if err != nil {
					return stmt{}, nil, errMalformed("Condition %s %s: %v.", op, key, err)
				}
				cd := cond{op: op, key: strings.ToLower(key), values: vals}
				if e := cd.check(); e != nil {
					return stmt{}, nil, e
				}
				st.conds = append(st.conds, cd)
			}
		}
	}
	for k := range m {
		switch k {
		case "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition", "Principal", "Sid":
		default:
			return stmt{}, nil, errMalformed("Unknown statement element %q.", k)
		}
	}
	return st, principals, nil
}

// check refuses values an operator cannot compare.
func (cd cond) check() *apiError {
	for _, v := range cd.values {
		ok := true
		switch condOps[cd.op].kind {
		case "numeric":
			_, err := strconv.ParseFloat(v, 64)
			ok = err == nil
		case "date":
			_, ok = parseCondTime(v)
		case "bool":
			ok = v == "true" || v == "false"
		case "ip":
			_, ok = parseIPOrPrefix(v)
		}
		if !ok {
			return errMalformed("Condition %s %s: %q cannot be compared.", cd.op, cd.key, v)
		}
	}
	return nil
}

func parseCondTime(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05Z0700", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// parseIPOrPrefix reads a bare IP (a /32 or /128) or a CIDR block.
func parseIPOrPrefix(v string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(v); err == nil {
		return p.Masked(), true
	}
	if a, err := netip.ParseAddr(v); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	return netip.Prefix{}, false
}

// evalRequest is what a policy is evaluated against.
type evalRequest struct {
	action   string // e.g. ram:CreateUser
	resource string // e.g. acs:ram:*:1000000000000001:user/alice
	// keys are the condition keys the request carries (lower-case names): acs:sourceip,
	// acs:currenttime, acs:securetransport, acs:mfapresent, acs:accessid.
	keys map[string]string
}

// eval reports whether the document allows the request and whether it explicitly denies it.
func (d *policyDoc) eval(r *evalRequest) (allow, deny bool) {
	for i := range d.stmts {
		st := &d.stmts[i]
		if !st.matches(r) {
			continue
		}
		if st.deny {
			return false, true
		}
		allow = true
	}
	return allow, false
}

func (st *stmt) matches(r *evalRequest) bool {
	hit, action := false, strings.ToLower(r.action)
	for _, a := range st.actions {
		if globMatch(a, action) {
			hit = true
			break
		}
	}
	if hit == st.notAction {
		return false
	}
	hit = false
	for _, res := range st.resources {
		if globMatch(res, r.resource) {
			hit = true
			break
		}
	}
	if hit == st.notResource {
		return false
	}
	for _, cd := range st.conds {
		if !cd.holds(r) {
			return false
		}
	}
	return true
}

// holds evaluates one operator on one key: true when any value matches (for a negated operator:
// when none does).
func (cd cond) holds(r *evalRequest) bool {
	op := condOps[cd.op]
	got, present := r.keys[cd.key]
	if !present {
		return op.neg
	}
	hit := false
	for _, v := range cd.values {
		if cd.compare(got, v) {
			hit = true
			break
		}
	}
	if op.neg {
		return !hit
	}
	return hit
}

// compare is the positive form of the operator: got (the request's) against want (the policy's).
func (cd cond) compare(got, want string) bool {
	switch cd.op {
	case "StringEquals", "StringNotEquals":
		return got == want
	case "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase":
		return strings.EqualFold(got, want)
	case "StringLike", "StringNotLike":
		return globMatch(want, got)
	case "Bool":
		return strings.EqualFold(got, want)
	case "IpAddress", "NotIpAddress":
		a, err := netip.ParseAddr(got)
		p, ok := parseIPOrPrefix(want)
		return err == nil && ok && p.Contains(a.Unmap())
	}
	switch condOps[cd.op].kind {
	case "numeric":
		g, err1 := strconv.ParseFloat(got, 64)
		w, err2 := strconv.ParseFloat(want, 64)
		return err1 == nil && err2 == nil && cmpHolds(cd.op, cmp.Compare(g, w))
	case "date":
		g, ok1 := parseCondTime(got)
		w, ok2 := parseCondTime(want)
		return ok1 && ok2 && cmpHolds(cd.op, g.Compare(w))
	}
	return false
}

// cmpHolds reads the comparison an operator's name ends with (Equals, NotEquals, LessThan…).
func cmpHolds(op string, c int) bool {
	switch {
	case strings.HasSuffix(op, "NotEquals"), strings.HasSuffix(op, "Equals") && !strings.Contains(op, "Than"):
		return c == 0 // NotEquals is negated by holds
	case strings.HasSuffix(op, "LessThanEquals"):
		return c <= 0
	case strings.HasSuffix(op, "LessThan"):
		return c < 0
	case strings.HasSuffix(op, "GreaterThanEquals"):
		return c >= 0
	case strings.HasSuffix(op, "GreaterThan"):
		return c > 0
	}
	return false
}

// globMatch matches s against pattern, where * is any run of characters (':' and '/' included)
// and ? any one character.
func globMatch(pattern, s string) bool {
	px, sx := 0, 0
	nextPx, nextSx := -1, -1
	for px < len(pattern) || sx < len(s) {
		if px < len(pattern) {
			switch c := pattern[px]; c {
			case '*':
				nextPx, nextSx = px, sx+1
				px++
				continue
			case '?':
				if sx < len(s) {
					px++
					sx++
					continue
				}
			default:
				if sx < len(s) && s[sx] == c {
					px++
					sx++
					continue
				}
			}
		}
		if nextSx > 0 && nextSx <= len(s) {
			px, sx = nextPx, nextSx
			continue
		}
		return false
	}
	return true
}

// accessKeyPolicy is an IMS AccessKey network policy (alibaba-api.md §11): when Active, calls
// signed by the key are served only from the listed addresses.
type accessKeyPolicy struct {
	raw    string
	active bool
	public []netip.Prefix // ClassicWhiteList
	vpc    bool           // a VPCWhiteList exists (the emulator has no VPC: it never matches)
}

// parseAccessKeyPolicy checks the AccessKeyPolicy text: {"Version":1,"Status":"Active"|"Inactive",
// "Statements":[{"Type":"ClassicWhiteList","IPList":[…]},{"Type":"VPCWhiteList","Value":"vpc-…","IPList":[…]}]}.
func parseAccessKeyPolicy(raw string) (*accessKeyPolicy, *apiError) {
	bad := func(why string) *apiError {
		return violationf(400, "InvalidParameter.AccessKeyPolicy", "The parameter AccessKeyPolicy is invalid: %s.", why)
	}
	var doc struct {
		Version    json.Number
		Status     string
		Statements []struct {
			Type   string
			Value  string
			IPList []string
		}
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, bad("not JSON")
	}
	if doc.Version.String() != "1" {
		return nil, bad("Version must be 1")
	}
	p := &accessKeyPolicy{raw: raw}
	switch doc.Status {
	case "Active":
		p.active = true
	case "Inactive":
	default:
		return nil, bad("Status must be Active or Inactive")
	}
	for _, st := range doc.Statements {
		switch st.Type {
		case "ClassicWhiteList", "VPCWhiteList":
		default:
			return nil, bad("a statement Type must be ClassicWhiteList or VPCWhiteList")
		}
		for _, ip := range st.IPList {
			pr, ok := parseIPOrPrefix(ip)
			if !ok {
				return nil, bad(fmt.Sprintf("%q is not an IP address or CIDR block", ip))
			}
			if st.Type == "ClassicWhiteList" {
				p.public = append(p.public, pr)
			}
		}
		if st.Type == "VPCWhiteList" {
			p.vpc = true
		}
	}
	return p, nil
}

// admits reports whether a call from ip may use the key.
func (p *accessKeyPolicy) admits(ip string) bool {
	if p == nil || !p.active {
		return true
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	for _, pr := range p.public {
		if pr.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}
