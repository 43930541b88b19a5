package detect

import (
	"bytes"
	"slices"
	"strings"

	"github.com/respond-dev/respond/ram/accesskey"
)

// Secrets without an id. A 30-character token is everywhere in logs and code (trace ids, hashes,
// other vendors' keys), so one is reported as a leaked AccessKey secret on its own only when its
// name says so: the name right before it (ALIYUN_SECRET_ACCESS_KEY=, access_key_secret:,
// "AccessKeySecret": ", --access-key-secret, sk=) passes namesAccessKeySecret, and the token
// mixes upper case, lower case and digits. A secret given to an id (on its line or a
// neighbouring one) is not reported again, nor one on the line of an STS id (STS credentials).

// secretHit is a secret found without an id.
type secretHit struct {
	secret accesskey.Secret
	line   int
}

// nameHints are the parts of a secret's name searched for; the name around each is then judged
// whole. They are short, with a first byte rarer than "e" or "s", because each search runs over
// every byte of the text: "cret" finds secret, Secret and SECRET, "sk" and "SK" the ak/sk names.
// Mixed-case spellings such as "sEcReT" or "aliyunSk" are not looked for.
var nameHints = [4][]byte{[]byte("cret"), []byte("CRET"), []byte("sk"), []byte("SK")}

const maxNameLen = 128

func hasNameHint(b []byte) bool {
	for _, h := range nameHints {
		if bytes.Contains(b, h) {
			return true
		}
	}
	return false
}

// scanNames reports the named secrets whose name hint starts in data[0:to] (to is a line start
// unless a line is longer than the window), in input order. line is the line number of data[0];
// it returns that of data[to].
func scanNames(v *textView, to, line int, fn func(secretHit)) int {
	data := v.data
	var next [len(nameHints)]int
	for k := range next {
		next[k] = -2
	}
	counted := 0
	for pos := 0; pos < to; {
		p := -1
		for k, h := range nameHints {
			if next[k] != -1 && next[k] < pos {
				next[k] = indexFrom(data[:min(len(data), to+len(h)-1)], h, pos)
			}
			if next[k] >= 0 && (p < 0 || next[k] < p) {
				p = next[k]
			}
		}
		if p < 0 || p >= to {
			break
		}
		a, nameEnd := v.namedSecretAt(p)
		pos = max(nameEnd, p+1)
		if a < 0 || v.stsOnLine(a) {
			continue
		}
		sec, _ := parseSecret(string(data[a : a+accesskey.SecretLen]))
		line += bytes.Count(data[counted:a], []byte{'\n'})
		counted = a
		fn(secretHit{secret: sec, line: line})
	}
	if to > counted {
		line += bytes.Count(data[counted:to], []byte{'\n'})
	}
	return line
}

// namedSecretAt judges the name around the hint at p. It returns where the secret it names
// starts (-1 for none) and where the name ends.
func (v *textView) namedSecretAt(p int) (int, int) {
	data := v.data
	na, nb := p, p
	for na > 0 && isNameByte(data[na-1]) {
		na--
	}
	for nb < len(data) && isNameByte(data[nb]) {
		nb++
	}
	if na == 0 && !v.start && isNameByte(v.prev) || nb-na > maxNameLen || nb == len(data) {
		return -1, nb // cut by the window, too long, or nothing after it
	}
	a := valueAfterName(data, nb)
	if a < 0 {
		return -1, nb
	}
	b := a + accesskey.SecretLen
	if b > len(data) || b == len(data) && !v.eof || b < len(data) && accesskey.IsAlnum(data[b]) {
		return -1, nb
	}
	for _, c := range data[a:b] {
		if !accesskey.IsAlnum(c) {
			return -1, nb
		}
	}
	if !looksLikeSecret(data[a:b]) {
		return -1, nb
	}
	if bytes.HasPrefix(data[a:b], []byte(accesskey.Prefix)) {
		return -1, nb // an id is no secret
	}
	if v.claims != nil {
		if _, taken := v.claims[v.base+int64(a)]; taken {
			return -1, nb // given to an id
		}
	}
	if !namesAccessKeySecret(data[na:nb]) {
		return -1, nb
	}
	return a, nb
}

// assignOps are what may stand between a name and its value, longest first.
var assignOps = []string{"::=", "=>", ":=", "?=", "||", "=", ":", ">", ",", "("}

