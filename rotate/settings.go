package rotate

import (
	"fmt"
	"time"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram/accesskey"
)

// Settings are the playbook's choices as the engine sees them. The CLI maps a playbook onto them.
// The words (steps, policies) and the defaults are the playbooks package's.
type Settings struct {
	Playbook string
	// Steps is the order; empty means the default playbook's (playbooks.DefaultPlaybook).
	Steps []playbooks.StepID
	// OnStoreFailure is playbooks.OnStoreFailureContain (the default) or OnStoreFailureHold.
	OnStoreFailure string
	// VerifyTimeout and VerifyInterval: 0 means playbooks.DefaultVerifyTimeout (30 s) and
	// playbooks.DefaultVerifyInterval (2 s).
	VerifyTimeout     time.Duration
	VerifyInterval    time.Duration
	CheckLeakedSecret bool
	// AssessWindow is how far back the assess step reads the key's ActionTrail events: 0 means
	// playbooks.DefaultAssessWindow (7 days); more than playbooks.MaxAssessWindow (90 days) is a
	// Validate error.
	AssessWindow time.Duration
	// AssessRegions are the ActionTrail regions the assessment asks; empty means every region
	// ActionTrail lists (Deps.AssessRegions is what the reads use; this is for the plan).
	AssessRegions []string
	// OwnUserAgent marks respond's own calls in ActionTrail (a substring of their User-Agent),
	// which the assessment leaves out. Use a marker unique to the run (the CLI adds a random run
	// id): the public "respond/" prefix alone would let an attacker hide by copying it.
	OwnUserAgent string
	Canaries     []accesskey.ID
	Self         accesskey.ID // the key respond is signed in with
	// CloseCalls are the writes the close step would make for the finding's alerts (see
	// Alert.Call); empty when its source has none.
	CloseCalls []string
	// Sinks describe where the replacement will go (see DescribeSinks); Execute stores into the
	// Deps' sinks of the same names.
	Sinks []PlannedSink
	// Trusts reports whether id-only findings from a source are acted on (the configuration's trust
	// entries, playbooks.Config.Trusts; nil trusts none); any other id-only finding is planned
	// DecisionIDOnly.
	Trusts func(source string) bool
	// Incident holds the hunt and contain options (incident.go); zero values mean the defaults.
	Incident playbooks.IncidentOptions
	// KMSWait bounds the wait for KMS's rotation of a key it manages (the delete step's
	// kms-wait; 0 means playbooks.DefaultKMSWait).
	KMSWait time.Duration
}

func (s Settings) withDefaults() Settings {
	if len(s.Steps) == 0 {
		s.Steps = defaultSteps()
	}
	if s.OnStoreFailure == "" {
		s.OnStoreFailure = playbooks.OnStoreFailureContain
	}
	if s.VerifyTimeout <= 0 {
		s.VerifyTimeout = playbooks.DefaultVerifyTimeout
	}
	if s.VerifyInterval <= 0 {
		s.VerifyInterval = playbooks.DefaultVerifyInterval
	}
	if s.AssessWindow == 0 {
		s.AssessWindow = playbooks.DefaultAssessWindow
	}
	if s.KMSWait <= 0 {
		s.KMSWait = playbooks.DefaultKMSWait
	}
	if s.Incident.HuntDepth == 0 {
		s.Incident.HuntDepth = playbooks.DefaultHuntDepth
	}
	if s.Incident.ContainMethod == "" {
		s.Incident.ContainMethod = playbooks.ContainDenyPolicy
	}
	return s
}

// defaultSteps is the order of the default playbook. The built-in playbooks are checked by the
// playbooks package's tests; should one not parse, there are no steps and Validate says so.
func defaultSteps() []playbooks.StepID {
	pb, err := playbooks.Builtin(playbooks.DefaultPlaybook)
	if err != nil {
		return nil
	}
	out := make([]playbooks.StepID, len(pb.Steps))
	for i, st := range pb.Steps {
		out[i] = st.ID
	}
	return out
}

// Validate checks the settings by the rules every playbook follows (playbooks.ValidateSteps):
// the step order, the store-failure policy and the options, among them the assessment window
// (an error out of range matches playbooks.ErrAssessWindow).
func (s Settings) Validate() error {
	s = s.withDefaults()
	steps := make([]playbooks.Step, len(s.Steps))
	for i, id := range s.Steps {
		o := playbooks.DefaultOptions(id)
		switch id {
		case playbooks.StepVerify:
			o.VerifyTimeout, o.VerifyInterval, o.CheckLeakedSecret = s.VerifyTimeout, s.VerifyInterval, s.CheckLeakedSecret
		case playbooks.StepAssess:
			o.AssessWindow = s.AssessWindow
		case playbooks.StepHunt, playbooks.StepContain:
			o.IncidentOptions = s.Incident
		case playbooks.StepDelete:
			o.KMSWait = s.KMSWait
		}
		steps[i] = playbooks.Step{ID: id, Options: o}
	}
	if err := playbooks.ValidateSteps(steps, s.OnStoreFailure); err != nil {
		return fmt.Errorf("playbook %q: %w", s.Playbook, err)
	}
	return nil
}
