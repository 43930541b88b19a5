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
// hold an id are looked at byte by byte, to find the id's bounds and a secret on the same line.
// Memory stays bounded whatever the line length: a line longer than half the buffer is scanned
// in windows that overlap by more than the longest id.
const (
	textChunk   = 1 << 20 // bytes read per step (the buffer holds two)
	textOverlap = 128     // > len("STS.") + 64 + 1: enough to see a whole id and the byte after it
	lineWindow  = 64 << 10
	maxRun      = 4 + 65 // longest alnum run worth measuring exactly
)

// ossParam is the query parameter of an OSS V1 pre-signed URL that carries the id.
const ossParam = "OSSAccessKeyId="

// textHit is an id found in text, with the secret from the same line when there was one.
type textHit struct {
	id     accesskey.ID
	secret accesskey.Secret
	line   int
	note   string
}

// scanText reads r to the end and calls fn for every id, in input order.
func scanText(ctx context.Context, r io.Reader, fn func(textHit)) error {
	buf := make([]byte, 2*textChunk)
	carry := 0
	line := 1
	prev := byte('\n')
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := io.ReadFull(r, buf[carry:])
		eof := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		if err != nil && !eof {
			return fmt.Errorf("read text: %w", err)
		}
		data := buf[:carry+n]
		limit := len(data)
		if !eof {
			nl := bytes.LastIndexByte(data, '\n')
			if nl >= 0 && len(data)-(nl+1) < len(data)/2 {
				limit = nl + 1
			} else {
				limit = len(data) - textOverlap
			}
		}
		line = scanChunk(data, limit, prev, eof, line, fn)
		if eof {
			return nil
		}
		if limit > 0 {
			prev = data[limit-1]
		}
		carry = copy(buf, data[limit:])
	}
}

// scanChunk finds ids starting in data[:limit]; data beyond limit is lookahead. line is the line
// number of data[0]; it returns the line number of data[limit].
func scanChunk(data []byte, limit int, prev byte, eof bool, line int, fn func(textHit)) int {
	prefixLTAI, prefixSTS := []byte(accesskey.Prefix), []byte(accesskey.STSPrefix)
	counted := 0
	pos := 0
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
		ls := max(0, p-lineWindow)
		if i := bytes.LastIndexByte(data[ls:p], '\n'); i >= 0 {
			ls += i + 1
		}
		le := min(len(data), p+lineWindow)
		if i := bytes.IndexByte(data[p:le], '\n'); i >= 0 {
			le = p + i
		}
		scanLine(data, ls, le, pos, limit, prev, eof, line, fn)
		pos = max(le, p+1)
	}
	if limit > counted {
		line += bytes.Count(data[counted:limit], []byte{'\n'})
	}
	return line
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
	a, b int
	id   accesskey.ID
	sec  accesskey.Secret
	note string
}

// scanLine looks at data[ls:le], one line (or a window of a long one), and reports the ids that
// start in [emitFrom, emitTo), each with the secret from the same line when it can tell which.
func scanLine(data []byte, ls, le, emitFrom, emitTo int, prev byte, eof bool, line int, fn func(textHit)) {
	before := func(i int) byte {
		if i == 0 {
			return prev
		}
		return data[i-1]
	}
	var ids, secrets []span
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
		if accesskey.IsAlnum(before(a)) || (b == len(data) && !eof) {
			continue // inside a longer token, or its end is not in view
		}
		switch {
		case b-a == 3 && string(data[a:b]) == "STS" && b < len(data) && data[b] == '.':
			j := b + 1
			for j < len(data) && j-a <= maxRun && accesskey.IsAlnum(data[j]) {
				j++
			}
			if (j == len(data) && !eof) || j-a > maxRun || (j < len(data) && accesskey.IsAlnum(data[j])) {
				continue
			}
			if id, err := accesskey.ParseID(string(data[a:j])); err == nil && a >= emitFrom && a < emitTo {
				ids = append(ids, span{a: a, b: j, id: id})
			}
			i = j
		case b-a == accesskey.LongTermLen || b-a == accesskey.LegacyLen:
			if !bytes.HasPrefix(data[a:b], []byte(accesskey.Prefix)) {
				continue
			}
			if id, err := accesskey.ParseID(string(data[a:b])); err == nil && a >= emitFrom && a < emitTo {
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
	pairSecrets(ids, secrets)
	for _, s := range ids {
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
			ids[0].sec = secrets[0].sec
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
				ids[k].sec = s.sec
				break
			}
		}
	}
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
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: no AccessKey id (LTAI plus 12 or 20 letters and digits, or STS.…) in the text; "+
			"pass scanner output (gitleaks, trufflehog, …) or a file that contains the id, or use --key-id", ErrUnrecognised)
	}
	return nil
}

// idsInString finds the ids in one string value (of a JSON document, a CSV cell, a snippet).
func idsInString(s string) []textHit {
	var out []textHit
	data := []byte(s)
	line := 1
	scanChunk(data, len(data), '\n', true, line, func(h textHit) { out = append(out, h) })
	return out
}
