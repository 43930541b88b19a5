package ram

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/respond-dev/respond/ram/accesskey"
)

// This file is the owner search of a secret found without its id (detect's secret-only
// findings): nothing in the Alibaba API maps a secret to its key, so every candidate key id of
// the configured accounts is tried with the secret, one GetCallerIdentity each, until one pair
// authenticates.

// StrategySecretMatch finds the key of a secret found without its id (opt-in only, like
// StrategyCaller, and for the same reason: the match is a call signed with the leaked secret,
// which shows in the owner's ActionTrail and fires honeytokens).
const StrategySecretMatch = "secret-match"

// DefaultMaxCandidates bounds the candidate ids one secret match tries (the configuration's
// secret-match.max-candidates).
const DefaultMaxCandidates = 10000

// The number of candidate tries in flight, by default: MatchConcurrencyPerAccount for each
// account searched (each account's listing brings candidates at its key's pace, and the tries
// must keep up with all of them), at most MaxMatchConcurrency.
const (
	MatchConcurrencyPerAccount = 16
	MaxMatchConcurrency        = 256
)

// SecretMatch says how Locator.MatchSecret searches.
type SecretMatch struct {
	// Checker signs one GetCallerIdentity with a candidate id and the leaked secret
	// (Client.PairCheck).
	Checker PairChecker
	// Skip are ids never tried: the configuration's canaries (a honeytoken must see no call of
	// ours, not even one that fails).
	Skip []accesskey.ID
	// MaxCandidates bounds the ids tried (0: DefaultMaxCandidates).
	MaxCandidates int
	// Concurrency is the number of tries in flight (0: MatchConcurrencyPerAccount per account,
	// at most MaxMatchConcurrency).
	Concurrency int
}

// MatchReport says what a secret match did (the plan and the JSON report show it).
type MatchReport struct {
	// Candidates counts the distinct active key ids listed that could be tried.
	Candidates int `json:"candidates"`
	// Tried counts the ids whose GetCallerIdentity got an answer (a try given up when another
	// matched is not counted).
	Tried         int `json:"candidates_tried"`
	MaxCandidates int `json:"max_candidates"`
	// Limited: the search stopped at MaxCandidates with candidates left untried.
	Limited bool `json:"limited,omitempty"`
	// SkippedCanaries and SkippedInactive count the ids listed and never tried: canaries, and
	// inactive keys (a disabled key authenticates with no secret).
	SkippedCanaries int `json:"skipped_canaries,omitempty"`
	SkippedInactive int `json:"skipped_inactive,omitempty"`
	// ListCalls counts the calls that listed the candidates, each signed by its account's key.
	ListCalls int `json:"list_calls"`
	// FailedTries counts the tries that got no answer on the pair (the cloud failed, throttled
	// past the retries); FailedError is the first one's error.
	FailedTries int    `json:"failed_tries,omitempty"`
	FailedError string `json:"failed_error,omitempty"`
	// Matched is the key the secret authenticated with (zero when none did).
	Matched accesskey.ID `json:"matched,omitzero"`
	// Accounts says what the search did in each account (calls: the listing's and the tries of
	// the account's candidates).
	Accounts []StrategyReport `json:"accounts"`
}

// NoMatchError is MatchSecret's error when no candidate authenticated with the secret. It
// matches ErrOwnerNotFound.
type NoMatchError struct {
	Report     MatchReport
	AccountIDs []string
}

func (e *NoMatchError) Error() string {
	r := e.Report
	s := "the secret authenticates with none of the " + strconv.Itoa(r.Tried) + " candidate key ids tried in accounts " +
		strings.Join(e.AccountIDs, ", ")
	if r.Limited {
		s += " (stopped at max-candidates " + strconv.Itoa(r.MaxCandidates) + " with candidates left untried)"
	}
	if r.FailedTries > 0 {
		s += "; " + strconv.Itoa(r.FailedTries) + " tries got no answer: " + r.FailedError
	}
	for _, a := range r.Accounts {
		if a.Error != "" {
			s += "; account " + a.AccountID + ": " + a.Error
		}
	}
	return s
}

func (e *NoMatchError) Unwrap() error { return ErrOwnerNotFound }

// candidate is one key id to try, with what the listing knows of its owner.
type candidate struct {
	key  AccessKey
	acct int // index in Locator.Accounts
	// user owns the key; zero for a key listed only as the account client's own (its owner is
	// then what GetCallerIdentity answers).
	user User
	keys []AccessKey // the owner's keys as listed
}

