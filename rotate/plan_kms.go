package rotate

import (
	"fmt"
	"strings"
	"time"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram/accesskey"
)

// DecisionRotateViaKMS: a KMS RAM credentials secret manages the leaked key; KMS rotates it
// (RotateSecret), respond waits for KMS to replace and delete it, then purges, verifies and
// notifies. respond creates no key and writes no sink (kms.go, step_kms.go).
const DecisionRotateViaKMS Decision = playbooks.DecisionRotateViaKMS

// KMSPlan is how a rotate-via-kms plan goes through KMS.
type KMSPlan struct {
	Secret string `json:"secret"`
	Arn    string `json:"arn,omitempty"`
	// Evidence is how the leaked key was tied to the secret (KMSEvidence*), EvidenceNote in words.
	Evidence     string `json:"evidence"`
	EvidenceNote string `json:"evidence_note"`
	// VersionID is RotateSecret's idempotency key (KMSVersionID of the rotation's first run id;
	// "respond-<run id>" before the first run).
	VersionID string `json:"version_id"`
	// Wait bounds the wait for KMS's rotation (kms-wait).
	Wait time.Duration `json:"wait_ns"`
	// DeletesFirst: respond deletes the leaked key itself at once (the playbook deletes first or
	// creates nothing, or the user is at the two-key limit), Why says why; KMS then serves a
	// dead key until its rotation completes.
	DeletesFirst bool   `json:"deletes_first"`
	Why          string `json:"why,omitempty"`
	// Rotated: KMS already rotated (ACSCurrent holds a new key, the leaked key is ACSPrevious):
	// respond asks for no rotation and waits for KMS to delete the leaked key.
	Rotated bool `json:"rotated,omitempty"`
	// NoSink says why respond creates no key and writes no sink.
	NoSink string `json:"no_sink"`
	// Fallback is what respond does when KMS does not finish within Wait.
	Fallback string `json:"fallback,omitempty"`
}

// KMSNoSink is why a rotate-via-kms plan creates no key and writes no sink.
const KMSNoSink = "KMS is the sink: the applications read the pair from the secret, and KMS's rotation " +
	"creates the new key (RAM, through KMS's role AliyunKMSManagedRAMCrendentialsRole) and moves the secret's " +
	"ACSCurrent version to it; a key respond created would be one KMS does not know, and would take the slot KMS needs"

// KMSCacheWarning is the plan's warning about the applications that cache the secret.
const KMSCacheWarning = "applications that cache KMS secret %s keep the old key until they read it again " +
	"(the Go KMS plug-in refreshes every 6 hours and does not retry on an invalid key): restart them once the rotation is done"

// kmsPlan turns the plan into a rotate-via-kms plan when a KMS secret manages the leaked key
// (snap.KMS), else only adds the warnings about KMS. It reports whether it did.
func (p *Plan) kmsPlan(snap Snapshot, s Settings, atLimit bool) bool {
	if snap.KMSErr != nil {
		p.Warnings = append(p.Warnings, KMSWarningPrefix+"could not be asked whether it manages this key ("+snap.KMSErr.Error()+
			"); if it does, its secret will serve a dead key once the leaked key is deleted — grant kms:ListSecrets and kms:DescribeSecret")
	}
	m := snap.KMS
	if m == nil {
		return false
	}
	if !m.manages() {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%ssecret %s manages user %s but serves %s, not the leaked key: the leaked key is rotated by respond; KMS's next rotation may fail at the two-key limit",
			KMSWarningPrefix, m.Secret.Name, m.Secret.UserName, m.Current))
		return false
	}
	p.Decision = DecisionRotateViaKMS
	p.Reason = "KMS secret " + m.Secret.Name + " manages this key: KMS rotates it, respond waits for KMS, then purges and verifies"
	version := "respond-<run id>"
	if snap.Resume != nil && snap.Resume.RunID != "" {
		version = KMSVersionID(snap.Resume.RunID)
	}
	k := &KMSPlan{Secret: m.Secret.Name, Arn: m.Secret.Arn, Evidence: m.Evidence, VersionID: version, Wait: s.KMSWait, NoSink: KMSNoSink}
	switch m.Evidence {
	case KMSEvidenceCurrent:
		k.EvidenceNote = "the secret's ACSCurrent version holds the leaked key"
	case KMSEvidencePrevious:
		k.EvidenceNote = "the secret's ACSPrevious version holds the leaked key: KMS rotated it and has not deleted it yet"
	default:
		k.EvidenceNote = "the secret manages user " + m.Secret.UserName + "; its value could not be read to confirm the key (" + m.ValueErr + ")"
		p.Warnings = append(p.Warnings, KMSWarningPrefix+"the leaked key is taken for the one secret "+m.Secret.Name+
			" serves by its user name alone: kms:GetSecretValue was not possible ("+m.ValueErr+")")
	}
	if len(m.Others) > 0 {
		p.Warnings = append(p.Warnings, KMSWarningPrefix+"user "+m.Secret.UserName+" is also named by secrets "+strings.Join(m.Others, ", ")+": only "+m.Secret.Name+" is rotated")
	}
	k.DeletesFirst, k.Why = playbooks.KMSDeletesFirst(s.Steps)
	// KMS already rotated (the leaked key is ACSPrevious): no second rotation, and the two keys
	// are KMS's own doing, not the limit
	k.Rotated = m.Evidence == KMSEvidencePrevious
	if !k.DeletesFirst && atLimit && !k.Rotated && kmsSlotTaken(snap, p.KeyID) {
		k.DeletesFirst, k.Why = true, "the user holds 2 AccessKeys (the RAM limit): KMS has no slot to create the new one, so the leaked key is deleted at once"
	}
	if k.DeletesFirst {
		k.Fallback = "KMS serves a dead key until its rotation completes: rotate secret " + m.Secret.Name +
			" in KMS (RotateSecret), then run respond again to verify (exit 4 until then)"
		p.LeftForHuman = append(p.LeftForHuman, "have KMS rotate secret "+m.Secret.Name+" (console, or RotateSecret) so that it serves a live key, then run respond again")
	} else {
		k.Fallback = fmt.Sprintf("if KMS has not replaced and deleted the leaked key within %s (kms-wait), respond deletes it itself "+
			"(KMS then serves a dead key until its rotation completes) and exits 4; running respond again waits for KMS", s.KMSWait)
	}
	p.KMS = k
	p.Sinks = nil
	p.Warnings = append(p.Warnings, fmt.Sprintf(KMSCacheWarning, m.Secret.Name))
	return true
}

