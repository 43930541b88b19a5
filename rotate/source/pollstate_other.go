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

// checkStateDir refuses a state directory that is a symbolic link or not a directory.
func checkStateDir(dir string) error {
	st, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("state directory %s is not a directory (a symbolic link is refused)", dir)
	}
	return nil
}
