package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/respond-dev/respond/ram"
)

func newCmdDocs(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:       "docs man|markdown DIR",
		Short:     "Write respond's reference pages, man pages or Markdown, one per command, into DIR",
		Args:      cobra.ExactArgs(2),
		ValidArgs: []string{"man", "markdown"},
		RunE: func(cmd *cobra.Command, args []string) error {
			root, dir := cmd.Root(), args[1]
			root.DisableAutoGenTag = true // no generation date in the pages: they are compared with the committed ones
			// an unknown format is refused before DIR is created
			if args[0] != "man" && args[0] != "markdown" {
				return flagErrorf("docs: the format is man or markdown, not %q", args[0])
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return &FlagError{Err: fmt.Errorf("docs: %w", err)}
			}
			var err error
			if args[0] == "man" {
				err = doc.GenManTree(root, &doc.GenManHeader{Title: "RESPOND", Section: "1", Source: "respond " + ram.ReadBuildInfo().Version, Manual: "respond manual"}, dir)
			} else {
				err = doc.GenMarkdownTree(root, dir)
			}
			if err != nil {
				return fmt.Errorf("write the reference pages into %s: %w", dir, err)
			}
			fmt.Fprintf(f.Streams.ErrOut, "respond: %s pages written to %s\n", args[0], dir)
			return nil
		},
	}
}
