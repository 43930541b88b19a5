package rotate

import (
	"fmt"
	"strings"
	"time"

	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/journal"
)

// StatusQuarantine is a deny policy respond attached and has not removed: an owner's quarantine a
// run could not lift, or the self-expiring deny on a role the attacker assumed. Once Expired it
// no longer applies, and running respond on its key again (Remove: the command its journal
// recorded, as it resumes) removes it.
type StatusQuarantine struct {
	journal.Quarantine
	KeyID     string `json:"key_id"`
	AccountID string `json:"account_id,omitempty"`
	Expired   bool   `json:"expired"`
	Remove    string `json:"remove"`
}

// quarantines lists the deny policies the journals say may be in place.
func quarantines(states []journal.State, now time.Time) []StatusQuarantine {
	out := []StatusQuarantine{}
	for _, s := range states {
		for _, q := range s.ActiveQuarantines() {
			out = append(out, StatusQuarantine{Quarantine: q, KeyID: s.KeyID, AccountID: s.AccountID, Expired: expired(q, now),
				Remove: resumeOf(s)})
		}
	}
	return out
}

// writeQuarantinesText renders the quarantines for a human.
func writeQuarantinesText(b *strings.Builder, st Status) {
	if len(st.Quarantines) == 0 {
		return
	}
	b.WriteString("Deny policies respond left in place:\n")
	for _, q := range st.Quarantines {
		// every field is the journal's (a memory, not an authority: it may have been edited)
		fmt.Fprintf(b, "%s on %s in account %s (rotation of %s)", accesskey.Printable(q.Policy), accesskey.Printable(q.Target),
			accesskey.Printable(q.AccountID), accesskey.Printable(q.KeyID))
		switch {
		case q.Expires.IsZero():
			b.WriteString(": no expiry\n")
		case q.Expired:
			fmt.Fprintf(b, ": expired %s, no longer applies\n", q.Expires.UTC().Format(time.RFC3339))
		default:
			fmt.Fprintf(b, ": applies until %s\n", q.Expires.UTC().Format(time.RFC3339))
		}
		if !q.Attached {
			b.WriteString("    (a run was interrupted while attaching it: it may not be there)\n")
		}
		if q.Expired || q.Step == "contain" {
			fmt.Fprintf(b, "    remove with: %s\n", accesskey.Printable(q.Remove))
		} else {
			b.WriteString("    removed by the first run of " + accesskey.Printable(q.Remove) + " after it expires\n")
		}
	}
}
