package ram

import (
	"errors"
	"time"
)

// Error classes. Every error the API returns wraps exactly one of these when the cause is known,
// so callers branch with errors.Is. The wrapping *Error carries the action, the key id and the
// cloud's code and request id.
var (
	// ErrNotFound: the user, key or secret does not exist (EntityNotExist.*, Forbidden.ResourceNotFound).
	ErrNotFound = errors.New("not found")
	// ErrKeyLimit: the user already holds the maximum of two AccessKeys (LimitExceeded.User.AccessKey).
	ErrKeyLimit = errors.New("access key limit reached")
	// ErrNoPermission: the caller lacks the action (NoPermission, Forbidden.NoPermission,
	// MemberAccountAccessDenied: a Resource Directory member calling a management action).
	ErrNoPermission = errors.New("no permission")
	// ErrThrottled: the cloud asked us to slow down (Throttling*, Rejected.Throttling).
	ErrThrottled = errors.New("throttled")
	// ErrInvalidCredentials: our own credentials were rejected (InvalidAccessKeyId.*, SignatureDoesNotMatch,
	// InvalidSecurityToken.*).
	ErrInvalidCredentials = errors.New("invalid credentials")
	// ErrTransient: a 5xx, a dropped connection, a timeout: the call may or may not have taken effect.
	ErrTransient = errors.New("transient failure")
	// ErrAlreadyExists: a KMS secret of that name exists (Rejected.ResourceExist), or a RAM
	// entity, attachment or membership does (EntityAlreadyExists.*).
	ErrAlreadyExists = errors.New("already exists")
	// ErrKeyFlagged (flagged.go): the signing key is valid but under restrictive protection.
	// ErrConflict (policy.go): a delete refused while the thing is in use (DeleteConflict.*).
)

// Error is a classified cloud error.
type Error struct {
	Action    string // the API action, e.g. DeleteAccessKey
	KeyID     string // the AccessKey id the call was about, if any
	Code      string // the cloud's error code, e.g. EntityNotExist.User.AccessKey
	Status    int    // HTTP status, 0 for transport errors
	RequestID string // the cloud's request id, if any
	Class     error  // one of the Err* sentinels, or nil when unclassified
	Err       error  // the underlying error (never carries a secret)
	// RetryAfter is the wait the cloud asked for (x-acs-retry-after), zero when it did not.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	s := e.Action
	if e.KeyID != "" {
		s += " " + e.KeyID
	}
	if e.Code != "" {
		s += ": " + e.Code
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	} else if e.Class != nil {
		s += ": " + e.Class.Error()
	}
	if e.RequestID != "" {
		s += " (request id " + e.RequestID + ")"
	}
	return s
}

// Unwrap lets errors.Is match both the class and the cause.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.Class != nil {
		errs = append(errs, e.Class)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// KeyUnknown reports whether err is the cloud refusing a signature because it knows no such
// AccessKey id (InvalidAccessKeyId.NotFound): the one answer that proves a deleted key no longer
// signs. The other invalid-credential answers do not: SignatureDoesNotMatch and
// InvalidAccessKeyId.Inactive mean the cloud knows the id (a wrong secret, a disabled key that can
// be enabled again), and a 5xx, a throttle or a dropped connection say nothing.
func KeyUnknown(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	// The bare code is not documented for a deleted key [INF]; it names the id, not the secret.
	return e.Code == "InvalidAccessKeyId.NotFound" || e.Code == "InvalidAccessKeyId"
}
