package emulator

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The AccessKey recycle bin and the RAM user recycle bin (spec §8). DeleteAccessKey (RAM and IMS)
// moves a user's key into the user's bin: it cannot sign and no listing shows it, but IMS can
// list, describe, restore or purge it until DeleteDate, 30 days later. A user's bin holds 3 keys;
// a 4th deletion purges the oldest. RAM DeleteUser moves the user (and its binned keys) into the
// account's user bin in the same way; purging the user purges its keys. An account owner's own
// keys have no bin: deleting one destroys it [INF].

const (
	binCapacity     = 3
	binRetention    = 30 * 24 * time.Hour
	userBinCapacity = 1000
)

// WithRecycleBinCountedInKeyLimit makes the keys in a user's recycle bin count toward its 2-key
// limit. Whether they do is not documented; by default they do not (spec §8).
func WithRecycleBinCountedInKeyLimit() Option { return func(s *Server) { s.binCounts = true } }

// seedBin places seeded keys in u's recycle bin, oldest first (load only).
func (s *Server) seedBin(acc *account, u *user, keys []Key, now time.Time) {
	ks := make([]*keyState, 0, len(keys))
	for _, k := range keys {
		st := seededKey(acc, u, k, now)
		st.recycled = k.Recycled.UTC()
		if k.Recycled.IsZero() {
			st.recycled = now
		}
		ks = append(ks, st)
	}
	slices.SortStableFunc(ks, func(a, b *keyState) int { return a.recycled.Compare(b.recycled) })
	for _, k := range ks {
		acc.binKey(k, k.recycled)
	}
}

// binKey puts k (already out of its user's live keys and of authentication) in the user's bin,
// purging the oldest binned key when the bin is full.
func (a *account) binKey(k *keyState, at time.Time) {
	u := k.user
	k.recycled, k.purgeAt = at, at.Add(binRetention)
	for len(u.bin) >= binCapacity {
		a.purgeKey(u.bin[0])
	}
	u.bin = append(u.bin, k)
	a.binned[k.id] = k
}

// purgeKey removes k from its user's bin for good.
func (a *account) purgeKey(k *keyState) {
	u := k.user
	if i := slices.Index(u.bin, k); i >= 0 {
		u.bin = slices.Delete(u.bin, i, i+1)
	}
	if a.binned[k.id] == k {
		delete(a.binned, k.id)
	}
}

// sweepBin purges u's binned keys whose DeleteDate has passed.
func (a *account) sweepBin(u *user, now time.Time) {
	for len(u.bin) > 0 && !now.Before(u.bin[0].purgeAt) {
		a.purgeKey(u.bin[0])
	}
}

// recycle moves a deleted key into its user's bin; an account owner's key is destroyed.
func (s *Server) recycle(c *call, k *keyState) {
	if k.user == nil {
		return
	}
	k.acct.sweepBin(k.user, c.now)
	k.acct.binKey(k, c.now)
	k.binVisibleAt = c.now.Add(time.Duration(s.binDelay.Load()))
}

// restore moves k from the bin back to its user's live keys and to authentication.
func (s *Server) restore(c *call, k *keyState) {
	u := k.user
	k.acct.purgeKey(k)
	k.recycled, k.purgeAt = time.Time{}, time.Time{}
	u.keys = append(u.keys, k)
	if s.keys[k.id] == k && !k.goneAt.IsZero() {
		k.goneAt = time.Time{} // the deletion had not reached authentication yet
		return
	}
	k.goneAt, k.visibleAt = time.Time{}, c.now.Add(s.propagationDelay())
	s.keys[k.id] = k
}

// recycleUser puts u (already out of the live users) in the account's user bin.
func (a *account) recycleUser(u *user, at time.Time) {
	u.recycled, u.purgeAt = at, at.Add(binRetention)
	for len(a.userBin) >= userBinCapacity {
		a.purgeUser(a.userBin[0])
	}
	a.userBin = append(a.userBin, u)
}

// purgeUser deletes a binned user for good, with the keys in its bin.
func (a *account) purgeUser(u *user) {
	if i := slices.Index(a.userBin, u); i >= 0 {
		a.userBin = slices.Delete(a.userBin, i, i+1)
	}
	for _, k := range slices.Clone(u.bin) {
		a.purgeKey(k)
	}
}

