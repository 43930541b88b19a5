package emulator

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"sort"
	"strings"
)

// percentEncode is the RFC 3986 encoding of Signature V1: A-Z a-z 0-9 - _ . ~ stay literal, every
// other byte becomes %XY with upper-case hex (spec §1.3 step 2).
func percentEncode(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

type kv struct{ k, v string }

// StringToSign builds the Signature V1 string to sign from the request method and every parameter
// (query and body, Signature excluded), as in spec §1.3 steps 1-4.
func StringToSign(method string, params map[string][]string) string {
	pairs := make([]kv, 0, len(params))
	for k, vs := range params {
		if k == "Signature" {
			continue
		}
		ek := percentEncode(k)
		for _, v := range vs {
			pairs = append(pairs, kv{ek, percentEncode(v)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var q strings.Builder
	for i, p := range pairs {
		if i > 0 {
			q.WriteByte('&')
		}
		q.WriteString(p.k)
		q.WriteByte('=')
		q.WriteString(p.v)
	}
	return method + "&%2F&" + percentEncode(q.String())
}

// Sign returns base64(HMAC-SHA1(secret+"&", stringToSign)), the V1 signature.
func Sign(secret, stringToSign string) string {
	m := hmac.New(sha1.New, []byte(secret+"&"))
	m.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// signatureOK compares a presented signature with the expected one in constant time.
func signatureOK(secret, stringToSign, presented string) bool {
	return hmac.Equal([]byte(Sign(secret, stringToSign)), []byte(presented))
}