// kmsSlotTaken reports whether the user's other key leaves KMS no slot for a new one: a key the
// cloud dates from an unfinished rotation's start on is KMS's own new key (an earlier run asked
// for the rotation), not a slot taken.
func kmsSlotTaken(snap Snapshot, leaked accesskey.ID) bool {
	for _, k := range snap.Keys {
		if k.ID == leaked {
			continue
		}
		if r := snap.Resume; r != nil && r.Unfinished() && !r.Started.IsZero() && !k.CreateDate.Before(r.Started.Add(-CreateDateSkew)) {
			continue
		}
		return true
	}
	return false
}

// kmsStep is a step of a rotate-via-kms plan that differs from a rotation's: create (KMS's
// rotation), store (none: KMS is the sink), delete (the wait for KMS, then the purge) and verify.
// ok is false for the steps planned as in any rotation.
func (p *Plan) kmsStep(st playbooks.StepID, id accesskey.ID, user, userID string, s Settings, leakedPresent bool) (PlannedStep, bool) {
	k := p.KMS
	if k == nil {
		return PlannedStep{}, false
	}
	ps := PlannedStep{Step: st}
	switch st {
	case playbooks.StepCreate:
		if k.DeletesFirst {
			ps.Actions = []string{"none: respond creates no key for a user KMS manages"}
			ps.Note = k.Why + "; " + k.Fallback
			return ps, true
		}
		if k.Rotated {
			ps.Actions = []string{"none: KMS already rotated secret " + k.Secret + " (ACSCurrent holds a new key); respond asks for no second rotation"}
			return ps, true
		}
		ps.Actions = []string{"kms:RotateSecret(SecretName=" + k.Secret + ", VersionId=" + k.VersionID + ")"}
		ps.Note = "KMS creates the replacement (respond creates none); the VersionId makes a repeated request the same one. " +
			"A rotation already in progress is waited for; at KMS's limit (50 rotations an hour) respond deletes the leaked key itself and exits 4"
	case playbooks.StepStore:
		ps.Actions = []string{"none: KMS is the sink (secret " + k.Secret + ", version stage ACSCurrent)"}
		ps.Note = k.NoSink
	case playbooks.StepDelete:
		if k.DeletesFirst {
			return PlannedStep{}, false
		}
		ps.Actions = append([]string{
			"kms:GetSecretValue(SecretName=" + k.Secret + ", VersionStage=ACSCurrent) and ram:ListAccessKeys(UserName=" + user + ") every " +
				pollText(s.VerifyInterval, k.Wait) + ", until ACSCurrent holds a new key and the leaked key is gone (at most " + k.Wait.String() + ")",
		}, purgeActions(userID, id)...)
		ps.Note = "KMS deletes the leaked key (deleted, never disabled); then respond purges it from the recycle bin: " + PurgeWhy + "; " + k.Fallback
		if !leakedPresent {
			ps.Note = "the leaked key is already deleted; " + ps.Note
		}
	case playbooks.StepVerify:
		ps = verifyStep(s, user, id, !k.DeletesFirst, p.SecretKnown)
		if !k.DeletesFirst {
			ps.Note += "; the new key is KMS's, its secret read from ACSCurrent during the wait (never shown)"
		}
	default:
		return PlannedStep{}, false
	}
	return ps, true
}

func pollText(interval, wait time.Duration) string {
	first, most := kmsPolls(interval, wait)
	if first == most {
		return first.String()
	}
	return first.String() + " to " + most.String()
}

// rotates reports whether the plan changes a key: rotate, purge or rotate-via-kms.
func (p Plan) rotates() bool {
	return p.Decision == DecisionRotate || p.Decision == DecisionPurge || p.Decision == DecisionRotateViaKMS
}

// writeKMSText is the plan's KMS section.
func writeKMSText(b *strings.Builder, p Plan) {
	k := p.KMS
	if k == nil {
		return
	}
	pr := accesskey.Printable
	fmt.Fprintf(b, "KMS: secret %s manages this key (%s)\n", pr(k.Secret), pr(k.EvidenceNote))
	fmt.Fprintf(b, "  no create, no sink: %s\n", k.NoSink)
	if k.DeletesFirst {
		fmt.Fprintf(b, "  deleted at once: %s\n", pr(k.Why))
	}
	fmt.Fprintf(b, "  if KMS is slow: %s\n", pr(k.Fallback))
}
