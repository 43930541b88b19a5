package detect

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/respond-dev/respond/ram/accesskey"
)

// gitleaks rule ids for Alibaba (config/gitleaks.toml, v8.30.1).
const (
	ruleGitleaksID     = "alibaba-access-key-id"
	ruleGitleaksSecret = "alibaba-secret-key"
)

const fixGitleaksRedacted = "re-run gitleaks without --redact (the report stays on your machine: pipe it straight into respond), or pass the id with --key-id"

// gitleaksFinding is one entry of gitleaks' JSON report (report/finding.go).
type gitleaksFinding struct {
	RuleID      string
	StartLine   int
	Secret      string
	File        string
	Commit      string
	Link        string
	Fingerprint string
}

// number is a JSON number (or a string holding one) kept as its text. Unlike json.Number, it
// refuses anything else without quoting it: scanner output holds secrets, and errors must not
// repeat them.
type number string

func (n *number) UnmarshalJSON(b []byte) error {
	t := b
	if len(t) > 1 && t[0] == '"' && t[len(t)-1] == '"' {
		t = t[1 : len(t)-1]
	}
	if string(t) == "null" {
		return nil
	}
	if len(t) == 0 || !(t[0] == '-' || t[0] >= '0' && t[0] <= '9') || !json.Valid(t) {
		return &json.UnmarshalTypeError{Value: "non-number", Type: reflect.TypeFor[number]()}
	}
	*n = number(t)
	return nil
}

func newJSONDecoder(r io.Reader) *json.Decoder {
	d := json.NewDecoder(r)
	d.UseNumber()
	return d
}

// gitleaksPairer holds gitleaks' unpaired secret findings until every id is known, then pairs
// each with the one id of the same File+Commit.
type gitleaksPairer struct {
	c       *collector
	ids     map[string][]accesskey.ID // File\x00Commit → distinct ids, in order
	secrets []pendingSecret
}

type pendingSecret struct {
	key    string
	secret accesskey.Secret
	loc    Location
}

func newGitleaksPairer(c *collector) *gitleaksPairer {
	return &gitleaksPairer{c: c, ids: map[string][]accesskey.ID{}}
}

func (p *gitleaksPairer) add(f gitleaksFinding, format Format) error {
	loc := Location{File: f.File, Commit: f.Commit, Line: f.StartLine, Fingerprint: f.Fingerprint, Rule: f.RuleID, URL: f.Link}
	key := f.File + "\x00" + f.Commit
	redacted := f.Secret == "REDACTED" || strings.HasSuffix(f.Secret, "...")
	switch f.RuleID {
	case ruleGitleaksID:
		if redacted {
			return &RedactedInputError{Format: format, Fix: fixGitleaksRedacted}
		}
		id, err := accesskey.ParseID(f.Secret)
		if err != nil || id.IsSTS() {
			p.c.warn("gitleaks finding %s: its Secret is not a valid AccessKey id; skipped", describe(loc))
			return nil
		}
		p.c.add(id, accesskey.Secret{}, loc)
		if !slices.Contains(p.ids[key], id) {
			p.ids[key] = append(p.ids[key], id)
		}
	case ruleGitleaksSecret:
		if redacted {
			return &RedactedInputError{Format: format, Fix: fixGitleaksRedacted}
		}
		if sec, ok := parseSecret(f.Secret); ok {
			p.secrets = append(p.secrets, pendingSecret{key: key, secret: sec, loc: loc})
		}
	}
	return nil
}