// valueAfterName returns where the value after a name ending at i starts: closing quotes or
// brackets, then an assignment (=, :, =>, :=, ?=, ||, >, a comma, an opening parenthesis) or
// white space alone, then opening quotes. It returns -1 when no value follows on the same line.
func valueAfterName(data []byte, i int) int {
	skip := func(i, limit int, set string) (int, bool) {
		space := false
		for n := 0; n < limit && i < len(data) && strings.IndexByte(set, data[i]) >= 0; n++ {
			space = space || data[i] == ' ' || data[i] == '\t'
			i++
		}
		return i, space
	}
	i, space := skip(i, 4, " \t'\"]")
	op := false
	for _, o := range assignOps {
		if bytes.HasPrefix(data[i:], []byte(o)) {
			i += len(o)
			op = true
			break
		}
	}
	if !op && !space {
		return -1
	}
	i, _ = skip(i, 5, " \t'\"`=")
	if i >= len(data) || !accesskey.IsAlnum(data[i]) {
		return -1
	}
	return i
}

// stsOnLine reports whether the line holding data[a] holds an STS id.
func (v *textView) stsOnLine(a int) bool {
	ls, le := lineAround(v.data, a)
	if !bytes.Contains(v.data[ls:le], []byte(accesskey.STSPrefix)) {
		return false
	}
	var idBuf, secBuf [4]span
	ids, _ := v.lineTokens(ls, le, idBuf[:0], secBuf[:0])
	for _, s := range ids {
		if s.id.IsSTS() {
			return true
		}
	}
	return false
}

// otherVendors are parts of names that say a secret belongs to another cloud or service.
var otherVendors = [][]byte{[]byte("aws"), []byte("amazon"), []byte("azure"), []byte("gcp"), []byte("google"), []byte("tencent"),
	[]byte("qcloud"), []byte("huawei"), []byte("baidu"), []byte("bce"), []byte("qiniu"), []byte("volc"), []byte("ksyun"),
	[]byte("ucloud"), []byte("minio"), []byte("stripe"), []byte("github"), []byte("gitlab"), []byte("slack"), []byte("twilio"),
	[]byte("openai"), []byte("jwt"), []byte("session"), []byte("client"), []byte("webhook"), []byte("oauth"), []byte("cookie"),
	[]byte("csrf"), []byte("django"), []byte("flask"), []byte("rails")}

// alibabaWords are name parts that tie a secret to an Alibaba Cloud AccessKey; secretWords are
// those that, inside a word that says "secret" (accesskeysecret), do the same.
var (
	alibabaWords = []string{"access", "key", "alibaba", "aliyun", "alicloud", "ali", "acs", "oss", "ak", "ram"}
	secretWords  = [][]byte{[]byte("access"), []byte("alibaba"), []byte("aliyun"), []byte("alicloud")}
)

// namesAccessKeySecret reports whether a name says that its value is an AccessKey secret: a word
// part that contains "secret" together with one of access, key, alibaba, aliyun, alicloud, ali,
// acs, oss, ak, ram (ALIYUN_SECRET_ACCESS_KEY, ALIBABA_CLOUD_ACCESS_KEY_SECRET,
// access_key_secret, AccessKeySecret, secret_key, accesskeysecret), or the word "sk" with none
// but those and "cloud" (sk, ALIYUN_SK). A name that mentions another vendor or another kind of
// secret (JWT_SECRET, client_secret, AWS_SECRET_ACCESS_KEY, MINIO_SECRET_KEY) does not.
func namesAccessKeySecret(name []byte) bool {
	if len(name) > maxNameLen {
		return false
	}
	var lower [maxNameLen]byte
	var secret, sk, alibaba, stray bool
	forEachWord(name, func(w []byte) bool {
		w = lowerInto(lower[:], w)
		switch {
		case bytes.Contains(w, []byte("secret")):
			secret = true
			for _, a := range secretWords {
				alibaba = alibaba || bytes.Contains(w, a)
			}
		case string(w) == "sk":
			sk = true
		case slices.Contains(alibabaWords, string(w)):
			alibaba = true
		case string(w) != "cloud":
			stray = true
		}
		return true
	})
	if !(secret && alibaba || sk && !stray && !secret) {
		return false
	}
	other := false
	forEachWord(name, func(w []byte) bool {
		w = lowerInto(lower[:], w)
		for _, o := range otherVendors {
			other = other || bytes.Contains(w, o)
		}
		return !other
	})
	return !other
}

// forEachWord calls fn with each word part of b, until fn returns false: runs of letters, split at
// anything else and at a change from lower to upper case (AccessKeySecret is Access, Key, Secret).
func forEachWord(b []byte, fn func([]byte) bool) {
	isLetter := func(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
	for i := 0; i < len(b); {
		if !isLetter(b[i]) {
			i++
			continue
		}
		j := i + 1
		for j < len(b) && isLetter(b[j]) && !(b[j-1] >= 'a' && b[j-1] <= 'z' && b[j] >= 'A' && b[j] <= 'Z') {
			j++
		}
		if !fn(b[i:j]) {
			return
		}
		i = j
	}
}

// lowerInto writes w in lower case into buf (which must hold it) and returns that part of buf.
func lowerInto(buf, w []byte) []byte {
	for i, c := range w {
		buf[i] = c | 0x20 // letters only
	}
	return buf[:len(w)]
}
