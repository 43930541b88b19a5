package main

import (
	"context"
	"time"

	"github.com/respond-dev/respond/rotate"
	"github.com/respond-dev/respond/rotate/source"
)

// Security Center for respond serve: the session's Security Center source (rotate.Session's, the
// one the CLI's --from security-center uses) with the poll state the CLI keeps in the state
// directory.

// scPoller implements serve.SecurityCenter.
type scPoller struct {
	sc       *source.SecurityCenter
	accounts []string
	stateDir string
	now      func() time.Time
}

func newSCPoller(s *rotate.Session, stateDir string, now func() time.Time) scPoller {
	var ids []string
	for _, la := range s.Entered() {
		if la.Account.ID != "" && la.Err == nil {
			ids = append(ids, la.Account.ID)
		}
	}
	return scPoller{sc: s.SecurityCenter(source.Options{}), accounts: ids, stateDir: stateDir, now: now}
}

// Poll lists the records pending since the last successful poll (less source.PollOverlap), and
// records this one when every account answered.
func (p scPoller) Poll(ctx context.Context) ([]source.Finding, error) {
	st, err := source.LoadPollState(p.stateDir)
	if err != nil {
		return nil, err
	}
	start := p.now()
	res, err := p.sc.List(ctx, p.accounts, source.Since(st, 0, start))
	if err == nil {
		err = source.SavePollState(p.stateDir, source.PollState{LastSuccess: start})
	}
	return res.Findings, err
}

// Close marks a remediated key's records handled.
func (p scPoller) Close(ctx context.Context, f source.Finding, runID, done string) error {
	_, err := p.sc.CloseAll(ctx, f, runID, done)
	return err
}
