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

// DefaultStrategies is the default search order: cheapest first, the recycle bin (a key already
// deleted) last. StrategyCaller is opt-in only.
var DefaultStrategies = []string{StrategyIMS, StrategyActionTrail, StrategyScan, StrategySelf, StrategyRecycleBin}

// LocatorAccount is one account to search: reached through Entry (a client signed into it, or one
// that enters it on first use), or else through API as it is (a fake in tests), whose scan follows
// Pace. Account.ID may be empty for an explicit list; it is then learnt from GetCallerIdentity on
// a hit. Err is set when the account could not be reached at all: it is reported, not searched.
type LocatorAccount struct {
	Account Account
	Entry   *Entry
	API     API
	// Pace is the pace of API's key, which the scan shares (Client.Pace). Nil: the scan paces its
	// own calls, from Locator.InitialRate up to MaxRate. With an Entry, it is the client's.
	Pace *Pace
	Err  error
}

// errNotEntered: a LocatorAccount with neither an Entry nor an API.
var errNotEntered = errors.New("account not entered")

// Connect is the account's client and the pace its scan shares, entering the account first when
// nobody has yet.
func (a *LocatorAccount) Connect(ctx context.Context) (API, *Pace, error) {
	switch {
	case a.Err != nil:
		return nil, nil, a.Err
	case a.Entry != nil:
		c, err := a.Entry.Client(ctx)
		if err != nil {
			return nil, nil, err
		}
		return c, c.Pace(), nil
	case a.API == nil:
		return nil, nil, errNotEntered
	}
	return a.API, a.Pace, nil
}

// Progress is what a full scan reports while it runs.
type Progress struct {
	Account      string
	UsersScanned int
	UsersTotal   int // users listed so far; final once Listed
	Listed       bool
	Rate         float64 // users scanned per second since the scan began
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
	// (defaults 40 and 2000), in an account that comes with no pace of its own (see
	// LocatorAccount.Pace): a Client paces every call signed by its key itself, and the scan
	// shares that pace.
	InitialRate, MaxRate float64
	// Progress, when set, is called during a scan (at most every 100 ms per account, and at its end).
	Progress func(Progress)
	// Now and Sleep are injectable for tests (defaults time.Now and a timer).
	Now   func() time.Time
	Sleep func(context.Context, time.Duration) error
}

