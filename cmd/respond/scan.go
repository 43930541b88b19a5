package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/ram/accesskey"
)

// ScanOptions are the flags of `respond scan`.
type ScanOptions struct {
	Factory *Factory
	Path    string
	Format  string
	// Since is how far back `scan security-center` reads (0: since the last successful poll).
	Since time.Duration
}

func newCmdScan(f *Factory) *cobra.Command {
	opts := &ScanOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "scan PATH|-",
		Short: "Print the findings respond would act on, from a scanner's output or any text (secrets redacted)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Path = args[0]
			if err := checkSince(opts.Path, opts.Since); err != nil {
				return err
			}
			return scanRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "", fmt.Sprintf("input format, one of %v (default: detected)", detect.Formats()))
	cmd.Flags().DurationVar(&opts.Since, "since", 0, "with security-center: read the records found in this last while (e.g. 720h)")
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

func scanRun(ctx context.Context, opts *ScanOptions) error {
	asJSON, err := opts.Factory.outputJSON()
	if err != nil {
		return err
	}
	if opts.Path == fromSecurityCenter {
		return scanSecurityCenter(ctx, opts, asJSON)
	}
	res, err := readFindings(ctx, opts.Factory, opts.Path, opts.Format)
	if err != nil {
		return err
	}
	return writeResult(opts.Factory.Streams.Out, res, asJSON)
}

// writeResult prints findings. A finding's file name or URL can hold a secret of the input (a
// path that embeds it): the output passes a redactor that knows every secret found.
func writeResult(w io.Writer, res detect.Result, asJSON bool) error {
	red := accesskey.NewRedactor()
	for _, fd := range res.Findings {
		red.Add(fd.Secret)
	}
	out := red.Writer(w)
	write := detect.WriteText
	if asJSON {
		write = detect.WriteJSON
	}
	return cmp.Or(write(out, res), out.Flush())
}
