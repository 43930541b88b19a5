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
	"syscall"

	"github.com/respond-dev/respond/rotate/journal"
)

// The files a source keeps in the state directory (the poll state, the records left pending) are
// read and written the same way: the directory must be the user's and closed to others, a file is
// never followed through a symbolic link, and it is replaced atomically.

// readStateFile decodes the JSON file name in dir into v (unknown fields refused, at most max
// bytes). A missing file is not an error: found is false and v is left alone (a missing state
// directory is). what names the file in errors, hint says what to do with a file that is not
// respond's JSON.
func readStateFile(dir, name, what, hint string, max int, v any) (found bool, err error) {
	if err := checkStateDir(dir); err != nil {
		return false, err
	}
	p := filepath.Join(dir, name)
	// Never through a symbolic link (ELOOP), never blocking on a FIFO.
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s %s: %w", what, p, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("read %s %s: %w", what, p, err)
	}
	if !st.Mode().IsRegular() {
		return false, fmt.Errorf("read %s %s: not a regular file", what, p)
	}
	b, err := io.ReadAll(io.LimitReader(f, int64(max)+1))
	if err != nil {
		return false, fmt.Errorf("read %s %s: %w", what, p, err)
	}
	if len(b) > max {
		return false, fmt.Errorf("read %s %s: larger than %d bytes", what, p, max)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// The decoder's message may quote a token of the file: name the problem only.
		return false, fmt.Errorf("read %s %s: not the JSON respond writes; %s", what, p, hint)
	}
	return true, nil
}

// checkStateDir refuses a state directory that is a symbolic link or not a directory, and one
// that is another user's or writable by group or others (journal.CheckStateDir, design §6.9).
func checkStateDir(dir string) error {
	st, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("state directory %s is not a directory (a symbolic link is refused)", dir)
	}
	return journal.CheckStateDir(dir)
}

// writeStateFile replaces the file name in dir with v as JSON, atomically: a new file (mode
// 0600, created exclusively, so never through a link) is written, synced and renamed over the
// old one.
func writeStateFile(dir, name, what string, v any) error {
	if err := checkStateDir(dir); err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	p := filepath.Join(dir, name)
	if err := journal.WriteFile(p, append(b, '\n'), true, true); err != nil {
		return fmt.Errorf("write %s %s: %w", what, p, err)
	}
	return nil
}
