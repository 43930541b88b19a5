package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is respond's version as the build recorded it ("devel" for a plain go build).
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

// userAgent marks respond's own API calls, so that ActionTrail summaries can leave them out.
func userAgent() string { return "respond/" + version() }

func newCmdVersion(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print respond's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintf(f.Streams.Out, "respond %s\n", version())
			return err
		},
	}
}
