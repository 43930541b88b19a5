package detect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/respond-dev/respond/ram/accesskey"
)

// trufflehogResult is one line of `trufflehog … --json` (pkg/output/json.go).
type trufflehogResult struct {
	SourceMetadata struct {
		Data map[string]json.RawMessage
	}
	// DetectorType is a pointer because Alibaba is 0, the proto3 default: absent and 0 differ.
	DetectorType *number
	DetectorName string
	Raw          string
	RawV2        string
	Redacted     string
	SecretParts  map[string]string
}

// trufflehogSource is the union of the fields detect uses from any SourceMetadata.Data.<Source>.
type trufflehogSource struct {
	Commit     string `json:"commit"`
	File       string `json:"file"`
	Repository string `json:"repository"`
	Link       string `json:"link"`
	Line       number `json:"line"`
}

func (t *trufflehogResult) isAlibaba() bool {
	if t.DetectorName != "" {
		return strings.EqualFold(t.DetectorName, "alibaba")
	}
	return t.DetectorType != nil && *t.DetectorType == "0"
}

// idAndSecret applies the three shapes trufflehog has written over time: SecretParts (v3.95.3+),
// RawV2 = secret+id (v3.8.0+), and Raw = id (before v3.6.0).
// likely says the secret mixes upper case, lower case and digits.
func (t *trufflehogResult) idAndSecret() (id accesskey.ID, sec accesskey.Secret, likely, ok bool) {
	var idText, secText string
	switch {
	case t.SecretParts["id"] != "":
		idText, secText = t.SecretParts["id"], t.SecretParts["key"]
	case len(t.RawV2) > accesskey.SecretLen:
		idText, secText = t.RawV2[accesskey.SecretLen:], t.RawV2[:accesskey.SecretLen]
	default:
		idText = t.Raw
	}
	id, err := accesskey.ParseID(idText)
	if err != nil || id.IsSTS() {
		return accesskey.ID{}, accesskey.Secret{}, false, false
	}
	if secText == "" {
		secText = t.Raw
	}
	sec, _ = parseSecret(secText)
	return id, sec, !sec.IsZero() && looksLikeSecret([]byte(secText)), true
}

// secretAlone returns the secret of a result whose id is missing or invalid: SecretParts.key,
// else the first 30 characters of RawV2, else Raw, when it mixes upper case, lower case and digits.
func (t *trufflehogResult) secretAlone() (accesskey.Secret, bool) {
	text := t.SecretParts["key"]
	switch {
	case text != "":
	case len(t.RawV2) >= accesskey.SecretLen:
		text = t.RawV2[:accesskey.SecretLen]
	default:
		text = t.Raw
	}
	sec, ok := parseSecret(text)
	if !ok || !looksLikeSecret([]byte(text)) {
		return accesskey.Secret{}, false
	}
	return sec, true
}

func (t *trufflehogResult) location() Location {
	var l Location
	keys := make([]string, 0, len(t.SourceMetadata.Data))
	for k := range t.SourceMetadata.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var s trufflehogSource
		if json.Unmarshal(t.SourceMetadata.Data[k], &s) != nil {
			continue
		}
		line, _ := strconv.Atoi(string(s.Line))
		l = Location{Repository: s.Repository, File: s.File, Commit: s.Commit, URL: s.Link, Line: int(line), Rule: "trufflehog:" + k}
		break
	}
	return l
}

// readTrufflehog reads trufflehog's JSON lines, one object at a time. trufflehog's Alibaba
// detector pairs every 30-character token with every id of a chunk, so one id can arrive with
// several "secrets": when they disagree, only a candidate that looks like a secret and is the only
// one is kept.
func readTrufflehog(ctx context.Context, r io.Reader, c *collector) error {
	d := newJSONDecoder(r)
	type record struct {
		loc    Location
		secret int // index into cand.secrets, -1 for none
	}
	type cand struct {
		secrets []accesskey.Secret
		likely  []bool
		records []record
	}
	cands := map[accesskey.ID]*cand{}
	var order []accesskey.ID
	n := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var t trufflehogResult
		err := d.Decode(&t)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read trufflehog JSON line %d: %w; expected trufflehog --json output, one object per line", n+1, err)
		}
		n++
		if !t.isAlibaba() {
			continue
		}
		id, sec, likely, ok := t.idAndSecret()
		if !ok {
			// Its secret, when it has one shaped like an AccessKey secret, is a finding of its own.
			if s, found := t.secretAlone(); found {
				c.addSecretOnly(s, t.location(), "trufflehog reported it without a valid AccessKey id")
				continue
			}
			c.warn("trufflehog result %d: no valid AccessKey id in SecretParts, RawV2 or Raw; skipped", n)
			continue
		}
		cd := cands[id]
		if cd == nil {
			cd = &cand{}
			cands[id] = cd
			order = append(order, id)
		}
		rec := record{loc: t.location(), secret: -1}
		if !sec.IsZero() {
			for i, s := range cd.secrets {
				if s.Equal(sec) {
					rec.secret = i
				}
			}
			if rec.secret < 0 {
				rec.secret = len(cd.secrets)
				cd.secrets = append(cd.secrets, sec)
				cd.likely = append(cd.likely, likely)
			}
		}
		cd.records = append(cd.records, rec)
	}
	// trufflehog's line is the line of the secret, so a rejected pairing's location is where the
	// wrong 30-character string stood: it is dropped with it.
	for _, id := range order {
		cd := cands[id]
		keep := -1 // index of the kept secret; -1 keeps every location and no secret
		var notes []string
		switch len(cd.secrets) {
		case 0:
		case 1:
			keep = 0
		default:
			var likely []int
			for i := range cd.secrets {
				if cd.likely[i] {
					likely = append(likely, i)
				}
			}
			note := fmt.Sprintf("trufflehog paired this id with %d different 30-character strings (its detector pairs every candidate in a chunk)", len(cd.secrets))
			if len(likely) == 1 {
				keep = likely[0]
				notes = append(notes, note+"; kept the only one shaped like a secret and its location")
			} else {
				notes = append(notes, note+"; none kept")
			}
		}
		for _, rec := range cd.records {
			if keep >= 0 && rec.secret >= 0 && rec.secret != keep {
				continue
			}
			sec := accesskey.Secret{}
			if keep >= 0 {
				sec = cd.secrets[keep]
			}
			c.add(id, sec, rec.loc, notes...)
		}
	}
	return nil
}
