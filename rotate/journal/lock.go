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
	Path  string
}

func (e *LockedError) Error() string {
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
	if err := ensureDir(dir); err != nil {
		return nil, fmt.Errorf("lock %s: %w", keyID, err)
	}
	p := filepath.Join(dir, keyID.String()+".lock")
	f, err := openState(p, os.O_RDWR|os.O_CREATE)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", keyID, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &LockedError{KeyID: keyID, Path: p}
		}
		return nil, fmt.Errorf("lock %s: %w", keyID, err)
	}
	return &KeyLock{f: f}, nil
}

// Lock takes the lock of keyID in dir, waiting until ctx is done. When ctx ends first it returns
// the *LockedError (joined with the context's error).
func Lock(ctx context.Context, dir string, keyID accesskey.ID) (*KeyLock, error) {
	for {
		l, err := TryLock(dir, keyID)
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
