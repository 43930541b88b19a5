package ram

import (
	"context"
	"fmt"
	"sync"
)

// This file is how respond reaches the accounts it searches and acts in: who a client signs as
// (asked once), a member account entered on first use (AssumeRole, once), the pace of a client's
// key as the owner scan shares it, and the Resource Directory's members.

// once computes a value on first use. Callers that ask at the same time wait for one computation
// (or for their own context to end). Its result is kept, a failure included, unless the caller
// that computed it gave up (its context ended): the next caller then tries again.
type once[T any] struct {
	slot chan struct{} // one computation at a time; it also orders the fields below
	done bool
	v    T
	err  error
}

func newOnce[T any]() *once[T] { return &once[T]{slot: make(chan struct{}, 1)} }

func (o *once[T]) get(ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	select {
	case o.slot <- struct{}{}:
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
	defer func() { <-o.slot }()
	if !o.done {
		v, err := f(ctx)
		if err != nil && ctx.Err() != nil {
			return v, err
		}
		o.v, o.err, o.done = v, err, true
	}
	return o.v, o.err
}

// Identity is GetCallerIdentity asked once per client: who signs its calls does not change while
// respond runs. Callers asking at the same time share one call (respond signs in while the
// Resource Directory, signed by the same key, is listed); a failure is kept too, unless the
// caller's context ended. GetCallerIdentity itself always asks.
func (c *Client) Identity(ctx context.Context) (Identity, error) {
	return c.me.get(ctx, c.GetCallerIdentity)
}

// Entry is the way into one account: a client signed into it, made on first use. Entering
// (AssumeRole) happens once however many callers ask at the same time; its failure is kept and
// given to every later caller, unless the caller that entered gave up (its context ended). Copies
// of a LocatorAccount share its Entry. Safe for concurrent use.
type Entry struct {
	c     *Client // set when already entered
	enter func(context.Context) (*Client, error)
	once  *once[*Client]
}

// Entered is the entry of the account c is signed into.
func Entered(c *Client) *Entry { return &Entry{c: c} }

// Entry enters accountID on first use by assuming roleArn (default: its Resource Directory access
// role) with c's key, through c's endpoint. The AssumeRole calls of every entry made from c share
// c's pace and nothing else: all the accounts of a directory are entered at once.
func (c *Client) Entry(accountID, roleArn string) *Entry {
	return c.EntryAt(accountID, roleArn, "", "")
}

// EntryAt is Entry for an account with a region and an endpoint of its own ("": c's): the role
// is assumed through c, and the account's calls go to its region and endpoint.
func (c *Client) EntryAt(accountID, roleArn, region, endpoint string) *Entry {
	return &Entry{once: newOnce[*Client](), enter: func(ctx context.Context) (*Client, error) {
		return c.forAccount(ctx, accountID, roleArn, region, endpoint)
	}}
}

// Client is the account's client, entering the account first if nobody has yet.
func (e *Entry) Client(ctx context.Context) (*Client, error) {
	if e.c != nil {
		return e.c, nil
	}
	return e.once.get(ctx, e.enter)
}

// Pace is the pace shared by every call signed by one client's key (Client.Pace), as the owner
// scan follows it: the scan lists users' keys through it, sees every throttled answer at once and
// retries it itself in the pace, more often than a single call would be retried.
type Pace struct {
	lim  *aimd
	keys keyLister
	// own is true for a pace of the scan's own making (an API that does not pace itself): the
	// scan then waits for its slots and tells it of every answer.
	own bool
}

// keyLister is the one call the scan makes for every user.
type keyLister interface {
	ListAccessKeys(ctx context.Context, userName string) ([]AccessKey, error)
}

// Pace is the pace of c's key, for the owner scan in c's account.
func (c *Client) Pace() *Pace {
	return &Pace{lim: c.lim, keys: c.withoutThrottleRetry()}
}

// DirectoryAccounts lists the Resource Directory of mgmt's account (ListAccounts, while asking who
// mgmt is: the two calls do not wait for each other) and returns every account in it. The
// management account itself is reached with mgmt; every member account is entered on first use by
// AssumeRole into roleName (default ResourceDirectoryAccountAccessRole), so the search of each
// begins as soon as it is entered and no account waits for another. An account that cannot be
// entered is reported by whoever uses it, not here.
func DirectoryAccounts(ctx context.Context, mgmt *Client, roleName string) ([]LocatorAccount, error) {
	var me Identity
	var meErr error
	var wg sync.WaitGroup
	wg.Go(func() { me, meErr = mgmt.Identity(ctx) })
	accts, err := mgmt.ListAccounts(ctx)
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if meErr != nil {
		return nil, fmt.Errorf("list Resource Directory accounts: %w", meErr)
	}
	out := make([]LocatorAccount, len(accts))
	for i, a := range accts {
		out[i].Account = a
		if a.ID == me.AccountID {
			out[i].Entry = Entered(mgmt)
		} else {
			out[i].Entry = mgmt.Entry(a.ID, RoleArn(a.ID, roleName))
		}
	}
	return out, nil
}
