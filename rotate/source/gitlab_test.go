package source

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/respond-dev/respond/detect"
)

func TestParseRevokeTokens(t *testing.T) {
	ctx := context.Background()
	const (
		id1, sec1 = "LTAI5tFAKEb8HnR4sW6cJq2d", "FAKEm7Lp2Qx9Vr4Ts8Nk3Hd6Bz1Wc5"
		id2       = "LTAI5tFAKEk3yQ9mZ7pR2wXn"
		sec3      = "FAKEz4Xk8Hr2Np6Dm9Sg3Lb7Ty5Wq1"
		loc       = "https://gitlab.example.com/acme/app/-/blob/0123abc/config/.env#L"
	)
	body := fmt.Sprintf(`[
 {"type":%q,"token":%q,"location":%q},
 {"type":%q,"token":"ALIBABA_SECRET=\"%s\"","location":%q},
 {"type":%q,"token":%q,"location":"https://gitlab.example.com/acme/app/-/blob/0123abc/id-only.txt#L1"},
 {"type":%q,"token":%q,"location":"https://gitlab.example.com/acme/app/-/blob/0123abc/secret-only.txt"},
 {"type":%q,"token":%q,"location":"https://gitlab.example.com/acme/app/-/blob/0123abc/again.txt#L9"}
]`, GitLabTypeAlibabaID, id1, loc+"2", GitLabTypeAlibabaSecret, sec1, loc+"3",
		GitLabTypeAlibabaID, id2, GitLabTypeAlibabaSecret, sec3, GitLabTypeAlibabaID, id1)
	fs, err := ParseRevokeTokens(ctx, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 3 {
		t.Fatalf("%d findings, want 3: %+v", len(fs), fs)
	}
	pair, idOnly, secOnly := fs[0], fs[1], fs[2]
	if pair.KeyID.String() != id1 || pair.Secret.Reveal() != sec1 || pair.Evidence != detect.EvidenceSecret || pair.Source != GitLabName || len(pair.Locations) != 3 {
		t.Errorf("pair: %s %v %s %+v", pair.KeyID, pair.Secret.Reveal() == sec1, pair.Evidence, pair.Locations)
	}
	if l := pair.Locations[0]; l.Repository != "acme/app" || l.Commit != "0123abc" || l.File != "config/.env" || l.Line != 2 {
		t.Errorf("location: %+v", l)
	}
	if idOnly.KeyID.String() != id2 || !idOnly.Secret.IsZero() || idOnly.Evidence != detect.EvidenceNone {
		t.Errorf("id only: %+v", idOnly)
	}
	if secOnly.Kind != detect.KindSecretOnly || secOnly.Secret.Reveal() != sec3 || !secOnly.KeyID.IsZero() {
		t.Errorf("secret only: %+v", secOnly)
	}
	for _, tt := range []struct {
		body string
		want error
	}{
		{`[{"type":"gitleaks_rule_id_aws","token":"AKIA","location":""}]`, &UnsupportedTypeError{}},
		{`{}`, ErrBadRevokeBody},
		{`[{"type":"gitleaks_rule_id_alibaba_secret_key","token":"short","location":""}]`, nil},
	} {
		_, err := ParseRevokeTokens(ctx, []byte(tt.body))
		var ute *UnsupportedTypeError
		switch {
		case err == nil:
			t.Errorf("%s: accepted", tt.body)
		case tt.want == ErrBadRevokeBody && !errors.Is(err, ErrBadRevokeBody), tt.want != nil && tt.want != ErrBadRevokeBody && !errors.As(err, &ute):
			t.Errorf("%s: %v", tt.body, err)
		}
		if err != nil && strings.Contains(err.Error(), "short") {
			t.Errorf("the error quotes the token: %v", err)
		}
	}
}

// FuzzParseRevokeTokens: any body parses or fails without panicking; every finding has a key or
// a secret, and its source is gitlab.
func FuzzParseRevokeTokens(f *testing.F) {
	f.Add([]byte(`[{"type":"gitleaks_rule_id_alibaba_accesskey_id","token":"LTAI5tFAKEb8HnR4sW6cJq2d","location":"https://x/a/-/blob/c/f#L1"}]`))
	f.Add([]byte(`[{"type":"gitleaks_rule_id_alibaba_secret_key","token":"alibaba = FAKEm7Lp2Qx9Vr4Ts8Nk3Hd6Bz1Wc5","location":"%zz"}]`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fs, err := ParseRevokeTokens(context.Background(), body)
		if err != nil {
			return
		}
		for _, fd := range fs {
			if fd.KeyID.IsZero() && fd.Secret.IsZero() || fd.Source != GitLabName {
				t.Fatalf("finding %+v", fd)
			}
		}
	})
}
