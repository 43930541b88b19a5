// Package detect turns whatever a secret scanner printed (gitleaks, trufflehog, GitHub secret
// scanning, ggshield, detect-secrets, Alibaba Security Center) or any plain text into findings:
// the AccessKey id, the secret when it stood in the same finding, file or line, and every place
// the key leaked. It knows nothing of the cloud and logs nothing; it imports only the standard
// library and ram/accesskey.
package detect

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/respond-dev/respond/ram/accesskey"
)

// Format names an input format.
type Format string

// The formats Read understands.
const (
	FormatAuto          Format = "auto"
	FormatGitleaksJSON  Format = "gitleaks-json"
	FormatGitleaksCSV   Format = "gitleaks-csv"
	FormatGitleaksSARIF Format = "gitleaks-sarif"
	FormatTrufflehog    Format = "trufflehog"
	FormatGitHub        Format = "github"
	FormatGitHubWebhook Format = "github-webhook"
	FormatGGShield      Format = "ggshield"
	FormatDetectSecrets Format = "detect-secrets"
	FormatSAS           Format = "sas"
	FormatJSON          Format = "json"
	FormatText          Format = "text"
)

// Formats lists every format Read accepts, "auto" first.
func Formats() []Format {
	return []Format{FormatAuto, FormatGitleaksJSON, FormatGitleaksCSV, FormatGitleaksSARIF, FormatTrufflehog,
		FormatGitHub, FormatGitHubWebhook, FormatGGShield, FormatDetectSecrets, FormatSAS, FormatJSON, FormatText}
}

// Options tune Read.
type Options struct {
	// Format forces a parser; "" or "auto" detects it from the content.
	Format Format
	// Source names the input (a file name or "stdin"); it is recorded in every Location.
	Source string
}

// Kind says what a leaked key is.
type Kind string

const (
	// KindAccessKey is a long-term RAM AccessKey (LTAI…): it can be rotated.
	KindAccessKey Kind = "access-key"
	// KindSTS is a temporary STS AccessKey (STS.…): it expires on its own and cannot be rotated.
	KindSTS Kind = "sts"
)

