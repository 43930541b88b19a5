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
	// MaxFindings bounds the distinct findings (ids, and secrets without an id) one input may
	// hold: 0 means DefaultMaxFindings, a negative value no limit. Past it, Read stops and fails
	// with ErrTooManyFindings.
	MaxFindings int
}

// Kind says what a leaked key is.
type Kind string

const (
	// KindAccessKey is a long-term RAM AccessKey (LTAI…): it can be rotated.
	KindAccessKey Kind = "access-key"
	// KindSTS is a temporary STS AccessKey (STS.…): it expires on its own and cannot be rotated.
	KindSTS Kind = "sts"
	// KindSecretOnly is an AccessKey secret that stood without its id: KeyID is zero, Secret is
	// set. Nothing in the Alibaba API maps a secret to its key, so the id must be found (where the
	// secret is used, or by trying candidate ids with it).
	KindSecretOnly Kind = "secret-only"
)

// Evidence says why a finding is evidence of a leak, and so whether it may be acted on. Key ids
// are not secret: anyone who can put a string into scanned content can make an id appear.
type Evidence string

const (
	// EvidenceSecret: the finding carries the secret, which stood with the id (same finding,
	// line, object, file and commit, or paired within the report: see Finding.Notes), or stood
	// alone (KindSecretOnly). The parser saw both; it did not check that they belong together.
	EvidenceSecret Evidence = "secret"
	// EvidenceSource: the id comes from a record of a leak-reporting service (Alibaba Security
	// Center), a source the configuration may trust for id-only findings.
	EvidenceSource Evidence = "source"
	// EvidenceOperator: a person named the key (--key-id). detect never sets it; the caller does
	// for the findings it makes itself.
	EvidenceOperator Evidence = "operator"
	// EvidenceNone: the id alone (a scanner report or text without the secret). An id-only
	// finding from scanned content is not acted on unless its Source is trusted.
	EvidenceNone Evidence = "none"
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
	// KeyID is zero for KindSecretOnly.
	KeyID accesskey.ID
	Kind  Kind
	// Secret is zero unless the secret stood in the same finding, file or line as the id (or
	// was paired within the report, with NotePairedWithinReport); it is always set for
	// KindSecretOnly.
	Secret    accesskey.Secret
	Locations []Location
	Notes     []string
	// Evidence says what makes this a leak: the secret, a trusted source, or nothing (id only).
	Evidence Evidence
	// Source names where the finding came from: the format that was read ("gitleaks-json",
	// "sas", "text", …). A configuration's trust entries name these.
	Source string
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

// Byte-order marks.
var (
	utf8BOM    = []byte("\xef\xbb\xbf")
	utf16LEBOM = []byte("\xff\xfe")
	utf16BEBOM = []byte("\xfe\xff")
)

// Read parses r as opts.Format (detected from the content when it is "" or "auto") and returns
// the findings, de-duplicated by key id (and secrets without an id by the secret).
func Read(ctx context.Context, r io.Reader, opts Options) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	br := bufio.NewReaderSize(r, sniffSize)
	// A byte-order mark belongs to no format: drop it here, once, for every parser. Windows
	// PowerShell's Out-File writes UTF-8 with one, and its ">" UTF-16 with one: that is read
	// as UTF-8 from here on. A read error shows again at the next read.
	head, _ := br.Peek(len(utf8BOM))
	switch {
	case bytes.HasPrefix(head, utf8BOM):
		_, _ = br.Discard(len(utf8BOM))
	case bytes.HasPrefix(head, utf16LEBOM):
		_, _ = br.Discard(len(utf16LEBOM))
		br = bufio.NewReaderSize(newUTF16Reader(br, false), sniffSize)
	case bytes.HasPrefix(head, utf16BEBOM):
		_, _ = br.Discard(len(utf16BEBOM))
		br = bufio.NewReaderSize(newUTF16Reader(br, true), sniffSize)
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
	// The collector stops the parser (through ctx) once the input holds too many findings.
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	c := newCollector(opts, format, stop)
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
		// respond serve takes the format from a request's ?format=: only a short lower-case word
		// (a typo of a format's name) is repeated.
		what := "(the value is not repeated)"
		if formatWord(string(format)) {
			what = `"` + string(format) + `"`
		}
		return Result{}, fmt.Errorf("%w: unknown format %s; known formats: %s", ErrUnrecognised, what, formatNames())
	}
	if c.err != nil {
		return Result{Format: format}, c.err
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

func sortLocations(l []Location) { slices.SortStableFunc(l, compareLocation) }

func compareLocation(a, b Location) int {
	return cmp.Or(cmp.Compare(a.Source, b.Source), cmp.Compare(a.Repository, b.Repository), cmp.Compare(a.File, b.File),
		cmp.Compare(a.Commit, b.Commit), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Path, b.Path), cmp.Compare(a.URL, b.URL),
		cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Fingerprint, b.Fingerprint), cmp.Compare(a.Format, b.Format))
}

// parseSecret returns s as a Secret when it has the shape of an AccessKey secret (30 letters and
// digits) and is not itself an id.
func parseSecret(s string) (accesskey.Secret, bool) {
	if !accesskey.SecretShaped(s) || strings.HasPrefix(s, accesskey.Prefix) {
		return accesskey.Secret{}, false
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

// describe renders a location for warnings (never with a secret in it), safe to print.
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
	return accesskey.Printable(strings.Join(parts, " "))
}

// formatWord reports whether s could be a mistyped format name: 1 to 20 lower-case letters,
// digits and dashes, which is safe to repeat in an error.
func formatWord(s string) bool {
	if len(s) == 0 || len(s) > 20 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}
