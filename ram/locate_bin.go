package ram

import (
	"context"
	"errors"
	"fmt"

	"github.com/respond-dev/respond/ram/accesskey"
)

// StrategyRecycleBin finds a key someone already deleted (in the console, or a run of respond
// that stopped before its purge): DeleteAccessKey moved it into its user's AccessKey recycle bin,
// where no listing of the user's keys shows it and IMS GetUser(UserAccessKeyId) does not find it,
// but where it stays restorable until its DeleteDate. IMS GetAccessKeyInfoInRecycleBin names the
// owner from the key id alone: one call per account. It comes last in the default order: a key
// found anywhere else is live, which matters more.
const StrategyRecycleBin = "recycle-bin"

// recycleBin looks for id in the recycle bins of one account. A hit carries the binned key in
// Owner.RecycleBin; the owner's live keys are listed by finish (none when the user itself is in
// the RAM user recycle bin).
func (l *Locator) recycleBin(ctx context.Context, a *LocatorAccount, api API, id accesskey.ID, rep *StrategyReport) (*hit, error) {
	rep.Calls++
	b, err := api.GetAccessKeyInfoInRecycleBin(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if b.UserName == "" {
		return nil, fmt.Errorf("the recycle bin holds %s but names no user name (user id %q)", id, b.UserID)
	}
	h := &hit{acct: a, api: api, owner: Owner{UserName: b.UserName, UserID: b.UserID, RecycleBin: &b}}
	if b.UserRecycled {
		h.keys = []AccessKey{} // a deleted user has no live key, and ListAccessKeys would not find it
	}
	return h, nil
}
