// Package ram is the only package that talks to Alibaba Cloud. It turns the SDK into a small,
// context-aware API of our own types and errors (SDK types never leave it), and it answers the
// first question of every incident: who owns this key?
//
// This file is the contract other packages build against: the value types and the API interface.
package ram

import (
	"context"
	"time"

	"github.com/respond-dev/respond/ram/accesskey"
)

// Key status values, as RAM spells them.
const (
	StatusActive   = "Active"
	StatusInactive = "Inactive"
)

// Identity is who signed a call (STS GetCallerIdentity).
type Identity struct {
	AccountID    string `json:"account_id"`
	UserID       string `json:"user_id,omitempty"`
	RoleID       string `json:"role_id,omitempty"`
	IdentityType string `json:"identity_type"` // RAMUser, Account, AssumedRoleUser
	PrincipalID  string `json:"principal_id,omitempty"`
	Arn          string `json:"arn"`
	// AccessKeyID is the key that signed the call, when known (our own credentials).
	AccessKeyID string `json:"access_key_id,omitempty"`
}

// User is a RAM user.
type User struct {
	UserID      string    `json:"user_id"`
	UserName    string    `json:"user_name"`
	DisplayName string    `json:"display_name,omitempty"`
	CreateDate  time.Time `json:"create_date,omitzero"`
}

// AccessKey is a key as ListAccessKeys shows it: never with its secret.
type AccessKey struct {
	ID         accesskey.ID `json:"id"`
	Status     string       `json:"status"`
	CreateDate time.Time    `json:"create_date,omitzero"`
}

// NewAccessKey is the answer of CreateAccessKey: the only moment the secret exists in the cloud's
// answer. Its Secret redacts itself everywhere except Reveal.
type NewAccessKey struct {
	ID         accesskey.ID     `json:"id"`
	Secret     accesskey.Secret `json:"secret"`
	Status     string           `json:"status"`
	CreateDate time.Time        `json:"create_date,omitzero"`
	RequestID  string           `json:"request_id,omitempty"`
	// LostAttempts counts earlier attempts of this create whose answer never came (a read
	// timeout, a dropped connection) and after which no new key was listed: the cloud may still
	// carry them out later, making a key whose secret nobody holds. The caller watches for it.
	LostAttempts int `json:"lost_attempts,omitempty"`
}

