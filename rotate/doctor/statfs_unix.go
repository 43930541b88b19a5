//go:build linux || darwin || freebsd || netbsd || openbsd

package doctor

import (
	"errors"
	"fmt"
	"syscall"
)

var errNoStatfs = errors.New("free space is not measured on this system")

// freeBytes is the space left to an unprivileged user on the file system holding dir.
func freeBytes(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("measure the free space of %s: %w", dir, err)
	}
	return uint64(st.Bavail) * uint64(st.Bsize), nil
}
