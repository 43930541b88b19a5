// Package rotate is the engine of respond: Plan decides, as a pure function of what is known, what
// a rotation will do; Execute does it, step by step, journaled so that an interrupted run can be
// resumed by running it again, under a per-key lock, with an audit trail.
package rotate

import (
	"fmt"
	"slices"
	"time"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/assess"
	"github.com/respond-dev/respond/rotate/sink"
)

// PlanSchema names the JSON schema of a Plan (see README.md).
const PlanSchema = "respond.plan/v1"

// Decision is what Plan decided.
type Decision string

// Decisions.
const (
	DecisionRotate            Decision = "rotate"
	DecisionRefuseCanary      Decision = "refuse-canary"
	DecisionRefuseSelf        Decision = "refuse-self"
	DecisionRefuseRoot        Decision = "refuse-root"
	DecisionRefuseSTS         Decision = "refuse-sts"
	DecisionAlreadyRemediated Decision = "already-remediated"
	DecisionOwnerNotFound     Decision = "owner-not-found"
	// DecisionPurge: the key was already deleted (in the console, or by a run that stopped before
	// its purge) and sits in its user's recycle bin, restorable: purge it (plan_bin.go).
	DecisionPurge Decision = "purge"
)

// PlannedStep is one step as the plan shows it, with the API actions it will call.
type PlannedStep struct {
	Step    playbooks.StepID `json:"step"`
	Actions []string         `json:"actions"`
	Note    string           `json:"note,omitempty"`
}

// PlannedSink is a sink as the plan shows it.
type PlannedSink struct {
	Name     string `json:"name"`
	Kind     string `json:"kind"`
	Describe string `json:"describe"`
}

// DescribeSinks turns sinks into plan data.
func DescribeSinks(sinks []sink.Sink) []PlannedSink {
	out := make([]PlannedSink, 0, len(sinks))
	for _, s := range sinks {
		out = append(out, PlannedSink{Name: s.Name(), Kind: s.Kind(), Describe: s.Describe()})
	}
	return out
}

// OtherKey is a key of the owner that respond will not touch.
type OtherKey struct {
	ID         accesskey.ID `json:"id"`
	Status     string       `json:"status"`
	CreateDate time.Time    `json:"create_date,omitzero"`
	Note       string       `json:"note"`
}

// DeleteNotDisable is why respond deletes the leaked key instead of disabling it.
const DeleteNotDisable = "Alibaba's console guidance disables first; a disabled key can be re-enabled, " +
	"and a leaked key must never be used again — respond deletes"

// ReorderReason is why the delete moves before the create at the two-key limit.
const ReorderReason = "the user already holds 2 AccessKeys (the RAM limit), so the leaked key is deleted " +
	"before the replacement is created"

