// Package sink delivers a new AccessKey pair to where the application reads it: a file, KMS
// Secrets Manager, a user's command, or (only with --reveal) the terminal. A sink is the only
// place a secret's plain value may go; every sink reports where it wrote, never what.
package sink

import (
	"context"
	"time"

	"github.com/respond-dev/respond/ram/accesskey"
)

// Credential is the new pair with what a sink may need to name or label it.
type Credential struct {
	KeyID       accesskey.ID
	Secret      accesskey.Secret
	UserName    string
	AccountID   string
	AccountName string
	Created     time.Time
}

// Receipt says where a sink wrote. It never holds the value.
type Receipt struct {
	Sink    string            `json:"sink"`
	Kind    string            `json:"kind"`
	Where   string            `json:"where"`
	Details map[string]string `json:"details,omitempty"`
}

// Sink stores a new credential.
type Sink interface {
	// Name is the sink's name in the configuration.
	Name() string
	// Kind is file, kms, exec or terminal.
	Kind() string
	// Describe says where Store will write, for the plan.
	Describe() string
	// Store writes the credential. It must be safe to call again with the same credential (a
	// resumed rotation may store twice).
	Store(ctx context.Context, c Credential) (Receipt, error)
}
