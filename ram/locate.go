package ram

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/respond-dev/respond/ram/accesskey"
)

// DefaultStrategies is the default search order: cheapest first. StrategyCaller is opt-in only.
var DefaultStrategies = []string{StrategyIMS, StrategyActionTrail, StrategyScan, StrategySelf}

// LocatorAccount is one account to search, with a client signed into it. Account.ID may be empty
// for an explicit list; it is then learnt from GetCallerIdentity on a hit. Err is set when the
// account could not be entered (AssumeRole failed): it is reported, not searched.
type LocatorAccount struct {
	Account Account
	API     API
	Err     error
}

// Progress is what a full scan reports while it runs.
type Progress struct {
	Account      string
	UsersScanned int
	UsersTotal   int // users listed so far; final once the listing is done
	Rate         float64
	Throttles    int
}

// Locator finds the owner of a key across accounts.
type Locator struct {
	Accounts []LocatorAccount
	// Strategies in order (default DefaultStrategies). Each runs in every account concurrently;
	// the first hit cancels the rest.
	Strategies []string
	// Leaked is a client signed with the leaked pair, for StrategyCaller only (it fires
	// honeytokens and shows in the owner's ActionTrail).
	Leaked API
	// Concurrency is the number of scan workers per account (default 8).
	Concurrency int
	// InitialRate and MaxRate bound the scan's adaptive rate per account, in calls per second
	// (defaults 40 and 2000), when the account's API is not a *Client: a *Client paces every call
	// signed by its key itself, and the scan shares that pace.
	InitialRate, MaxRate float64
	// Progress, when set, is called during a scan (at most every 100 ms per account, and at its end).
	Progress func(Progress)
	// Now and Sleep are injectable for tests (defaults time.Now and a timer).
	Now   func() time.Time
	Sleep func(context.Context, time.Duration) error
}

