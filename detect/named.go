package detect

import (
	"strings"

	"github.com/respond-dev/respond/ram/accesskey"
)

// SourceOperator is the Location.Source and Finding.Source of a key a person named (respond
// --key-id): the finding source a configuration's rules call "flag".
const SourceOperator = "flag"

// ParseIDs parses key ids a person typed: each value may hold several, separated by commas
// (--key-id A,B --key-id C). Empty items are skipped.
func ParseIDs(values []string) ([]accesskey.ID, error) {
	var ids []accesskey.ID
	for _, v := range values {
		for s := range strings.SplitSeq(v, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			id, err := accesskey.ParseID(s)
			if err != nil {
				return nil, &BadIDError{Value: s, Err: err}
			}
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// BadIDError is ParseIDs' error: the first value that is not an id (accesskey.NotAnID describes
// it without repeating it).
type BadIDError struct {
	Value string
	Err   error
}

func (e *BadIDError) Error() string { return e.Err.Error() }
func (e *BadIDError) Unwrap() error { return e.Err }

// WithNamed returns the findings of the keys a person named, in order and each once
// (EvidenceOperator, Source SourceOperator), followed by read's other findings: a named key that
// read holds too gets read's places, notes and secret. It is the one merge of named keys with the
// findings of a report (which Read has already de-duplicated).
func WithNamed(ids []accesskey.ID, read []Finding) []Finding {
	out := make([]Finding, 0, len(ids)+len(read))
	byID := make(map[accesskey.ID]int, len(ids))
	for _, id := range ids {
		if _, dup := byID[id]; dup {
			continue
		}
		kind := KindAccessKey
		if id.IsSTS() {
			kind = KindSTS
		}
		byID[id] = len(out)
		out = append(out, Finding{KeyID: id, Kind: kind, Locations: []Location{{Source: SourceOperator}},
			Evidence: EvidenceOperator, Source: SourceOperator})
	}
	for _, fd := range read {
		i, named := byID[fd.KeyID]
		if !named || fd.KeyID.IsZero() {
			out = append(out, fd)
			continue
		}
		n := &out[i]
		n.Locations = append(n.Locations, fd.Locations...)
		n.Notes = append(n.Notes, fd.Notes...)
		if n.Secret.IsZero() {
			n.Secret = fd.Secret
		}
	}
	return out
}