// Location is one place a key leaked.
type Location struct {
	Source      string `json:"source,omitempty"`
	Format      string `json:"format,omitempty"`
	Repository  string `json:"repository,omitempty"`
	File        string `json:"file,omitempty"`
	Commit      string `json:"commit,omitempty"`
	URL         string `json:"url,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
	Rule        string `json:"rule,omitempty"`
	// Path is the JSON pointer of the value the id was found in ("any other JSON").
	Path string `json:"path,omitempty"`
	Line int    `json:"line,omitempty"`
}

// Finding is one leaked key with every place it leaked.
type Finding struct {
	KeyID accesskey.ID
	Kind  Kind
	// Secret is zero unless the secret stood in the same finding, file or line as the id.
	Secret    accesskey.Secret
	Locations []Location
	Notes     []string
}

// Result is what Read found.
type Result struct {
	Findings []Finding
	// Format is the format that was parsed (detected or forced).
	Format   Format
	Warnings []string
}

// STSExplanation is the warning given when an STS id is found.
const STSExplanation = "STS.… ids are temporary credentials: they expire on their own (at most 12 hours after they were issued) " +
	"and cannot be rotated or deleted through RAM. respond does not act on them. Instead: find the role session that " +
	"issued them (ActionTrail AssumeRole events) and revoke what it came from (the RAM user or key that called AssumeRole, " +
	"or the instance/role), wait for expiry, or restrict the role's permissions (detach its policies or attach " +
	"an explicit Deny) until they expire."

// NoteOSSPresigned is attached to ids found in an OSS V1 pre-signed URL.
const NoteOSSPresigned = "id only: OSS pre-signed URL exposes the id, not the secret (lower severity)"

// ErrUnrecognised is returned (wrapped) when the input is neither a known report format nor text
// with AccessKey ids in it.
var ErrUnrecognised = errors.New("input is neither a scanner report respond knows nor text with an AccessKey id")

// ErrEmptyInput is returned when auto-detection sees no input at all (a scanner that found
// nothing may print nothing). errors.Is(ErrEmptyInput, ErrUnrecognised) is true.
var ErrEmptyInput = fmt.Errorf("%w: the input is empty; expected scanner output (gitleaks, trufflehog, …) or text with LTAI… ids", ErrUnrecognised)

// ErrUnusable is returned (wrapped) by the typed errors below: the report is recognised, but the
// AccessKey ids are not in it.
var ErrUnusable = errors.New("the report carries no usable AccessKey id")

// RedactedInputError is returned for scanner output whose ids were redacted (gitleaks --redact).
type RedactedInputError struct {
	Format Format
	// Fix says what to do instead.
	Fix string
}

func (e *RedactedInputError) Error() string {
	return fmt.Sprintf("%s report is redacted, so the AccessKey ids are gone: %s", e.Format, e.Fix)
}

// Unwrap makes errors.Is(err, ErrUnusable) true.
func (e *RedactedInputError) Unwrap() error { return ErrUnusable }

// CensoredInputError is returned for ggshield output without --show-secrets.
type CensoredInputError struct {
	Format Format
	Fix    string
}

func (e *CensoredInputError) Error() string {
	return fmt.Sprintf("%s report is censored (ids shown as LTAI****…), so the AccessKey ids are gone: %s", e.Format, e.Fix)
}

// Unwrap makes errors.Is(err, ErrUnusable) true.
func (e *CensoredInputError) Unwrap() error { return ErrUnusable }

// NoKeyIDError is returned for a report that names where a secret leaked but never the key id
// (detect-secrets baselines, GitHub webhook payloads, secret-only GitHub alerts). Locations says
// where to look.
type NoKeyIDError struct {
	Format    Format
	Reason    string
	Fix       string
	Locations []Location
}

func (e *NoKeyIDError) Error() string {
	return fmt.Sprintf("%s input has no AccessKey id: %s; %s", e.Format, e.Reason, e.Fix)
}

// Unwrap makes errors.Is(err, ErrUnusable) true.
func (e *NoKeyIDError) Unwrap() error { return ErrUnusable }

const sniffSize = 64 << 10

var utf8BOM = []byte("\xef\xbb\xbf")

// Read parses r as opts.Format (detected from the content when it is "" or "auto") and returns
// the findings, de-duplicated by key id.
func Read(ctx context.Context, r io.Reader, opts Options) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	br := bufio.NewReaderSize(r, sniffSize)
	// A byte-order mark (Windows PowerShell's Out-File writes one) belongs to no format: drop it
	// here, once, for every parser. A read error shows again at the next read.
	if head, _ := br.Peek(len(utf8BOM)); bytes.Equal(head, utf8BOM) {
		_, _ = br.Discard(len(utf8BOM))
	}
	format := opts.Format
	if format == "" || format == FormatAuto {
		head, err := br.Peek(sniffSize)
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
			return Result{}, fmt.Errorf("read input: %w", err)
		}
		if len(bytes.TrimSpace(head)) == 0 {
			return Result{}, ErrEmptyInput
		}
		format = sniff(head, len(head) < sniffSize)
	}
	c := newCollector(opts, format)
	var err error
	switch format {
	case FormatGitleaksJSON:
		err = readGitleaksJSON(ctx, br, c)
	case FormatGitleaksCSV:
		err = readGitleaksCSV(ctx, br, c)
	case FormatGitleaksSARIF:
		err = readSARIF(ctx, br, c)
	case FormatTrufflehog:
		err = readTrufflehog(ctx, br, c)
	case FormatGitHub:
		err = readGitHub(ctx, br, c)
	case FormatGitHubWebhook:
		err = readGitHubWebhook(ctx, br, c)
	case FormatGGShield:
		err = readGGShield(ctx, br, c)
	case FormatDetectSecrets:
		err = readDetectSecrets(ctx, br, c)
	case FormatSAS:
		err = readSAS(ctx, br, c)
	case FormatJSON:
		err = readAnyJSON(ctx, br, c)
	case FormatText:
		err = readText(ctx, br, c)
	default:
		return Result{}, fmt.Errorf("%w: unknown format %q; known formats: %s", ErrUnrecognised, format, formatNames())
	}
	if err != nil {
		return Result{Format: format}, err
	}
	return c.result(), nil
}

func formatNames() string {
	var s []string
	for _, f := range Formats() {
		s = append(s, string(f))
	}
	return strings.Join(s, ", ")
}

// sniff picks a format from the first bytes of the input. complete says head is the whole input.
func sniff(head []byte, complete bool) Format {
	b := bytes.TrimLeft(head, " \t\r\n")
	if len(b) == 0 {
		return FormatText
	}
	if bytes.HasPrefix(b, []byte("RuleID,")) {
		return FormatGitleaksCSV
	}
	if (b[0] != '[' && b[0] != '{') || !looksLikeJSON(b, complete) {
		return FormatText
	}
	if b[0] == '[' && len(bytes.TrimSpace(b[1:])) > 0 && bytes.TrimSpace(b[1:])[0] == ']' {
		return FormatGitleaksJSON // "[]": gitleaks found nothing
	}
	has := func(key string) bool { return bytes.Contains(b, []byte(`"`+key+`"`)) }
	switch {
	case b[0] == '{' && has("SourceMetadata") && (has("DetectorType") || has("DetectorName")):
		return FormatTrufflehog
	case has("RuleID") && has("Secret") && b[0] == '[':
		return FormatGitleaksJSON
	case has("$schema") && bytes.Contains(b, []byte("sarif")) || has("runs") && has("version") && has("results"):
		return FormatGitleaksSARIF
	case b[0] == '{' && has("alert") && has("secret_type"):
		return FormatGitHubWebhook
	case has("secret_type") || b[0] == '[' && has("details") && has("blob_sha"):
		return FormatGitHub
	case has("entities_with_incidents") || has("secrets_engine_version"):
		return FormatGGShield
	case has("plugins_used") && has("results"):
		return FormatDetectSecrets
	case has("AccessKeyLeakList"):
		return FormatSAS
	}
	return FormatJSON
}

// looksLikeJSON reports whether b starts a syntactically valid JSON text (a log line that starts
// with "[2025-03-06 …]" does not).
func looksLikeJSON(b []byte, complete bool) bool {
	d := newJSONDecoder(bytes.NewReader(b))
	for {
		_, err := d.Token()
		if err == nil {
			continue
		}
		if errors.Is(err, io.EOF) {
			return true
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return !complete
		}
		// A syntax error inside the peeked window: not JSON.
		return false
	}
}

// collector de-duplicates findings by key id, keeping every location.
type collector struct {
	opts     Options
	format   Format
	byID     map[string]int
	findings []Finding
	warnings []string
	warned   map[string]bool
}

func newCollector(opts Options, format Format) *collector {
	return &collector{opts: opts, format: format, byID: map[string]int{}, warned: map[string]bool{}}
}

// loc fills the fields every location shares.
func (c *collector) loc(l Location) Location {
	l.Source = c.opts.Source
	l.Format = string(c.format)
	return l
}

func (c *collector) add(id accesskey.ID, secret accesskey.Secret, l Location, notes ...string) {
	i, ok := c.byID[id.String()]
	if !ok {
		kind := KindAccessKey
		if id.IsSTS() {
			kind = KindSTS
			c.warn(STSExplanation)
			secret = accesskey.Secret{}
		}
		c.byID[id.String()] = len(c.findings)
		c.findings = append(c.findings, Finding{KeyID: id, Kind: kind})
		i = len(c.findings) - 1
	}
	f := &c.findings[i]
	f.Locations = append(f.Locations, c.loc(l))
	if !secret.IsZero() && f.Kind != KindSTS {
		switch {
		case f.Secret.IsZero():
			f.Secret = secret
		case !f.Secret.Equal(secret):
			notes = append(notes, "more than one candidate secret was seen next to this id; the first one is kept")
		}
	}
	for _, n := range notes {
		if !slices.Contains(f.Notes, n) {
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

// note attaches a note to an id already added.
func (c *collector) note(id accesskey.ID, n string) {
	if i, ok := c.byID[id.String()]; ok && !slices.Contains(c.findings[i].Notes, n) {
		c.findings[i].Notes = append(c.findings[i].Notes, n)
	}
}

func (c *collector) warn(format string, args ...any) {
	s := format
	if len(args) > 0 {
		s = fmt.Sprintf(format, args...)
	}
	if c.warned[s] {
		return
	}
	c.warned[s] = true
	c.warnings = append(c.warnings, s)
}

func (c *collector) result() Result {
	for i := range c.findings {
		f := &c.findings[i]
		slices.SortStableFunc(f.Locations, compareLocation)
		f.Locations = slices.CompactFunc(f.Locations, func(a, b Location) bool { return a == b })
	}
	return Result{Findings: c.findings, Format: c.format, Warnings: c.warnings}
}

func sortLocations(l []Location) { slices.SortStableFunc(l, compareLocation) }

func compareLocation(a, b Location) int {
	return cmp.Or(cmp.Compare(a.Source, b.Source), cmp.Compare(a.Repository, b.Repository), cmp.Compare(a.File, b.File),
		cmp.Compare(a.Commit, b.Commit), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Path, b.Path), cmp.Compare(a.URL, b.URL),
		cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Fingerprint, b.Fingerprint), cmp.Compare(a.Format, b.Format))
}

// parseSecret returns s as a Secret when it has the shape of an AccessKey secret (30 letters and
// digits) and is not itself an id.
func parseSecret(s string) (accesskey.Secret, bool) {
	if len(s) != accesskey.SecretLen || strings.HasPrefix(s, accesskey.Prefix) {
		return accesskey.Secret{}, false
	}
	for i := 0; i < len(s); i++ {
		if !accesskey.IsAlnum(s[i]) {
			return accesskey.Secret{}, false
		}
	}
	return accesskey.NewSecret(s), true
}

// shortCommit shortens a commit SHA for messages.
func shortCommit(s string) string {
	if len(s) > 7 {
		return s[:7]
	}
	return s
}

// describe renders a location for warnings (never with a secret in it).
func describe(l Location) string {
	var parts []string
	if l.Repository != "" {
		parts = append(parts, l.Repository)
	}
	f := l.File
	if f == "" {
		f = "(no file)"
	}
	if l.Line > 0 {
		f = fmt.Sprintf("%s:%d", f, l.Line)
	}
	parts = append(parts, f)
	if l.Commit != "" {
		parts = append(parts, "commit "+shortCommit(l.Commit))
	}
	return strings.Join(parts, " ")
}
