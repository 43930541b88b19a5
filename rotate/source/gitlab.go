package source

// GitLab's token-revocation API (docs.gitlab.com, "Token Revocation API"): a self-managed GitLab
// instance configured with secret_detection_token_revocation_url posts the secrets its secret
// detection found to POST /v1/revoke_tokens, for the types GET /v1/revocable_token_types lists.
// A type is the finding's primary identifier, type and value joined with "_", spaces turned to
// "_", lower-cased: GitLab's rules "Alibaba AccessKey ID" and "Alibaba Secret Key" give the two
// below. The token is the finding's raw source extract.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/ram/accesskey"
)

// GitLabName names the source in findings, locations, metrics and playbook matches.
const GitLabName = "gitlab"

// GitLab's revocable token types of the Alibaba Cloud AccessKey.
const (
	GitLabTypeAlibabaID     = "gitleaks_rule_id_alibaba_accesskey_id"
	GitLabTypeAlibabaSecret = "gitleaks_rule_id_alibaba_secret_key"
)

// GitLabTokenTypes is the answer of GET /v1/revocable_token_types.
func GitLabTokenTypes() []string { return []string{GitLabTypeAlibabaID, GitLabTypeAlibabaSecret} }

// UnsupportedTypeError says a posted token's type is not one respond revokes (GitLab: 400, do
// not retry).
type UnsupportedTypeError struct{ Type string }

func (e *UnsupportedTypeError) Error() string {
	return "token type " + strconv.Quote(accesskey.Printable(e.Type)) + " is not one respond revokes (GET /v1/revocable_token_types)"
}

// ErrBadRevokeBody says the body is not the JSON list GitLab posts.
var ErrBadRevokeBody = errors.New(`the body is not a JSON list of {"type", "token", "location"}`)

// maxRevokeTokens bounds the tokens of one request.
const maxRevokeTokens = 1000

