package emulator

import (
	"encoding/json"
	"slices"
	"strconv"
)

// appendJSON appends the JSON encoding of v to b, byte for byte what json.Marshal produces
// (object keys sorted, HTML characters escaped), without reflection for the shapes the handlers
// build: maps of string to any or string, slices of those, strings, bools and integers. Anything
// else goes through json.Marshal.
func appendJSON(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendJSONString(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case map[string]any:
		return appendJSONMap(b, x, appendJSON)
	case object:
		if x == nil {
			return append(b, "null"...), nil
		}
		x.sort()
		b = append(b, '{')
		for i, f := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, f.k)
			b = append(b, ':')
			if f.isStr {
				b = appendJSONString(b, f.s)
				continue
			}
			var err error
			if b, err = appendJSON(b, f.v); err != nil {
				return b, err
			}
		}
		return append(b, '}'), nil
	case []object:
		return appendJSONArray(b, x)
	case map[string]string:
		return appendJSONMap(b, x, func(b []byte, v string) ([]byte, error) { return appendJSONString(b, v), nil })
	case []map[string]any:
		return appendJSONArray(b, x)
	case []any:
		return appendJSONArray(b, x)
	case []string:
		if x == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, e)
		}
		return append(b, ']'), nil
	}
	m, err := json.Marshal(v)
	if err != nil {
		return b, err
	}
	return append(b, m...), nil
}

// appendJSONArray appends xs as a JSON array (null when nil), each element through appendJSON.
func appendJSONArray[E any](b []byte, xs []E) ([]byte, error) {
	if xs == nil {
		return append(b, "null"...), nil
	}
	b = append(b, '[')
	for i, e := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendJSON(b, e); err != nil {
			return b, err
		}
	}
	return append(b, ']'), nil
}

// object is a JSON object built without a map (cheaper for a handful of fields). Its keys must be
// distinct; it encodes exactly like the map with the same entries (keys sorted).
type object []field

// field is one member of an object: v, or the string s when isStr (no boxing into an interface).
type field struct {
	k     string
	v     any
	s     string
	isStr bool
}

// str is a string-valued field.
func str(k, s string) field { return field{k: k, s: s, isStr: true} }

// sort puts the fields in key order, as json.Marshal orders a map's keys.
func (o object) sort() {
	for i := 1; i < len(o); i++ {
		for j := i; j > 0 && o[j].k < o[j-1].k; j-- {
			o[j], o[j-1] = o[j-1], o[j]
		}
	}
}

// MarshalJSON keeps an object correct wherever it reaches encoding/json.
func (o object) MarshalJSON() ([]byte, error) { return appendJSON(nil, o) }

// appendJSONString appends s as a JSON string. Plain printable ASCII is copied; anything
// json.Marshal would escape (quotes, backslash, control characters, < > &, non-ASCII that may be
// invalid UTF-8 or U+2028/U+2029) goes through json.Marshal so the bytes stay identical.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			m, _ := json.Marshal(s) // a string always marshals
			return append(b, m...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendJSONMap appends m as a JSON object, keys sorted, each value by appendValue.
func appendJSONMap[V any](b []byte, m map[string]V, appendValue func([]byte, V) ([]byte, error)) ([]byte, error) {
	if m == nil {
		return append(b, "null"...), nil
	}
	var arr [16]string
	keys := arr[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		var err error
		if b, err = appendValue(b, m[k]); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}
