package playbooks

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

//go:embed builtin/*.yaml
var builtinFS embed.FS

// SourceBuiltin is the Source of a built-in playbook.
const SourceBuiltin = "builtin"

// BuiltinNames returns the names of the built-in playbooks, sorted.
func BuiltinNames() []string {
	entries, err := fs.ReadDir(builtinFS, "builtin")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if n, ok := strings.CutSuffix(e.Name(), ".yaml"); ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// IsBuiltin reports whether name is a built-in playbook.
func IsBuiltin(name string) bool { return contains(BuiltinNames(), name) }

// Builtin returns a fresh copy of the named built-in playbook.
func Builtin(name string) (*Playbook, error) {
	if !IsBuiltin(name) {
		return nil, fmt.Errorf("no built-in playbook %q: expected one of %s", name, strings.Join(BuiltinNames(), ", "))
	}
	data, err := builtinFS.ReadFile("builtin/" + name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("read built-in playbook %s: %w", name, err)
	}
	p, err := Parse("builtin/"+name+".yaml", data)
	if err != nil {
		return nil, fmt.Errorf("built-in playbook %s: %w", name, err)
	}
	p.Source = SourceBuiltin
	return p, nil
}

// BuiltinYAML returns the text of a built-in playbook, for `respond playbook show`.
func BuiltinYAML(name string) ([]byte, error) {
	if !IsBuiltin(name) {
		return nil, fmt.Errorf("no built-in playbook %q: expected one of %s", name, strings.Join(BuiltinNames(), ", "))
	}
	return builtinFS.ReadFile("builtin/" + name + ".yaml")
}
