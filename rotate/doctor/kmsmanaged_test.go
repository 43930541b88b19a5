package doctor

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
)

// TestRun_kmsManaged: against the doctor organisation, the rotate-via-kms permissions per
// account. doctor-prod has a RAM credentials secret (orders') and its role may list, describe and
// read secrets but not rotate them: kms:RotateSecret is missing and required, the rest ok. In the
// management account the responder may not list secrets: kms:ListSecrets is missing, reported
// with what is at stake, not failed, and whether the others are needed is unknown (reported
// only). As the administrator, in an account with no RAM secret: all granted, none required.
// Nothing is rotated, created or read but the probe user's secret.
func TestRun_kmsManaged(t *testing.T) {
	f := newFixture(t, responderKey)
	f.conf.ResourceDirectory.Exclude = []string{lockedID}
	start := len(f.s.RequestLog())
	rep := Run(context.Background(), f.opts)
	type row struct {
		status   Status
		required bool
	}
	get := func(rep Report, comp, item string) Check {
		t.Helper()
		for _, c := range rep.Checks {
			if strings.HasPrefix(c.Component, comp) && c.Item == item {
				return c
			}
		}
		t.Fatalf("no check %s / %s in\n%s", comp, item, text(rep))
		return Check{}
	}
	for _, tt := range []struct {
		comp, item string
		want       row
	}{
		{"account doctor-prod", "kms:ListSecrets", row{StatusOK, false}},
		{"account doctor-prod", "kms:DescribeSecret", row{StatusOK, true}},
		{"account doctor-prod", "kms:GetSecretValue", row{StatusOK, false}},
		{"account doctor-prod", "kms:RotateSecret", row{StatusMissing, true}},
		{"account mgmt", "kms:ListSecrets", row{StatusMissing, false}},
		{"account mgmt", "kms:DescribeSecret", row{StatusOK, false}},
		{"account mgmt", "kms:GetSecretValue", row{StatusMissing, false}},
		{"account mgmt", "kms:RotateSecret", row{StatusMissing, false}},
	} {
		c := get(rep, tt.comp, tt.item)
		if (row{c.Status, c.Required}) != tt.want {
			t.Errorf("%s %s: %s required=%v, want %+v (%s)", tt.comp, tt.item, c.Status, c.Required, tt.want, c.Detail)
		}
	}
	rot := get(rep, "account doctor-prod", "kms:RotateSecret")
	if rot.Fix != "grant kms:RotateSecret" || !slices.Contains(rot.NeededBy, "standard (create)") || rot.Answer != "Forbidden.NoPermission" ||
		!strings.Contains(rot.Probe, "SecretName=acs/ram/user/"+rep.ProbeUser) {
		t.Errorf("prod RotateSecret %+v", rot)
	}
	if c := get(rep, "account doctor-prod", "kms:ListSecrets"); !strings.Contains(c.Detail, "1 RAM credentials secret(s)") {
		t.Errorf("prod ListSecrets detail %q", c.Detail)
	}
	if c := get(rep, "account doctor-prod", "kms:DescribeSecret"); !c.Inferred || c.Answer != "Forbidden.ResourceNotFound" {
		t.Errorf("prod DescribeSecret %+v", c)
	}
	if c := get(rep, "account mgmt", "kms:ListSecrets"); c.Fix != "grant kms:ListSecrets" || !strings.Contains(c.Detail, "dead key") || c.Failed() {
		t.Errorf("mgmt ListSecrets %+v", c)
	}
	if c := get(rep, "account mgmt", "kms:RotateSecret"); !strings.Contains(c.Detail, "unknown without kms:ListSecrets") {
		t.Errorf("mgmt RotateSecret detail %q", c.Detail)
	}
	readOnly(t, f.s, start)
	for _, r := range f.s.RequestLog()[start:] {
		if n := r.Params["SecretName"]; (r.Action == "RotateSecret" || r.Action == "GetSecretValue") && n != "acs/ram/user/"+rep.ProbeUser {
			t.Errorf("%s named secret %q", r.Action, n)
		}
	}

	a := newFixture(t, "LTAI5tFAKEDOCTORADMIN001")
	a.conf.ResourceDirectory.Exclude = []string{lockedID, prodID}
	rep = Run(context.Background(), a.opts)
	for _, item := range []string{"kms:ListSecrets", "kms:DescribeSecret", "kms:GetSecretValue", "kms:RotateSecret"} {
		if c := get(rep, "account mgmt", item); c.Status != StatusOK || c.Required {
			t.Errorf("admin %s: %+v", item, c)
		}
	}
	if c := get(rep, "account mgmt", "kms:ListSecrets"); c.Detail != "granted: no RAM credentials secret in this account" {
		t.Errorf("admin ListSecrets detail %q", c.Detail)
	}
}

