package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/rotate"
)

// completeValues registers the shell completion of flag values and arguments (respond
// completion bash|zsh|fish|powershell): fixed lists, and the names the configuration defines.
func completeValues(f *Factory, root *cobra.Command) {
	fixed := func(vals ...string) cobra.CompletionFunc {
		return cobra.FixedCompletions(vals, cobra.ShellCompDirectiveNoFileComp)
	}
	configured := func(names func(*playbooks.Config) []string) cobra.CompletionFunc {
		return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			conf, _ := f.loadConfig() // a broken configuration completes the built-ins only
			return names(conf), cobra.ShellCompDirectiveNoFileComp
		}
	}
	var formats []string
	for _, fm := range detect.Formats() {
		formats = append(formats, string(fm))
	}
	// --locate takes a comma-separated list: complete its last element.
	strategies := func(_ *cobra.Command, _ []string, typed string) ([]string, cobra.ShellCompDirective) {
		done := typed[:strings.LastIndex(typed, ",")+1]
		var out []string
		for _, s := range rotate.Strategies() {
			out = append(out, done+s)
		}
		return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
	for _, c := range append([]*cobra.Command{root}, root.Commands()...) {
		for name, fn := range map[string]cobra.CompletionFunc{
			"output": fixed(outputs...), "progress": fixed(progressModes...), "format": fixed(formats...),
			"locate": strategies, "playbook": configured((*playbooks.Config).Names),
			"sink": configured((*playbooks.Config).SinkNames),
		} {
			if c.Flags().Lookup(name) != nil || c == root && c.PersistentFlags().Lookup(name) != nil {
				_ = c.RegisterFlagCompletionFunc(name, fn)
			}
		}
	}
}
