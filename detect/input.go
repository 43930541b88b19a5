package detect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// ReadPath reads findings from a file, or from stdin when path is "-" (Options.Source is set to
// the file name or "stdin"). An empty input is no findings, with a warning: a scanner that found
// nothing may print nothing (trufflehog does).
func ReadPath(ctx context.Context, path string, stdin io.Reader, opts Options) (Result, error) {
	r := stdin
	opts.Source = path
	if path == "-" {
		opts.Source = "stdin"
	} else {
		f, err := os.Open(path)
		if err != nil {
			return Result{}, fmt.Errorf("read findings: %w", err)
		}
		defer f.Close()
		r = f
	}
	res, err := Read(ctx, r, opts)
	if errors.Is(err, ErrEmptyInput) {
		return Result{Warnings: []string{"the input from " + opts.Source + " is empty: no findings"}}, nil
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		err = fmt.Errorf("read findings from %s: %w", opts.Source, err)
	}
	return res, err
}