// finish pairs each secret with the one id of its file and commit. A secret with no id there, or
// several, is a secret-only finding (it may still be paired within the report).
func (p *gitleaksPairer) finish() {
	for _, s := range p.secrets {
		ids := p.ids[s.key]
		switch {
		case len(ids) == 1:
			p.c.add(ids[0], s.secret, s.loc)
		case !looksLikeSecret([]byte(s.secret.Reveal())):
			p.c.warn("a secret was found at %s without an AccessKey id in the same file and commit, but it does not mix upper case, "+
				"lower case and digits as AccessKey secrets do; it is not reported", describe(s.loc))
		case len(ids) == 0:
			p.c.addSecretOnly(s.secret, s.loc)
		default:
			p.c.addSecretOnly(s.secret, s.loc, fmt.Sprintf("not paired: %d different AccessKey ids stand in the same file and commit", len(ids)))
		}
	}
}

// readGitleaksJSON reads `gitleaks … --report-format json`: one array, decoded an element at a time.
func readGitleaksJSON(ctx context.Context, r io.Reader, c *collector) error {
	d := newJSONDecoder(r)
	if err := expectDelim(d, '['); err != nil {
		return fmt.Errorf("read gitleaks JSON: %w; expected the array gitleaks writes with --report-format json", err)
	}
	p := newGitleaksPairer(c)
	for d.More() {
		if err := ctx.Err(); err != nil {
			return err
		}
		var f gitleaksFinding
		if err := d.Decode(&f); err != nil {
			return fmt.Errorf("read gitleaks JSON finding: %w", err)
		}
		if err := p.add(f, FormatGitleaksJSON); err != nil {
			return err
		}
	}
	if _, err := d.Token(); err != nil {
		return fmt.Errorf("read gitleaks JSON: %w", err)
	}
	p.finish()
	return nil
}

func expectDelim(d *json.Decoder, want json.Delim) error {
	t, err := d.Token()
	if err != nil {
		return err
	}
	if t != want {
		// Name what was found, never quote it: a string token may be a secret.
		return fmt.Errorf("found %s where %q was expected", tokenKind(t), string(want))
	}
	return nil
}

// tokenKind names a JSON token's kind for messages.
func tokenKind(t json.Token) string {
	switch v := t.(type) {
	case json.Delim:
		return string(v)
	case string:
		return "a string"
	case nil:
		return "null"
	case bool:
		return "a boolean"
	}
	return "a number"
}

// readGitleaksCSV reads `gitleaks … --report-format csv` (report/csv.go).
func readGitleaksCSV(ctx context.Context, r io.Reader, c *collector) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return fmt.Errorf("read gitleaks CSV header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	for _, need := range []string{"RuleID", "Secret"} {
		if _, ok := col[need]; !ok {
			return fmt.Errorf("%w: CSV has no %s column; expected the header gitleaks writes with --report-format csv (RuleID,Commit,File,…,Secret,…)", ErrUnrecognised, need)
		}
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	p := newGitleaksPairer(c)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read gitleaks CSV: %w", err)
		}
		line, _ := strconv.Atoi(get(rec, "StartLine"))
		f := gitleaksFinding{RuleID: get(rec, "RuleID"), StartLine: line, Secret: get(rec, "Secret"), File: get(rec, "File"),
			Commit: get(rec, "Commit"), Link: get(rec, "Link"), Fingerprint: get(rec, "Fingerprint")}
		if err := p.add(f, FormatGitleaksCSV); err != nil {
			return err
		}
	}
	p.finish()
	return nil
}

// sarifLog is the part of SARIF 2.1.0 that gitleaks (and other scanners) fill in.
type sarifLog struct {
	Runs []struct {
		Tool struct {
			Driver     sarifComponent   `json:"driver"`
			Extensions []sarifComponent `json:"extensions"`
		} `json:"tool"`
		Results []sarifResult `json:"results"`
	} `json:"runs"`
}

type sarifComponent struct {
	Rules []struct {
		ID string `json:"id"`
	} `json:"rules"`
}

