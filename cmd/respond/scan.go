package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/respond-dev/respond/detect"
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
		Long: `Read a scanner's output (gitleaks JSON/CSV/SARIF, trufflehog JSON lines, GitHub secret-scanning
alerts, ggshield JSON, detect-secrets baselines, Alibaba Security Center's leak list, any JSON) or
plain text (logs, .env, shell, YAML, code), and print the AccessKey ids found, de-duplicated, with
every place each one leaked. Secrets are never printed: only whether one was found.

The format is detected from the content; --format forces it.

'respond scan security-center' reads Alibaba Cloud Security Center's pending AccessKey leak
records instead (every configured account; --since DURATION, else since the last successful
poll); it changes nothing and does not count as a poll.`,
		Example: `  gitleaks git . --report-format json --report-path - | respond scan -
  respond scan build.log --output json
  respond scan security-center --since 720h`,
		Args: cobra.ExactArgs(1),
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

// readFindings reads findings from path ("-" = stdin) with detect, mapping bad input (an
// unknown --format included) to exit 2.
func readFindings(ctx context.Context, f *Factory, path, format string) (detect.Result, error) {
	var r io.Reader
	source := path
	if path == "-" {
		r, source = f.Streams.In, "stdin"
	} else {
		fh, err := os.Open(path)
		if err != nil {
			return detect.Result{}, &FlagError{Err: fmt.Errorf("read findings: %w", err)}
		}
		defer fh.Close()
		r = fh
	}
	res, err := detect.Read(ctx, r, detect.Options{Format: detect.Format(format), Source: source})
	if errors.Is(err, detect.ErrEmptyInput) {
		// A scanner that found nothing may print nothing (trufflehog does): nothing to do.
		return detect.Result{Warnings: []string{"the input from " + source + " is empty: no findings"}}, nil
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return res, err
		}
		return res, &FlagError{Err: fmt.Errorf("read findings from %s: %w", source, err)}
	}
	return res, nil
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
	if asJSON {
		return detect.WriteJSON(opts.Factory.Streams.Out, res)
	}
	return detect.WriteText(opts.Factory.Streams.Out, res)
}
