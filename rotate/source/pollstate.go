package source

import "time"

// PollStateFile is the file in the state directory that remembers the last successful Security
// Center poll.
const PollStateFile = "security-center-poll.json"

// PollOverlap is how far before the last successful poll the next one starts reading: a record
// can show in the list some time after the moment Security Center dates it, and clocks differ.
// Records read twice are harmless (a handled key's record is closed, or found closed).
const PollOverlap = time.Hour

// PollState is what the state directory remembers between polls.
type PollState struct {
	// LastSuccess is when the last poll that read every account began.
	LastSuccess time.Time `json:"last_success"`
}

// maxPollState bounds what LoadPollState reads.
const maxPollState = 64 << 10

// Since is the StartTs of a poll that begins at now: now-flag when a --since duration is given,
// else the last successful poll less PollOverlap, else zero (every pending record).
func Since(st PollState, flag time.Duration, now time.Time) time.Time {
	switch {
	case flag > 0:
		return now.Add(-flag)
	case st.LastSuccess.IsZero():
		return time.Time{}
	}
	return st.LastSuccess.Add(-PollOverlap)
}

// LoadPollState reads the poll state from dir; a missing file is the zero state. The file is
// never followed through a symbolic link, and dir must belong to the user and be closed to
// others.
func LoadPollState(dir string) (PollState, error) {
	var out PollState
	if _, err := readStateFile(dir, PollStateFile, "Security Center poll state", "delete it to poll every pending record again", maxPollState, &out); err != nil {
		return PollState{}, err
	}
	return out, nil
}

// SavePollState replaces the poll state in dir atomically: a new file (mode 0600, created
// exclusively, so never through a link) is written, synced and renamed over the old one.
func SavePollState(dir string, st PollState) error {
	return writeStateFile(dir, PollStateFile, "Security Center poll state", PollState{LastSuccess: st.LastSuccess.UTC()})
}