// Account is one Alibaba Cloud account respond can act in.
type Account struct {
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	Type        string `json:"type,omitempty"`   // CloudAccount, ResourceAccount
	Status      string `json:"status,omitempty"` // CreateSuccess, InviteSuccess, ...
	JoinMethod  string `json:"join_method,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
}

// LastUsed is what ActionTrail GetAccessKeyLastUsedInfo knows of a key.
type LastUsed struct {
	Used        time.Time `json:"used,omitzero"`
	ServiceName string    `json:"service_name,omitempty"`
	UserName    string    `json:"user_name,omitempty"`
	AccountID   string    `json:"account_id,omitempty"`
	AccountType string    `json:"account_type,omitempty"`
	Source      string    `json:"source,omitempty"`
}

// Event is one ActionTrail event, reduced to what assessment needs.
type Event struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`         // eventName, e.g. CreateUser
	Service     string    `json:"service"`      // serviceName, e.g. Ram, Ecs
	Time        time.Time `json:"time"`         // eventTime
	RW          string    `json:"rw,omitempty"` // Read / Write
	SourceIP    string    `json:"source_ip,omitempty"`
	UserAgent   string    `json:"user_agent,omitempty"`
	AccessKeyID string    `json:"access_key_id,omitempty"`
	ErrorCode   string    `json:"error_code,omitempty"`
	// ErrorMessage is the cloud's message of a failed call (restrictive protection shows here).
	ErrorMessage string `json:"error_message,omitempty"`
	Region       string `json:"region,omitempty"` // acsRegion
	// Global marks an event of a global service (RAM, IMS, STS…): every region returns it.
	Global    bool   `json:"global,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	// Who made the call (userIdentity): IdentityType is ram-user, root-account or
	// assumed-role; UserName a user's name or an assumed role's "<role>:<session>".
	IdentityType string `json:"identity_type,omitempty"`
	UserName     string `json:"user_name,omitempty"`
	// Params are the requestParameters with a text value (the call's parameters, e.g. the
	// UserName a CreateUser created); Response the responseElements flattened to dotted paths
	// with a text value (e.g. "AccessKey.AccessKeyId"). Hostile input: escape before printing.
	Params   map[string]string `json:"params,omitempty"`
	Response map[string]string `json:"response,omitempty"`
}

// EventQuery selects ActionTrail events by the key that signed them.
type EventQuery struct {
	AccessKeyID accesskey.ID
	Start, End  time.Time
	// Region is the ActionTrail region asked (its events plus the global ones); "" means the
	// client's Config.Region.
	Region string
	// User, when set, selects the events of a RAM user (its name) or of an assumed role's
	// session ("<role>:<session>") instead of those signed by AccessKeyID (LookupAttribute User).
	User string
}

// SecretVersion is what KMS answered for a stored secret (never the value).
type SecretVersion struct {
	Name      string `json:"name"`
	VersionID string `json:"version_id"`
	Arn       string `json:"arn,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// TempCredentials are STS credentials from AssumeRole.
type TempCredentials struct {
	AccessKeyID   string
	Secret        accesskey.Secret
	SecurityToken accesskey.Secret
	Expiration    time.Time
}

// API is every cloud call respond makes, one method per action, each taking a context and
// returning our own types. Errors are classified (see errors.go) and wrapped with the action and
// the key id. Implementations must be safe for concurrent use (the SDK implementation keeps one
// SDK client per goroutine internally).
type API interface {
	// STS
	GetCallerIdentity(ctx context.Context) (Identity, error)
	AssumeRole(ctx context.Context, roleArn, sessionName string, duration time.Duration) (TempCredentials, error)

	// RAM users and keys
	ListUsers(ctx context.Context, fn func(User) error) error // follows Marker to the end, MaxItems=1000
	GetUser(ctx context.Context, userName string) (User, error)
	ListAccessKeys(ctx context.Context, userName string) ([]AccessKey, error) // "" = the caller's own keys
	// CreateAccessKey creates a key against before, the user's keys as the caller just listed them.
	CreateAccessKey(ctx context.Context, userName string, before []AccessKey) (NewAccessKey, error)
	DeleteAccessKey(ctx context.Context, userName string, id accesskey.ID) error
	GetAccessKeyLastUsed(ctx context.Context, userName string, id accesskey.ID) (time.Time, error)

	// IMS
	GetUserByAccessKey(ctx context.Context, id accesskey.ID) (User, error)

	// IMS AccessKey recycle bin (recyclebin.go). No restore here: respond never restores a key.
	ListAccessKeysInRecycleBin(ctx context.Context, userID string) ([]BinnedKey, error) // "" = the caller's own bin
	GetAccessKeyInfoInRecycleBin(ctx context.Context, id accesskey.ID) (BinnedKey, error)
	DeleteAccessKeyInRecycleBin(ctx context.Context, userID string, id accesskey.ID) error // purge

	// ActionTrail
	GetAccessKeyLastUsedInfo(ctx context.Context, id accesskey.ID) (LastUsed, error)
	LookupEvents(ctx context.Context, q EventQuery, fn func(Event) error) error // follows NextToken to the end

	// KMS Secrets Manager
	CreateSecret(ctx context.Context, name, versionID string, data accesskey.Secret) (SecretVersion, error)
	PutSecretValue(ctx context.Context, name, versionID string, data accesskey.Secret) (SecretVersion, error)
	// RAM credentials secrets (kms.go): KMS owns a RAM user's AccessKey and rotates it
	ListRAMSecrets(ctx context.Context) ([]RAMSecret, error) // ListSecrets (every page) + DescribeSecret each
	GetRAMSecretValue(ctx context.Context, name, stage string) (RAMSecretValue, error)
	RotateSecret(ctx context.Context, name, versionID string) (SecretRotation, error)

	// ResourceManager
	ListAccounts(ctx context.Context) ([]Account, error)
}