func (a *account) sweepUserBin(now time.Time) {
	for len(a.userBin) > 0 && !now.Before(a.userBin[0].purgeAt) {
		a.purgeUser(a.userBin[0])
	}
}

// binnedKey finds a key in the account's AccessKey recycle bins, purging it if its time is up.
func (a *account) binnedKey(id string, now time.Time) *keyState {
	k := a.binned[id]
	if k == nil {
		return nil
	}
	if !now.Before(k.purgeAt) {
		a.purgeKey(k)
		return nil
	}
	if now.Before(k.binVisibleAt) {
		return nil // deleted, not yet seen in the bin (SetRecycleBinDelay)
	}
	return k
}

// userByID finds a live user, or with binned, a user in the user recycle bin too.
func (a *account) userByID(id string, binned bool) *user {
	for _, u := range a.userOrder {
		if u.id == id {
			return u
		}
	}
	if binned {
		for _, u := range a.userBin {
			if u.id == id {
				return u
			}
		}
	}
	return nil
}

// binOwner resolves the UserId of an AccessKey recycle-bin action. A RAM user may leave it
// empty for itself; the account owner must give it [DOC DeleteAccessKeyInRecycleBin; the same
// rule for the other three actions is INF].
func binOwner(c *call) (*user, *apiError) {
	id := c.p("UserId")
	if id == "" {
		if c.user != nil {
			return c.user, nil
		}
		return nil, missing("UserId")
	}
	c.acct.sweepUserBin(c.now)
	u := c.acct.userByID(id, true)
	if u == nil {
		return nil, errNoUser()
	}
	return u, nil
}

func binnedKeyJSON(k *keyState) object {
	return object{str("AccessKeyId", k.id), str("CreateDate", date(k.created)), str("RecycleDate", date(k.recycled)),
		str("DeleteDate", date(k.purgeAt))}
}

func imsListAccessKeysInRecycleBin(s *Server, c *call) (map[string]any, *apiError) {
	u, e := binOwner(c)
	if e != nil {
		return nil, e
	}
	c.acct.sweepBin(u, c.now)
	list := make([]object, 0, len(u.bin))
	for _, k := range u.bin {
		if !c.now.Before(k.binVisibleAt) {
			list = append(list, binnedKeyJSON(k))
		}
	}
	return map[string]any{"AccessKeys": object{{k: "AccessKey", v: list}}}, nil
}

func imsGetAccessKeyInfoInRecycleBin(s *Server, c *call) (map[string]any, *apiError) {
	id := c.p("UserAccessKeyId")
	if id == "" {
		return nil, missing("UserAccessKeyId")
	}
	c.acct.sweepUserBin(c.now)
	k := c.acct.binnedKey(id, c.now)
	if k == nil {
		return nil, errNoKey()
	}
	u := k.user
	o := append(binnedKeyJSON(k), str("UserId", u.id), str("UserPrincipalName", u.name+u.acct.upnSuffix()),
		field{k: "UserRecycled", v: !u.recycled.IsZero()})
	return map[string]any{"AccessKey": o}, nil
}

// binActionKey resolves the user and the binned key a Restore or Delete action names.
func binActionKey(c *call) (*keyState, *apiError) {
	id := c.p("UserAccessKeyId")
	if id == "" {
		return nil, missing("UserAccessKeyId")
	}
	u, e := binOwner(c)
	if e != nil {
		return nil, e
	}
	k := c.acct.binnedKey(id, c.now)
	if k == nil || k.user != u {
		return nil, errNoKey()
	}
	return k, nil
}

func imsRestoreAccessKeyFromRecycleBin(s *Server, c *call) (map[string]any, *apiError) {
	k, e := binActionKey(c)
	if e != nil {
		return nil, e
	}
	if !k.user.recycled.IsZero() {
		return nil, errNoUser() // restore the user first [INF]
	}
	if len(k.user.keys) >= keyLimit {
		return nil, errKeyLimit()
	}
	s.restore(c, k)
	return map[string]any{}, nil
}

func imsDeleteAccessKeyInRecycleBin(s *Server, c *call) (map[string]any, *apiError) {
	k, e := binActionKey(c)
	if e != nil {
		return nil, e
	}
	c.acct.purgeKey(k)
	return map[string]any{}, nil
}

