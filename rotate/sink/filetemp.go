package sink

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// tempPrefix is how the file sink's temporary files for path begin: ".NAME.respond-", followed
// by the digits os.CreateTemp puts in place of its "*".
func tempPrefix(path string) string { return "." + filepath.Base(path) + ".respond-" }

// isTempOf reports whether name is one of the file sink's temporary files for path.
func isTempOf(name, path string) bool {
	rest, ok := strings.CutPrefix(name, tempPrefix(path))
	if !ok || rest == "" {
		return false
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] < '0' || rest[i] > '9' {
			return false
		}
	}
	return true
}

// RemoveStaleTemps removes the temporary files a file sink writing path left behind when it was
// killed between writing and renaming (".NAME.respond-<digits>" in path's directory; each holds
// a whole credential, secret included). It removes only regular files of the current user that
// match that pattern exactly, never follows a symlink, and leaves alone a temporary file whose
// writer is still alive (it holds an flock on it). It returns the paths removed. Store calls it
// before every write; a resumed rotation may call it for a file sink it does not store to again.
func RemoveStaleTemps(ctx context.Context, path string) ([]string, error) {
	dir := filepath.Dir(path)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look for stale temporary files of %s: %w", path, err)
	}
	var removed []string
	for _, e := range ents {
		if err := ctx.Err(); err != nil {
			return removed, err
		}
		if !isTempOf(e.Name(), path) || !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		ok, err := removeIfStale(p)
		if err != nil {
			return removed, fmt.Errorf("remove stale temporary file %s: %w", p, err)
		}
		if ok {
			removed = append(removed, p)
		}
	}
	return removed, nil
}

// removeIfStale removes p when it is a regular file of the current user whose writer is gone.
func removeIfStale(p string) (bool, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ELOOP) {
		return false, nil // gone, or swapped for a symlink: not ours to touch
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return false, err
	}
	if !info.Mode().IsRegular() {
		return false, nil
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		return false, nil
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return false, nil // a live respond is writing it
		}
		return false, err
	}
	// The name must still be the file we hold (not swapped since we opened it).
	now, err := os.Lstat(p)
	if err != nil || !os.SameFile(info, now) {
		return false, nil
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	return true, nil
}