// MatchSecret finds the key the leaked secret belongs to: for every active key id of the
// configured accounts (the full scan's, and the accounts' own keys: ListAccessKeys without a
// user) but the skipped ones, it signs one GetCallerIdentity with (id, secret); the id that
// authenticates is the key, and its owner the user the listing found it with. The tries begin as
// soon as the first ids are listed, several at once, newest key first among those waiting (RAM's
// key listing does not say when a key was last used, and asking costs a call signed by the
// account's key per candidate: more than the try itself, which costs that key nothing), until
// one authenticates or m.MaxCandidates were tried. A miss is a *NoMatchError; the report says
// what was tried either way.
func (l *Locator) MatchSecret(ctx context.Context, m SecretMatch) (Owner, MatchReport, error) {
	rep := MatchReport{MaxCandidates: m.MaxCandidates}
	if rep.MaxCandidates <= 0 {
		rep.MaxCandidates = DefaultMaxCandidates
	}
	if m.Checker == nil {
		return Owner{}, rep, errors.New("secret-match: no way to sign with the secret")
	}
	if len(l.Accounts) == 0 {
		return Owner{}, rep, errors.New("secret-match: no account to search")
	}
	outer := ctx
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	q := newCandQueue(rep.MaxCandidates, len(l.Accounts), m.Skip)
	reps := make([]StrategyReport, len(l.Accounts))
	tries := make([]atomic.Int64, len(l.Accounts))
	cut := make([]bool, len(l.Accounts)) // the account's listing was stopped before its end
	var listing sync.WaitGroup
	for i := range l.Accounts {
		reps[i] = StrategyReport{Strategy: StrategySecretMatch, AccountID: accountLabel(l.Accounts[i].Account)}
		listing.Go(func() {
			defer q.listed()
			err := l.listCandidates(ctx, i, &reps[i], q)
			switch {
			case err != nil && ctx.Err() != nil:
				cut[i] = true
			case err != nil:
				reps[i].Error = err.Error()
			}
		})
	}

	var mu sync.Mutex
	var match *candidate
	var me Identity
	workers := m.Concurrency
	if workers <= 0 {
		workers = min(MatchConcurrencyPerAccount*len(l.Accounts), MaxMatchConcurrency)
	}
	var trying sync.WaitGroup
	for range workers {
		trying.Go(func() {
			for {
				c, ok := q.next(ctx)
				if !ok {
					return
				}
				id, err := m.Checker.CheckPair(ctx, c.key.ID)
				if err != nil && ctx.Err() != nil {
					continue // given up (a match elsewhere, or the caller's end): not counted as tried
				}
				tries[c.acct].Add(1)
				mu.Lock()
				switch {
				case err == nil, errors.Is(err, ErrKeyFlagged): // the pair authenticated (flagged: refused after that)
					if match == nil {
						match, me = c, id
						cancel()
					}
				case errors.Is(err, ErrInvalidCredentials):
				default:
					rep.FailedTries++
					if rep.FailedError == "" {
						rep.FailedError = err.Error()
					}
				}
				mu.Unlock()
			}
		})
	}
	trying.Wait()
	cancel() // the listing stops too once the tries are over: a match, or the limit
	listing.Wait()

	rep.Candidates, rep.Limited, rep.SkippedCanaries, rep.SkippedInactive = q.counts()
	for i := range reps {
		rep.ListCalls += reps[i].Calls
		rep.Tried += int(tries[i].Load())
		reps[i].Calls += int(tries[i].Load())
		switch {
		case !cut[i]:
		case match != nil:
			reps[i].Error = "stopped: the key was found"
		case rep.Limited:
			reps[i].Error = "stopped: max-candidates reached"
		}
	}
	rep.Accounts = reps
	if match == nil && outer.Err() != nil {
		return Owner{}, rep, fmt.Errorf("secret-match: %w", outer.Err())
	}
	if match == nil {
		nf := &NoMatchError{Report: rep}
		for _, a := range l.Accounts {
			nf.AccountIDs = append(nf.AccountIDs, accountLabel(a.Account))
		}
		if rep.Tried == 0 && allFailed(reps) {
			return Owner{}, rep, fmt.Errorf("secret-match: no account could be listed: %s", nf.Error())
		}
		return Owner{}, rep, nf
	}
	reps[match.acct].Found = true
	rep.Matched = match.key.ID
	return l.matchOwner(match, me, reps), rep, nil
}

func allFailed(reps []StrategyReport) bool {
	for _, r := range reps {
		if r.Error == "" {
			return false
		}
	}
	return true
}

// matchOwner is the owner of the candidate that authenticated: the user it was listed with, else
// (a key listed as the account client's own) who GetCallerIdentity said signed.
func (l *Locator) matchOwner(c *candidate, me Identity, reps []StrategyReport) Owner {
	o := Owner{KeyID: c.key.ID, Account: l.Accounts[c.acct].Account, UserName: c.user.UserName, UserID: c.user.UserID,
		Key: c.key, Keys: c.keys, Strategy: StrategySecretMatch, Tried: reps}
	if o.Account.ID == "" {
		o.Account.ID = me.AccountID
	}
	if o.UserName == "" {
		// Listed only as the client's own: a RAM user's own keys are in the scan too, with the
		// user (candQueue.add), so this is a root key unless the answer says otherwise.
		if name, ok := userFromArn(me.Arn); ok && me.IdentityType == "RAMUser" {
			o.UserName, o.UserID = name, me.UserID
		} else {
			o.Root = true
		}
	}
	return o
}

