package doctor

import (
	"context"
	"fmt"
	"slices"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
)

// Keys that KMS Secrets Manager manages (README "Keys managed by KMS"): in the owner's account, a
// plan lists the RAM credentials secrets (kms:ListSecrets) and describes each
// (kms:DescribeSecret), reads the one that names the owner (kms:GetSecretValue), and a playbook
// that creates before it deletes asks KMS to rotate it (kms:RotateSecret).
//
// Which are required follows the rest of doctor: a permission is required when a run cannot do
// what the playbook says without it, optional (reported, not failed) when the run goes on with a
// warning. Without kms:ListSecrets the plan warns that KMS could not be asked and the key is
// rotated like any other: optional, like ActionTrail, and the note says what is at stake (doctor
// has no level between the two). Whether KMS manages keys here is the ListSecrets probe's
// TotalCount: with RAM credentials secrets, kms:DescribeSecret (the listing fails without it) and
// kms:RotateSecret are required; without any (or when it cannot tell), they are reported only.
// kms:GetSecretValue is always optional: without it the user name decides.

const (
	noteKMSList = "optional: without it respond cannot tell that KMS manages a key: every plan warns, and a key KMS manages " +
		"would be rotated around KMS (its secret then serves a dead key)"
	noteKMSNone    = "optional: no RAM credentials secret in this account (ListSecrets TotalCount 0); needed once KMS manages a key here"
	noteKMSUnknown = "optional: whether KMS manages a key here is unknown without kms:ListSecrets; needed if it does"
	noteKMSValue   = "optional: confirms that the secret serves the leaked key, and lets verify sign in with KMS's new key; without it the user name decides"
)

// kmsManaged probes the rotate-via-kms permissions in one account, for the playbooks that change
// keys (create or delete them): ListSecrets first, whose count decides what the others are.
func (r *runner) kmsManaged(ctx context.Context, comp string, p prober, pbs []*playbooks.Playbook) []Check {
	var plan, rotate []string
	for _, pb := range pbs {
		steps := make([]playbooks.StepID, 0, len(pb.Steps))
		for _, s := range pb.Steps {
			steps = append(steps, s.ID)
		}
		if !slices.ContainsFunc(steps, func(s playbooks.StepID) bool {
			return s == playbooks.StepCreate || s == playbooks.StepDelete || s == playbooks.StepEradicate
		}) {
			continue
		}
		plan = append(plan, pb.Name+" (plan)")
		if first, _ := playbooks.KMSDeletesFirst(steps); !first {
			rotate = append(rotate, pb.Name+" ("+string(playbooks.StepCreate)+")")
		}
	}
	if len(plan) == 0 {
		return nil
	}
	list := p.Probe(ctx, ram.ProbeListSecrets, r.target)
	lc := probeCheck(comp, &need{kind: ram.ProbeListSecrets, neededBy: plan, note: noteKMSList}, list)
	managed, note := false, noteKMSUnknown
	if list.Grant == ram.GrantGranted && list.Total != nil {
		managed = *list.Total > 0
		note = noteKMSNone
		lc.Detail = "granted: no RAM credentials secret in this account"
		if managed {
			note = ""
			lc.Detail = fmt.Sprintf("granted: %d RAM credentials secret(s) in this account: KMS manages keys here", *list.Total)
		}
	}
	out := []Check{lc}
	t := r.target
	t.SecretName = t.RAMSecretName() // DescribeSecret names what it is given: the probe user's secret
	out = append(out, probeCheck(comp, &need{kind: ram.ProbeDescribeSecret, required: managed, neededBy: plan, note: note},
		p.Probe(ctx, ram.ProbeDescribeSecret, t)))
	out = append(out, probeCheck(comp, &need{kind: ram.ProbeGetSecretValue, neededBy: plan, note: noteKMSValue},
		p.Probe(ctx, ram.ProbeGetSecretValue, t)))
	if len(rotate) > 0 {
		out = append(out, probeCheck(comp, &need{kind: ram.ProbeRotateSecret, required: managed, neededBy: rotate, note: note},
			p.Probe(ctx, ram.ProbeRotateSecret, t)))
	}
	return out
}
