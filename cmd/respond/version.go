package main

import (
	"github.com/spf13/cobra"

	"github.com/respond-dev/respond/ram"
)

func newCmdVersion(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print respond's version, commit and commit date (also respond --version)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return f.print(ram.ReadBuildInfo())
		},
	}
}