// listCandidates lists the account's active keys into q: its client's own (ListAccessKeys
// without a user: a root key's account keys, a RAM user's own; not for an account entered
// through a role, whose session has none), then every user's (the full scan).
func (l *Locator) listCandidates(ctx context.Context, i int, rep *StrategyReport, q *candQueue) error {
	a := &l.Accounts[i]
	api, pace, err := a.Connect(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", errNotEntered.Error(), err)
	}
	var ownErr error
	if a.Entry == nil || a.Entry.c != nil {
		rep.Calls++
		own, err := api.ListAccessKeys(ctx, "")
		ownErr = err
		for _, k := range own {
			q.add(candidate{key: k, acct: i, keys: own})
		}
	}
	err = l.eachUserKeys(ctx, a, api, pace, rep, func(u User, keys []AccessKey) bool {
		for _, k := range keys {
			q.add(candidate{key: k, acct: i, user: u, keys: keys})
		}
		return false
	})
	if err == nil && ownErr != nil {
		return fmt.Errorf("the account's own keys were not listed (a root key would be missed): %w", ownErr)
	}
	return err
}

// candQueue holds the candidates listed and not yet tried, newest key first, and counts them. The
// listing adds, the tries take, at most max in all; the first listing of an id wins, except that
// a user's listing replaces a listing as some client's own key (it knows the owner).
type candQueue struct {
	mu        sync.Mutex
	waiting   candHeap
	seen      map[accesskey.ID]*candidate
	skip      map[accesskey.ID]bool
	max       int
	taken     int
	open      int  // accounts still listing
	limited   bool // max were taken while candidates were waiting or still being listed
	wake      chan struct{}
	closed    chan struct{} // closed when every listing ended
	canaries  int
	inactive  int
	listedAll int
}

func newCandQueue(limit, accounts int, skip []accesskey.ID) *candQueue {
	q := &candQueue{seen: map[accesskey.ID]*candidate{}, skip: map[accesskey.ID]bool{}, max: limit, open: accounts,
		wake: make(chan struct{}, 1), closed: make(chan struct{})}
	for _, id := range skip {
		q.skip[id] = true
	}
	return q
}

func (q *candQueue) add(c candidate) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if prev, ok := q.seen[c.key.ID]; ok {
		if prev.user.UserName == "" && c.user.UserName != "" && prev.acct == c.acct {
			prev.user, prev.keys = c.user, c.keys // still waiting or not: the owner is known now
		}
		return
	}
	switch {
	case q.skip[c.key.ID]:
		q.canaries++
		q.seen[c.key.ID] = &c
		return
	case c.key.Status != "" && c.key.Status != StatusActive:
		q.inactive++
		q.seen[c.key.ID] = &c
		return
	}
	p := &c
	q.seen[c.key.ID] = p
	q.listedAll++
	heap.Push(&q.waiting, p)
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// listed says that one account's listing ended.
func (q *candQueue) listed() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.open--
	if q.open == 0 {
		close(q.closed)
	}
}

// next takes the newest candidate waiting, waiting for the listing when none is; false once
// max were taken, or every listing ended and none is left, or ctx ended.
func (q *candQueue) next(ctx context.Context) (*candidate, bool) {
	for {
		if ctx.Err() != nil {
			return nil, false
		}
		q.mu.Lock()
		if q.taken >= q.max {
			q.limited = q.limited || q.waiting.Len() > 0 || q.open > 0
			q.mu.Unlock()
			return nil, false
		}
		if q.waiting.Len() > 0 {
			c := heap.Pop(&q.waiting).(*candidate)
			q.taken++
			more := q.waiting.Len() > 0
			q.mu.Unlock()
			if more {
				select { // another waiting worker may take the next one
				case q.wake <- struct{}{}:
				default:
				}
			}
			return c, true
		}
		open := q.open
		q.mu.Unlock()
		if open == 0 {
			return nil, false
		}
		select {
		case <-q.wake:
		case <-q.closed:
		case <-ctx.Done():
			return nil, false
		}
	}
}

// counts are the report's: candidates listed, whether the limit left some untried, and the ids
// skipped.
func (q *candQueue) counts() (listed int, limited bool, canaries, inactive int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.listedAll, q.limited, q.canaries, q.inactive
}

// candHeap orders candidates newest key first (then by id, for a stable order).
type candHeap []*candidate

func (h candHeap) Len() int { return len(h) }
func (h candHeap) Less(i, j int) bool {
	a, b := h[i].key, h[j].key
	if !a.CreateDate.Equal(b.CreateDate) {
		return a.CreateDate.After(b.CreateDate)
	}
	return a.ID.String() < b.ID.String()
}
func (h candHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *candHeap) Push(x any)   { *h = append(*h, x.(*candidate)) }
func (h *candHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return c
}