// Plan is the decision and the steps of a rotation, as data. Its JSON form is the schema
// respond.plan/v1 (README.md).
type Plan struct {
	Schema     string            `json:"schema"`
	KeyID      accesskey.ID      `json:"key_id"`
	Playbook   string            `json:"playbook,omitempty"`
	Decision   Decision          `json:"decision"`
	Reason     string            `json:"reason,omitempty"`
	Locations  []detect.Location `json:"locations,omitempty"`
	Owner      *ram.Owner        `json:"owner,omitempty"`
	KeyStatus  string            `json:"key_status,omitempty"`
	KeyCreated time.Time         `json:"key_created,omitzero"`
	LastUsed   time.Time         `json:"last_used,omitzero"`
	OtherKeys  []OtherKey        `json:"other_keys,omitempty"`
	AtKeyLimit bool              `json:"at_key_limit"`
	// Reordered is set when the plan moved delete before create because of the key limit.
	Reordered     bool          `json:"reordered"`
	ReorderReason string        `json:"reorder_reason,omitempty"`
	Steps         []PlannedStep `json:"steps,omitempty"`
	Sinks         []PlannedSink `json:"sinks,omitempty"`
	// DeleteNotDisable says why the leaked key is deleted, not disabled.
	DeleteNotDisable string `json:"delete_not_disable,omitempty"`
	// Purge says why the delete step also purges the key from the recycle bin (PurgeReason).
	Purge string `json:"purge,omitempty"`
	// RecycleBin is the key in its user's recycle bin (decision purge): deleted, restorable
	// until RecycleBin.DeleteDate.
	RecycleBin  *ram.BinnedKey `json:"recycle_bin,omitempty"`
	SecretKnown bool           `json:"secret_known"`
	// Resuming is set when a journal shows an unfinished earlier run that this plan continues.
	Resuming     bool     `json:"resuming"`
	LeftForHuman []string `json:"left_for_human,omitempty"`
	// Assessment is what the key did in the window (ActionTrail, respond's own calls excluded);
	// nil when the events could not be read (see Warnings).
	Assessment *assess.Assessment `json:"assessment,omitempty"`
	// Warnings are problems that do not stop the rotation (e.g. no ActionTrail permission).
	Warnings []string `json:"warnings,omitempty"`
	// SecretMatch is what the secret-match strategy did for a secret found without its id.
	SecretMatch *ram.MatchReport `json:"secret_match,omitempty"`
	// Settings the execution needs.
	OnStoreFailure    string        `json:"on_store_failure"`
	VerifyTimeout     time.Duration `json:"verify_timeout_ns"`
	VerifyInterval    time.Duration `json:"verify_interval_ns"`
	CheckLeakedSecret bool          `json:"check_leaked_secret"`
	Canary            bool          `json:"canary"`
	AssessWindow      time.Duration `json:"assess_window_ns"`
	OwnUserAgent      string        `json:"own_user_agent,omitempty"`
	// IncidentPlan is the hunt's graph and the planned containment and eradication (plan_incident.go).
	IncidentPlan
	// KMS is how a rotate-via-kms plan goes through KMS (plan_kms.go).
	KMS *KMSPlan `json:"kms,omitempty"`

	secret accesskey.Secret // the leaked secret, for verification only; never marshalled
}

