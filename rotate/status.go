package rotate

import (
	"cmp"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/respond-dev/respond/rotate/journal"
)

// Status is the rotations a state directory's journals tell of (respond status). Its JSON form
// lists each with whether it is unfinished and the command that resumes it.
type Status struct {
	StateDir  string           `json:"state_dir"`
	Rotations []StatusRotation `json:"rotations"`
	// Quarantines are the deny policies respond left in place, finished rotations included
	// (status_incident.go).
	Quarantines []StatusQuarantine `json:"quarantines"`
}

// StatusRotation is one rotation's journal state.
type StatusRotation struct {
	journal.State
	Unfinished bool   `json:"unfinished"`
	Resume     string `json:"resume,omitempty"`
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
	for _, s := range states {
		if !all && !s.Unfinished() {
			continue
		}
		r := StatusRotation{State: s, Unfinished: s.Unfinished()}
		if r.Unfinished {
			r.Resume = "respond --key-id " + s.KeyID
		}
		st.Rotations = append(st.Rotations, r)
	}
	st.Quarantines = quarantines(states, now)
	return st, nil
}

// WriteStatusText renders the status for a human.
func WriteStatusText(w io.Writer, st Status) error {
	var b strings.Builder
	if len(st.Rotations) == 0 {
		fmt.Fprintf(&b, "No unfinished rotations in %s.\n", st.StateDir)
	}
	for _, r := range st.Rotations {
		state := "finished"
		if r.Unfinished {
			state = "UNFINISHED"
		}
		fmt.Fprintf(&b, "%s  %s  user %s account %s  last %s  updated %s\n", r.KeyID, state, r.UserName, r.AccountID,
			cmp.Or(r.LastOutcome, "-"), r.Updated.Format(time.RFC3339))
		if r.InFlight != nil {
			fmt.Fprintf(&b, "    interrupted in: %s\n", r.InFlight.Step)
		}
		for _, k := range r.NewKeys {
			fmt.Fprintf(&b, "    replacement %s\n", k.ID)
		}
		if r.Unfinished {
			fmt.Fprintf(&b, "    resume with: %s\n", r.Resume)
		}
	}
	writeQuarantinesText(&b, st)
	_, err := io.WriteString(w, b.String())
	return err
}
