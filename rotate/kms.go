package rotate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
)

// Keys that KMS Secrets Manager manages (issue 18; alibaba-api.md §13). A RAM credentials secret
// owns its user's AccessKey: applications read the pair from KMS, and KMS rotates it (RAM creates
// the new pair, then deletes the old one). respond must not create and delete keys around KMS:
// the user would hold a key KMS does not know, KMS would serve a deleted key, and KMS's next
// rotation could fail at the two-key limit. So the inspection asks KMS whether a secret manages
// the owner's key, and the plan rotates through it (plan_kms.go, step_kms.go).

// KMSCloud is what the engine asks KMS Secrets Manager (*ram.Client implements it; part of Cloud).
type KMSCloud interface {
	// ListRAMSecrets lists the account's RAM credentials secrets with the user each manages.
	ListRAMSecrets(ctx context.Context) ([]ram.RAMSecret, error)
	// GetRAMSecretValue reads the pair a secret serves at a stage (ram.StageCurrent, ...).
	GetRAMSecretValue(ctx context.Context, name, stage string) (ram.RAMSecretValue, error)
	// RotateSecret asks KMS to rotate now; versionID is the idempotency key.
	RotateSecret(ctx context.Context, name, versionID string) (ram.SecretRotation, error)
}

var _ KMSCloud = (*ram.Client)(nil)

// How the leaked key was tied to a KMS secret (KMSMatch.Evidence).
const (
	// KMSEvidenceCurrent: the secret's ACSCurrent version holds the leaked key.
	KMSEvidenceCurrent = "current"
	// KMSEvidencePrevious: its ACSPrevious version holds it (KMS rotated, the old key lives on).
	KMSEvidencePrevious = "previous"
	// KMSEvidenceUserName: the secret manages the owner (ExtendedConfig.UserName); its value
	// could not be read to confirm the key.
	KMSEvidenceUserName = "user-name"
	// KMSEvidenceOtherKey: the secret manages the owner but serves another of its keys: the
	// leaked key is not KMS's, and is rotated like any other (with a warning).
	KMSEvidenceOtherKey = "other-key"
)

// KMSMatch is the KMS secret that manages the owner's key, as the inspection found it.
type KMSMatch struct {
	Secret ram.RAMSecret `json:"secret"`
	// Evidence is one of the KMSEvidence* values.
	Evidence string `json:"evidence"`
	// Current is the key the secret's ACSCurrent version holds, when it could be read.
	Current accesskey.ID `json:"current,omitzero"`
	// ValueErr is why the secret's value could not be read (the match is by user name only).
	ValueErr string `json:"value_error,omitempty"`
	// Others are further secrets that name the same user (not used).
	Others []string `json:"others,omitempty"`
}

// manages reports whether the match says KMS serves the leaked key (rotate through KMS).
func (m *KMSMatch) manages() bool { return m != nil && m.Evidence != KMSEvidenceOtherKey }

// kmsSecrets caches each account's RAM credentials secrets for a run (a batch shares it): one
// ListSecrets and one DescribeSecret per secret, per account and run.
type kmsSecrets struct {
	mu  sync.Mutex
	acc map[string]*kmsListing
}

type kmsListing struct {
	once sync.Once
	list []ram.RAMSecret
	err  error
}

func newKMSSecrets() *kmsSecrets { return &kmsSecrets{acc: map[string]*kmsListing{}} }

// list returns the account's RAM credentials secrets, listing them once.
func (c *kmsSecrets) list(ctx context.Context, account string, api KMSCloud) ([]ram.RAMSecret, error) {
	if c == nil {
		return api.ListRAMSecrets(ctx)
	}
	c.mu.Lock()
	l := c.acc[account]
	if l == nil {
		l = &kmsListing{}
		c.acc[account] = l
	}
	c.mu.Unlock()
	l.once.Do(func() { l.list, l.err = api.ListRAMSecrets(ctx) })
	return l.list, l.err
}

