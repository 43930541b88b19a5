package journal

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// AuditFile is the audit log's file name inside the state directory.
const AuditFile = "audit.jsonl"

// AuditEntry is one line of the audit log: who did what, when, why, and what the cloud answered.
// Like Record, it has no field that can carry a secret.
type AuditEntry struct {
	Time time.Time `json:"time"`
	// Caller is who respond acted as (the ARN of GetCallerIdentity) and with which key id.
	Caller      string `json:"caller,omitempty"`
	CallerKeyID string `json:"caller_key_id,omitempty"`
	RunID       string `json:"run_id"`
	KeyID       string `json:"key_id"`
	AccountID   string `json:"account_id,omitempty"`
	UserName    string `json:"user_name,omitempty"`
	// Finding says where the key was found (file:line, commit, scanner).
	Finding  []string `json:"finding,omitempty"`
	Event    string   `json:"event"` // start, step, end
	Playbook string   `json:"playbook,omitempty"`
	Decision string   `json:"decision,omitempty"`
	Step     string   `json:"step,omitempty"`
	Outcome  Outcome  `json:"outcome,omitempty"`
	Detail   string   `json:"detail,omitempty"`
	NewKeyID string   `json:"new_key_id,omitempty"`
	// RequestIDs are the cloud request ids of the calls the step made.
	RequestIDs []string `json:"request_ids,omitempty"`
	Error      string   `json:"error,omitempty"`
}

// Audit is an append-only audit log (JSON lines, mode 0600, fsync per entry).
type Audit struct {
	mu sync.Mutex
	f  *os.File
}

// OpenAudit opens (creating when needed) the audit log at path for appending. Its directory
// must pass CheckStateDir and the log be a regular file of the current user, never a symlink or
// a FIFO (an *UnsafeStateError otherwise).
func OpenAudit(path string) (*Audit, error) {
	if err := ensureDir(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	f, err := openState(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND)
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	return &Audit{f: f}, nil
}

// Write appends e and fsyncs. Time is filled in when zero.
func (a *Audit) Write(e AuditEntry) error {
	if a == nil {
		return nil
	}
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("audit log: encode: %w", err)
	}
	b = append(b, '\n')
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := a.f.Write(b); err != nil {
		return fmt.Errorf("audit log: write: %w", err)
	}
	if err := a.f.Sync(); err != nil {
		return fmt.Errorf("audit log: fsync: %w", err)
	}
	return nil
}

// Close closes the log.
func (a *Audit) Close() error {
	if a == nil {
		return nil
	}
	return a.f.Close()
}
