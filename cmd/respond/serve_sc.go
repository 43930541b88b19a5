package main

import (
	"context"
	"fmt"
	"time"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/rotate"
	"github.com/respond-dev/respond/rotate/source"
)

// Security Center for respond serve: the source's list and close over the session's accounts,
// with the poll state the CLI keeps in the state directory. (The CLI's --from security-center
// wires the same rotate/source calls; when it gains its own accounts adapter, this one should
// become that.)

// leakAccounts gives Security Center a client signed in each account the session entered.
type leakAccounts struct{ s *rotate.Session }

func (a leakAccounts) Client(ctx context.Context, accountID string) (source.LeakAPI, error) {
	for _, la := range a.s.Entered() {
		if la.Account.ID != accountID {
			continue
		}
		if la.Err != nil {
			return nil, la.Err
		}
		c, err := la.Entry.Client(ctx)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	return nil, fmt.Errorf("account %s is not one respond is configured for", accountID)
}

// scPoller implements serve.SecurityCenter.
type scPoller struct {
	sc       *source.SecurityCenter
	accounts []string
	stateDir string
	now      func() time.Time
}

func newSCPoller(s *rotate.Session, conf *playbooks.Config, stateDir string, now func() time.Time) scPoller {
	var opts source.Options
	var ids []string
	for _, la := range s.Entered() {
		if la.Account.ID == "" || la.Err != nil {
			continue
		}
		ids = append(ids, la.Account.ID)
		if conf != nil && conf.ResourceDirectory != nil && la.Account.Name == conf.ResourceDirectory.Account {
			opts.Management = la.Account.ID
		}
	}
	return scPoller{sc: source.NewSecurityCenter(leakAccounts{s}, opts), accounts: ids, stateDir: stateDir, now: now}
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