// NewPlan decides what to do with a finding. It is pure: no I/O, no clock. (Go does not allow a
// function and a type both named Plan.)
func NewPlan(f detect.Finding, snap Snapshot, s Settings) Plan {
	s = s.withDefaults()
	p := Plan{
		Schema:            PlanSchema,
		KeyID:             f.KeyID,
		Playbook:          s.Playbook,
		Locations:         f.Locations,
		SecretKnown:       !f.Secret.IsZero(),
		OnStoreFailure:    s.OnStoreFailure,
		VerifyTimeout:     s.VerifyTimeout,
		VerifyInterval:    s.VerifyInterval,
		CheckLeakedSecret: s.CheckLeakedSecret,
		AssessWindow:      s.AssessWindow,
		OwnUserAgent:      s.OwnUserAgent,
		Sinks:             s.Sinks,
		secret:            f.Secret,
	}
	if !f.KeyID.IsSTS() {
		p.Assessment, p.Warnings = planAssessment(f.KeyID, snap, s.AssessWindow, s.OwnUserAgent)
	}
	if snap.Found || snap.AlreadyGone {
		o := snap.Owner
		p.Owner = &o
	}
	for _, c := range s.Canaries {
		if c == f.KeyID {
			p.Canary = true
		}
	}
	switch {
	case f.KeyID.IsSTS():
		p.Decision = DecisionRefuseSTS
		p.Reason = "an STS id is a temporary credential: it cannot be deleted through RAM and expires on its own"
		p.LeftForHuman = []string{"find the RAM role or user that issued the temporary credential, revoke its sessions, and rotate the long-term key behind it if that leaked too"}
		return p
	case p.Canary:
		p.Decision = DecisionRefuseCanary
		p.Reason = "the key is a canary (honeytoken): it is never rotated; its use is an alert"
		p.Steps = []PlannedStep{{Step: playbooks.StepNotify, Actions: []string{"notify: canary alert"}}}
		p.LeftForHuman = []string{"treat the canary's exposure as an intrusion signal: find where it leaked and who used it"}
		return p
	case !s.Self.IsZero() && s.Self == f.KeyID:
		p.Decision = DecisionRefuseSelf
		p.Reason = "the key is the one respond is signed in with; rotating it would cut respond off mid-way"
		p.LeftForHuman = []string{"run respond with other credentials (another RAM user or role) to rotate this key"}
		return p
	case untrustedIDOnly(f, s.Trusts):
		idOnlyPlan(&p, f)
		return p
	}
	resuming := snap.Resume != nil && snap.Resume.Unfinished()
	if snap.Binned != nil && !snap.Owner.Root && !(resuming && snap.KMS.manages()) {
		return planPurge(p, f, snap, s, resuming)
	}
	if snap.AlreadyGone && !resuming {
		p.Decision = DecisionAlreadyRemediated
		p.Reason = "the key is no longer in its owner's AccessKeys nor in the recycle bin: it was already deleted and purged"
		if snap.BinErr != nil {
			p.Reason = "the key is no longer in its owner's AccessKeys, but the recycle bin could not be checked: " +
				"the run asks it again and ends already-remediated only if no bin holds the key (else partial)"
		}
		binUnchecked(&p, snap)
		p.planLifts(snap, true)
		if slices.Contains(s.Steps, playbooks.StepClose) && len(s.CloseCalls) > 0 {
			p.Steps = append(p.Steps, closeStep(s))
		}
		return p
	}
	if !snap.Found && !snap.AlreadyGone {
		p.Decision = DecisionOwnerNotFound
		p.Reason = "no RAM user in the configured accounts owns the key"
		if snap.LocateErr != nil {
			p.Reason += " (" + snap.LocateErr.Error() + ")"
		}
		p.LeftForHuman = []string{"add the account that owns the key to the configuration, or check that the id is complete and not redacted"}
		if snap.JournalDoubt != "" {
			p.Reason += "; " + snap.JournalDoubt + ": the journal is not acted on"
		}
		return p
	}
	if snap.JournalDoubt != "" {
		journalUnconfirmedPlan(&p, snap)
		return p
	}
	if snap.Owner.Root {
		p.Decision = DecisionRefuseRoot
		p.Reason = "the key belongs to the root account, which RAM cannot rotate"
		p.LeftForHuman = []string{
			"sign in to the console as the account owner, delete this AccessKey (AccessKey Management), and use RAM users instead of root keys",
		}
		return p
	}
	p.Decision = DecisionRotate
	p.Resuming = resuming
	p.DeleteNotDisable = DeleteNotDisable
	p.Purge = PurgeReason
	user := snap.Owner.UserName
	var leakedPresent bool
	for _, k := range snap.Keys {
		if k.ID == f.KeyID {
			leakedPresent = true
			p.KeyStatus = k.Status
			p.KeyCreated = k.CreateDate
			continue
		}
		note := "not touched"
		if snap.Resume != nil && ownKey(*snap.Resume, k) {
			note = "created by an earlier respond run: kept if stored in every sink, else deleted and created again"
		}
		p.OtherKeys = append(p.OtherKeys, OtherKey{ID: k.ID, Status: k.Status, CreateDate: k.CreateDate, Note: note})
	}
	if p.KeyStatus == "" && snap.Owner.Key.Status != "" {
		p.KeyStatus = snap.Owner.Key.Status
		p.KeyCreated = snap.Owner.Key.CreateDate
	}
	p.LastUsed = snap.LastUsed
	if snap.LastUsedErr != nil {
		p.Warnings = append(p.Warnings, "last use unknown: "+snap.LastUsedErr.Error())
	}
	p.AtKeyLimit = leakedPresent && len(snap.Keys) >= 2
	kms := p.kmsPlan(snap, s, p.AtKeyLimit)
	if kms {
		p.RecycleBin = snap.Binned
	}

	order := append([]playbooks.StepID(nil), s.Steps...)
	if c := slices.Index(order, playbooks.StepCreate); !kms && p.AtKeyLimit && c >= 0 && c < slices.Index(order, playbooks.StepDelete) {
		order = moveBefore(order, playbooks.StepDelete, playbooks.StepCreate)
		p.Reordered = true
		p.ReorderReason = ReorderReason
	}
	p.planIncident(f.KeyID, snap, s, leakedPresent)
	for _, st := range order {
		ps := PlannedStep{Step: st}
		if ks, ok := p.kmsStep(st, f.KeyID, user, snap.Owner.UserID, s, leakedPresent); ok {
			p.Steps = append(p.Steps, ks)
			continue
		}
		switch st {
		case playbooks.StepHunt, playbooks.StepContain, playbooks.StepEradicate:
			ps = p.incidentStep(ps)
		case playbooks.StepLocate:
			strategy := snap.Owner.Strategy
			if strategy == "" {
				strategy = "journal"
			}
			ps.Actions = []string{"done before planning (strategy " + strategy + ")"}
		case playbooks.StepAssess:
			ps.Actions = []string{
				"ram:ListAccessKeys(UserName=" + user + ")",
				"ram:GetAccessKeyLastUsed(UserName=" + user + ", UserAccessKeyId=" + f.KeyID.String() + ")",
				"actiontrail:DescribeRegions",
				"actiontrail:LookupEvents(EventAccessKeyId=" + f.KeyID.String() + ") " + regionsText(s.AssessRegions),
			}
		case playbooks.StepCreate:
			ps.Actions = []string{"ram:CreateAccessKey(UserName=" + user + ")"}
			if p.Reordered {
				ps.Note = "after the delete: " + ReorderReason
			}
		case playbooks.StepStore:
			ps.Actions = storeActions(s.Sinks)
			if s.OnStoreFailure == playbooks.OnStoreFailureHold {
				ps.Note = "if a sink fails: the replacement is deleted, the leaked key is kept, and respond stops"
			} else {
				ps.Note = "if a sink fails: the replacement is deleted and the leaked key is still deleted"
			}
		case playbooks.StepDelete:
			ps.Actions = append([]string{"ram:DeleteAccessKey(UserName=" + user + ", UserAccessKeyId=" + f.KeyID.String() + ")"},
				purgeActions(snap.Owner.UserID, f.KeyID)...)
			ps.Note = "delete, not disable: " + DeleteNotDisable + "; then purge from the recycle bin: " + PurgeWhy
			if !leakedPresent {
				ps.Actions = purgeActions(snap.Owner.UserID, f.KeyID)
				ps.Note = "already deleted by an earlier run: only the purge, or its check, is left (" + PurgeWhy + ")"
				binUnchecked(&p, snap)
			}
		case playbooks.StepVerify:
			ps = verifyStep(s, user, f.KeyID, slices.Contains(s.Steps, playbooks.StepCreate), p.SecretKnown)
		case playbooks.StepClose:
			if len(s.CloseCalls) == 0 {
				continue // the finding's source has no alert: nothing to close, nothing to show
			}
			ps = closeStep(s)
		case playbooks.StepNotify:
			ps.Actions = notifyActions()
		}
		p.Steps = append(p.Steps, ps)
	}
	p.LeftForHuman = append(leftForHuman(), p.LeftForHuman...)
	p.LeftForHuman = append(p.LeftForHuman, p.incidentLeft()...)
	return p
}

