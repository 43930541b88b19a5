package playbooks

import (
	"fmt"
	"slices"
	"time"
)

// Keys that KMS Secrets Manager manages (a RAM credentials secret owns the user's AccessKey and
// rotates it): the engine rotates them through KMS (RotateSecret) instead of creating and
// deleting keys around it, and waits, bounded by the delete step's kms-wait, for KMS to delete
// the leaked key (README "Keys managed by KMS").

// DecisionRotateViaKMS is the plan's decision for a leaked key that a KMS RAM credentials secret
// manages: KMS creates the replacement and deletes the leaked key; respond asks for the
// rotation, waits, purges, verifies and notifies (the engine's rotate.Decision of the same text).
const DecisionRotateViaKMS = "rotate-via-kms"

// Defaults and limits of the delete step's kms-wait: how long respond waits for KMS to finish a
// rotation (the documented window of an immediate rotation is minutes, at worst longer) before
// it deletes the leaked key itself. Never more than an hour: the leaked key is not left alive
// because KMS is slow.
const (
	DefaultKMSWait = 10 * time.Minute
	MaxKMSWait     = time.Hour
)

// KMSOptions are the delete step's options about keys that KMS manages.
type KMSOptions struct {
	// KMSWait bounds the wait for KMS's rotation (kms-wait).
	KMSWait time.Duration
}

var kmsOptionKeys = []string{"kms-wait"}

func defaultKMSOptions() KMSOptions { return KMSOptions{KMSWait: DefaultKMSWait} }

// checkKMSWait refuses a kms-wait of 0 in a file (in code, 0 means the default).
func checkKMSWait(l *errList, f field, d time.Duration) time.Duration {
	if d <= 0 {
		l.addAt(at(f.v), "%s: %s is out of range: expected more than 0 and at most %s", f.place, d, MaxKMSWait)
	}
	return d
}

func validateKMSOptions(l *errList, s Step, place string, ps positions) {
	// 0 is the default (a playbook built in code); the file's 0 is refused by decodeKMSOption
	if w := s.Options.KMSWait; w < 0 || w > MaxKMSWait {
		l.addAt(ps.at(place+".kms-wait"), "%s.kms-wait: %s is out of range: expected more than 0 and at most %s (how long respond waits for KMS to rotate a key it manages before deleting the leaked key itself)",
			place, w, MaxKMSWait)
	}
}

// KMSDeletesFirst says whether a playbook with these steps deletes a KMS-managed leaked key
// itself instead of waiting for KMS's rotation, and why: a playbook that deletes before it
// creates (contain-first) or creates nothing (contain-only) wants the key dead now, whatever KMS
// does; KMS then serves a dead key until its rotation completes.
func KMSDeletesFirst(steps []StepID) (bool, string) {
	c, d := slices.Index(steps, StepCreate), slices.Index(steps, StepDelete)
	switch {
	case c < 0:
		return true, "the playbook creates no replacement (contain-only): the leaked key is deleted at once"
	case d >= 0 && d < c:
		return true, fmt.Sprintf("the playbook deletes before it creates (%s before %s, contain-first): the leaked key is deleted at once, without waiting for KMS", StepDelete, StepCreate)
	}
	return false, ""
}
