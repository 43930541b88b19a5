package detect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/respond-dev/respond/ram/accesskey"
)

// Text scanning: the input is read in chunks into one reused buffer; ids are found with
// bytes.Index on the "LTAI" and "STS." prefixes (no regular expression), and only the lines that
// hold an id (and, for an id left without a secret, the few lines around it) are looked at byte
// by byte. Memory stays bounded whatever the line length: every step keeps nearBytes of the
// input before the part it scans (for the lines above an id) and nearBytes after it (for the lines
// below), so a line longer than half the buffer is scanned in windows that overlap.
const (
	textChunk   = 1 << 20 // bytes read per step (the buffer holds two)
	textOverlap = nearBytes
	lineWindow  = 64 << 10
	maxRun      = 4 + 65 // longest alnum run worth measuring exactly

	// nearLines is how far (in lines) a secret may stand from an id and still be paired with it
	// when it is not on the id's line; nearBytes bounds the same distance in bytes.
	nearLines = 3
	nearBytes = 32 << 10
)

// ossParam is the query parameter of an OSS V1 pre-signed URL that carries the id.
const ossParam = "OSSAccessKeyId="

// NoteNearbyAmbiguous is attached to an id of plain text when a secret stands on a nearby line
// but the pairing is not clear (another id or another secret is near too), so none was made.
const NoteNearbyAmbiguous = "not paired with a secret: a secret stands on a nearby line, but other ids or secrets " +
	"are near too, so which belongs to which is not clear"

// textHit is an id found in text, with the secret from the same line (or a neighbouring one)
// when there was one.
type textHit struct {
	id     accesskey.ID
	secret accesskey.Secret
	line   int
	note   string
}

// textView is the part of the input in the buffer during one step.
type textView struct {
	data  []byte
	prev  byte // the byte before data[0] ('\n' at the start of the input)
	start bool // data[0] is the first byte of the input
	eof   bool // data ends with the last byte of the input
	near  bool // pair ids with secrets on neighbouring lines (plain text only)
	// base is the input offset of data[0]; claims holds the input offsets of the secrets given
	// to an id, so that they are not reported again as secrets without an id (nil: not kept).
	base   int64
	claims map[int64]struct{}
}

// scanText reads r to the end and calls fn for every id, in input order, and, when names is not
// nil, names for every secret that stands without an id (see scanNames). Names lag behind ids by
// nearBytes: a secret is reported only once every id that could take it has been seen.
func scanText(ctx context.Context, r io.Reader, fn func(textHit), names func(secretHit)) error {
	buf := make([]byte, 2*textChunk)
	carry, from := 0, 0
	line, nameLine := 1, 1
	v := textView{prev: '\n', start: true, near: true}
	if names != nil {
		v.claims = map[int64]struct{}{}
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := io.ReadFull(r, buf[carry:])
		eof := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		if err != nil && !eof {
			return fmt.Errorf("read text: %w", err)
		}
		v.data, v.eof = buf[:carry+n], eof
		data := v.data
		limit := len(data)
		if !eof {
			// Keep nearBytes after limit in view: the id's line end and the lines below it.
			look := len(data) - textOverlap
			nl := bytes.LastIndexByte(data[from:look], '\n')
			if nl >= 0 && len(data)-(from+nl+1) < len(data)/2 {
				limit = from + nl + 1
			} else {
				limit = look
			}
		}
		line = scanChunk(&v, from, limit, line, fn)
		if eof {
			if names != nil {
				scanNames(&v, len(data), nameLine, names)
			}
			return nil
		}
		// Carry the lookahead and nearBytes before it: the lines above the next ids. Start at
		// a line start when one is near, so that no secret's name is cut from its value.
		keep := max(0, limit-nearBytes)
		if lo := max(0, keep-2*maxNameLen); keep > 0 {
			if i := bytes.LastIndexByte(data[lo:keep], '\n'); i >= 0 {
				keep = lo + i + 1
			}
		}
		if names != nil {
			// Every id that could take a secret before keep has been seen.
			nameLine = scanNames(&v, keep, nameLine, names)
			for off := range v.claims {
				if off < v.base+int64(keep) {
					delete(v.claims, off)
				}
			}
		}
		if keep > 0 {
			v.prev, v.start = data[keep-1], false
		}
		carry = copy(buf, data[keep:])
		from = limit - keep
		v.base += int64(keep)
	}
}

