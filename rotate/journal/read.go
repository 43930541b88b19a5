package journal

import (
	"path/filepath"

	"github.com/respond-dev/respond/ram/accesskey"
)

// Read summarises the journal of keyID in dir, read without following links; a key without a
// journal has the zero State (Runs 0).
func Read(dir string, keyID accesskey.ID) (State, error) {
	recs, err := readRecords(filepath.Join(dir, FileName(keyID)))
	if err != nil || len(recs) == 0 {
		return State{KeyID: keyID.String()}, err
	}
	return Summarize(recs), nil
}