// stubProber answers every probe with what grants says (granted by default), ListSecrets with
// total.
type stubProber struct {
	grants map[ram.ProbeKind]ram.Grant
	total  *int
	made   []ram.ProbeKind
}

func (s *stubProber) Probe(_ context.Context, kind ram.ProbeKind, t ram.ProbeTarget) ram.ProbeResult {
	s.made = append(s.made, kind)
	g, ok := s.grants[kind]
	if !ok {
		g = ram.GrantGranted
	}
	r := ram.ProbeResult{Kind: kind, Permission: "kms:" + strings.TrimPrefix(string(kind), "Kms."), Grant: g}
	if kind == ram.ProbeListSecrets && g == ram.GrantGranted {
		r.Total = s.total
	}
	return r
}

// TestKMSManaged_playbooks: which playbooks need what. A playbook that deletes first or creates
// nothing never asks KMS to rotate (kms:RotateSecret is not probed for it); one that changes no
// key needs none of it; the count decides what is required.
func TestKMSManaged_playbooks(t *testing.T) {
	builtin := func(name string) *playbooks.Playbook { return builtinPlaybook(t, name) }
	one, zero := 1, 0
	readOnlyPB := &playbooks.Playbook{Name: "look", Steps: []playbooks.Step{{ID: playbooks.StepLocate}, {ID: playbooks.StepNotify}}}
	for _, tt := range []struct {
		name     string
		pbs      []*playbooks.Playbook
		total    *int
		listed   ram.Grant
		items    []string // the checks, in order
		required []string
	}{
		{"standard, KMS manages keys", []*playbooks.Playbook{builtin("standard")}, &one, ram.GrantGranted,
			[]string{"kms:ListSecrets", "kms:DescribeSecret", "kms:GetSecretValue", "kms:RotateSecret"}, []string{"kms:DescribeSecret", "kms:RotateSecret"}},
		{"standard, no RAM secret", []*playbooks.Playbook{builtin("standard")}, &zero, ram.GrantGranted,
			[]string{"kms:ListSecrets", "kms:DescribeSecret", "kms:GetSecretValue", "kms:RotateSecret"}, nil},
		{"standard, cannot list", []*playbooks.Playbook{builtin("standard")}, nil, ram.GrantDenied,
			[]string{"kms:ListSecrets", "kms:DescribeSecret", "kms:GetSecretValue", "kms:RotateSecret"}, nil},
		{"contain-only never rotates", []*playbooks.Playbook{builtin("contain-only")}, &one, ram.GrantGranted,
			[]string{"kms:ListSecrets", "kms:DescribeSecret", "kms:GetSecretValue"}, []string{"kms:DescribeSecret"}},
		{"contain-first never rotates", []*playbooks.Playbook{builtin("contain-first")}, &one, ram.GrantGranted,
			[]string{"kms:ListSecrets", "kms:DescribeSecret", "kms:GetSecretValue"}, []string{"kms:DescribeSecret"}},
		{"a playbook that changes no key", []*playbooks.Playbook{readOnlyPB}, &one, ram.GrantGranted, nil, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			target, err := ram.NewProbeTarget()
			if err != nil {
				t.Fatal(err)
			}
			r := &runner{target: target}
			p := &stubProber{grants: map[ram.ProbeKind]ram.Grant{ram.ProbeListSecrets: tt.listed}, total: tt.total}
			var items, required []string
			for _, c := range r.kmsManaged(context.Background(), "account x", p, tt.pbs) {
				items = append(items, c.Item)
				if c.Required {
					required = append(required, c.Item)
				}
			}
			if !slices.Equal(items, tt.items) || !slices.Equal(required, tt.required) {
				t.Errorf("checks %v required %v, want %v required %v", items, required, tt.items, tt.required)
			}
		})
	}
}