// scanChunk finds ids starting in data[from:limit]; data before from is context already scanned,
// data beyond limit is lookahead. line is the line number of data[from]; it returns the line
// number of data[limit].
func scanChunk(v *textView, from, limit, line int, fn func(textHit)) int {
	data := v.data
	prefixLTAI, prefixSTS := []byte(accesskey.Prefix), []byte(accesskey.STSPrefix)
	counted := from
	pos := from
	nextL, nextS := -2, -2 // -2: not searched yet; -1: none left
	// A prefix that starts before limit may end after it: search a little further.
	search := data[:min(len(data), limit+len(prefixLTAI)-1)]
	for pos < limit {
		if nextL != -1 && nextL < pos {
			nextL = indexFrom(search, prefixLTAI, pos)
		}
		if nextS != -1 && nextS < pos {
			nextS = indexFrom(search, prefixSTS, pos)
		}
		p := nextL
		if p < 0 || (nextS >= 0 && nextS < p) {
			p = nextS
		}
		if p < 0 || p >= limit {
			break
		}
		line += bytes.Count(data[counted:p], []byte{'\n'})
		counted = p
		ls, le := lineAround(data, p)
		scanLine(v, ls, le, pos, limit, line, fn)
		pos = max(le, p+1)
	}
	if limit > counted {
		line += bytes.Count(data[counted:limit], []byte{'\n'})
	}
	return line
}

// lineAround returns the bounds of the line that holds data[p], or of the window of lineWindow
// bytes on each side of p when the line is longer.
func lineAround(data []byte, p int) (int, int) {
	ls := max(0, p-lineWindow)
	if i := bytes.LastIndexByte(data[ls:p], '\n'); i >= 0 {
		ls += i + 1
	}
	le := min(len(data), p+lineWindow)
	if i := bytes.IndexByte(data[p:le], '\n'); i >= 0 {
		le = p + i
	}
	return ls, le
}

func indexFrom(b, sep []byte, from int) int {
	if from >= len(b) {
		return -1
	}
	i := bytes.Index(b[from:], sep)
	if i < 0 {
		return -1
	}
	return from + i
}

type span struct {
	a, b  int
	id    accesskey.ID
	sec   accesskey.Secret
	secAt int // where sec starts in data
	note  string
}

// before returns the byte before data[i].
func (v *textView) before(i int) byte {
	if i == 0 {
		return v.prev
	}
	return v.data[i-1]
}

// lineTokens appends the ids and the secret-shaped tokens that start in data[ls:le] (one line or
// a window of a long one) to ids and secrets.
func (v *textView) lineTokens(ls, le int, ids, secrets []span) ([]span, []span) {
	data := v.data
	for i := ls; i < le; {
		if !accesskey.IsAlnum(data[i]) {
			i++
			continue
		}
		a := i
		for i < len(data) && accesskey.IsAlnum(data[i]) {
			i++
		}
		b := i
		if accesskey.IsAlnum(v.before(a)) || (b == len(data) && !v.eof) {
			continue // inside a longer token, or its end is not in view
		}
		switch {
		case b-a == 3 && string(data[a:b]) == "STS" && b < len(data) && data[b] == '.':
			j := b + 1
			for j < len(data) && j-a <= maxRun && accesskey.IsAlnum(data[j]) {
				j++
			}
			if (j == len(data) && !v.eof) || j-a > maxRun || (j < len(data) && accesskey.IsAlnum(data[j])) {
				continue
			}
			if id, err := accesskey.ParseID(string(data[a:j])); err == nil {
				ids = append(ids, span{a: a, b: j, id: id})
			}
			i = j
		case b-a == accesskey.LongTermLen || b-a == accesskey.LegacyLen:
			if !bytes.HasPrefix(data[a:b], []byte(accesskey.Prefix)) {
				continue
			}
			if id, err := accesskey.ParseID(string(data[a:b])); err == nil {
				s := span{a: a, b: b, id: id}
				if bytes.HasSuffix(data[ls:a], []byte(ossParam)) {
					s.note = NoteOSSPresigned
				}
				ids = append(ids, s)
			}
		case b-a == accesskey.SecretLen:
			if looksLikeSecret(data[a:b]) {
				if sec, ok := parseSecret(string(data[a:b])); ok {
					secrets = append(secrets, span{a: a, b: b, sec: sec})
				}
			}
		}
	}
	return ids, secrets
}

// scanLine looks at data[ls:le], one line (or a window of a long one), and reports the ids that
// start in [emitFrom, emitTo), each with the secret from the same line when it can tell which,
// else (plain text only) with the secret of a neighbouring line when that pairing is unambiguous.
func scanLine(v *textView, ls, le, emitFrom, emitTo, line int, fn func(textHit)) {
	var idBuf, secBuf [4]span
	all, secrets := v.lineTokens(ls, le, idBuf[:0], secBuf[:0])
	ids := all[:0] // filtered in place
	for _, s := range all {
		if s.a >= emitFrom && s.a < emitTo {
			ids = append(ids, s)
		}
	}
	pairSecrets(ids, secrets)
	for _, s := range ids {
		if v.near && s.sec.IsZero() && s.note == "" && !s.id.IsSTS() {
			s.sec, s.secAt, s.note = v.nearbySecret(s, ls, le)
		}
		if !s.sec.IsZero() && v.claims != nil {
			v.claims[v.base+int64(s.secAt)] = struct{}{}
		}
		fn(textHit{id: s.id, secret: s.sec, line: line, note: s.note})
	}
}