// AssessWarningPrefix starts every warning about the impact assessment.
const AssessWarningPrefix = "impact assessment: "

// planAssessment summarises the snapshot's events over window (pure: the window ends at the
// query's end, not at the clock).
func planAssessment(id accesskey.ID, snap Snapshot, window time.Duration, ownUA string) (*assess.Assessment, []string) {
	if snap.AssessErr != nil {
		return nil, []string{AssessWarningPrefix + "unavailable (" + snap.AssessErr.Error() +
			"); the rotation goes on without it — grant actiontrail:LookupEvents to see what the key did"}
	}
	q := snap.EventQuery
	if q.End.IsZero() || q.AccessKeyID != id {
		return nil, nil
	}
	a := summarizeEvents(snap.Events, snap.Coverage, window, q.End, ownUA)
	var warn []string
	if w := partialWarning(&a); w != "" {
		warn = append(warn, w)
	}
	if read := q.End.Sub(q.Start); read < window {
		warn = append(warn, fmt.Sprintf("%sActionTrail was read over %s only, not the %s asked for; execution reads the whole window",
			AssessWarningPrefix, read, window))
	}
	return &a, warn
}

// moveBefore moves a to just before b.
func moveBefore(xs []playbooks.StepID, a, b playbooks.StepID) []playbooks.StepID {
	out := make([]playbooks.StepID, 0, len(xs))
	for _, x := range xs {
		if x == a {
			continue
		}
		if x == b {
			out = append(out, a)
		}
		out = append(out, x)
	}
	return out
}

// hasStep reports whether the plan runs step id.
func (p Plan) hasStep(id playbooks.StepID) bool {
	return slices.ContainsFunc(p.Steps, func(ps PlannedStep) bool { return ps.Step == id })
}

// closeStep is the close step as the plan shows it: the writes it would make.
func closeStep(s Settings) PlannedStep {
	ps := PlannedStep{Step: playbooks.StepClose, Actions: s.CloseCalls}
	ps.Note = "only once the key is remediated (or found remediated); each mark is read back to confirm, and an alert that cannot be closed is reported and left open"
	return ps
}
