package detect

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/respond-dev/respond/ram/accesskey"
)

// jsonFinding is the stable JSON shape of a Finding. The secret is an accesskey.Secret, so it
// marshals as "[REDACTED]"; has_secret says whether one was found.
type jsonFinding struct {
	KeyID     accesskey.ID      `json:"key_id"`
	Kind      Kind              `json:"kind"`
	IDKind    string            `json:"id_kind"`
	HasSecret bool              `json:"has_secret"`
	Secret    *accesskey.Secret `json:"secret,omitempty"`
	Locations []Location        `json:"locations"`
	Notes     []string          `json:"notes,omitempty"`
}

type jsonResult struct {
	Format   Format        `json:"format"`
	Findings []jsonFinding `json:"findings"`
	Warnings []string      `json:"warnings,omitempty"`
}

// WriteJSON writes r as indented JSON, secrets redacted.
func WriteJSON(w io.Writer, r Result) error {
	out := jsonResult{Format: r.Format, Findings: []jsonFinding{}, Warnings: r.Warnings}
	for _, f := range r.Findings {
		jf := jsonFinding{KeyID: f.KeyID, Kind: f.Kind, IDKind: f.KeyID.Kind().String(), HasSecret: !f.Secret.IsZero(),
			Locations: f.Locations, Notes: f.Notes}
		if jf.Locations == nil {
			jf.Locations = []Location{}
		}
		if jf.HasSecret {
			s := f.Secret
			jf.Secret = &s
		}
		out.Findings = append(out.Findings, jf)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write findings as JSON: %w", err)
	}
	return nil
}

// WriteText writes r for people: one block per key, every location, notes and warnings. Secrets
// are never printed, only whether one was found.
func WriteText(w io.Writer, r Result) error {
	var b strings.Builder
	if len(r.Findings) == 0 {
		fmt.Fprintf(&b, "no AccessKey ids found (format %s)\n", r.Format)
	}
	for i, f := range r.Findings {
		if i > 0 {
			b.WriteString("\n")
		}
		secret := "secret not found"
		if !f.Secret.IsZero() {
			secret = "secret found (redacted)"
		}
		what := "rotatable RAM AccessKey"
		if f.Kind == KindSTS {
			what = "temporary STS key, not rotatable"
		} else if f.KeyID.Kind() == accesskey.KindLegacy {
			what = "rotatable RAM AccessKey, legacy 16-character id"
		}
		fmt.Fprintf(&b, "%s  %s; %s; %d location(s)\n", f.KeyID, what, secret, len(f.Locations))
		for _, l := range f.Locations {
			fmt.Fprintf(&b, "  at %s\n", textLocation(l))
		}
		for _, n := range f.Notes {
			fmt.Fprintf(&b, "  note: %s\n", n)
		}
	}
	for _, wn := range r.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", wn)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write findings: %w", err)
	}
	return nil
}

func textLocation(l Location) string {
	var parts []string
	place := l.File
	if place == "" {
		place = l.Source
	}
	if l.Repository != "" {
		place = strings.TrimSuffix(l.Repository+"/"+place, "/")
	}
	if place == "" {
		place = "(input)"
	}
	if l.Line > 0 {
		place = fmt.Sprintf("%s:%d", place, l.Line)
	}
	parts = append(parts, place)
	if l.Path != "" {
		parts = append(parts, "json "+l.Path)
	}
	if l.Commit != "" {
		parts = append(parts, "commit "+shortCommit(l.Commit))
	}
	if l.URL != "" {
		parts = append(parts, l.URL)
	}
	var from []string
	if l.Format != "" {
		from = append(from, l.Format)
	}
	if l.Rule != "" {
		from = append(from, l.Rule)
	}
	if len(from) > 0 {
		parts = append(parts, "("+strings.Join(from, " ")+")")
	}
	return strings.Join(parts, " ")
}
