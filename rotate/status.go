package rotate

import (
	"cmp"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/journal"
	src "github.com/respond-dev/respond/rotate/source"
)

// Status is the rotations a state directory's journals tell of (respond status). Its JSON form
// lists each with whether it is unfinished and the command that resumes it.
type Status struct {
	StateDir  string           `json:"state_dir"`
	Rotations []StatusRotation `json:"rotations"`
	// Quarantines are the deny policies respond left in place, finished rotations included
	// (status_incident.go).
	Quarantines []StatusQuarantine `json:"quarantines"`
	// SecurityCenterPending are the Security Center records respond left pending, and why.
	SecurityCenterPending []src.Pending `json:"security_center_pending"`
	// SecurityCenterPoll is the command that takes them up again, with the state directory and
	// configuration they were found with (Invocation.PollCommand; set by the caller, which knows
	// them: empty, a bare one).
	SecurityCenterPoll string `json:"security_center_poll,omitempty"`
}

// PendingSince is --since's value in the command that takes up the records left pending.
const PendingSince = "<age of the oldest, e.g. 720h>"

// StatusRotation is one rotation's journal state. status reads no cloud: a journal is a memory,
// not an authority (design §6 rule 9), so an unfinished rotation is listed as unconfirmed by the
// cloud (respond resumes it only once the cloud confirms the journal's owner), and one whose
// journal does not look like respond's (State.Suspect) is offered no resume command at all.
type StatusRotation struct {
	journal.State
	Unfinished bool `json:"unfinished"`
	// UnconfirmedByCloud is set on every unfinished rotation: status did not ask the cloud.
	UnconfirmedByCloud bool   `json:"unconfirmed_by_cloud,omitempty"`
	Resume             string `json:"resume,omitempty"`
}

// ReadStatus reads the journals in dir: the unfinished rotations, or every one with all, and the
// deny policies still in place (ReadStatusAt now).
func ReadStatus(dir string, all bool) (Status, error) { return ReadStatusAt(dir, all, time.Now()) }

// ReadStatusAt is ReadStatus with the deny policies' expiry judged at now.
func ReadStatusAt(dir string, all bool, now time.Time) (Status, error) {
	states, err := journal.List(dir)
	if err != nil {
		return Status{}, fmt.Errorf("read the journals in %s: %w", dir, err)
	}
	st := Status{StateDir: dir, Rotations: []StatusRotation{}}
	if _, serr := os.Lstat(dir); serr == nil { // no state directory: nothing was left pending
		if st.SecurityCenterPending, err = src.LoadPending(dir); err != nil {
			return Status{}, err
		}
	}
	if st.SecurityCenterPending == nil {
		st.SecurityCenterPending = []src.Pending{}
	}
	for _, s := range states {
		if !all && !s.Unfinished() {
			continue
		}
		r := StatusRotation{State: s, Unfinished: s.Unfinished()}
		if r.Unfinished {
			r.UnconfirmedByCloud = true
			if len(s.Suspect) == 0 {
				r.Resume = resumeOf(s)
			}
		}
		st.Rotations = append(st.Rotations, r)
	}
	st.Quarantines = quarantines(states, now)
	return st, nil
}

// resumeOf is the command that resumes the rotation a journal tells of, as its runs recorded it
// (with their state directory and configuration), else a bare respond --key-id.
func resumeOf(s journal.State) string { return cmp.Or(s.Resume, "respond --key-id "+s.KeyID) }

// WriteText renders the status for a human.
func (st Status) WriteText(w io.Writer) error {
	var b strings.Builder
	if len(st.Rotations) == 0 {
		fmt.Fprintf(&b, "No unfinished rotations in %s.\n", st.StateDir)
	}
	for _, r := range st.Rotations {
		state := "finished"
		if r.Unfinished {
			state = "UNFINISHED"
		}
		// everything but the key id (the file's name) comes from the journal: escaped
		p := accesskey.Printable
		fmt.Fprintf(&b, "%s  %s  user %s account %s  last %s  updated %s\n", r.KeyID, state, p(r.UserName), p(r.AccountID),
			p(string(cmp.Or(r.LastOutcome, "-"))), r.Updated.Format(time.RFC3339))
		if r.InFlight != nil {
			fmt.Fprintf(&b, "    interrupted in: %s\n", p(r.InFlight.Step))
		}
		for _, k := range r.NewKeys {
			fmt.Fprintf(&b, "    replacement %s\n", p(k.ID))
		}
		switch {
		case len(r.Suspect) > 0:
			fmt.Fprintf(&b, "    SUSPECT: this journal does not look like one respond wrote (%s); respond will not resume it: look at it, then move it aside\n",
				p(strings.Join(r.Suspect, "; ")))
		case r.Unfinished:
			fmt.Fprintf(&b, "    unconfirmed by the cloud: respond resumes only if the cloud confirms the journal's owner (the key still on user %s, or in its recycle bin)\n", p(r.UserName))
			fmt.Fprintf(&b, "    resume with: %s\n    (add --dry-run to that command first to see what it will do)\n", accesskey.Printable(r.Resume))
		}
	}
	writeQuarantinesText(&b, st)
	if n := len(st.SecurityCenterPending); n > 0 {
		fmt.Fprintf(&b, "Security Center records respond left pending (%d):\n", n)
		for _, p := range st.SecurityCenterPending {
			r := p.Record
			fmt.Fprintf(&b, "  record %d  key %s  account %s  since %s\n", r.ID, r.KeyID, r.AccountID, p.Since.Format(time.RFC3339))
			fmt.Fprintf(&b, "    why: %s\n", accesskey.Printable(p.Reason))
		}
		fmt.Fprintf(&b, "  take them up again with: %s\n", accesskey.Printable(cmp.Or(st.SecurityCenterPoll, "respond --from security-center --since "+PendingSince)))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
