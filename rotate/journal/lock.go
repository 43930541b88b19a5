package journal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/respond-dev/respond/ram/accesskey"
)

// LockedError says another respond (process or goroutine) holds the rotation lock of a key.
type LockedError struct {
	KeyID accesskey.ID
	// Name is the lock's name when it is not a key's (LockFile).
	Name string
	Path string
}

func (e *LockedError) Error() string {
	if e.Name != "" {
		return e.Name + " is being updated by another respond (lock " + e.Path + " is held)"
	}
	return "rotation of " + e.KeyID.String() + " is already in progress (lock " + e.Path + " is held by another respond)"
}

// KeyLock is a held per-key lock. Release it with Unlock.
type KeyLock struct {
	f *os.File
}

// lockPoll is how often a waiting Lock retries.
const lockPoll = 50 * time.Millisecond

// TryLock takes the lock of keyID in dir without waiting; it returns a *LockedError when the lock
// is held. The lock is an flock(2) on <dir>/<key>.lock: it works across processes on one machine
// (and between goroutines, each of which opens the file anew) and is released by the kernel when
// the holder dies, so a crash never leaves a stale lock. Like the journal, the lock file is never
// opened through a symlink and must be a regular file of the current user.
func TryLock(dir string, keyID accesskey.ID) (*KeyLock, error) {
	return tryLock(dir, keyID.String(), func(p string) *LockedError { return &LockedError{KeyID: keyID, Path: p} })
}

// tryLock takes the flock of <dir>/<name>.lock without waiting; locked says who holds it.
func tryLock(dir, name string, locked func(path string) *LockedError) (*KeyLock, error) {
	if err := ensureDir(dir); err != nil {
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	p := filepath.Join(dir, name+".lock")
	f, err := openState(p, os.O_RDWR|os.O_CREATE)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, locked(p)
		}
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	return &KeyLock{f: f}, nil
}

// Lock takes the lock of keyID in dir, waiting until ctx is done. When ctx ends first it returns
// the *LockedError (joined with the context's error).
func Lock(ctx context.Context, dir string, keyID accesskey.ID) (*KeyLock, error) {
	return wait(ctx, func() (*KeyLock, error) { return TryLock(dir, keyID) })
}

// LockFile takes the lock <dir>/<name>.lock, waiting until ctx is done: for a state file that
// more than one respond reads and rewrites (respond serve and a CLI poll both update the Security
// Center pending list).
func LockFile(ctx context.Context, dir, name string) (*KeyLock, error) {
	return wait(ctx, func() (*KeyLock, error) {
		return tryLock(dir, name, func(p string) *LockedError { return &LockedError{Name: name, Path: p} })
	})
}

// wait retries try every lockPoll while the lock is held, until ctx is done.
func wait(ctx context.Context, try func() (*KeyLock, error)) (*KeyLock, error) {
	for {
		l, err := try()
		var le *LockedError
		if err == nil || !errors.As(err, &le) {
			return l, err
		}
		t := time.NewTimer(lockPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, errors.Join(le, ctx.Err())
		case <-t.C:
		}
	}
}

// Unlock releases the lock.
func (l *KeyLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	cerr := l.f.Close()
	l.f = nil
	return errors.Join(err, cerr)
}
