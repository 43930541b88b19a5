package journal

import (
	"path/filepath"

	"github.com/respond-dev/respond/ram/accesskey"
)

// Read summarises the journal of keyID in dir, read without following links; a key without a
// journal has the zero State (Runs 0). Like List, it marks a journal whose records name another
// key Suspect and gives it keyID (the file is the key's journal, whatever its records say).
func Read(dir string, keyID accesskey.ID) (State, error) {
	id := keyID.String()
	recs, err := readRecords(filepath.Join(dir, FileName(keyID)))
	if err != nil || len(recs) == 0 {
		return State{KeyID: id}, err
	}
	st := Summarize(recs)
	if st.KeyID != id {
		st.Suspect = append(st.Suspect, "its records name key "+accesskey.Printable(st.KeyID)+", not "+id)
		st.KeyID = id
	}
	return st, nil
}
