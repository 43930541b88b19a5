package detect

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"

	"github.com/respond-dev/respond/ram/accesskey"
)

// ---- GitHub secret scanning ----

type githubLocationDetails struct {
	Path      string `json:"path"`
	StartLine int    `json:"start_line"`
	BlobSHA   string `json:"blob_sha"`
	BlobURL   string `json:"blob_url"`
	CommitSHA string `json:"commit_sha"`
	// Issue, pull-request and discussion locations carry a URL instead of a path.
	HTMLURL string `json:"html_url"`
}

// githubAlert is a secret-scanning alert (REST list or the webhook's "alert").
type githubAlert struct {
	Number                int                    `json:"number"`
	URL                   string                 `json:"url"`
	HTMLURL               string                 `json:"html_url"`
	SecretType            string                 `json:"secret_type"`
	Secret                *string                `json:"secret"`
	FirstLocationDetected *githubLocationDetails `json:"first_location_detected"`
	Repository            *struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
	// Present when the input is a locations list (GET …/alerts/{n}/locations) instead.
	Details *githubLocationDetails `json:"details"`
}

func (a *githubAlert) location(repo string) Location {
	l := Location{Repository: repo, URL: a.HTMLURL, Rule: a.SecretType}
	if a.Repository != nil && a.Repository.FullName != "" {
		l.Repository = a.Repository.FullName
	}
	if l.Repository == "" {
		l.Repository = repoFromAPIURL(a.URL)
	}
	if a.Number > 0 {
		l.Fingerprint = fmt.Sprintf("alert #%d", a.Number)
	}
	if d := a.FirstLocationDetected; d != nil {
		l.File, l.Commit, l.Line = d.Path, d.CommitSHA, d.StartLine
	}
	return l
}

// repoFromAPIURL returns owner/name from https://api.github.com/repos/{owner}/{name}/….
func repoFromAPIURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	for i := 0; i+2 < len(parts); i++ {
		if parts[i] == "repos" {
			return parts[i+1] + "/" + parts[i+2]
		}
	}
	return ""
}

const fixGitHubNoID = "fetch the alert's locations and look for LTAI… near the line shown (or open the alert's html_url), then pass the id with --key-id"

// readGitHub reads GET /repos/{o}/{r}/secret-scanning/alerts (or the org / enterprise list).
// Alibaba is a paired pattern: an alert's secret is either the id or the secret; a secret is
// paired with the id of an alert in the same repository, file and commit.
func readGitHub(ctx context.Context, r io.Reader, c *collector) error {
	var raw json.RawMessage
	if err := newJSONDecoder(r).Decode(&raw); err != nil {
		return fmt.Errorf("read GitHub secret-scanning alerts: %w; expected the JSON of GET /repos/{owner}/{repo}/secret-scanning/alerts", err)
	}
	var alerts []githubAlert
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '{' { // one alert: GET …/alerts/{number}
		alerts = make([]githubAlert, 1)
		if err := json.Unmarshal(raw, &alerts[0]); err != nil {
			return fmt.Errorf("read GitHub secret-scanning alert: %w", err)
		}
	} else if err := json.Unmarshal(raw, &alerts); err != nil {
		return fmt.Errorf("read GitHub secret-scanning alerts: %w; expected the JSON array of GET /repos/{owner}/{repo}/secret-scanning/alerts", err)
	}
	ids := map[string][]accesskey.ID{}
	var secrets []pendingSecret
	var noID []Location
	for i := range alerts {
		if err := ctx.Err(); err != nil {
			return err
		}
		a := &alerts[i]
		if a.Details != nil && a.SecretType == "" {
			return &NoKeyIDError{Format: FormatGitHub, Reason: "this is an alert's locations list (GET …/alerts/{n}/locations), which names places but never the secret",
				Fix:       "pass the alert list (GET /repos/{owner}/{repo}/secret-scanning/alerts) instead, or the id with --key-id",
				Locations: []Location{c.loc(Location{File: a.Details.Path, Commit: a.Details.CommitSHA, Line: a.Details.StartLine, URL: a.Details.BlobURL})}}
		}
		secretText := ""
		if a.Secret != nil {
			secretText = strings.TrimSpace(*a.Secret)
		}
		alibaba := strings.HasPrefix(a.SecretType, "alibaba")
		id, idErr := accesskey.ParseID(secretText)
		if !alibaba && idErr != nil {
			continue
		}
		loc := a.location("")
		key := loc.Repository + "\x00" + loc.File + "\x00" + loc.Commit
		switch {
		case idErr == nil:
			c.add(id, accesskey.Secret{}, loc)
			if !slices.Contains(ids[key], id) {
				ids[key] = append(ids[key], id)
			}
		default:
			if sec, ok := parseSecret(secretText); ok {
				secrets = append(secrets, pendingSecret{key: key, secret: sec, loc: loc})
			} else {
				noID = append(noID, c.loc(loc))
			}
		}
	}
	// A secret alert with no id alert of its file is a secret-only finding (it may still be
	// paired within the report).
	for _, s := range secrets {
		switch list := ids[s.key]; {
		case len(list) == 1:
			c.add(list[0], s.secret, s.loc)
		case looksLikeSecret([]byte(s.secret.Reveal())):
			var notes []string
			if len(list) > 1 {
				notes = append(notes, fmt.Sprintf("not paired: %d different AccessKey id alerts share its file", len(list)))
			}
			c.addSecretOnly(s.secret, s.loc, notes...)
		default:
			noID = append(noID, c.loc(s.loc))
		}
	}
	if len(c.findings) == 0 && len(noID) > 0 {
		return &NoKeyIDError{Format: FormatGitHub, Reason: "its Alibaba alerts show neither the AccessKey id nor a secret", Fix: fixGitHubNoID,
			Locations: boundLocations(noID)}
	}
	for _, l := range noID {
		c.warn("GitHub %s at %s shows neither the AccessKey id nor a secret: %s", l.Fingerprint, describe(l), fixGitHubNoID)
	}
	return nil
}

