package ram

import (
	"sort"
	"strconv"

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

// flatten keeps the text values of a JSON object, nested objects as dotted paths ("AccessKey.
// AccessKeyId"), in key order, within the limits above.
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
