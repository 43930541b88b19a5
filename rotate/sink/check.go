package sink

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
)

// Checks a sink can make before it is needed (respond doctor). None of them stores anything or
// touches the target.

// CheckDir checks that the directory the file sink writes in exists and that respond can create a
// file there: it creates a probe file (.respond-doctor-<random>, mode 0600, exclusive, never
// following a symlink), writes one line that is not a credential, and removes it. The target
// itself is never opened for writing.
func (f *File) CheckDir() error {
	dir := filepath.Dir(f.path)
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("file sink %q: directory %s: %w", f.name, dir, err)
	}
	if !info.IsDir() {
		return fmt.Errorf("file sink %q: %s is not a directory", f.name, dir)
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return fmt.Errorf("file sink %q: draw a probe name: %w", f.name, err)
	}
	probe := filepath.Join(dir, ".respond-doctor-"+hex.EncodeToString(b[:]))
	fd, err := os.OpenFile(probe, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, fileMode)
	if err != nil {
		return fmt.Errorf("file sink %q: respond cannot create a file in %s: %w", f.name, dir, err)
	}
	_, werr := fd.WriteString("respond doctor: a probe of this directory, not a credential\n")
	cerr := fd.Close()
	rerr := os.Remove(probe)
	if err := errors.Join(werr, cerr); err != nil {
		return fmt.Errorf("file sink %q: write a probe file in %s: %w", f.name, dir, err)
	}
	if rerr != nil {
		return fmt.Errorf("file sink %q: remove the probe file %s: %w", f.name, probe, rerr)
	}
	return nil
}

// CheckTarget checks that Store would accept the target as it is now: absent, or a regular file
// respond wrote (not a symlink, FIFO or someone else's file). It reads the file only to find
// respond's marker and keeps nothing of it.
func (f *File) CheckTarget() (exists bool, err error) {
	if _, err := os.Lstat(f.path); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return true, f.checkOurs()
}

// CheckProgram checks that the exec sink's program exists and is executable, looked up in PATH
// as Store will run it. It returns the path found.
func (e *Exec) CheckProgram() (string, error) {
	p, err := exec.LookPath(e.argv[0])
	if err != nil {
		return "", fmt.Errorf("exec sink %q: %w", e.name, err)
	}
	info, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("exec sink %q: %w", e.name, err)
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("exec sink %q: %s is not a regular file", e.name, p)
	}
	return p, nil
}