// readGitHubWebhook reads a secret_scanning_alert webhook payload. GitHub leaves the secret out
// of webhook payloads, so unless a relay put it back, there is no id to act on.
func readGitHubWebhook(ctx context.Context, r io.Reader, c *collector) error {
	var p struct {
		Action     string      `json:"action"`
		Alert      githubAlert `json:"alert"`
		Repository struct {
			FullName string `json:"full_name"`
		} `json:"repository"`
	}
	if err := newJSONDecoder(r).Decode(&p); err != nil {
		return fmt.Errorf("read GitHub secret_scanning_alert webhook: %w; expected the JSON payload GitHub posts", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	loc := p.Alert.location(p.Repository.FullName)
	if loc.Fingerprint != "" && p.Action != "" {
		loc.Fingerprint += " " + p.Action
	}
	if p.Alert.Secret != nil {
		if id, err := accesskey.ParseID(strings.TrimSpace(*p.Alert.Secret)); err == nil {
			c.add(id, accesskey.Secret{}, loc)
			return nil
		}
	}
	if !strings.HasPrefix(p.Alert.SecretType, "alibaba") {
		return nil
	}
	return &NoKeyIDError{Format: FormatGitHubWebhook, Reason: "GitHub leaves the secret out of secret_scanning_alert webhook payloads",
		Fix: "fetch the alert with GET " + orDefault(p.Alert.URL, "/repos/{owner}/{repo}/secret-scanning/alerts/{number}") +
			" (its \"secret\" field has the value) and pipe that into respond, or pass the id with --key-id",
		Locations: []Location{c.loc(loc)}}
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// ---- ggshield ----

type ggshieldEntity struct {
	Filename  string `json:"filename"`
	Incidents []struct {
		Type        string `json:"type"`
		IgnoreSHA   string `json:"ignore_sha"`
		IncidentURL string `json:"incident_url"`
		Occurrences []struct {
			Match     string `json:"match"`
			Type      string `json:"type"`
			LineStart int    `json:"line_start"`
		} `json:"occurrences"`
	} `json:"incidents"`
}

type ggshieldScan struct {
	ID                    string           `json:"id"`
	Type                  string           `json:"type"`
	EntitiesWithIncidents []ggshieldEntity `json:"entities_with_incidents"`
	Scans                 []ggshieldScan   `json:"scans"`
}

const fixGGShieldCensored = "re-run ggshield with --show-secrets (ggshield secret scan … --json --show-secrets), or pass the id with --key-id"

// readGGShield reads `ggshield secret scan … --json --show-secrets`. The id and the secret of one
// incident are paired.
func readGGShield(ctx context.Context, r io.Reader, c *collector) error {
	var top ggshieldScan
	if err := newJSONDecoder(r).Decode(&top); err != nil {
		return fmt.Errorf("read ggshield JSON: %w; expected ggshield secret scan … --json output", err)
	}
	return ggshieldWalk(ctx, c, top, "")
}

func ggshieldWalk(ctx context.Context, c *collector, s ggshieldScan, commit string) error {
	if s.Type == "commit" {
		commit = s.ID
	}
	for _, e := range s.EntitiesWithIncidents {
		for _, inc := range e.Incidents {
			if err := ctx.Err(); err != nil {
				return err
			}
			var ids []accesskey.ID
			var locs []Location
			var secret accesskey.Secret
			var secretLoc Location
			for _, o := range inc.Occurrences {
				m := strings.TrimSpace(o.Match)
				if strings.Contains(m, "***") {
					if strings.HasPrefix(m, accesskey.Prefix) || strings.Contains(strings.ToLower(inc.Type), "alibaba") {
						return &CensoredInputError{Format: FormatGGShield, Fix: fixGGShieldCensored}
					}
					continue
				}
				if id, err := accesskey.ParseID(m); err == nil && !id.IsSTS() {
					ids = append(ids, id)
					locs = append(locs, Location{File: e.Filename, Commit: commit, Line: o.LineStart, URL: inc.IncidentURL,
						Fingerprint: inc.IgnoreSHA, Rule: inc.Type})
					continue
				}
				if sec, ok := parseSecret(m); ok && strings.Contains(strings.ToLower(inc.Type), "alibaba") {
					secret = sec
					secretLoc = Location{File: e.Filename, Commit: commit, Line: o.LineStart, URL: inc.IncidentURL,
						Fingerprint: inc.IgnoreSHA, Rule: inc.Type}
				}
			}
			for i, id := range ids {
				sec := secret
				if len(ids) > 1 {
					sec = accesskey.Secret{}
				}
				c.add(id, sec, locs[i])
			}
			// The secret of an incident without its id (or with several) is a finding of its own.
			if !secret.IsZero() && len(ids) != 1 && looksLikeSecret([]byte(secret.Reveal())) {
				var notes []string
				if len(ids) > 1 {
					notes = append(notes, fmt.Sprintf("not paired: the incident holds %d different AccessKey ids", len(ids)))
				}
				c.addSecretOnly(secret, secretLoc, notes...)
			}
		}
	}
	for _, sub := range s.Scans {
		if err := ggshieldWalk(ctx, c, sub, commit); err != nil {
			return err
		}
	}
	return nil
}

// ---- detect-secrets ----

// readDetectSecrets reads a detect-secrets baseline. detect-secrets has no Alibaba plugin and
// stores only a SHA-1 of each secret, so a baseline never holds an AccessKey id: the error names
// the places it flagged so that the user can look there.
func readDetectSecrets(ctx context.Context, r io.Reader, c *collector) error {
	var b struct {
		Results map[string][]struct {
			Type       string `json:"type"`
			Filename   string `json:"filename"`
			LineNumber int    `json:"line_number"`
		} `json:"results"`
	}
	if err := newJSONDecoder(r).Decode(&b); err != nil {
		return fmt.Errorf("read detect-secrets baseline: %w; expected the .secrets.baseline JSON detect-secrets scan writes", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var locs []Location
	for file, results := range b.Results {
		for _, res := range results {
			locs = append(locs, c.loc(Location{File: orDefault(res.Filename, file), Line: res.LineNumber, Rule: res.Type}))
		}
	}
	sortLocations(locs)
	locs = boundLocations(locs)
	return &NoKeyIDError{Format: FormatDetectSecrets,
		Reason:    "detect-secrets has no Alibaba plugin and a baseline keeps only a SHA-1 of each secret, never the LTAI… id",
		Fix:       "scan with gitleaks instead (gitleaks dir . --report-format json --report-path - | respond --from -), or pass the id with --key-id",
		Locations: locs}
}

// ---- Alibaba Cloud Security Center ----

// readSAS reads the response of Security Center's DescribeAccesskeyLeakList (sas 2018-12-03).
func readSAS(ctx context.Context, r io.Reader, c *collector) error {
	var resp struct {
		AccessKeyLeakList []struct {
			AccesskeyID string `json:"AccesskeyId"`
			AliUserName string `json:"AliUserName"`
			UserType    string `json:"UserType"`
			Status      string `json:"Status"`
			DealType    string `json:"DealType"`
			Type        string `json:"Type"`
			URL         string `json:"Url"`
			ID          number
		}
	}
	if err := newJSONDecoder(r).Decode(&resp); err != nil {
		return fmt.Errorf("read Security Center leak list: %w; expected the DescribeAccesskeyLeakList response JSON", err)
	}
	for _, item := range resp.AccessKeyLeakList {
		if err := ctx.Err(); err != nil {
			return err
		}
		id, err := accesskey.ParseID(strings.TrimSpace(item.AccesskeyID))
		if err != nil {
			c.warn("Security Center leak %s: AccesskeyId is not a valid AccessKey id; skipped", item.ID)
			continue
		}
		loc := githubBlobLocation(item.URL)
		loc.Rule = "sas:" + orDefault(item.Type, "AccessKey")
		if item.ID != "" {
			loc.Fingerprint = "leak " + string(item.ID)
		}
		var notes []string
		if item.AliUserName != "" {
			notes = append(notes, fmt.Sprintf("Security Center names the owner %q (UserType %s)", item.AliUserName, orDefault(item.UserType, "unknown")))
		}
		if item.UserType == "master" {
			notes = append(notes, "Security Center says this is a root-account (master) key")
		}
		if item.Status == "dealed" {
			notes = append(notes, fmt.Sprintf("Security Center marks this leak as handled (DealType %s)", orDefault(item.DealType, "unknown")))
		}
		c.add(id, accesskey.Secret{}, loc, notes...)
	}
	return nil
}

// githubBlobLocation splits https://github.com/{owner}/{repo}/blob/{commit}/{path}.
func githubBlobLocation(s string) Location {
	l := Location{URL: s}
	u, err := url.Parse(s)
	if err != nil || u.Host != "github.com" {
		return l
	}
	parts := strings.SplitN(strings.Trim(u.Path, "/"), "/", 5)
	if len(parts) >= 2 {
		l.Repository = parts[0] + "/" + parts[1]
	}
	if len(parts) == 5 && parts[2] == "blob" {
		l.Commit, l.File = parts[3], parts[4]
	}
	return l
}
