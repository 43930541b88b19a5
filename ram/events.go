package ram

import (
	"sort"
	"strconv"
	"strings"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/actiontrail"
)

// attribute is the one LookupAttribute of a query: the user (or role session) when set, else
// the signing key.
func (q EventQuery) attribute() actiontrail.LookupEventsLookupAttribute {
	if q.User != "" {
		return actiontrail.LookupEventsLookupAttribute{Key: "User", Value: q.User}
	}
	return actiontrail.LookupEventsLookupAttribute{Key: "EventAccessKeyId", Value: q.AccessKeyID.String()}
}

// subject names what a query selects, for errors.
func (q EventQuery) subject() string {
	if q.User != "" {
		return "user " + strconv.Quote(q.User)
	}
	return "access key " + q.AccessKeyID.String()
}

// maxDetailFields bounds what an event keeps of its requestParameters and responseElements
// (a hostile or huge event must not blow up memory).
const (
	maxDetailFields = 64
	maxDetailDepth  = 4
	maxDetailValue  = 8 << 10
)

// addDetail fills the caller identity, Params and Response of an event from its record.
func (e *Event) addDetail(m map[string]any) {
	if ui, ok := m["userIdentity"].(map[string]any); ok {
		e.IdentityType, e.UserName = str(ui, "type"), str(ui, "userName")
	}
	if p, ok := m["requestParameters"].(map[string]any); ok {
		e.Params = flatten(p)
	}
	if r, ok := m["responseElements"].(map[string]any); ok {
		e.Response = flatten(r)
	}
}

// secretField reports a requestParameters or responseElements field that may hold a secret
// (CreateAccessKey's AccessKeySecret, CreateLoginProfile's Password, AssumeRole's SecurityToken,
// PutSecretValue's SecretData). The emulator's events never carry one [INF]; whether
// ActionTrail's always leave them out is not documented, so an event never keeps one.
func secretField(k string) bool {
	lk := strings.ToLower(k)
	return strings.Contains(lk, "secret") && lk != "secretname" || strings.Contains(lk, "password") ||
		strings.Contains(lk, "token") && lk != "nexttoken" || strings.Contains(lk, "privatekey")
}

// flatten keeps the text values of a JSON object, nested objects as dotted paths ("AccessKey.
// AccessKeyId"), in key order, within the limits above, never a field that may hold a secret
// (secretField).
func flatten(m map[string]any) map[string]string {
	out := map[string]string{}
	var walk func(prefix string, m map[string]any, depth int)
	walk = func(prefix string, m map[string]any, depth int) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if len(out) >= maxDetailFields {
				return
			}
			if secretField(k) {
				continue
			}
			switch v := m[k].(type) {
			case map[string]any:
				if depth < maxDetailDepth {
					walk(prefix+k+".", v, depth+1)
				}
			default:
				if s := str(m, k); s != "" && len(s) <= maxDetailValue {
					out[prefix+k] = s
				}
			}
		}
	}
	walk("", m, 1)
	if len(out) == 0 {
		return nil
	}
	return out
}
