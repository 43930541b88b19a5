package emulator

import (
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"slices"
	"strings"
)

const upperHex = "0123456789ABCDEF"

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
	b := make([]byte, 0, len(s)+2*n)
	return string(appendPercentEncoded(b, s))
}

// appendPercentEncoded appends percentEncode(s) to b.
func appendPercentEncoded(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '%', upperHex[c>>4], upperHex[c&15])
	}
	return b
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// StringToSign builds the Signature V1 string to sign from the request method and every parameter
// (query and body, Signature excluded), as in spec §1.3 steps 1-4.
func StringToSign(method string, params map[string][]string) string {
	var ps []param
	for k, vs := range params {
		for _, v := range vs {
			ps = append(ps, param{k, v})
		}
	}
	return string(newSigner().stringToSign(method, ps))
}

// Sign returns base64(HMAC-SHA1(secret+"&", stringToSign)), the V1 signature.
func Sign(secret, stringToSign string) string {
	sg := newSigner()
	sg.buf = append(sg.buf[:hmacBlock], stringToSign...)
	mac := sg.hmac(secret)
	return base64.StdEncoding.EncodeToString(mac[:])
}

// signatureOK compares a presented signature with the expected one in constant time.
func signatureOK(secret, stringToSign, presented string) bool {
	sg := newSigner()
	sg.buf = append(sg.buf[:hmacBlock], stringToSign...)
	return sg.verify(secret, presented)
}

const hmacBlock = 64 // SHA-1 block size

// signer holds the scratch space of one signature check, so that checking a request allocates
// nothing: buf is hmacBlock bytes reserved for the HMAC inner pad, then the string to sign.
type signer struct {
	buf   []byte
	pairs []param
}

func newSigner() *signer { return &signer{buf: make([]byte, hmacBlock, 1024)} }

// scratch lends a request the Server's recycled signer and JSON buffer (they hold no request
// data once returned).
type scratch struct {
	signer
	json []byte
}

func (s *Server) getScratch() *scratch {
	if x, ok := s.scratch.Get().(*scratch); ok {
		return x
	}
	return &scratch{signer: *newSigner(), json: make([]byte, 0, 2048)}
}

func (s *Server) putScratch(x *scratch) {
	if cap(x.buf) > 64<<10 || cap(x.pairs) > 1024 || cap(x.json) > 64<<10 {
		return // an outsized request: let its buffers go
	}
	clear(x.pairs)
	x.pairs = x.pairs[:0]
	x.json = x.json[:0]
	s.scratch.Put(x)
}

// stringToSign writes the string to sign of method and ps (Signature excluded) into sg.buf after
// the pad space and returns it (valid until the next use of sg).
func (sg *signer) stringToSign(method string, ps []param) []byte {
	pairs := sg.pairs[:0]
	for _, p := range ps {
		if p.k == "Signature" {
			continue
		}
		pairs = append(pairs, param{percentEncode(p.k), percentEncode(p.v)})
	}
	slices.SortFunc(pairs, func(a, b param) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	sg.pairs = pairs
	b := append(sg.buf[:hmacBlock], method...)
	b = append(b, "&%2F&"...)
	for i, p := range pairs {
		if i > 0 {
			b = append(b, "%26"...) // "&", encoded
		}
		b = appendPercentEncoded(b, p.k)
		b = append(b, "%3D"...) // "="
		b = appendPercentEncoded(b, p.v)
	}
	sg.buf = b
	return b[hmacBlock:]
}

// hmac returns HMAC-SHA1(secret+"&", string to sign in sg.buf) (RFC 2104), written out so that it
// allocates nothing: the inner pad goes in the space reserved before the message.
func (sg *signer) hmac(secret string) [sha1.Size]byte {
	var key [hmacBlock]byte
	if len(secret)+1 > hmacBlock {
		k := sha1.Sum([]byte(secret + "&"))
		copy(key[:], k[:])
	} else {
		copy(key[:], secret)
		key[len(secret)] = '&'
	}
	for i := range hmacBlock {
		sg.buf[i] = key[i] ^ 0x36
	}
	inner := sha1.Sum(sg.buf)
	var outer [hmacBlock + sha1.Size]byte
	for i := range hmacBlock {
		outer[i] = key[i] ^ 0x5c
	}
	copy(outer[hmacBlock:], inner[:])
	return sha1.Sum(outer[:])
}

// verify checks presented against the signature of the string to sign in sg.buf, in constant time.
func (sg *signer) verify(secret, presented string) bool {
	mac := sg.hmac(secret)
	var want [28]byte // base64 of 20 bytes
	base64.StdEncoding.Encode(want[:], mac[:])
	return subtle.ConstantTimeCompare(want[:], []byte(presented)) == 1
}
