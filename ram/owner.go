package ram

import (
	"errors"
	"strconv"

	"github.com/respond-dev/respond/ram/accesskey"
)

// ErrOwnerNotFound: no strategy found the key in any configured account.
var ErrOwnerNotFound = errors.New("owner not found")

// Strategy names for owner location (the --locate list).
const (
	StrategyIMS         = "ims"         // IMS GetUser(UserAccessKeyId), one call per account
	StrategyActionTrail = "actiontrail" // ActionTrail GetAccessKeyLastUsedInfo
	StrategyScan        = "scan"        // ListUsers x ListAccessKeys, concurrent
	StrategySelf        = "self"        // ListAccessKeys without a user: the caller's own (root) keys
	StrategyCaller      = "caller"      // GetCallerIdentity signed with the leaked pair (opt-in only)
	// StrategyRecycleBin (locate_bin.go): IMS GetAccessKeyInfoInRecycleBin, a key already deleted
)

// Owner is who owns a leaked key, and how we know.
type Owner struct {
	KeyID    accesskey.ID `json:"key_id"`
	Account  Account      `json:"account"`
	UserName string       `json:"user_name,omitempty"` // empty when Root
	UserID   string       `json:"user_id,omitempty"`
	// Root is true when the key belongs to the account itself (the root account), which RAM cannot
	// rotate: the owner must delete it in the console and use RAM users instead.
	Root bool `json:"root"`
	// Key is the key as ListAccessKeys shows it (status, create date), when known.
	Key AccessKey `json:"key"`
	// Keys are all the owner's keys as the locator listed them while finding it (nil when it did
	// not list them, e.g. for the root account), so that the caller need not list them again.
	Keys []AccessKey `json:"-"`
	// RecycleBin is set when the key is no longer the user's but in its recycle bin: deleted,
	// unable to sign, restorable until RecycleBin.DeleteDate unless it is purged.
	RecycleBin *BinnedKey `json:"recycle_bin,omitempty"`
	// Strategy is the strategy that found the owner.
	Strategy string `json:"strategy"`
	// Tried reports every strategy that ran, in order, including those that missed.
	Tried []StrategyReport `json:"tried"`
}

// StrategyReport says what one strategy did in one account.
type StrategyReport struct {
	Strategy     string `json:"strategy"`
	AccountID    string `json:"account_id,omitempty"`
	Calls        int    `json:"calls"`
	UsersScanned int    `json:"users_scanned,omitempty"`
	Found        bool   `json:"found"`
	Error        string `json:"error,omitempty"`
}

// NotFoundError is returned (wrapping ErrOwnerNotFound) when no strategy found the key.
type NotFoundError struct {
	KeyID        accesskey.ID
	AccountIDs   []string
	UsersScanned int
	Tried        []StrategyReport
}

func (e *NotFoundError) Error() string {
	s := "key " + e.KeyID.String() + " is owned by no RAM user in accounts "
	for i, a := range e.AccountIDs {
		if i > 0 {
			s += ", "
		}
		s += a
	}
	return s + " (" + strconv.Itoa(e.UsersScanned) + " users scanned)"
}

func (e *NotFoundError) Unwrap() error { return ErrOwnerNotFound }
