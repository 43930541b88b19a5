package journal

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"syscall"
)

// The state directory is trusted input: its journals decide what a resumed run deletes. So it
// must belong to the user running respond and be closed to everyone else, and its files are
// opened without following symlinks and only when they are plain files of that user: a symlink
// planted there must never make respond truncate or append to the file it points at.

// UnsafeStateError says the state directory, or a file in it, is not safe to trust. Fix, when
// set, is the command that makes it safe. The cmd layer maps it to exit 2 (bad input).
type UnsafeStateError struct {
	Path    string // the directory or file
	Problem string // what is wrong, e.g. "is writable by group or others (mode 0777)"
	Fix     string // e.g. "chmod go-w '/home/u/.local/state/respond'"; "" when there is none
}

func (e *UnsafeStateError) Error() string {
	s := "unsafe state: " + strconv.Quote(e.Path) + " " + e.Problem
	if e.Fix != "" {
		s += "; run: " + e.Fix
	}
	return s
}

// shellQuote quotes p for a POSIX shell, so that the Fix can be pasted whatever the path holds.
func shellQuote(p string) string {
	out := []byte{'\''}
	for i := 0; i < len(p); i++ {
		if p[i] == '\'' {
			out = append(out, `'\''`...)
			continue
		}
		out = append(out, p[i])
	}
	return string(append(out, '\''))
}

// CheckStateDir checks that dir, when it exists, is a directory owned by the current user and
// not writable by group or others. A directory that does not exist yet is fine (respond creates
// it with mode 0700). The error is an *UnsafeStateError naming the chmod or chown to run.
func CheckStateDir(dir string) error {
	info, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check state directory %q: %w", dir, err)
	}
	return checkDirInfo(dir, info)
}

func checkDirInfo(dir string, info fs.FileInfo) error {
	if !info.IsDir() {
		return &UnsafeStateError{Path: dir, Problem: "is not a directory (" + kindOf(info.Mode()) + ")"}
	}
	uid := os.Getuid()
	if st, ok := info.Sys().(*syscall.Stat_t); ok && int(st.Uid) != uid {
		return &UnsafeStateError{Path: dir,
			Problem: fmt.Sprintf("belongs to uid %d, not to the user running respond (uid %d)", st.Uid, uid),
			Fix:     fmt.Sprintf("chown %d %s (or choose another --state-dir)", uid, shellQuote(dir))}
	}
	if perm := info.Mode().Perm(); perm&0o022 != 0 {
		return &UnsafeStateError{Path: dir,
			Problem: fmt.Sprintf("is writable by group or others (mode %04o)", perm),
			Fix:     "chmod go-w " + shellQuote(dir)}
	}
	return nil
}

// ensureDir creates dir (mode 0700) when missing and checks it.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return CheckStateDir(dir)
}

func kindOf(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m.IsDir():
		return "a directory"
	case m.IsRegular():
		return "a regular file"
	}
	return "not a regular file"
}

// openState opens a file of the state directory: never through a symlink (O_NOFOLLOW), never
// blocking on a FIFO (O_NONBLOCK), and only when it is a regular file of the current user with a
// single link. flag is O_RDONLY, O_RDWR or O_WRONLY with O_CREATE/O_APPEND as needed.
func openState(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		// ELOOP is O_NOFOLLOW meeting a symlink; ENXIO a FIFO without a reader opened for
		// writing. Name what is there rather than the errno.
		if info, lerr := os.Lstat(path); lerr == nil && !info.Mode().IsRegular() {
			return nil, &UnsafeStateError{Path: path, Problem: "is " + kindOf(info.Mode()) + ", not a regular file: respond never follows or writes through it",
				Fix: "rm " + shellQuote(path)}
		}
		return nil, err
	}
	if err := checkStateFile(path, f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

func checkStateFile(path string, f *os.File) error {
	info, err := f.Stat()
	if err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return &UnsafeStateError{Path: path, Problem: "is " + kindOf(info.Mode()) + ", not a regular file: respond never follows or writes through it",
			Fix: "rm " + shellQuote(path)}
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if uid := os.Getuid(); int(st.Uid) != uid {
		return &UnsafeStateError{Path: path,
			Problem: fmt.Sprintf("belongs to uid %d, not to the user running respond (uid %d)", st.Uid, uid),
			Fix:     "rm " + shellQuote(path)}
	}
	if st.Nlink > 1 {
		return &UnsafeStateError{Path: path,
			Problem: fmt.Sprintf("has %d hard links: it may be another file's name, which respond must not write", st.Nlink),
			Fix:     "rm " + shellQuote(path)}
	}
	return nil
}
