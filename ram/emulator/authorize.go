package emulator

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Authorization: a call is allowed when an Allow matches it and no Deny does (Deny wins). The
// Allows come from the principal's seeded allow-list (an inline Allow of "product:Action"
// patterns, as before policies existed) and from the RAM policies attached to it (a user's own
// and its groups', or the assumed role's); the Denies from those policies. An IMS AccessKey
// network policy (SetAccessKeyPolicy) is checked first, for calls signed by a long-term key.
// The account owner is never limited by policies. Condition keys the requests carry:
// acs:SourceIp, acs:CurrentTime, acs:SecureTransport, acs:MFAPresent (always false) and
// acs:AccessId (the signing key).

// SourceIPHeader is a test-only request header: when the server is started WithSourceIPHeader,
// a call carrying it is treated as coming from that IP (policies' acs:SourceIp, AccessKey network
// policies, ActionTrail's sourceIpAddress, GetAccessKeyLastUsedInfo). Otherwise it is ignored.
const SourceIPHeader = "X-Emulator-Source-Ip"

// iamOptions are the options of authorization, fixed once the server is loaded.
type iamOptions struct {
	ipHeader bool
	keyIPs   map[string]string // the seed's Key.SourceIP by key id
}

// WithSourceIPHeader honours SourceIPHeader (tests only: a real client cannot choose its IP).
func WithSourceIPHeader() Option { return func(s *Server) { s.iamOpts.ipHeader = true } }

// sourceIP is where the call comes from: SourceIPHeader (when honoured), else the signing key's
// seeded sourceIp, else the connection's address. Call after authentication.
func (s *Server) sourceIP(c *call) string {
	if c.src != "" {
		return c.src
	}
	ip := ""
	if s.iamOpts.ipHeader {
		if a, err := netip.ParseAddr(c.r.Header.Get(SourceIPHeader)); err == nil {
			ip = a.String()
		}
	}
	if ip == "" && c.key != nil {
		ip = s.iamOpts.keyIPs[c.key.id]
	}
	if ip == "" {
		if host, _, err := net.SplitHostPort(c.r.RemoteAddr); err == nil {
			ip = host
		}
	}
	if c.key != nil {
		c.src = ip
	}
	return ip
}

// authFree reports the actions that need no authorization [DOC]: STS GetCallerIdentity and
// ActionTrail DescribeRegions.
func authFree(c *call) bool {
	return c.prod.code == "sts" && c.action == "GetCallerIdentity" ||
		c.prod.code == "actiontrail" && c.action == "DescribeRegions"
}

// authorize decides whether the caller may make the call. Call with s.mu held.
func (s *Server) authorize(c *call) *apiError {
	if c.key != nil && c.key.sess == nil && c.key.acct.iamState != nil {
		if p := c.key.acct.iamState.keyPolicies[c.key.id]; !p.admits(s.sourceIP(c)) {
			return errNetworkPolicy(c)
		}
	}
	if authFree(c) || c.user == nil && c.sess == nil {
		return nil
	}
	allow, deny := s.policyDecision(c)
	if deny {
		e := c.noPermission()
		e.Detail["NoPermissionType"] = "ExplicitDeny"
		return e
	}
	if allow || c.allowed() {
		return nil
	}
	return c.noPermission()
}

// errNetworkPolicy answers a call from an address the key's network policy does not list. The
// cloud's answer is not documented [INF].
func errNetworkPolicy(c *call) *apiError {
	e := errf(403, "NoPermission", "You are not authorized to do this action. The AccessKey network policy does not allow requests from this IP address.")
	e.Detail = map[string]string{"AuthAction": c.authAction(), "AuthPrincipalOwnerId": c.acct.id,
		"PolicyType": "AccessKeyNetworkPolicy", "NoPermissionType": "ExplicitDeny", "EncodedDiagnosticMessage": ""}
	return e
}

// policyDecision evaluates the policies attached to the caller.
func (s *Server) policyDecision(c *call) (allow, deny bool) {
	st := c.acct.iamState
	if st == nil {
		return false, false
	}
	var arr [8]*policyDoc
	docs := arr[:0]
	switch {
	case c.sess != nil:
		docs = st.entityPolicies(entityRef{"Role", strings.ToLower(c.sess.role.name)}, docs)
	case c.user != nil:
		docs = st.entityPolicies(entityRef{"User", c.user.name}, docs)
		for _, g := range st.groupsOf(c.user.name) {
			docs = st.entityPolicies(entityRef{"Group", g.name}, docs)
		}
	}
	if len(docs) == 0 {
		return false, false
	}
	r := &evalRequest{action: c.authAction(), resource: requestResource(c), keys: map[string]string{
		"acs:sourceip":        s.sourceIP(c),
		"acs:currenttime":     c.now.Format(time.RFC3339),
		"acs:securetransport": strconv.FormatBool(c.r.TLS != nil),
		"acs:mfapresent":      "false",
		"acs:accessid":        c.key.id,
	}}
	for _, d := range docs {
		a, dn := d.eval(r)
		if dn {
			return false, true
		}
		allow = allow || a
	}
	return allow, false
}