// KMSWarningPrefix starts the warning of an inspection that could not ask KMS.
const KMSWarningPrefix = "KMS Secrets Manager: "

// inspectKMS finds whether a RAM credentials secret manages the owner's key: the account's
// secrets (cached per run) whose ExtendedConfig.UserName is the owner, then, when the caller may
// read it, the secret's ACSCurrent (and ACSPrevious) AccessKeyId against the leaked id. An
// error of the listing is kept in snap.KMSErr (a warning: the rotation goes on without KMS).
func inspectKMS(ctx context.Context, snap *Snapshot, api KMSCloud, id accesskey.ID, d Deps) {
	if snap.Owner.Root || snap.Owner.UserName == "" {
		return
	}
	secrets, err := d.kms.list(ctx, snap.Owner.Account.ID, api)
	if err != nil {
		snap.KMSErr = fmt.Errorf("list RAM credentials secrets: %w", err)
		return
	}
	var mine []ram.RAMSecret
	for _, s := range secrets {
		if s.UserName == snap.Owner.UserName {
			mine = append(mine, s)
		}
	}
	if len(mine) == 0 {
		return
	}
	sort.Slice(mine, func(i, k int) bool { return mine[i].Name < mine[k].Name })
	var best *KMSMatch
	for _, s := range mine {
		m := matchSecret(ctx, api, s, id)
		if best == nil || rank(m) < rank(*best) {
			mm := m
			best = &mm
		}
	}
	for _, s := range mine {
		if s.Name != best.Secret.Name {
			best.Others = append(best.Others, s.Name)
		}
	}
	snap.KMS = best
}

// matchSecret reads one secret's value to tell how it relates to the leaked key.
func matchSecret(ctx context.Context, api KMSCloud, s ram.RAMSecret, id accesskey.ID) KMSMatch {
	m := KMSMatch{Secret: s, Evidence: KMSEvidenceUserName}
	v, err := api.GetRAMSecretValue(ctx, s.Name, ram.StageCurrent)
	if err != nil {
		m.ValueErr = err.Error()
		return m
	}
	m.Current = v.AccessKeyID
	if v.AccessKeyID == id {
		m.Evidence = KMSEvidenceCurrent
		return m
	}
	m.Evidence = KMSEvidenceOtherKey
	if prev, err := api.GetRAMSecretValue(ctx, s.Name, ram.StagePrevious); err == nil && prev.AccessKeyID == id {
		m.Evidence = KMSEvidencePrevious
	}
	return m
}

// rank orders matches, strongest evidence first.
func rank(m KMSMatch) int {
	return slices.Index([]string{KMSEvidenceCurrent, KMSEvidencePrevious, KMSEvidenceUserName, KMSEvidenceOtherKey}, m.Evidence)
}

// KMSVersionID is the RotateSecret VersionId of a rotation: derived from the rotation's first
// run id (the journal's), so that a resumed run asks again with the same id and KMS takes it for
// the same request (an existing VersionId is ignored and answered with success).
func KMSVersionID(runID string) string {
	v := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-':
			return r
		}
		return '-'
	}, runID)
	if len(v) > 55 {
		v = v[:55]
	}
	return "respond-" + v
}

// KMSFallbackError is why a KMS-managed key was deleted by respond itself rather than by KMS's
// rotation (the playbook deletes first, KMS did not finish within kms-wait, KMS refused the
// rotation): the leaked key is gone, but KMS serves a dead key until its rotation completes. The
// run ends partial (exit 4); running it again waits for KMS.
type KMSFallbackError struct {
	Secret string
	Reason string
}

func (e *KMSFallbackError) Error() string {
	return e.Reason + ": respond deleted the leaked key itself; KMS secret " + accesskey.Printable(e.Secret) +
		" serves a dead key until its rotation completes (consumers fail until then)"
}

// isRotationLimit reports KMS's hourly rotation limit.
func isRotationLimit(err error) bool { return errors.Is(err, ram.ErrRotationLimit) }
