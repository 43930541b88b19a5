package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/rotate"
)

func newCmdScan(f *Factory) *cobra.Command {
	var format string
	var since time.Duration // how far back `scan security-center` reads (0: since the last successful poll)
	cmd := &cobra.Command{
		Use:   "scan PATH|-",
		Short: "Print the findings respond would act on, from a scanner's output or any text (secrets redacted)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkSince(args[0], since); err != nil {
				return err
			}
			if args[0] == rotate.SecurityCenterSource {
				return scanSecurityCenter(cmd.Context(), f, since)
			}
			res, err := readFindings(cmd.Context(), f, args[0], format)
			if err != nil {
				return err
			}
			return f.print(res)
		},
	}
	cmd.Flags().StringVar(&format, "format", "", fmt.Sprintf("input format, one of %v (default: detected)", detect.Formats()))
	cmd.Flags().DurationVar(&since, "since", 0, "with security-center: read the records found in this last while (e.g. 720h)")
	return cmd
}

// readFindings reads findings from path ("-" = stdin) with detect; bad input (an unknown --format
// included) is exit 2.
func readFindings(ctx context.Context, f *Factory, path, format string) (detect.Result, error) {
	res, err := detect.ReadPath(ctx, path, f.Streams.In, detect.Options{Format: detect.Format(format)})
	if err != nil && !errors.Is(err, context.Canceled) {
		return res, &FlagError{Err: err}
	}
	return res, err
}
