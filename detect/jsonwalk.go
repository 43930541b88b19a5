package detect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/respond-dev/respond/ram/accesskey"
)

// MaxJSONDepth is how deeply arrays and objects may nest in JSON that is walked token by token
// (the "json" format). Deeper input is refused with ErrTooDeep.
const MaxJSONDepth = 1000

// ErrTooDeep is returned (wrapped) for JSON nested more deeply than MaxJSONDepth.
var ErrTooDeep = errors.New("JSON nested too deeply")

// maxKeyLen bounds the key a frame keeps for the JSON pointer of what it holds.
const maxKeyLen = 256

// jsonFrame is one open object or array in the token walk. Its size does not grow with the
// input: it keeps its own key (bounded), not the path, and counts what pairing needs.
type jsonFrame struct {
	object  bool
	needKey bool
	key     string // the current member's key, clipped to maxKeyLen
	index   int

	// Pairing within one object.
	ids        int          // rotatable ids in direct string members, without a secret of their own
	id         accesskey.ID // the first of them
	sts        bool         // an STS id stands in a direct member
	secrets    int          // direct string members shaped like a secret
	first      jsonSecret   // the first of them
	named      int          // those under a key that contains "secret"
	firstNamed jsonSecret   // the first of those
}

type jsonSecret struct {
	secret accesskey.Secret
	path   string
	strict bool // its key names an AccessKey secret (namesAccessKeySecret)
}

func (f *jsonFrame) consumed() {
	if f.object {
		f.needKey = true
	} else {
		f.index++
	}
}

// jsonPath renders the JSON pointer of the current value of the innermost frame, bounded to
// maxFieldLen.
func jsonPath(stack []jsonFrame) string {
	if len(stack) == 0 {
		return "/"
	}
	var b strings.Builder
	for i := range stack {
		f := &stack[i]
		b.WriteByte('/')
		if f.object {
			b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(f.key))
		} else {
			b.WriteString(strconv.Itoa(f.index))
		}
		if b.Len() > maxFieldLen {
			break
		}
	}
	return clipField(b.String())
}

// readAnyJSON walks any JSON (one document or a stream of them, such as JSON lines) token by
// token and reports every id found in a string value, wherever it stands. A secret is paired with
// an id only when both are members of the same object: the object's one secret-shaped value, or
// the one under a key that says "secret". A secret under a key that names an AccessKey secret
// (AccessKeySecret, access_key_secret, sk), or named so inside a string, and not paired with an
// id of its object, is a secret-only finding. Memory is bounded by MaxJSONDepth frames of bounded
// size, whatever the size of the input (a single string value is held whole, as encoding/json
// does).
func readAnyJSON(ctx context.Context, r io.Reader, c *collector) error {
	d := newJSONDecoder(r)
	var stack []jsonFrame
	found := 0
	for n := 0; ; n++ {
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read JSON: %w", err)
		}
		var top *jsonFrame
		if len(stack) > 0 {
			top = &stack[len(stack)-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				if len(stack) >= MaxJSONDepth {
					return fmt.Errorf("read JSON: %w: arrays and objects nest more than %d levels deep, the most respond reads", ErrTooDeep, MaxJSONDepth)
				}
				stack = append(stack, jsonFrame{object: v == '{', needKey: v == '{'})
			case '}', ']':
				found += top.pair(c)
				stack = stack[:len(stack)-1]
				if len(stack) > 0 {
					stack[len(stack)-1].consumed()
				}
			}
		case string:
			if top != nil && top.object && top.needKey {
				if len(v) > maxKeyLen {
					v = clipField(v[:maxKeyLen])
				}
				top.key, top.needKey = v, false
				continue
			}
			found += walkString(c, stack, top, v)
			if top != nil {
				top.consumed()
			}
		default:
			if top != nil {
				top.consumed()
			}
		}
	}
	if len(stack) > 0 {
		return fmt.Errorf("read JSON: %w", io.ErrUnexpectedEOF)
	}
	if found == 0 {
		return fmt.Errorf("%w: the JSON holds no AccessKey id (LTAI… or STS.…) in any string, and no AccessKey secret under a key "+
			"that says so; expected scanner output (gitleaks, trufflehog, GitHub, ggshield, Security Center) or JSON that contains the id", ErrUnrecognised)
	}
	return nil
}