type hit struct {
	owner Owner
	acct  *LocatorAccount
	api   API         // acct's client
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
		case StrategyIMS, StrategyActionTrail, StrategyScan, StrategySelf, StrategyRecycleBin, StrategyCaller:
		default:
			return Owner{}, fmt.Errorf("locate %s: unknown strategy %q (want %s, %s, %s, %s, %s or %s)", id, s,
				StrategyIMS, StrategyActionTrail, StrategyScan, StrategySelf, StrategyRecycleBin, StrategyCaller)
		}
	}
	if len(l.Accounts) == 0 {
		return Owner{}, fmt.Errorf("locate %s: no account to search", id)
	}
	var tried []StrategyReport
	var errs []error
	clean := false
	var scanned int
	unreached := make([]bool, len(l.Accounts)) // reported once, by the first strategy that tried
	for _, s := range strategies {
		reps, h, serrs, enterErrs := l.runStrategy(ctx, s, id)
		for i, err := range enterErrs {
			if err != nil && !unreached[i] {
				unreached[i] = true
				tried = append(tried, StrategyReport{Strategy: "enter", AccountID: l.Accounts[i].Account.ID, Error: err.Error()})
				errs = append(errs, err)
			}
		}
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

// runStrategy runs one strategy in every account at once, each as soon as it is entered; the
// first hit cancels the others. enterErrs says, per account, why it could not be entered.
func (l *Locator) runStrategy(ctx context.Context, s string, id accesskey.ID) (reps []StrategyReport, first *hit, out, enterErrs []error) {
	if s == StrategyCaller {
		rep := StrategyReport{Strategy: s}
		h, err := l.caller(ctx, id, &rep)
		var errs []error
		if err != nil {
			rep.Error = err.Error()
			errs = append(errs, err)
		}
		return []StrategyReport{rep}, h, errs, nil
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	reps = make([]StrategyReport, len(l.Accounts))
	errs := make([]error, len(l.Accounts))
	enterErrs = make([]error, len(l.Accounts))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range l.Accounts {
		a := &l.Accounts[i]
		reps[i] = StrategyReport{Strategy: s, AccountID: accountLabel(a.Account)}
		wg.Go(func() {
			api, pace, err := a.Connect(sctx)
			if err != nil && sctx.Err() == nil {
				reps[i].Error = errNotEntered.Error()
				enterErrs[i] = err
				return
			}
			var h *hit
			if err == nil {
				h, err = l.runIn(sctx, s, a, api, pace, id, &reps[i])
			}
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
	for _, e := range errs {
		if e != nil {
			out = append(out, e)
		}
	}
	return reps, first, out, enterErrs
}

func (l *Locator) runIn(ctx context.Context, s string, a *LocatorAccount, api API, pace *Pace, id accesskey.ID, rep *StrategyReport) (*hit, error) {
	switch s {
	case StrategyIMS:
		rep.Calls++
		u, err := api.GetUserByAccessKey(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		return &hit{acct: a, api: api, owner: Owner{UserName: u.UserName, UserID: u.UserID}}, nil
	case StrategyActionTrail:
		return l.actionTrail(ctx, a, api, id, rep)
	case StrategyScan:
		return l.scan(ctx, a, api, pace, id, rep)
	case StrategyRecycleBin:
		return l.recycleBin(ctx, a, api, id, rep)
	case StrategySelf:
		rep.Calls++
		keys, err := api.ListAccessKeys(ctx, "")
		if err != nil {
			return nil, err
		}
		if findKey(keys, id) == nil {
			return nil, nil
		}
		rep.Calls++
		me, err := api.GetCallerIdentity(ctx)
		if err != nil {
			return nil, err
		}
		h := &hit{acct: a, api: api, keys: keys}
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

func (l *Locator) actionTrail(ctx context.Context, a *LocatorAccount, api API, id accesskey.ID, rep *StrategyReport) (*hit, error) {
	rep.Calls++
	lu, err := api.GetAccessKeyLastUsedInfo(ctx, id)
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
			return &hit{acct: a, api: api, owner: Owner{Root: true, Account: Account{ID: lu.AccountID}}}, nil
		}
		return nil, nil
	}
	// ActionTrail is history: confirm the key is still the user's.
	rep.Calls++
	keys, err := api.ListAccessKeys(ctx, lu.UserName)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if findKey(keys, id) == nil {
		return nil, nil
	}
	return &hit{acct: a, api: api, keys: keys, owner: Owner{UserName: lu.UserName, Account: Account{ID: lu.AccountID}}}, nil
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
		if errors.Is(err, ErrKeyFlagged) {
			// valid, so live and still to be deleted, but refused: it cannot name its owner
			return nil, fmt.Errorf("the leaked key is valid and flagged by Alibaba Cloud (restrictive protection), so it cannot name its owner; the other strategies must: %w", err)
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
	api, _, err := acct.Connect(ctx)
	if err != nil {
		return nil, err
	}
	h := &hit{acct: acct, api: api, owner: Owner{Account: Account{ID: me.AccountID}}}
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
		me, err := h.api.GetCallerIdentity(ctx)
		if err != nil {
			return Owner{}, fmt.Errorf("locate %s: account of the owner: %w", id, err)
		}
		acct.ID = me.AccountID
	}
	o.Account = acct
	keys := h.keys
	if keys == nil {
		var err error
		keys, err = h.api.ListAccessKeys(ctx, o.UserName)
		if errors.Is(err, ErrNotFound) && o.RecycleBin != nil {
			keys, err = []AccessKey{}, nil // the user was deleted since its key was
		}
		if err != nil {
			return Owner{}, fmt.Errorf("locate %s: key status: %w", id, err)
		}
	}
	o.Keys = keys
	if k := findKey(keys, id); k != nil {
		o.Key = *k
	} else {
		o.Key = AccessKey{ID: id}
		if o.RecycleBin != nil {
			o.Key.CreateDate = o.RecycleBin.CreateDate
		}
	}
	return o, nil
}

// scan is the full search of one account: ListUsers (every page) × ListAccessKeys(user) until a
// user holds id (see eachUserKeys).
func (l *Locator) scan(ctx context.Context, a *LocatorAccount, api API, pace *Pace, id accesskey.ID, rep *StrategyReport) (*hit, error) {
	var mu sync.Mutex
	var found *hit
	err := l.eachUserKeys(ctx, a, api, pace, rep, func(u User, keys []AccessKey) bool {
		if findKey(keys, id) == nil {
			return false
		}
		mu.Lock()
		if found == nil {
			found = &hit{acct: a, api: api, keys: keys, owner: Owner{UserName: u.UserName, UserID: u.UserID}}
		}
		mu.Unlock()
		return true
	})
	if found != nil {
		return found, nil
	}
	return nil, err
}

// eachUserKeys lists every user of the account (ListUsers, every page) and gives each user's keys
// (ListAccessKeys(user)) to visit, by a bounded pool of workers following pace: the account's
// key's own (every call signed by it shares it), or, when it has none, an AIMD rate of the scan's
// own. visit is called concurrently; when it returns true the listing stops and the error is nil.
// rep gets the calls made and the users scanned.
func (l *Locator) eachUserKeys(ctx context.Context, a *LocatorAccount, api API, pace *Pace, rep *StrategyReport, visit func(User, []AccessKey) bool) error {
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
	if pace == nil {
		pace = &Pace{lim: newAIMD(initial, 1, hi, now, l.Sleep), keys: api, own: true}
	}
	// Unless the pace is our own, the client waits for its slots and tells it of every answer.
	lim, paced, keysAPI := pace.lim, !pace.own, pace.keys

	users := make(chan User, 4*workers)
	var listed, scanned, calls atomic.Int64
	var listDone atomic.Bool
	var listErr error
	var lister sync.WaitGroup // workers stop early when cancelled: listErr is read once the lister is done too
	lister.Go(func() {
		defer close(users)
		defer listDone.Store(true)
		listErr = api.ListUsers(ctx, func(u User) error {
			listed.Add(1)
			select {
			case users <- u:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	})

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
		l.Progress(Progress{Account: accountLabel(a.Account), UsersScanned: n, UsersTotal: int(listed.Load()), Listed: listDone.Load(), Rate: rate, Throttles: thr})
	}

	var mu sync.Mutex
	var stopped atomic.Bool
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
					if visit(u, keys) {
						stopped.Store(true)
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
	lister.Wait() // workers stop early only once ctx is done, and then so does the lister
	report(true)
	n := int(listed.Load())
	pages := max(1, (n+listUsersPage-1)/listUsersPage) // ListUsers pages, assuming full pages
	rep.Calls += int(calls.Load()) + pages
	rep.UsersScanned += int(scanned.Load())
	if stopped.Load() {
		return nil
	}
	if listErr != nil && !errors.Is(listErr, context.Canceled) {
		return listErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if firstErr != nil {
		return fmt.Errorf("%d users could not be scanned: %w", failed, firstErr)
	}
	return nil
}

// maxThrottlesPerUser bounds how often one user's listing is retried after throttling.
const maxThrottlesPerUser = 30

// scanUser lists one user's keys, retrying throttled listings. Unless paced (the client paces
// itself and records every answer in lim), it waits for lim's slots and reports to it.
func (l *Locator) scanUser(ctx context.Context, api keyLister, lim *aimd, paced bool, u User, calls *atomic.Int64) ([]AccessKey, error) {
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
