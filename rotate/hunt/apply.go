package hunt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
)

// Writer is what eradication writes through; *ram.Client implements it.
type Writer interface {
	DeleteAccessKey(ctx context.Context, userName string, id accesskey.ID) error
	DeleteAccessKeyInRecycleBin(ctx context.Context, userID string, id accesskey.ID) error
	BinFinder
	DeleteLoginProfile(ctx context.Context, userName string) error
	RemoveUserFromGroup(ctx context.Context, groupName, userName string) error
	DetachPolicy(ctx context.Context, kind ram.EntityKind, entity string, ref ram.PolicyRef) error
	DeletePolicy(ctx context.Context, name string) error
	CreatePolicy(ctx context.Context, name, document, description string) (ram.Policy, error)
	AttachPolicy(ctx context.Context, kind ram.EntityKind, entity string, ref ram.PolicyRef) error
	GetPolicy(ctx context.Context, ref ram.PolicyRef) (ram.Policy, error)
}

var _ Writer = (*ram.Client)(nil)

// Apply carries out one action of the plan. It is idempotent, so a resumed run may repeat it:
// what is already gone, or already in place, counts as done. The caller journals around it.
func Apply(ctx context.Context, w Writer, a Action) error {
	gone := func(err error) error {
		if errors.Is(err, ram.ErrNotFound) {
			return nil
		}
		return err
	}
	var err error
	switch a.Kind {
	case DeleteKey:
		err = gone(w.DeleteAccessKey(ctx, a.UserName, a.KeyID))
	case PurgeKey:
		if a.UserID == "" {
			return fmt.Errorf("%s: the user id is unknown", a)
		}
		if err = gone(w.DeleteAccessKeyInRecycleBin(ctx, a.UserID, a.KeyID)); err == nil {
			err = NotBinned(ctx, w, a.KeyID)
		}
	case DeleteLoginProfile:
		err = gone(w.DeleteLoginProfile(ctx, a.UserName))
	case RemoveFromGroup:
		err = gone(w.RemoveUserFromGroup(ctx, a.Group, a.UserName))
	case DetachPolicy:
		err = gone(w.DetachPolicy(ctx, a.EntityKind, a.Entity, a.Policy))
	case DeletePolicy:
		err = gone(w.DeletePolicy(ctx, a.Policy.Name))
		if errors.Is(err, ram.ErrConflict) {
			err = fmt.Errorf("it is still attached to something the attacker did not attach (or has other versions); left for review: %w", err)
		}
	case DenyRole:
		err = ensurePolicy(ctx, w, a.Policy.Name, a.Document,
			"respond: deny "+strings.Join(a.IPs, ", ")+" on role "+a.Entity+" until "+a.Expires.UTC().Format(time.RFC3339))
		if err == nil {
			err = w.AttachPolicy(ctx, ram.EntityRole, a.Entity, a.Policy)
			if errors.Is(err, ram.ErrAlreadyExists) {
				err = nil
			}
		}
	default:
		return fmt.Errorf("unknown eradication action %s", accesskey.Printable(string(a.Kind)))
	}
	if err != nil {
		return fmt.Errorf("%s: %w", a, err)
	}
	return nil
}

// BinnedError says a recycle bin holds the key: deleted, restorable until Key.DeleteDate.
type BinnedError struct{ Key ram.BinnedKey }

func (e *BinnedError) Error() string {
	return fmt.Sprintf("in the recycle bin of user id %s, restorable until %s", e.Key.UserID, e.Key.DeleteDate.UTC().Format(time.RFC3339))
}

// BinFinder finds a key in the recycle bins of an account; *ram.Client implements it.
type BinFinder interface {
	GetAccessKeyInfoInRecycleBin(ctx context.Context, id accesskey.ID) (ram.BinnedKey, error)
}

// NotBinned is nil only when GetAccessKeyInfoInRecycleBin answers that no bin holds the key: a
// *BinnedError when one does, else why the bins could not be read (which proves nothing). A
// purge's not-found may only mean the bin of another user id than the one asked holds the key.
func NotBinned(ctx context.Context, f BinFinder, id accesskey.ID) error {
	b, err := f.GetAccessKeyInfoInRecycleBin(ctx, id)
	switch {
	case errors.Is(err, ram.ErrNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("check that no recycle bin holds it: %w", err)
	}
	return &BinnedError{Key: b}
}

// ensurePolicy creates a custom policy, or accepts the one of that name that holds the same
// document (an earlier attempt of the same run).
func ensurePolicy(ctx context.Context, w Writer, name, document, description string) error {
	_, err := w.CreatePolicy(ctx, name, document, description)
	if !errors.Is(err, ram.ErrAlreadyExists) {
		return err
	}
	p, gerr := w.GetPolicy(ctx, ram.PolicyRef{Type: ram.PolicyCustom, Name: name})
	if gerr != nil {
		return fmt.Errorf("policy %s exists and cannot be read: %w", name, gerr)
	}
	if p.Document != document {
		return fmt.Errorf("policy %s exists with another document: %w", name, err)
	}
	return nil
}

// DenyExpiry reads when a deny policy respond wrote stops applying: the latest
// acs:CurrentTime DateLessThan of its Deny statements. ok is false for any other document.
func DenyExpiry(document string) (until time.Time, ok bool) {
	var d struct {
		Statement []struct {
			Effect    string
			Condition map[string]map[string]json.RawMessage
		}
	}
	if json.Unmarshal([]byte(document), &d) != nil {
		return time.Time{}, false
	}
	for _, st := range d.Statement {
		if st.Effect != "Deny" {
			continue
		}
		for key, raw := range st.Condition["DateLessThan"] {
			if !strings.EqualFold(key, "acs:CurrentTime") {
				continue
			}
			var v string
			if json.Unmarshal(raw, &v) != nil {
				continue
			}
			if t, err := time.Parse(time.RFC3339, v); err == nil && t.After(until) {
				until, ok = t.UTC(), true
			}
		}
	}
	return until, ok
}