// DirectoryAccounts lists the Resource Directory of mgmt's account and enters every member
// account by AssumeRole into roleName (default ResourceDirectoryAccountAccessRole). The caller's
// own account is searched with mgmt itself. Accounts that cannot be entered carry Err.
func DirectoryAccounts(ctx context.Context, mgmt *Client, roleName string) ([]LocatorAccount, error) {
	accts, err := mgmt.ListAccounts(ctx)
	if err != nil {
		return nil, err
	}
	me, err := mgmt.GetCallerIdentity(ctx)
	if err != nil {
		return nil, fmt.Errorf("list Resource Directory accounts: %w", err)
	}
	out := make([]LocatorAccount, len(accts))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, a := range accts {
		out[i].Account = a
		if a.ID == me.AccountID {
			out[i].API = mgmt
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			c, err := mgmt.ForAccount(ctx, a.ID, RoleArn(a.ID, roleName))
			if err != nil {
				out[i].Err = err
				return
			}
			out[i].API = c
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

type hit struct {
	owner Owner
	acct  *LocatorAccount
	keys  []AccessKey // the owner's keys when the strategy already listed them
}

// Locate finds who owns id. A miss is a *NotFoundError (errors.Is ErrOwnerNotFound); when no
// strategy could run at all, the error says why instead.
func (l *Locator) Locate(ctx context.Context, id accesskey.ID) (Owner, error) {
	strategies := l.Strategies
	if len(strategies) == 0 {
		strategies = DefaultStrategies
	}
	for _, s := range strategies {
		switch s {
		case StrategyIMS, StrategyActionTrail, StrategyScan, StrategySelf, StrategyCaller:
		default:
			return Owner{}, fmt.Errorf("locate %s: unknown strategy %q (want %s, %s, %s, %s or %s)", id, s,
				StrategyIMS, StrategyActionTrail, StrategyScan, StrategySelf, StrategyCaller)
		}
	}
	if len(l.Accounts) == 0 {
		return Owner{}, fmt.Errorf("locate %s: no account to search", id)
	}
	var tried []StrategyReport
	var errs []error
	clean := false
	var scanned int
	for _, a := range l.Accounts {
		if a.Err != nil {
			tried = append(tried, StrategyReport{Strategy: "enter", AccountID: a.Account.ID, Error: a.Err.Error()})
			errs = append(errs, a.Err)
		}
	}
	for _, s := range strategies {
		reps, h, serrs := l.runStrategy(ctx, s, id)
		tried = append(tried, reps...)
		errs = append(errs, serrs...)
		for _, r := range reps {
			scanned += r.UsersScanned
			if r.Error == "" {
				clean = true
			}
		}
		if h != nil {
			o, err := l.finish(ctx, id, h)
			if err != nil {
				return Owner{}, err
			}
			o.Strategy = s
			o.Tried = tried
			return o, nil
		}
		if err := ctx.Err(); err != nil {
			return Owner{}, fmt.Errorf("locate %s: %w", id, err)
		}
	}
	if !clean {
		return Owner{}, fmt.Errorf("locate %s: no strategy could complete: %w", id, errors.Join(errs...))
	}
	nf := &NotFoundError{KeyID: id, UsersScanned: scanned, Tried: tried}
	for _, a := range l.Accounts {
		nf.AccountIDs = append(nf.AccountIDs, accountLabel(a.Account))
	}
	return Owner{}, nf
}

func accountLabel(a Account) string {
	switch {
	case a.ID != "":
		return a.ID
	case a.Name != "":
		return a.Name
	}
	return "(unnamed)"
}

// runStrategy runs one strategy in every account at once; the first hit cancels the others.
func (l *Locator) runStrategy(ctx context.Context, s string, id accesskey.ID) ([]StrategyReport, *hit, []error) {
	if s == StrategyCaller {
		rep := StrategyReport{Strategy: s}
		h, err := l.caller(ctx, id, &rep)
		var errs []error
		if err != nil {
			rep.Error = err.Error()
			errs = append(errs, err)
		}
		return []StrategyReport{rep}, h, errs
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	reps := make([]StrategyReport, len(l.Accounts))
	errs := make([]error, len(l.Accounts))
	var mu sync.Mutex
	var first *hit
	var wg sync.WaitGroup
	for i := range l.Accounts {
		a := &l.Accounts[i]
		reps[i] = StrategyReport{Strategy: s, AccountID: accountLabel(a.Account)}
		if a.Err != nil || a.API == nil {
			reps[i].Error = "account not entered"
			continue
		}
		wg.Go(func() {
			h, err := l.runIn(sctx, s, a, id, &reps[i])
			if h != nil {
				reps[i].Found = true
				mu.Lock()
				if first == nil {
					first = h
					cancel()
				}
				mu.Unlock()
				return
			}
			if err != nil {
				if sctx.Err() != nil && ctx.Err() == nil {
					reps[i].Error = "stopped: owner found in another account"
					return
				}
				reps[i].Error = err.Error()
				errs[i] = err
			}
		})
	}
	wg.Wait()
	var out []error
	for _, e := range errs {
		if e != nil {
			out = append(out, e)
		}
	}
	return reps, first, out
}

func (l *Locator) runIn(ctx context.Context, s string, a *LocatorAccount, id accesskey.ID, rep *StrategyReport) (*hit, error) {
	switch s {
	case StrategyIMS:
		rep.Calls++
		u, err := a.API.GetUserByAccessKey(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return &hit{acct: a, owner: Owner{UserName: u.UserName, UserID: u.UserID}}, nil
	case StrategyActionTrail:
		return l.actionTrail(ctx, a, id, rep)
	case StrategyScan:
		return l.scan(ctx, a, id, rep)
	case StrategySelf:
		rep.Calls++
		keys, err := a.API.ListAccessKeys(ctx, "")
		if err != nil {
			return nil, err
		}
		if findKey(keys, id) == nil {
			return nil, nil
		}
		rep.Calls++
		me, err := a.API.GetCallerIdentity(ctx)
		if err != nil {
			return nil, err
		}
		h := &hit{acct: a, keys: keys}
		h.owner.Account.ID = me.AccountID
		if name, ok := userFromArn(me.Arn); ok && me.IdentityType == "RAMUser" {
			h.owner.UserName, h.owner.UserID = name, me.UserID
		} else {
			h.owner.Root = true
		}
		return h, nil
	}
	return nil, fmt.Errorf("unknown strategy %q", s)
}

func (l *Locator) actionTrail(ctx context.Context, a *LocatorAccount, id accesskey.ID, rep *StrategyReport) (*hit, error) {
	rep.Calls++
	lu, err := a.API.GetAccessKeyLastUsedInfo(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if lu.AccountID != "" && a.Account.ID != "" && lu.AccountID != a.Account.ID {
		return nil, nil // the trail of another account knows it; that account's own run reports it
	}
	if lu.UserName == "" {
		if isRootType(lu.AccountType) {
			return &hit{acct: a, owner: Owner{Root: true, Account: Account{ID: lu.AccountID}}}, nil
		}
		return nil, nil
	}
	// ActionTrail is history: confirm the key is still the user's.
	rep.Calls++
	keys, err := a.API.ListAccessKeys(ctx, lu.UserName)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if findKey(keys, id) == nil {
		return nil, nil
	}
	return &hit{acct: a, keys: keys, owner: Owner{UserName: lu.UserName, Account: Account{ID: lu.AccountID}}}, nil
}

func isRootType(t string) bool {
	t = strings.ToLower(t)
	return t == "root-account" || t == "account" || t == "root" || t == "aliyunaccount"
}

func (l *Locator) caller(ctx context.Context, id accesskey.ID, rep *StrategyReport) (*hit, error) {
	if l.Leaked == nil {
		return nil, errors.New("the caller strategy needs the leaked secret")
	}
	rep.Calls++
	me, err := l.Leaked.GetCallerIdentity(ctx)
	if err != nil {
		if errors.Is(err, ErrInvalidCredentials) {
			return nil, nil // the pair no longer authenticates: deleted, disabled or wrong secret
		}
		return nil, err
	}
	rep.AccountID = me.AccountID
	var acct *LocatorAccount
	for i := range l.Accounts {
		if l.Accounts[i].Account.ID == me.AccountID {
			acct = &l.Accounts[i]
		}
	}
	if acct == nil {
		return nil, fmt.Errorf("the leaked key belongs to account %s, which is not configured", me.AccountID)
	}
	h := &hit{acct: acct, owner: Owner{Account: Account{ID: me.AccountID}}}
	if name, ok := userFromArn(me.Arn); ok {
		h.owner.UserName, h.owner.UserID = name, me.UserID
	} else {
		h.owner.Root = true
	}
	return h, nil
}

// userFromArn takes the user name out of acs:ram::<account>:user/<name>.
func userFromArn(arn string) (string, bool) {
	_, name, ok := strings.Cut(arn, ":user/")
	return name, ok && name != ""
}

func findKey(keys []AccessKey, id accesskey.ID) *AccessKey {
	for i := range keys {
		if keys[i].ID == id {
			return &keys[i]
		}
	}
	return nil
}

// finish fills the account and the key of a hit.
func (l *Locator) finish(ctx context.Context, id accesskey.ID, h *hit) (Owner, error) {
	o := h.owner
	o.KeyID = id
	acct := h.acct.Account
	if o.Account.ID != "" && acct.ID == "" {
		acct.ID = o.Account.ID
	}
	if acct.ID == "" {
		me, err := h.acct.API.GetCallerIdentity(ctx)
		if err != nil {
			return Owner{}, fmt.Errorf("locate %s: account of the owner: %w", id, err)
		}
		acct.ID = me.AccountID
	}
	o.Account = acct
	keys := h.keys
	if keys == nil {
		var err error
		keys, err = h.acct.API.ListAccessKeys(ctx, o.UserName)
		if err != nil {
			return Owner{}, fmt.Errorf("locate %s: key status: %w", id, err)
		}
	}
	o.Keys = keys
	if k := findKey(keys, id); k != nil {
		o.Key = *k
	} else {
		o.Key = AccessKey{ID: id}
	}
	return o, nil
}

// scan is the full search of one account: ListUsers (every page) × ListAccessKeys(user), by a
// bounded pool of workers paced by an AIMD rate.
func (l *Locator) scan(ctx context.Context, a *LocatorAccount, id accesskey.ID, rep *StrategyReport) (*hit, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers := l.Concurrency
	if workers <= 0 {
		workers = 8
	}
	initial, hi := l.InitialRate, l.MaxRate
	if initial <= 0 {
		initial = 40
	}
	if hi <= 0 {
		hi = 2000
	}
	now := l.Now
	if now == nil {
		now = time.Now
	}
	lim := newAIMD(initial, 1, hi, now, l.Sleep)
	paced := false // by the client itself, whose pace every caller of its key shares
	keysAPI := a.API
	if c, ok := keysAPI.(*Client); ok {
		lim, paced = c.lim, true
		keysAPI = c.withoutThrottleRetry() // we retry throttled listings ourselves and must see every throttle
	}

	users := make(chan User, 4*workers)
	var listed, scanned, calls atomic.Int64
	var listErr error
	go func() {
		defer close(users)
		listErr = a.API.ListUsers(ctx, func(u User) error {
			listed.Add(1)
			select {
			case users <- u:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()

	start := now()
	var lastReport atomic.Int64
	report := func(force bool) {
		if l.Progress == nil {
			return
		}
		t := now()
		if last := lastReport.Load(); !force && t.UnixNano()-last < int64(100*time.Millisecond) {
			return
		} else if !lastReport.CompareAndSwap(last, t.UnixNano()) && !force {
			return
		}
		_, thr := lim.snapshot()
		n := int(scanned.Load())
		rate := 0.0
		if el := t.Sub(start).Seconds(); el > 0 {
			rate = float64(n) / el
		}
		l.Progress(Progress{Account: accountLabel(a.Account), UsersScanned: n, UsersTotal: int(listed.Load()), Rate: rate, Throttles: thr})
	}

	var mu sync.Mutex
	var found *hit
	var firstErr error
	var failed int
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for u := range users {
				keys, err := l.scanUser(ctx, keysAPI, lim, paced, u, &calls)
				switch {
				case err == nil:
					scanned.Add(1)
					if findKey(keys, id) != nil {
						mu.Lock()
						if found == nil {
							found = &hit{acct: a, keys: keys, owner: Owner{UserName: u.UserName, UserID: u.UserID}}
						}
						mu.Unlock()
						cancel()
					}
				case errors.Is(err, ErrNotFound): // deleted since listed
					scanned.Add(1)
				case ctx.Err() != nil:
					return
				default:
					mu.Lock()
					failed++
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
				report(false)
			}
		})
	}
	wg.Wait()
	report(true)
	n := int(listed.Load())
	pages := max(1, (n+listUsersPage-1)/listUsersPage) // ListUsers pages, assuming full pages
	rep.Calls = int(calls.Load()) + pages
	rep.UsersScanned = int(scanned.Load())
	if found != nil {
		return found, nil
	}
	if listErr != nil && !errors.Is(listErr, context.Canceled) {
		return nil, listErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if firstErr != nil {
		return nil, fmt.Errorf("%d users could not be scanned: %w", failed, firstErr)
	}
	return nil, nil
}

// maxThrottlesPerUser bounds how often one user's listing is retried after throttling.
const maxThrottlesPerUser = 30

// scanUser lists one user's keys, retrying throttled listings. Unless paced (the client paces
// itself and records every answer in lim), it waits for lim's slots and reports to it.
func (l *Locator) scanUser(ctx context.Context, api API, lim *aimd, paced bool, u User, calls *atomic.Int64) ([]AccessKey, error) {
	for t := 0; ; t++ {
		if !paced {
			if err := lim.Wait(ctx); err != nil {
				return nil, err
			}
		}
		calls.Add(1)
		keys, err := api.ListAccessKeys(ctx, u.UserName)
		if err == nil || !errors.Is(err, ErrThrottled) || t >= maxThrottlesPerUser {
			if err == nil && !paced {
				lim.OK()
			}
			return keys, err
		}
		var e *Error
		var wait time.Duration
		if errors.As(err, &e) {
			wait = e.RetryAfter
		}
		if !paced {
			lim.Throttled(wait)
		} else if wait > 0 {
			if err := lim.sleep(ctx, wait); err != nil {
				return nil, err
			}
		}
	}
}
