package rotate

import (
	"path/filepath"
	"slices"
	"strings"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
)

// Invocation is what a run used that the run resuming it must use again: the state directory
// (where the journal is), the configuration file, the endpoint, the region, the credentials'
// profile, a forced playbook (a name, or a file), the sinks named instead of the playbook's
// (--sink: a resume storing elsewhere would find the replacement missing there, delete it and
// create another), the owner search's order (--locate; not caller nor secret-match, which need the
// leaked secret), the sandbox.
type Invocation struct {
	Sandbox                                               bool
	StateDir, Config, Endpoint, Region, Profile, Playbook string
	Sinks, Strategies                                     []string
}

// ResumeCommand is the command that resumes a rotation this invocation started, quoted for a
// POSIX shell, with %s for the key id (Deps.ResumeCommand): it works when pasted verbatim, from
// any directory (paths are made absolute).
func (inv Invocation) ResumeCommand() string {
	return inv.command([]string{"respond", "--key-id", "%s", "--yes"}, func(s string) string {
		return strings.ReplaceAll(ShellQuote(s), "%", "%%")
	})
}

// PollCommand is the command that polls Security Center on this invocation's state directory,
// configuration and target, quoted for a POSIX shell (not a format), followed by since (--since's
// value, as given: e.g. a placeholder).
func (inv Invocation) PollCommand(since string) string {
	return inv.command([]string{"respond", "--from", "security-center"}, ShellQuote) + " --since " + since
}

// command is head followed by the invocation's flags, each value quoted.
func (inv Invocation) command(head []string, quote func(string) string) string {
	inv.StateDir, inv.Config = absPath(inv.StateDir), absPath(inv.Config)
	if playbooks.IsPath(inv.Playbook) {
		inv.Playbook = absPath(inv.Playbook)
	}
	args := head
	if inv.Sandbox {
		args = append(args, "--sandbox")
	}
	for _, f := range [][2]string{{"--state-dir", inv.StateDir}, {"--config", inv.Config}, {"--endpoint", inv.Endpoint},
		{"--region", inv.Region}, {"--profile", inv.Profile}, {"--playbook", inv.Playbook}} {
		if f[1] != "" {
			args = append(args, f[0], quote(f[1]))
		}
	}
	for _, s := range inv.Sinks {
		args = append(args, "--sink", quote(s))
	}
	// (not the strategies that need the leaked secret, which a resume by --key-id does not have)
	if st := slices.DeleteFunc(slices.Clone(inv.Strategies), func(s string) bool {
		return s == ram.StrategyCaller || s == playbooks.StrategySecretMatch
	}); len(st) > 0 {
		args = append(args, "--locate", quote(strings.Join(st, ",")))
	}
	return strings.Join(args, " ")
}

// ShellQuote quotes s for a POSIX shell: unchanged when it holds only characters no shell
// treats specially, else in single quotes (a single quote inside as '\”).
func ShellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); p != "" && err == nil {
		return a
	}
	return p
}
