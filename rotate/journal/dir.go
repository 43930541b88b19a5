package journal

// Where the state directory is: the default, and the precedence of a command's sources.

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
)

// DefaultDir is the default state directory: $XDG_STATE_HOME/respond, else ~/.local/state/respond.
// getenv and home are passed in so that the caller decides where the environment comes from.
func DefaultDir(getenv func(string) string, home func() (string, error)) (string, error) {
	if d := getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "respond"), nil
	}
	h, err := home()
	if err != nil {
		return "", fmt.Errorf("find the default state directory: %w", err)
	}
	return filepath.Join(h, ".local", "state", "respond"), nil
}

// StateDir is a command's state directory: flag (--state-dir), else config (the configuration's
// state-dir), else fresh (a sandbox's own directory, when not empty), else $RESPOND_STATE_DIR,
// else DefaultDir ($HOME before the user database for the home directory).
func StateDir(flag, config, fresh string, getenv func(string) string) (string, error) {
	if d := cmp.Or(flag, config, fresh, getenv("RESPOND_STATE_DIR")); d != "" {
		return d, nil
	}
	dir, err := DefaultDir(getenv, func() (string, error) {
		if h := getenv("HOME"); h != "" {
			return h, nil
		}
		return os.UserHomeDir()
	})
	if err != nil {
		return "", fmt.Errorf("%w (pass --state-dir)", err)
	}
	return dir, nil
}