// ---- the RAM user recycle bin ----

func binnedUserJSON(u *user) object {
	return object{str("UserId", u.id), str("UserPrincipalName", u.name+u.acct.upnSuffix()),
		str("DisplayName", u.displayName), str("CreateDate", date(u.created)), str("RecycleDate", date(u.recycled)),
		str("DeleteDate", date(u.purgeAt))}
}

func imsListUsersInRecycleBin(s *Server, c *call) (map[string]any, *apiError) {
	a := c.acct
	a.sweepUserBin(c.now)
	maxItems := 100
	if v := c.p("MaxItems"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return nil, violationf(400, "InvalidParameter.MaxItems", `The parameter - "MaxItems" must be between 1 and 100.`)
		}
		maxItems = n
	}
	upn := ""
	if f := c.p("Filter"); f != "" {
		v, ok := strings.CutPrefix(f, "UserPrincipalName eq ")
		if !ok {
			return nil, badParam("Filter")
		}
		upn = strings.TrimSpace(v)
	}
	prefix := "emu-userbin:" + a.id + ":"
	from := 0
	if m := c.p("Marker"); m != "" {
		b, err := base64.RawURLEncoding.DecodeString(m)
		rest, ok := strings.CutPrefix(string(b), prefix)
		n, err2 := strconv.Atoi(rest)
		if err != nil || !ok || err2 != nil || n < 0 {
			return nil, violationf(400, "InvalidParameter.Marker", `The parameter - "Marker" is invalid.`)
		}
		from = n
	}
	list := []object{}
	out := map[string]any{"IsTruncated": false}
	for i := from; i < len(a.userBin); i++ {
		u := a.userBin[i]
		if upn != "" && u.name+a.upnSuffix() != upn {
			continue
		}
		if len(list) == maxItems {
			out["IsTruncated"] = true
			out["Marker"] = base64.RawURLEncoding.EncodeToString([]byte(prefix + strconv.Itoa(i)))
			break
		}
		list = append(list, binnedUserJSON(u))
	}
	out["Users"] = object{{k: "User", v: list}}
	return out, nil
}

// binnedUser finds a user of the user recycle bin by UserId (or, with byKey, by the id of a key
// in its AccessKey bin).
func binnedUser(c *call, byKey bool) (*user, *apiError) {
	a := c.acct
	a.sweepUserBin(c.now)
	uid, kid := c.p("UserId"), ""
	if byKey {
		kid = c.p("UserAccessKeyId")
		if (uid == "") == (kid == "") {
			return nil, violationf(400, "InvalidParameter", "Exactly one of UserId and UserAccessKeyId must be specified.")
		}
	} else if uid == "" {
		return nil, missing("UserId")
	}
	if kid != "" {
		if k := a.binnedKey(kid, c.now); k != nil && !k.user.recycled.IsZero() {
			return k.user, nil
		}
		return nil, errNoUser()
	}
	for _, u := range a.userBin {
		if u.id == uid {
			return u, nil
		}
	}
	return nil, errNoUser()
}

func imsGetUserInRecycleBin(s *Server, c *call) (map[string]any, *apiError) {
	u, e := binnedUser(c, true)
	if e != nil {
		return nil, e
	}
	return map[string]any{"User": binnedUserJSON(u)}, nil
}

func imsRestoreUserFromRecycleBin(s *Server, c *call) (map[string]any, *apiError) {
	u, e := binnedUser(c, false)
	if e != nil {
		return nil, e
	}
	if c.acct.users[u.name] != nil {
		return nil, errUserExists()
	}
	if i := slices.Index(c.acct.userBin, u); i >= 0 {
		c.acct.userBin = slices.Delete(c.acct.userBin, i, i+1)
	}
	u.recycled, u.purgeAt = time.Time{}, time.Time{}
	c.acct.addUser(u)
	return map[string]any{}, nil
}

func imsDeleteUserInRecycleBin(s *Server, c *call) (map[string]any, *apiError) {
	u, e := binnedUser(c, false)
	if e != nil {
		return nil, e
	}
	c.acct.purgeUser(u)
	return map[string]any{}, nil
}
