//go:build !unix

package source

import (
	"fmt"
	"os"
)

// openNoFollow opens p for reading after checking it is not a symbolic link (no O_NOFOLLOW here:
// a link swapped in between is the remaining window).
func openNoFollow(p string) (*os.File, error) {
	st, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	if st.Mode()&os.ModeSymlink != 0 {
		return nil, fmt.Errorf("%s is a symbolic link", p)
	}
	return os.Open(p)
}

// checkPrivate accepts the directory: ownership and mode bits are unix concepts.
func checkPrivate(string, os.FileInfo) error { return nil }
