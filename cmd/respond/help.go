package main

import (
	"embed"
	"strings"

	"github.com/spf13/cobra"
)

// helpPages holds the long help of the commands, one file per command named after its path
// (help/respond_sandbox_serve.txt): the description, then, after a line "Examples:", the examples.
//
//go:embed help/*.txt
var helpPages embed.FS

// addHelp gives c and its subcommands without a Long text theirs from helpPages.
func addHelp(c *cobra.Command) {
	if b, err := helpPages.ReadFile("help/" + strings.ReplaceAll(c.CommandPath(), " ", "_") + ".txt"); err == nil && c.Long == "" {
		long, example, _ := strings.Cut(strings.TrimSuffix(string(b), "\n"), "\n\nExamples:\n")
		c.Long, c.Example = long, example
	}
	for _, sub := range c.Commands() {
		addHelp(sub)
	}
}
