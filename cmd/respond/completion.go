package main

import (
	"maps"
	"slices"
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
			"output": fixed("text", "json"), "progress": fixed("auto", "plain", "none"), "format": fixed(formats...),
			"locate": strategies, "playbook": configured(func(c *playbooks.Config) []string { return c.Names() }),
			"sink": configured(func(c *playbooks.Config) []string {
				if c == nil {
					return nil
				}
				return slices.Sorted(maps.Keys(c.Sinks))
			}),
		} {
			if c.Flags().Lookup(name) != nil || c == root && c.PersistentFlags().Lookup(name) != nil {
				_ = c.RegisterFlagCompletionFunc(name, fn)
			}
		}
	}
	if show, _, err := root.Find([]string{"playbook", "show"}); err == nil {
		show.ValidArgsFunction = func(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return playbooks.BuiltinNames(), cobra.ShellCompDirectiveNoFileComp
		}
	}
}
