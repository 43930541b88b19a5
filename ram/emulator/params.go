package emulator

import (
	"encoding/binary"
	"net/url"
	"strings"
)

// param is one decoded request parameter.
type param struct{ k, v string }

// params holds a request's parameters in arrival order: the query's, then the form body's from
// index body on. It is never modified once parsed; the request log (packParams) and ActionTrail
// events (eventParams) copy what they keep, so they never pin a request's query. The merged view (get) is what spec §1.1 describes: a key's first value,
// and a body parameter wins over a query parameter of the same name.
type params struct {
	list []param
	body int
}

// get returns the merged value of name and whether the request carried it at all.
func (p params) get(name string) (string, bool) {
	for _, x := range p.list[p.body:] {
		if x.k == name {
			return x.v, true
		}
	}
	for _, x := range p.list[:p.body] {
		if x.k == name {
			return x.v, true
		}
	}
	return "", false
}

// each calls f once per distinct name with its merged value.
func (p params) each(f func(k, v string)) {
	for i, x := range p.list {
		if p.firstOf(i) {
			f(x.k, x.v)
		}
	}
}

// firstOf reports whether list[i] is the merged value of its name: the first body occurrence, or
// the first query occurrence when the body lacks the name.
func (p params) firstOf(i int) bool {
	k := p.list[i].k
	lo := 0
	if i >= p.body {
		lo = p.body
	} else {
		for _, x := range p.list[p.body:] {
			if x.k == k {
				return false
			}
		}
	}
	for _, x := range p.list[lo:i] {
		if x.k == k {
			return false
		}
	}
	return true
}

// merged is the merged view as a fresh map.
func (p params) merged() map[string]string {
	m := make(map[string]string, len(p.list))
	p.each(func(k, v string) { m[k] = v })
	return m
}

// rawParams is a request's parameters as received: the URL's raw query and the form body.
type rawParams struct{ query, body string }

// parse decodes and merges them: a query that url.ParseQuery rejects counts as empty, a body
// keeps the pairs that parse, and body pairs come after the query's.
func (r rawParams) parse() params {
	list := make([]param, 0, strings.Count(r.query, "&")+1)
	list, ok := appendQuery(list, r.query)
	if !ok {
		list = list[:0]
	}
	n := len(list)
	if r.body != "" {
		list, _ = appendQuery(list, r.body)
	}
	return params{list: list, body: n}
}

// queryUnescape is url.QueryUnescape, with a vectorised look for the common case of nothing
// to unescape.
func queryUnescape(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, nil
	}
	return url.QueryUnescape(s)
}

// packParams appends p's pairs to b, in order, each as uvarint(len(k)) k uvarint(len(v)) v, with
// the value of every redacted parameter replaced by "[REDACTED]": what the request log keeps.
func packParams(b []byte, p params) []byte {
	for _, x := range p.list {
		v := x.v
		if redacted(x.k) {
			v = "[REDACTED]"
		}
		b = binary.AppendUvarint(b, uint64(len(x.k)))
		b = append(b, x.k...)
		b = binary.AppendUvarint(b, uint64(len(v)))
		b = append(b, v...)
	}
	return b
}

// unpackParams reverses packParams; body is the index of the first body pair.
func unpackParams(s string, body int) params {
	var list []param
	next := func() string {
		n, w := binary.Uvarint([]byte(s[:min(len(s), binary.MaxVarintLen64)]))
		v := s[w : w+int(n)]
		s = s[w+int(n):]
		return v
	}
	for s != "" {
		k := next()
		list = append(list, param{k, next()})
	}
	return params{list: list, body: body}
}

// maxQueryParams is net/url's default limit: url.ParseQuery refuses a longer query outright.
const maxQueryParams = 10000

// appendQuery decodes s exactly as url.ParseQuery does (pairs split on '&', a pair with ';' or a
// bad escape is skipped and reported, empty keys are skipped, more than maxQueryParams pairs is
// an error with nothing decoded) and appends the pairs to dst.
func appendQuery(dst []param, s string) ([]param, bool) {
	if strings.Count(s, "&")+1 > maxQueryParams {
		return dst, false
	}
	ok := true
	for s != "" {
		var kv string
		kv, s, _ = strings.Cut(s, "&")
		if strings.IndexByte(kv, ';') >= 0 {
			ok = false
			continue
		}
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		k, err := queryUnescape(k)
		if err != nil {
			ok = false
			continue
		}
		v, err = queryUnescape(v)
		if err != nil {
			ok = false
			continue
		}
		dst = append(dst, param{k, v})
	}
	return dst, ok
}