type sarifResult struct {
	RuleID string `json:"ruleId"`
	// A result may name its rule by reference instead (SARIF 2.1.0 §3.27.7, §3.52): rule.id, or
	// an index into the rules of tool.driver (or of the extension rule.toolComponent.index
	// names); ruleIndex is the older form of the same.
	Rule *struct {
		ID            string `json:"id"`
		Index         *int   `json:"index"`
		ToolComponent *struct {
			Index *int `json:"index"`
		} `json:"toolComponent"`
	} `json:"rule"`
	RuleIndex *int `json:"ruleIndex"`
	Message   struct {
		Text string `json:"text"`
	} `json:"message"`
	Locations []struct {
		PhysicalLocation struct {
			ArtifactLocation struct {
				URI string `json:"uri"`
			} `json:"artifactLocation"`
			Region struct {
				StartLine int `json:"startLine"`
				Snippet   struct {
					Text string `json:"text"`
				} `json:"snippet"`
			} `json:"region"`
		} `json:"physicalLocation"`
	} `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
}

// ruleID returns the id of the result's rule: ruleId, else rule.id, else the id of the rule its
// index points at in driver (or in the extension its rule.toolComponent names).
func (res *sarifResult) ruleID(driver *sarifComponent, extensions []sarifComponent) string {
	if res.RuleID != "" {
		return res.RuleID
	}
	if res.Rule != nil && res.Rule.ID != "" {
		return res.Rule.ID
	}
	idx, comp := res.RuleIndex, driver
	if res.Rule != nil && res.Rule.Index != nil {
		idx = res.Rule.Index
	}
	if res.Rule != nil && res.Rule.ToolComponent != nil && res.Rule.ToolComponent.Index != nil {
		comp = nil
		if i := *res.Rule.ToolComponent.Index; i >= 0 && i < len(extensions) {
			comp = &extensions[i]
		}
	}
	if idx == nil || comp == nil || *idx < 0 || *idx >= len(comp.Rules) {
		return ""
	}
	return comp.Rules[*idx].ID
}

// readSARIF reads SARIF. gitleaks' Alibaba rules are handled like its JSON report; for other
// tools' rules the snippet is searched for ids and named secrets.
func readSARIF(ctx context.Context, r io.Reader, c *collector) error {
	var log sarifLog
	if err := newJSONDecoder(r).Decode(&log); err != nil {
		return fmt.Errorf("read SARIF: %w; expected a SARIF 2.1.0 log (gitleaks --report-format sarif)", err)
	}
	p := newGitleaksPairer(c)
	for _, run := range log.Runs {
		for i := range run.Results {
			res := &run.Results[i]
			if err := ctx.Err(); err != nil {
				return err
			}
			rule := res.ruleID(&run.Tool.Driver, run.Tool.Extensions)
			f := gitleaksFinding{RuleID: rule, Commit: res.PartialFingerprints["commitSha"]}
			if len(res.Locations) > 0 {
				pl := res.Locations[0].PhysicalLocation
				f.File, f.StartLine, f.Secret = pl.ArtifactLocation.URI, pl.Region.StartLine, pl.Region.Snippet.Text
			}
			if f.RuleID == ruleGitleaksID || f.RuleID == ruleGitleaksSecret {
				if err := p.add(f, FormatGitleaksSARIF); err != nil {
					return err
				}
				continue
			}
			lower := strings.ToLower(f.RuleID)
			if !strings.Contains(lower, "alibaba") && !strings.Contains(lower, "aliyun") {
				continue
			}
			loc := Location{File: f.File, Commit: f.Commit, Line: f.StartLine, Rule: f.RuleID}
			n := 0
			scanString(f.Secret, func(h textHit) {
				n++
				c.add(h.id, h.secret, loc)
			}, func(s accesskey.Secret) {
				n++
				c.addSecretOnly(s, loc)
			})
			// A rule for the secret whose snippet is the secret alone.
			if sec, ok := parseSecret(strings.TrimSpace(f.Secret)); ok && n == 0 && strings.Contains(lower, "secret") && looksLikeSecret([]byte(sec.Reveal())) {
				c.addSecretOnly(sec, loc)
			}
		}
	}
	p.finish()
	return nil
}
