package rotate

import (
	"context"
	"time"

	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/assess"
	"github.com/respond-dev/respond/rotate/journal"
	"github.com/respond-dev/respond/rotate/notify"
	"github.com/respond-dev/respond/rotate/sink"
)

// Locator finds the owner of a key (ram.Locator).
type Locator interface {
	Locate(ctx context.Context, id accesskey.ID) (ram.Owner, error)
}

// Cloud is every call the engine makes in the owner's account (*ram.Client implements it). The
// engine never asks for more, and never asserts past it.
type Cloud interface {
	ListAccessKeys(ctx context.Context, userName string) ([]ram.AccessKey, error)
	// CreateAccessKey creates a key against before, the user's keys as the engine just listed
	// them (see ram.Client.CreateAccessKey).
	CreateAccessKey(ctx context.Context, userName string, before []ram.AccessKey) (ram.NewAccessKey, error)
	DeleteAccessKey(ctx context.Context, userName string, id accesskey.ID) error
	GetAccessKeyLastUsed(ctx context.Context, userName string, id accesskey.ID) (time.Time, error)
	// The AccessKey recycle bin (IMS): DeleteAccessKey moves a key there, restorable for 30
	// days; the delete step purges it and checks that the bin no longer holds it, and a journal's
	// owner is confirmed by it (journaltrust.go; errors.Is ram.ErrNotFound when no bin holds the
	// key). respond never restores a key.
	GetAccessKeyInfoInRecycleBin(ctx context.Context, id accesskey.ID) (ram.BinnedKey, error)
	DeleteAccessKeyInRecycleBin(ctx context.Context, userID string, id accesskey.ID) error
	assess.EventLister // ActionTrail LookupEvents
	KMSCloud           // KMS Secrets Manager's RAM credentials secrets (kms.go)
}

// Accounts gives the calls of one account (the owner's).
type Accounts interface {
	API(ctx context.Context, accountID string) (Cloud, error)
}

// Verifier checks whether a pair authenticates (STS GetCallerIdentity signed with it). It returns
// an error wrapping ram.ErrInvalidCredentials when the cloud rejects the pair.
type Verifier interface {
	Authenticates(ctx context.Context, id accesskey.ID, secret accesskey.Secret) (ram.Identity, error)
}

// Clock tells the time.
type Clock interface{ Now() time.Time }

// Deps are what Inspect and Execute act through.
type Deps struct {
	Locator   Locator
	Accounts  Accounts
	Verifier  Verifier
	Sinks     []sink.Sink
	Notifiers []notify.Notifier
	// StateDir holds the journals and locks (required for Execute; see journal.DefaultDir).
	StateDir string
	// Audit is the audit log (optional).
	Audit *journal.Audit
	// Caller is who respond is signed in as (GetCallerIdentity), for the audit log.
	Caller ram.Identity
	Clock  Clock
	// Sleep waits d or until ctx is done (default: a timer).
	Sleep func(ctx context.Context, d time.Duration) error
	// LockWait is how long to wait for another run on the same key; 0 fails at once with an
	// error matching ErrInProgress.
	LockWait time.Duration
	// CleanupTimeout bounds the cleanup after a cancellation (store or delete the replacement in
	// flight), on a context detached from the cancelled one. Default 15 s.
	CleanupTimeout time.Duration
	// ResumeCommand is the command printed to resume, with %s for the key id.
	// Default "respond --key-id %s".
	ResumeCommand string
	// OnStep, when set, is called after each step (progress output).
	OnStep func(StepResult)
	// AssessWindow is the ActionTrail window Inspect reads: set it to Settings.AssessWindow (0
	// means playbooks.DefaultAssessWindow). When it is shorter than the plan's window, the plan
	// warns and Execute's assess step reads the whole window again.
	AssessWindow time.Duration
	// AssessRegions are the ActionTrail regions Inspect and the assess step ask (the
	// configuration's assess.regions); empty means every region ActionTrail lists.
	AssessRegions []string
	// Alerts are the finding's alerts at its source (Security Center records), which the close
	// step marks handled once the key is remediated (Batch.Alerts).
	Alerts []Alert
	// NoEvents turns off the ActionTrail read in Inspect (the assess step of Execute still reads).
	NoEvents bool
	// Incident gives the hunt, contain and eradicate steps' calls of an account (incident.go);
	// nil: those steps cannot run (a warning). Hunt, when set, makes Inspect hunt.
	Incident IncidentAccounts
	Hunt     *HuntOptions
	// Redactor is the run's redactor (one per run, shared by every key of the run and by the
	// CLI's outputs): Execute teaches it the leaked secret and each new secret as soon as it
	// exists, and passes every text it writes through it. nil means a redactor of this Execute's
	// own.
	Redactor *accesskey.Redactor
	// LateCreateWindow is how long after a CreateAccessKey whose answer never came (a read
	// timeout, a dropped connection, an interruption) respond keeps watching for the key the
	// cloud may still create: verify waits for it (within its own timeout) and deletes it; once
	// the window has passed with no such key, the create is taken as not carried out. 0 means
	// DefaultLateCreateWindow.
	LateCreateWindow time.Duration

	// trail is the key's ActionTrail read when the batch started it early (prefetch.go).
	trail *trailRead
	// kms caches each account's KMS RAM credentials secrets for the run (kms.go); nil lists
	// them for each key.
	kms *kmsSecrets

	// openJournal opens a key's journal; nil means journal.Open (tests break the journal here).
	openJournal func(dir string, id accesskey.ID) (journalFile, error)
}

// journalFile is a key's journal as a run uses it (*journal.Journal).
type journalFile interface {
	Append(r journal.Record) (journal.Record, error)
	State() (journal.State, error)
	Close() error
}

// DefaultLateCreateWindow is the default Deps.LateCreateWindow: as long again as ram's default
// read timeout (a server still working on a call 10 s after its client gave up on it is not
// plausible), and shorter than the default verify timeout, so that a run that lost a create
// settles it in its own verify step.
const DefaultLateCreateWindow = 10 * time.Second

// CreateDateSkew is the clock skew allowed when the cloud's CreateDate of a key is compared with
// the journal's (local) time of a create: a key created more than this before the rotation's
// first create is never taken for respond's own.
const CreateDateSkew = 2 * time.Minute

// DefaultCleanupTimeout is the default Deps.CleanupTimeout.
const DefaultCleanupTimeout = 15 * time.Second

func (d Deps) lateWindow() time.Duration {
	if d.LateCreateWindow <= 0 {
		return DefaultLateCreateWindow
	}
	return d.LateCreateWindow
}

func (d Deps) now() time.Time {
	if d.Clock == nil {
		return time.Now()
	}
	return d.Clock.Now()
}

func (d Deps) sleep(ctx context.Context, dur time.Duration) error {
	if d.Sleep != nil {
		return d.Sleep(ctx, dur)
	}
	return ram.Sleep(ctx, dur)
}

func (d Deps) open(id accesskey.ID) (journalFile, error) {
	if d.openJournal != nil {
		return d.openJournal(d.StateDir, id)
	}
	j, err := journal.Open(d.StateDir, id)
	if err != nil {
		return nil, err
	}
	return j, nil
}
