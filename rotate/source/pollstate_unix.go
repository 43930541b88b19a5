//go:build unix

package source

import (
	"fmt"
	"os"
	"syscall"
)

// openNoFollow opens p for reading, failing on a symbolic link (O_NOFOLLOW: ELOOP).
func openNoFollow(p string) (*os.File, error) {
	return os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
}

// checkPrivate refuses a directory that is another user's or writable by group or others.
func checkPrivate(dir string, st os.FileInfo) error {
	if st.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("state directory %s is writable by group or others (mode %v): chmod 700 it", dir, st.Mode().Perm())
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Getuid() {
		return fmt.Errorf("state directory %s belongs to user %d, not to you (%d)", dir, sys.Uid, os.Getuid())
	}
	return nil
}