// requestResource is the one resource a statement's Resource is matched against [INF: the cloud
// documents a resource per action; the emulator takes the entity the call names]:
// acs:ram:*:<account>:user/<name> (or role/, group/, policy/) for RAM and IMS, the role of an
// AssumeRole, the secret a KMS call names (acs:kms:<region>:<account>:secret/<name>), and
// acs:<service>:<region>:<account>:* otherwise.
func requestResource(c *call) string {
	acct := c.acct.id
	switch c.prod.code {
	case "ram", "ims":
		for _, p := range []struct{ param, kind string }{
			{"UserName", "user"}, {"UserPrincipalName", "user"}, {"RoleName", "role"}, {"GroupName", "group"}, {"PolicyName", "policy"},
		} {
			if v := c.p(p.param); v != "" {
				if p.param == "UserPrincipalName" {
					v, _, _ = strings.Cut(v, "@")
				}
				return "acs:ram:*:" + acct + ":" + p.kind + "/" + v
			}
		}
		return "acs:ram:*:" + acct + ":*"
	case "sts":
		if m := reRoleArn.FindStringSubmatch(c.p("RoleArn")); m != nil {
			return "acs:ram:*:" + m[1] + ":role/" + m[2]
		}
	case "kms":
		if n := c.p("SecretName"); n != "" && n != "$Auto" {
			return secretArn(c, n)
		}
	}
	return "acs:" + c.prod.code + ":" + region(c) + ":" + acct + ":*"
}

// ---- IMS AccessKey network policies (alibaba-api.md §11) ----

// inactiveKeyPolicy is what GetAccessKeyPolicy answers for a key that never had one: "no policy"
// as the cloud writes it [EXT Pulumi/TF docs].
const inactiveKeyPolicy = `{"Version":1,"Status":"Inactive","Statements":[]}`

func keyPolicyArg(c *call) (*keyState, *apiError) {
	o, e := imsOwner(c)
	if e != nil {
		return nil, e
	}
	return o.keyArg(c)
}

func imsSetAccessKeyPolicy(s *Server, c *call) (map[string]any, *apiError) {
	k, e := keyPolicyArg(c)
	if e != nil {
		return nil, e
	}
	raw := c.p("AccessKeyPolicy")
	if raw == "" {
		return nil, missing("AccessKeyPolicy")
	}
	p, e := parseAccessKeyPolicy(raw)
	if e != nil {
		return nil, e
	}
	k.acct.iam().keyPolicies[k.id] = p
	return map[string]any{"AccessKeyId": k.id, "AccessKeyPolicy": raw}, nil
}

func imsGetAccessKeyPolicy(s *Server, c *call) (map[string]any, *apiError) {
	k, e := keyPolicyArg(c)
	if e != nil {
		return nil, e
	}
	raw := inactiveKeyPolicy
	if p := k.acct.iam().keyPolicies[k.id]; p != nil {
		raw = p.raw
	}
	return map[string]any{"AccessKeyId": k.id, "AccessKeyPolicy": raw}, nil
}

// ---- ActionTrail responseElements ----

// responseActions are the actions whose events carry responseElements: the answer without its
// secrets. Alibaba's IMS CreateUser sample shows the whole answer; for CreateAccessKey no sample
// exists, and the emulator keeps AccessKeyId, Status and CreateDate, never the secret [INF, spec
// §12]. AssumeRole's samples carry none.
var responseActions = map[string]bool{"CreateUser": true, "CreateAccessKey": true, "CreateLoginProfile": true,
	"CreatePolicy": true, "CreatePolicyVersion": true, "CreateRole": true, "CreateGroup": true}

func responseElements(c *call) map[string]any {
	if c.resp == nil || !responseActions[c.action] || c.prod.code != "ram" && c.prod.code != "ims" {
		return nil
	}
	m, _ := scrubResponse(c.resp).(map[string]any)
	return m
}

// scrubResponse copies an answer for an event, without the fields that hold a secret (the ones the
// request log redacts).
func scrubResponse(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, v := range x {
			if !redacted(k) {
				m[k] = scrubResponse(v)
			}
		}
		return m
	case object:
		m := make(map[string]any, len(x))
		for _, f := range x {
			switch {
			case redacted(f.k):
			case f.isStr:
				m[f.k] = f.s
			default:
				m[f.k] = scrubResponse(f.v)
			}
		}
		return m
	case []map[string]any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = scrubResponse(e)
		}
		return out
	case []object:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = scrubResponse(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = scrubResponse(e)
		}
		return out
	}
	return v
}
