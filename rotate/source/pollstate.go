package source

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

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
	if err := checkStateDir(dir); err != nil {
		return PollState{}, err
	}
	p := filepath.Join(dir, PollStateFile)
	f, err := openNoFollow(p)
	if errors.Is(err, fs.ErrNotExist) {
		return PollState{}, nil
	}
	if err != nil {
		return PollState{}, fmt.Errorf("read Security Center poll state %s: %w", p, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return PollState{}, fmt.Errorf("read Security Center poll state %s: %w", p, err)
	}
	if !st.Mode().IsRegular() {
		return PollState{}, fmt.Errorf("read Security Center poll state %s: not a regular file", p)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxPollState+1))
	if err != nil {
		return PollState{}, fmt.Errorf("read Security Center poll state %s: %w", p, err)
	}
	if len(b) > maxPollState {
		return PollState{}, fmt.Errorf("read Security Center poll state %s: larger than %d bytes", p, maxPollState)
	}
	var out PollState
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		// The decoder's message may quote a token of the file: name the problem only.
		return PollState{}, fmt.Errorf("read Security Center poll state %s: not the JSON respond writes; delete it to poll every pending record again", p)
	}
	return out, nil
}

// checkStateDir refuses a state directory that is a symbolic link or not a directory, and (on
// unix) one that is another user's or writable by group or others (design §6.9).
func checkStateDir(dir string) error {
	st, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("state directory %s is not a directory (a symbolic link is refused)", dir)
	}
	return checkPrivate(dir, st)
}

// SavePollState replaces the poll state in dir atomically: a new file (mode 0600, created
// exclusively, so never through a link) is written, synced and renamed over the old one.
func SavePollState(dir string, st PollState) (err error) {
	if err := checkStateDir(dir); err != nil {
		return err
	}
	b, err := json.Marshal(PollState{LastSuccess: st.LastSuccess.UTC()})
	if err != nil {
		return err
	}
	p := filepath.Join(dir, PollStateFile)
	tmp, err := os.CreateTemp(dir, "."+PollStateFile+".*")
	if err != nil {
		return fmt.Errorf("write Security Center poll state %s: %w", p, err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err = tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("write Security Center poll state %s: %w", p, err)
	}
	if _, err = tmp.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write Security Center poll state %s: %w", p, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("write Security Center poll state %s: %w", p, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write Security Center poll state %s: %w", p, err)
	}
	if err = os.Rename(tmp.Name(), p); err != nil {
		return fmt.Errorf("write Security Center poll state %s: %w", p, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync() // durability of the rename; the file is in place either way
		_ = d.Close()
	}
	return nil
}
