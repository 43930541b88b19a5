package playbooks

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Resolve finds the playbook a person named (respond --playbook NAME|FILE): a file when the
// value looks like a path (it holds a path separator or ends in .yaml or .yml), checked against
// the configuration's sinks and channels; else a playbook the configuration names; else a
// built-in. "" is nil: the configuration's rules choose. A nil configuration names only the
// built-ins.
func Resolve(value string, c *Config) (*Playbook, error) {
	if value == "" {
		return nil, nil
	}
	if !IsPath(value) {
		return c.Playbook(value)
	}
	pb, err := Load(value)
	if err == nil && c != nil {
		err = c.CheckPlaybook(pb)
	}
	return pb, err
}

// IsPath reports whether a --playbook value names a file: it holds a path separator or ends in
// .yaml or .yml.
func IsPath(value string) bool {
	return strings.ContainsRune(value, os.PathSeparator) || strings.HasSuffix(value, ".yaml") || strings.HasSuffix(value, ".yml")
}

// Names are the names a person can give Resolve: the built-ins, then those the configuration
// names (for shell completion).
func (c *Config) Names() []string {
	names := BuiltinNames()
	if c != nil {
		for _, r := range c.Playbooks {
			if r.Playbook != nil && !contains(names, r.Playbook.Name) {
				names = append(names, r.Playbook.Name)
			}
		}
	}
	return names
}

// SinkNames are the names of the sinks the configuration defines, sorted (for --sink's shell
// completion).
func (c *Config) SinkNames() []string {
	if c == nil {
		return nil
	}
	return sortedKeys(c.Sinks)
}

// FindConfig is the configuration file to read when none is named: $RESPOND_CONFIG, else
// DefaultConfigPath under $XDG_CONFIG_HOME (or ~/.config) when that file exists. "" means none.
func FindConfig(getenv func(string) string) (string, error) {
	if p := getenv("RESPOND_CONFIG"); p != "" {
		return p, nil
	}
	dir := getenv("XDG_CONFIG_HOME")
	if home := getenv("HOME"); dir == "" && home != "" {
		dir = filepath.Join(home, ".config")
	}
	if dir == "" {
		return "", nil
	}
	p := DefaultConfigPath(dir)
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", nil
		}
		return "", fmt.Errorf("look for the configuration: %w", err)
	}
	return p, nil
}

// WriteList writes one line per playbook a person can name (Names): its name, where it comes
// from (builtin, or its file) and its steps (respond playbook list).
func (c *Config) WriteList(w io.Writer) error {
	for _, n := range c.Names() {
		pb, err := c.Playbook(n)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "%-14s %s  %s\n", pb.Name, pb.Source, strings.Join(pb.StepIDs(), " → ")); err != nil {
			return err
		}
	}
	return nil
}
