package detect

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/respond-dev/respond/ram/accesskey"
)

// jsonFinding is the stable JSON shape of a Finding. The secret is an accesskey.Secret, so it
// marshals as "[REDACTED]"; has_secret says whether one was found. A secret-only finding has no
// key_id nor id_kind.
type jsonFinding struct {
	KeyID     accesskey.ID      `json:"key_id,omitzero"`
	Kind      Kind              `json:"kind"`
	IDKind    string            `json:"id_kind,omitempty"`
	HasSecret bool              `json:"has_secret"`
	Secret    *accesskey.Secret `json:"secret,omitempty"`
	Evidence  Evidence          `json:"evidence,omitempty"`
	Source    string            `json:"source,omitempty"`
	Locations []Location        `json:"locations"`
	Notes     []string          `json:"notes,omitempty"`
}

// ScanSchema names the JSON document of WriteJSON (respond scan --output json).
const ScanSchema = "respond.scan/v1"

type jsonResult struct {
	Schema   string        `json:"schema"`
	Format   Format        `json:"format"`
	Findings []jsonFinding `json:"findings"`
	Warnings []string      `json:"warnings,omitempty"`
}

// WriteJSON writes r as indented JSON, secrets redacted (in a file name or URL that embeds one
// too: redacted), safe to print on a terminal (see accesskey.PrintableJSON).
func (r Result) WriteJSON(w io.Writer) error {
	out := jsonResult{Schema: ScanSchema, Format: r.Format, Findings: []jsonFinding{}, Warnings: r.Warnings}
	for _, f := range r.Findings {
		jf := jsonFinding{KeyID: f.KeyID, Kind: f.Kind, HasSecret: !f.Secret.IsZero(), Evidence: f.Evidence, Source: f.Source,
			Locations: f.Locations, Notes: f.Notes}
		if !f.KeyID.IsZero() {
			jf.IDKind = f.KeyID.Kind().String()
		}
		if jf.Locations == nil {
			jf.Locations = []Location{}
		}
		if jf.HasSecret {
			s := f.Secret
			jf.Secret = &s
		}
		out.Findings = append(out.Findings, jf)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("write findings as JSON: %w", err)
	}
	if _, err := w.Write(r.redacted(accesskey.PrintableJSON(buf.Bytes()))); err != nil {
		return fmt.Errorf("write findings as JSON: %w", err)
	}
	return nil
}

// HintSecretOnly is what to do about a secret found without its id.
const HintSecretOnly = "nothing in the Alibaba API maps a secret to its key: find the id where the secret is used " +
	"(CI variables, the deployment's configuration) and run respond --key-id ID, or allow the secret-match locate strategy"

// WriteText writes r for people: one block per key, every location, notes and warnings. Secrets
// are never printed, only whether one was found (a file name or URL that embeds one is redacted). Everything taken from the input (file names,
// URLs, notes, warnings) has its control characters escaped (accesskey.Printable).
func (r Result) WriteText(w io.Writer) error {
	var b strings.Builder
	if len(r.Findings) == 0 {
		fmt.Fprintf(&b, "no AccessKey ids found (format %s)\n", accesskey.Printable(string(r.Format)))
	}
	hint := false
	for i, f := range r.Findings {
		if i > 0 {
			b.WriteString("\n")
		}
		secret := "secret not found (id only)"
		switch {
		case !f.Secret.IsZero():
			secret = "secret found (redacted)"
		case f.Evidence == EvidenceSource:
			secret = "secret not found; id reported by " + accesskey.Printable(f.Source)
		}
		what := "rotatable RAM AccessKey"
		switch {
		case f.Kind == KindSecretOnly:
			what, secret = "AccessKey secret without its id", "secret found (redacted)"
			hint = true
		case f.Kind == KindSTS:
			what = "temporary STS key, not rotatable"
		case f.KeyID.Kind() == accesskey.KindLegacy:
			what = "rotatable RAM AccessKey, legacy 16-character id"
		}
		id := f.KeyID.String()
		if f.KeyID.IsZero() {
			id = "(no id)"
		}
		fmt.Fprintf(&b, "%s  %s; %s; %d location(s)\n", id, what, secret, len(f.Locations))
		for _, l := range f.Locations {
			fmt.Fprintf(&b, "  at %s\n", textLocation(l))
		}
		for _, n := range f.Notes {
			fmt.Fprintf(&b, "  note: %s\n", accesskey.Printable(n))
		}
	}
	if hint {
		fmt.Fprintf(&b, "\nsecret without its id: %s\n", HintSecretOnly)
	}
	for _, wn := range r.Warnings {
		fmt.Fprintf(&b, "warning: %s\n", accesskey.Printable(wn))
	}
	if _, err := w.Write(r.redacted([]byte(b.String()))); err != nil {
		return fmt.Errorf("write findings: %w", err)
	}
	return nil
}

// redacted is out with every secret of r's findings replaced (accesskey.Redactor): a finding's
// file name or URL can embed a secret of the input.
func (r Result) redacted(out []byte) []byte {
	red := accesskey.NewRedactor()
	for _, f := range r.Findings {
		red.Add(f.Secret)
	}
	return red.RedactBytes(out)
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
	return accesskey.Printable(strings.Join(parts, " "))
}