// pairSecrets gives each rotatable id the secret that follows it on its line (before the next
// id); a line with a single id and a single secret pairs them whatever their order.
func pairSecrets(ids, secrets []span) {
	if len(secrets) == 0 {
		return
	}
	if len(ids) == 1 && len(secrets) == 1 {
		if ids[0].note == "" && !ids[0].id.IsSTS() {
			ids[0].sec, ids[0].secAt = secrets[0].sec, secrets[0].a
		}
		return
	}
	for k := range ids {
		if ids[k].note != "" || ids[k].id.IsSTS() {
			continue
		}
		end := int(^uint(0) >> 1)
		if k+1 < len(ids) {
			end = ids[k+1].a
		}
		for _, s := range secrets {
			if s.a >= ids[k].b && s.a < end {
				ids[k].sec, ids[k].secAt = s.sec, s.a
				break
			}
		}
	}
}

// nearLine is one whole line near an id, with what stands on it.
type nearLine struct {
	a, b    int    // data[a:b], without the line break
	rel     int    // line number relative to the id's line
	ids     int    // ids on it (any kind) left without a secret by the same-line rule
	secrets []span // secret-shaped tokens, when the line holds no id
	seen    bool   // ids and secrets filled in
}

// nearbySecret pairs the id s, alone on its line [ls, le) without a secret, with a secret that
// stands on a line at most nearLines away, when that is unambiguous:
//
//   - the secret's line, or the token right before the secret, names a secret (secret, SECRET,
//     access_key_secret, AccessKeySecret, secret_key, sk, … as a word part), or the secret is the
//     next value after the id (only quotes, commas and white space between: an argument list or
//     a row split over lines);
//   - it is the only such secret within nearLines of the id, and the id is the only id within
//     nearLines of the id and of the secret (ids paired on their own line do not count: they
//     claim no other secret; STS ids and ids of OSS pre-signed URLs do);
//   - the id's line and every line that decides this are whole in view (within nearBytes of the
//     id), or end at the start or end of the input.
//
// It returns the secret and where it starts in data. When a candidate secret is near but the
// pairing is not clear, it returns NoteNearbyAmbiguous.
func (v *textView) nearbySecret(s span, ls, le int) (accesskey.Secret, int, string) {
	var none accesskey.Secret
	d := v.data
	if !(ls > 0 && d[ls-1] == '\n' || ls == 0 && v.start) || !(le < len(d) && d[le] == '\n' || le == len(d) && v.eof) {
		return none, 0, "" // the id's line is longer than the window
	}
	lo, hi := max(0, s.a-nearBytes), min(len(d), s.a+nearBytes)
	var buf [4*nearLines + 1]nearLine
	lines := buf[:0]
	cutAbove, cutBelow := false, false
	// Lines above, nearest first, then reversed so lines run in input order.
	for cur := ls; len(lines) < 2*nearLines; {
		if cur <= lo {
			cutAbove = !(cur == 0 && v.start)
			break
		}
		st := lo
		if i := bytes.LastIndexByte(d[lo:cur-1], '\n'); i >= 0 {
			st = lo + i + 1
		} else if !(lo == 0 && v.start) {
			cutAbove = true
			break
		}
		lines = append(lines, nearLine{a: st, b: cur - 1, rel: -len(lines) - 1})
		cur = st
	}
	for i, j := 0, len(lines)-1; i < j; i, j = i+1, j-1 {
		lines[i], lines[j] = lines[j], lines[i]
	}
	self := len(lines)
	lines = append(lines, nearLine{a: ls, b: le})
	for cur := le; len(lines)-self-1 < 2*nearLines; {
		if cur >= hi {
			cutBelow = !(hi == len(d) && v.eof)
			break
		}
		st := cur + 1
		end := hi
		if i := bytes.IndexByte(d[st:hi], '\n'); i >= 0 {
			end = st + i
		} else if !(hi == len(d) && v.eof) {
			cutBelow = true
			break
		}
		lines = append(lines, nearLine{a: st, b: end, rel: len(lines) - self})
		cur = end
	}
	// What stands on a line, looked at only when needed: the lines within nearLines of the id
	// first, then those within nearLines of a candidate secret.
	var idBuf, secBuf [8]span
	look := func(l *nearLine) {
		if l.seen {
			return
		}
		l.seen = true
		ids, secs := v.lineTokens(l.a, l.b, idBuf[:0], secBuf[:0])
		pairSecrets(ids, secs)
		for _, id := range ids {
			if id.sec.IsZero() {
				l.ids++ // an id paired on its own line claims no other secret
			}
		}
		if len(ids) == 0 && len(secs) > 0 {
			l.secrets = append([]span(nil), secs...)
		}
	}
	// Is every line within nearLines of rel whole in view?
	whole := func(rel int) bool {
		first, last := lines[0].rel, lines[len(lines)-1].rel
		return (rel-nearLines >= first || !cutAbove) && (rel+nearLines <= last || !cutBelow)
	}
	idsNear := func(rel int) int {
		n := 0
		for k := range lines {
			if l := &lines[k]; l.rel >= rel-nearLines && l.rel <= rel+nearLines {
				look(l)
				n += l.ids
			}
		}
		return n
	}
	var cand span
	cands, candRel := 0, 0
	for k := range lines {
		l := &lines[k]
		if l.rel < -nearLines || l.rel > nearLines || l.rel == 0 {
			continue
		}
		look(l)
		for _, sec := range l.secrets {
			if v.namesSecret(*l, sec, lo) || v.nextValue(s.b, sec.a) {
				cand, candRel = sec, l.rel
				cands++
			}
		}
	}
	switch {
	case cands == 0:
		return none, 0, ""
	case cands > 1 || !whole(0) || idsNear(0) != 1 || !whole(candRel) || idsNear(candRel) != 1:
		return none, 0, NoteNearbyAmbiguous
	}
	return cand.sec, cand.a, ""
}