// ParseRevokeTokens reads POST /v1/revoke_tokens and makes one finding per key: an id and a
// secret posted for the same file are a pair (GitLab's rules report them separately); an id
// alone is an id-only finding (detect.EvidenceNone: it is refused unless the configuration
// trusts the gitlab source), a secret alone a secret-only finding.
func ParseRevokeTokens(ctx context.Context, body []byte) ([]detect.Finding, error) {
	var tokens []struct {
		Type     string `json:"type"`
		Token    string `json:"token"`
		Location string `json:"location"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&tokens); err != nil || len(tokens) > maxRevokeTokens {
		return nil, ErrBadRevokeBody
	}
	type half struct {
		ids     []accesskey.ID
		secrets []accesskey.Secret
		locs    []detect.Location
	}
	byFile := map[string]*half{}
	var order []string
	for _, t := range tokens {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if t.Type != GitLabTypeAlibabaID && t.Type != GitLabTypeAlibabaSecret {
			return nil, &UnsupportedTypeError{Type: t.Type}
		}
		loc, file := gitlabLocation(t.Location, t.Type)
		h := byFile[file]
		if h == nil {
			h = &half{}
			byFile[file] = h
			order = append(order, file)
		}
		h.locs = append(h.locs, loc)
		switch t.Type {
		case GitLabTypeAlibabaID:
			id, err := idIn(ctx, t.Token)
			if err != nil {
				return nil, err
			}
			h.ids = append(h.ids, id)
		default:
			sec, err := secretIn(ctx, t.Token)
			if err != nil {
				return nil, err
			}
			h.secrets = append(h.secrets, sec)
		}
	}
	var out []detect.Finding
	seen := map[accesskey.ID]int{}
	add := func(f detect.Finding) {
		if i, ok := seen[f.KeyID]; ok && !f.KeyID.IsZero() {
			out[i].Locations = append(out[i].Locations, f.Locations...)
			if out[i].Secret.IsZero() && !f.Secret.IsZero() {
				out[i].Secret, out[i].Evidence = f.Secret, detect.EvidenceSecret
			}
			return
		}
		if !f.KeyID.IsZero() {
			seen[f.KeyID] = len(out)
		}
		out = append(out, f)
	}
	for _, file := range order {
		h := byFile[file]
		ids := uniqueIDs(h.ids)
		if len(ids) == 1 && len(h.secrets) == 1 {
			add(detect.Finding{KeyID: ids[0], Kind: kindOf(ids[0]), Secret: h.secrets[0], Locations: h.locs, Evidence: detect.EvidenceSecret, Source: GitLabName})
			continue
		}
		for _, id := range ids {
			add(detect.Finding{KeyID: id, Kind: kindOf(id), Locations: h.locs, Evidence: detect.EvidenceNone, Source: GitLabName})
		}
		for _, sec := range h.secrets {
			add(detect.Finding{Kind: detect.KindSecretOnly, Secret: sec, Locations: h.locs, Evidence: detect.EvidenceSecret, Source: GitLabName})
		}
	}
	return out, nil
}

func kindOf(id accesskey.ID) detect.Kind {
	if id.IsSTS() {
		return detect.KindSTS
	}
	return detect.KindAccessKey
}

func uniqueIDs(ids []accesskey.ID) []accesskey.ID {
	var out []accesskey.ID
	for _, id := range ids {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// idIn is the AccessKey id a token holds: the token itself, or the one id in its extract.
func idIn(ctx context.Context, token string) (accesskey.ID, error) {
	if id, err := accesskey.ParseID(strings.TrimSpace(token)); err == nil {
		return id, nil
	}
	res, err := detect.Read(ctx, strings.NewReader(token), detect.Options{Format: detect.FormatText, Source: GitLabName})
	if err == nil {
		for _, f := range res.Findings {
			if !f.KeyID.IsZero() {
				return f.KeyID, nil
			}
		}
	}
	return accesskey.ID{}, fmt.Errorf("a token of type %s holds no AccessKey id", GitLabTypeAlibabaID)
}

// secretIn is the AccessKey secret a token holds: the token itself, or the secret its extract
// names (alibaba_secret = "…").
func secretIn(ctx context.Context, token string) (accesskey.Secret, error) {
	if s := accesskey.NewSecret(strings.Trim(strings.TrimSpace(token), `"'`)); s.LooksLikeAccessKeySecret() {
		return s, nil
	}
	res, err := detect.Read(ctx, strings.NewReader(token), detect.Options{Format: detect.FormatText, Source: GitLabName})
	if err == nil {
		for _, f := range res.Findings {
			if !f.Secret.IsZero() {
				return f.Secret, nil
			}
		}
	}
	// GitLab's rule matched a 30-character value after a name with "alibaba" in it.
	for _, tok := range strings.FieldsFunc(token, func(r rune) bool { return !(r < 128 && accesskey.IsAlnum(byte(r))) }) {
		if s := accesskey.NewSecret(tok); s.LooksLikeAccessKeySecret() {
			return s, nil
		}
	}
	return accesskey.Secret{}, fmt.Errorf("a token of type %s holds no AccessKey secret", GitLabTypeAlibabaSecret)
}

// gitlabLocation reads GitLab's location (https://HOST/GROUP/PROJECT/-/blob/COMMIT/FILE#L21, or
// …/blob/COMMIT/FILE) and returns it, with the file it names (the key its pair is matched on).
func gitlabLocation(raw, typ string) (detect.Location, string) {
	loc := detect.Location{Source: GitLabName, Format: GitLabName, URL: raw, Rule: typ}
	u, err := url.Parse(raw)
	if err != nil {
		return loc, raw
	}
	if n, ok := strings.CutPrefix(u.Fragment, "L"); ok {
		if line, err := strconv.Atoi(strings.SplitN(n, "-", 2)[0]); err == nil && line > 0 {
			loc.Line = line
		}
	}
	if repo, rest, ok := strings.Cut(u.Path, "/blob/"); ok {
		commit, file, _ := strings.Cut(rest, "/")
		loc.Repository = strings.TrimSuffix(strings.Trim(repo, "/"), "/-")
		loc.Commit, loc.File = commit, path.Clean("/" + file)[1:]
	}
	u.Fragment = ""
	return loc, u.String()
}
