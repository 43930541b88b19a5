package detect

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/respond-dev/respond/ram/accesskey"
)

// Limits that keep memory bounded by what an input holds that is distinct, not by its size.
const (
	// DefaultMaxFindings is the number of distinct findings one Read accepts when
	// Options.MaxFindings is 0.
	DefaultMaxFindings = 10000
	// MaxLocationsPerFinding is how many distinct locations a finding keeps; further ones are
	// counted in a note.
	MaxLocationsPerFinding = 1000
	// maxLocationsPerRun bounds the locations kept over all findings of one Read.
	maxLocationsPerRun = 100000
	// maxNotesPerFinding and maxWarnings bound the messages one input can make.
	maxNotesPerFinding = 32
	maxWarnings        = 100
	// maxFieldLen bounds each string of a Location (a file name, a URL, a JSON pointer).
	maxFieldLen = 2048
)

// ErrTooManyFindings is returned (wrapped) when an input holds more distinct findings than
// Options.MaxFindings allows.
var ErrTooManyFindings = errors.New("too many distinct findings")

// collector de-duplicates findings as they come (by key id, or by secret for a secret without
// its id), keeping each distinct location once.
type collector struct {
	opts     Options
	format   Format
	max      int // distinct findings allowed; < 0 for no limit
	byID     map[string]int
	bySecret map[string]int // secret-only findings, by the secret
	findings []Finding
	state    []findingState // parallel to findings
	locs     int            // locations kept over all findings
	warnings []string
	warned   map[string]bool
	dropWarn int
	err      error // ErrTooManyFindings, once the limit is passed
	stop     context.CancelCauseFunc
}

type findingState struct {
	seen    map[Location]struct{} // the locations, once there are many
	dropped int                   // distinct locations not kept
	removed bool                  // merged into another finding
}

func newCollector(opts Options, format Format, stop context.CancelCauseFunc) *collector {
	limit := opts.MaxFindings
	if limit == 0 {
		limit = DefaultMaxFindings
	}
	return &collector{opts: opts, format: format, max: limit, byID: map[string]int{}, bySecret: map[string]int{},
		warned: map[string]bool{}, stop: stop}
}

// loc fills the fields every location shares and bounds the length of each field.
func (c *collector) loc(l Location) Location {
	l.Source = c.opts.Source
	l.Format = string(c.format)
	for _, p := range []*string{&l.Source, &l.Repository, &l.File, &l.Commit, &l.URL, &l.Fingerprint, &l.Rule, &l.Path} {
		*p = clipField(*p)
	}
	return l
}