// walkString handles one string value: the ids and named secrets in it, and, as a member of an
// object, what pairing within the object needs. It returns how many findings it made.
func walkString(c *collector, stack []jsonFrame, top *jsonFrame, v string) int {
	found := 0
	path := ""
	where := func() Location {
		if path == "" {
			path = jsonPath(stack)
		}
		return Location{Path: path}
	}
	hits := 0
	scanString(v, func(h textHit) {
		hits++
		found++
		var notes []string
		if h.note != "" {
			notes = append(notes, h.note)
		}
		c.add(h.id, h.secret, where(), notes...)
		switch {
		case top == nil || !top.object:
		case h.id.IsSTS():
			top.sts = true
		case h.secret.IsZero() && h.note == "":
			if top.ids == 0 {
				top.id = h.id
			}
			top.ids++
		}
	}, func(s accesskey.Secret) {
		found++
		c.addSecretOnly(s, where())
	})
	if hits > 0 || top == nil || !top.object || len(v) != accesskey.SecretLen || !looksLikeSecret([]byte(v)) {
		return found
	}
	sec, ok := parseSecret(v)
	if !ok {
		return found
	}
	s := jsonSecret{secret: sec, strict: namesAccessKeySecret([]byte(top.key))}
	if s.strict {
		s.path = where().Path
	}
	// The object's first secret and its first under a "secret" key may yet be paired with an id
	// when the object closes: the frame holds them. Any other can never be.
	held := false
	top.secrets++
	if top.secrets == 1 {
		top.first, held = s, true
	}
	if strings.Contains(strings.ToLower(top.key), "secret") {
		top.named++
		if top.named == 1 {
			top.firstNamed, held = s, true
		}
	}
	if s.strict && !held && !top.sts {
		c.addSecretOnly(sec, Location{Path: s.path})
		found++
	}
	return found
}

// pair gives an object's single id the object's secret, and reports the secrets it held that are
// named as AccessKey secrets and were not given to the id (none when an STS id stands in the
// object: those are STS credentials). It returns how many secret-only findings it made.
func (f *jsonFrame) pair(c *collector) int {
	if !f.object {
		return 0
	}
	var chosen *jsonSecret
	switch {
	case f.named == 1:
		chosen = &f.firstNamed
	case f.named == 0 && f.secrets == 1:
		chosen = &f.first
	}
	if chosen != nil && f.ids == 1 && !f.sts {
		c.setSecret(f.id, chosen.secret)
	} else {
		chosen = nil
	}
	if f.sts {
		return 0
	}
	same := func(a, b *jsonSecret) bool { return a.path == b.path && a.secret.Equal(b.secret) }
	n := 0
	for _, s := range []*jsonSecret{&f.first, &f.firstNamed} {
		if !s.strict || chosen != nil && same(s, chosen) || s == &f.firstNamed && f.first.strict && same(s, &f.first) {
			continue
		}
		c.addSecretOnly(s.secret, Location{Path: s.path})
		n++
	}
	return n
}

// scanString finds the ids and the named secrets in one string value (of a JSON document, a CSV
// cell, a snippet): each id with the secret of its own line only, and each secret named as an
// AccessKey secret that no id of its line took.
func scanString(s string, ids func(textHit), names func(accesskey.Secret)) {
	v := textView{data: []byte(s), prev: '\n', start: true, eof: true}
	if names != nil && !hasNameHint(v.data) {
		names = nil
	}
	if names != nil {
		v.claims = map[int64]struct{}{}
	}
	scanChunk(&v, 0, len(v.data), 1, ids)
	if names != nil {
		scanNames(&v, len(v.data), 1, func(h secretHit) { names(h.secret) })
	}
}