// namesSecret reports whether the line l, apart from the token sec itself, or the token right
// before sec (on an earlier line when sec starts its line) names a secret.
func (v *textView) namesSecret(l nearLine, sec span, lo int) bool {
	d := v.data
	if wordsNameSecret(d[l.a:sec.a]) || wordsNameSecret(d[sec.b:l.b]) {
		return true
	}
	i := sec.a
	for i > lo && !isNameByte(d[i-1]) {
		i--
	}
	j := i
	for i > lo && isNameByte(d[i-1]) {
		i--
	}
	return wordsNameSecret(d[i:j])
}

// nextValue reports whether only quotes, commas and white space stand between an id that ends at
// idEnd and a token that starts at a.
func (v *textView) nextValue(idEnd, a int) bool {
	if a < idEnd {
		return false
	}
	for _, c := range v.data[idEnd:a] {
		switch c {
		case ' ', '\t', '\r', '\n', '\'', '"', ',':
		default:
			return false
		}
	}
	return true
}

func isNameByte(c byte) bool { return accesskey.IsAlnum(c) || c == '_' || c == '-' || c == '.' }

// wordsNameSecret reports whether a word part of b (words split at anything but a letter and at
// a lower-to-upper case change, as in AccessKeySecret) contains "secret" or is "sk", ignoring case.
func wordsNameSecret(b []byte) bool {
	found := false
	forEachWord(b, func(w []byte) bool {
		if len(w) == 2 && w[0]|0x20 == 's' && w[1]|0x20 == 'k' {
			found = true
		}
		for k := 0; k+6 <= len(w) && !found; k++ {
			found = bytes.EqualFold(w[k:k+6], []byte("secret"))
		}
		return !found
	})
	return found
}

// looksLikeSecret keeps 30-character tokens that mix upper case, lower case and digits, as
// AccessKey secrets do; hex trace ids and words are not secrets.
func looksLikeSecret(b []byte) bool {
	var up, low, dig bool
	for _, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			up = true
		case c >= 'a' && c <= 'z':
			low = true
		case c >= '0' && c <= '9':
			dig = true
		}
	}
	return up && low && dig
}

// readText is the "text" format: logs, .env, shell, YAML, code, anything.
func readText(ctx context.Context, r io.Reader, c *collector) error {
	n := 0
	err := scanText(ctx, r, func(h textHit) {
		n++
		var notes []string
		if h.note != "" {
			notes = append(notes, h.note)
		}
		c.add(h.id, h.secret, Location{Line: h.line}, notes...)
	}, func(h secretHit) {
		n++
		c.addSecretOnly(h.secret, Location{Line: h.line})
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: no AccessKey id (LTAI plus 12 or 20 letters and digits, or STS.…) and no AccessKey secret "+
			"under a name that says so (ALIBABA_CLOUD_ACCESS_KEY_SECRET=…) in the text; "+
			"pass scanner output (gitleaks, trufflehog, …) or a file that contains the id, or use --key-id", ErrUnrecognised)
	}
	return nil
}

// idsInString finds the ids in one string value, each with the secret of its own line only.
func idsInString(s string) []textHit {
	var out []textHit
	scanString(s, func(h textHit) { out = append(out, h) }, nil)
	return out
}