// clipField cuts s to maxFieldLen bytes (at a character boundary), marking the cut with "…".
func clipField(s string) string {
	if len(s) <= maxFieldLen {
		return s
	}
	cut := maxFieldLen - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// newFinding appends f and returns its index, or -1 once the limit of distinct findings is passed
// (the Read is then stopped and fails with ErrTooManyFindings).
func (c *collector) newFinding(f Finding) int {
	if c.err != nil {
		return -1
	}
	if c.max >= 0 && len(c.findings) >= c.max {
		c.err = fmt.Errorf("%w: the input holds more than %d distinct findings, the limit of one run; "+
			"so many leaked keys at once is more likely a mistake or a hostile input than a leak to act on: "+
			"split the input, or raise the limit", ErrTooManyFindings, c.max)
		if c.stop != nil {
			c.stop(c.err)
		}
		return -1
	}
	c.findings = append(c.findings, f)
	c.state = append(c.state, findingState{})
	return len(c.findings) - 1
}

func (c *collector) add(id accesskey.ID, secret accesskey.Secret, l Location, notes ...string) {
	i, ok := c.byID[id.String()]
	if !ok {
		kind := KindAccessKey
		if id.IsSTS() {
			kind = KindSTS
		}
		if i = c.newFinding(Finding{KeyID: id, Kind: kind}); i < 0 {
			return
		}
		if kind == KindSTS {
			c.warn(STSExplanation)
		}
		c.byID[id.String()] = i
	}
	f := &c.findings[i]
	c.addLocation(i, l)
	if !secret.IsZero() && f.Kind != KindSTS {
		switch {
		case f.Secret.IsZero():
			f.Secret = secret
		case !f.Secret.Equal(secret):
			notes = append(notes, "more than one candidate secret was seen next to this id; the first one is kept")
		}
	}
	c.addNotes(i, notes...)
}

// addSecretOnly records a secret that stood without its id.
func (c *collector) addSecretOnly(secret accesskey.Secret, l Location, notes ...string) {
	i, ok := c.bySecret[secret.Reveal()]
	if !ok {
		if i = c.newFinding(Finding{Kind: KindSecretOnly, Secret: secret}); i < 0 {
			return
		}
		c.bySecret[secret.Reveal()] = i
	}
	c.addLocation(i, l)
	c.addNotes(i, notes...)
}

// addLocation keeps l once per finding, within the limits.
func (c *collector) addLocation(i int, l Location) {
	l = c.loc(l)
	st := &c.state[i]
	locs := c.findings[i].Locations
	switch {
	case len(locs) == 0:
	case len(locs) < 8: // most keys leak in a few places: no map for them
		if slices.Contains(locs, l) {
			return
		}
	default:
		if st.seen == nil {
			st.seen = make(map[Location]struct{}, 2*len(locs))
			for _, k := range locs {
				st.seen[k] = struct{}{}
			}
		}
		if _, dup := st.seen[l]; dup {
			return
		}
	}
	if len(c.findings[i].Locations) >= MaxLocationsPerFinding || c.locs >= maxLocationsPerRun {
		st.dropped++ // counted once per occurrence beyond the limit: the exact count of distinct ones would need them all
		return
	}
	if st.seen != nil {
		st.seen[l] = struct{}{}
	}
	c.findings[i].Locations = append(c.findings[i].Locations, l)
	c.locs++
}

func (c *collector) addNotes(i int, notes ...string) {
	f := &c.findings[i]
	for _, n := range notes {
		if len(f.Notes) < maxNotesPerFinding && !slices.Contains(f.Notes, n) {
			f.Notes = append(f.Notes, n)
		}
	}
}

// setSecret records the secret of an id already added.
func (c *collector) setSecret(id accesskey.ID, secret accesskey.Secret) {
	if i, ok := c.byID[id.String()]; ok && c.findings[i].Kind != KindSTS && c.findings[i].Secret.IsZero() {
		c.findings[i].Secret = secret
	}
}

// warn records a warning once. The text is made printable: it may name a file of the input.
func (c *collector) warn(format string, args ...any) {
	s := format
	if len(args) > 0 {
		s = fmt.Sprintf(format, args...)
	}
	s = accesskey.Printable(s)
	if c.warned[s] {
		return
	}
	if len(c.warnings) >= maxWarnings {
		c.dropWarn++
		return
	}
	c.warned[s] = true
	c.warnings = append(c.warnings, s)
}

func (c *collector) result() Result {
	c.pairWithinReport()
	out := make([]Finding, 0, len(c.findings))
	for i := range c.findings {
		f := c.findings[i]
		st := &c.state[i]
		if st.removed {
			continue
		}
		if !f.Secret.IsZero() {
			// A scanner may repeat the secret in any field (a gitleaks fingerprint, a file name):
			// none of them may carry it further.
			red := accesskey.NewRedactor(f.Secret)
			for j := range f.Locations {
				l := &f.Locations[j]
				for _, p := range []*string{&l.Repository, &l.File, &l.Commit, &l.URL, &l.Fingerprint, &l.Rule, &l.Path} {
					*p = red.Redact(*p)
				}
			}
			for j := range f.Notes {
				f.Notes[j] = red.Redact(f.Notes[j])
			}
		}
		slices.SortStableFunc(f.Locations, compareLocation)
		f.Locations = slices.CompactFunc(f.Locations, func(a, b Location) bool { return a == b })
		if st.dropped > 0 {
			f.Notes = append(f.Notes, fmt.Sprintf("%d further occurrences are not listed: respond keeps at most %d locations of a key (and %d in one input)",
				st.dropped, MaxLocationsPerFinding, maxLocationsPerRun))
		}
		f.Source = string(c.format)
		switch {
		case !f.Secret.IsZero():
			f.Evidence = EvidenceSecret
		case c.format == FormatSAS:
			f.Evidence = EvidenceSource
		default:
			f.Evidence = EvidenceNone
		}
		out = append(out, f)
	}
	warnings := c.warnings
	if c.dropWarn > 0 {
		warnings = append(warnings, fmt.Sprintf("%d further warnings are not shown", c.dropWarn))
	}
	return Result{Findings: out, Format: c.format, Warnings: warnings}
}

// boundLocations keeps at most MaxLocationsPerFinding of the locations an error lists.
func boundLocations(l []Location) []Location {
	if len(l) > MaxLocationsPerFinding {
		return l[:MaxLocationsPerFinding]
	}
	return l
}
