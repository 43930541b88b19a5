package main

import (
	"context"
	"time"

	"github.com/respond-dev/respond/rotate"
)

// The --from value (and scan argument) rotate.SecurityCenterSource polls Alibaba Cloud Security
// Center instead of reading a file. The poll, the records' closing, what is remembered and its
// report are the engine's (rotate.SecurityCenterPoll); this file only wires them to the commands.

// checkSince refuses --since where it means nothing.
func checkSince(from string, since time.Duration) error {
	switch {
	case since < 0:
		return flagErrorf("--since must be a positive duration (e.g. 24h or 720h), not %s", since)
	case since > 0 && from != rotate.SecurityCenterSource:
		return flagErrorf("--since applies to --from %s only (how far back to read its records)", rotate.SecurityCenterSource)
	}
	return nil
}

// scanSecurityCenter prints the findings a Security Center poll would act on (read-only: the
// poll is not remembered).
func scanSecurityCenter(ctx context.Context, f *Factory, since time.Duration) error {
	conf, cl, err := f.connected(ctx)
	if err != nil {
		return err
	}
	dir, err := f.stateDirFor(conf)
	if err != nil {
		return err
	}
	poll, err := cl.PollSecurityCenter(ctx, dir, since, f.Now())
	if err != nil {
		return err
	}
	if err := f.print(poll.Result()); err != nil {
		return err
	}
	if err := poll.PartialError(); err != nil {
		return &ExitError{Code: exitPartial, Err: err}
	}
	return nil
}
