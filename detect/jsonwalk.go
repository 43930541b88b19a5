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

// jsonFrame is one open object or array in the token walk.
type jsonFrame struct {
	object  bool
	needKey bool
	key     string
	index   int
	path    string
	ids     []accesskey.ID // ids in direct string members without a secret of their own
	secrets []jsonSecret   // direct string members shaped like a secret
}

type jsonSecret struct {
	key    string
	secret accesskey.Secret
}

func (f *jsonFrame) childPath() string {
	if f.object {
		return f.path + "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(f.key)
	}
	return f.path + "/" + strconv.Itoa(f.index)
}

func (f *jsonFrame) consumed() {
	if f.object {
		f.needKey = true
	} else {
		f.index++
	}
}

// readAnyJSON walks any JSON (one document or a stream of them, such as JSON lines) token by
// token and reports every id found in a string value, wherever it stands. A secret is paired with
// an id only when both are members of the same object: the object's one secret-shaped value, or
// the one under a key that says "secret".
func readAnyJSON(ctx context.Context, r io.Reader, c *collector) error {
	d := newJSONDecoder(r)
	var stack []*jsonFrame
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
			top = stack[len(stack)-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				path := ""
				if top != nil {
					path = top.childPath()
				}
				stack = append(stack, &jsonFrame{object: v == '{', needKey: v == '{', path: path})
			case '}', ']':
				stack = stack[:len(stack)-1]
				top.pair(c)
				if len(stack) > 0 {
					stack[len(stack)-1].consumed()
				}
			}
		case string:
			if top != nil && top.object && top.needKey {
				top.key, top.needKey = v, false
				continue
			}
			path := ""
			if top != nil {
				path = top.childPath()
			}
			hits := idsInString(v)
			for _, h := range hits {
				found++
				var notes []string
				if h.note != "" {
					notes = append(notes, h.note)
				}
				c.add(h.id, h.secret, Location{Path: orDefault(path, "/")}, notes...)
				if top != nil && h.secret.IsZero() && h.note == "" && !h.id.IsSTS() {
					top.ids = append(top.ids, h.id)
				}
			}
			if len(hits) == 0 && top != nil && top.object && len(v) == accesskey.SecretLen && looksLikeSecret([]byte(v)) {
				if sec, ok := parseSecret(v); ok {
					top.secrets = append(top.secrets, jsonSecret{key: top.key, secret: sec})
				}
			}
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
		return fmt.Errorf("%w: the JSON holds no AccessKey id (LTAI… or STS.…) in any string; "+
			"expected scanner output (gitleaks, trufflehog, GitHub, ggshield, Security Center) or JSON that contains the id", ErrUnrecognised)
	}
	return nil
}

// pair gives an object's single id the object's secret.
func (f *jsonFrame) pair(c *collector) {
	if !f.object || len(f.ids) != 1 || len(f.secrets) == 0 {
		return
	}
	var named []jsonSecret
	for _, s := range f.secrets {
		if strings.Contains(strings.ToLower(s.key), "secret") {
			named = append(named, s)
		}
	}
	switch {
	case len(named) == 1:
		c.setSecret(f.ids[0], named[0].secret)
	case len(named) == 0 && len(f.secrets) == 1:
		c.setSecret(f.ids[0], f.secrets[0].secret)
	}
}
