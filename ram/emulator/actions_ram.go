package emulator

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

const dateFmt = "2006-01-02T15:04:05Z"

// date formats t in UTC as dateFmt ("" for the zero time), like t.UTC().Format(dateFmt) but
// without the layout interpreter for the years 0-9999.
func date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		return t.Format(dateFmt)
	}
	h, mi, sec := t.Clock()
	var b [20]byte
	put2 := func(i, v int) { b[i], b[i+1] = byte('0'+v/10), byte('0'+v%10) }
	put2(0, y/100)
	put2(2, y%100)
	b[4] = '-'
	put2(5, int(mo))
	b[7] = '-'
	put2(8, d)
	b[10] = 'T'
	put2(11, h)
	b[13] = ':'
	put2(14, mi)
	b[16] = ':'
	put2(17, sec)
	b[19] = 'Z'
	return string(b[:])
}

var (
	errNoUser = func() *apiError { return errf(404, "EntityNotExist.User", "The user does not exist.") }
	errNoKey  = func() *apiError {
		return errf(404, "EntityNotExist.User.AccessKey", "The user access key does not exist.")
	}
	errKeyLimit = func() *apiError {
		return errf(409, "LimitExceeded.User.AccessKey", "The access key count of the user access keys beyond the current limits.")
	}
	// The documented message, sic [DOC ram repo Error messages.md].
	errUserExists = func() *apiError { return errf(409, "EntityAlreadyExists.User", "The user does already EXIST.") }
)

func checkUserName(name string) *apiError {
	if len(name) > 64 {
		return violationf(400, "InvalidParameter.UserName.Length", `The parameter - "UserName" beyond the length limit.`)
	}
	if !userNameChars(name) {
		return violationf(400, "InvalidParameter.UserName.InvalidChars", `The parameter - "UserName" contains invalid chars.`)
	}
	return nil
}

// userNameChars is reUserName (^[a-zA-Z0-9.@\-_]{1,64}$) without the regexp engine, for names
// already known to be at most 64 bytes long.
func userNameChars(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '@' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// owner is whose keys an action addresses: a RAM user, or the account owner (u == nil).
type owner struct {
	acct *account
	u    *user
}

func (o owner) keys() []*keyState {
	if o.u != nil {
		return o.u.keys
	}
	return o.acct.rootKeys
}

func (o owner) setKeys(ks []*keyState) {
	if o.u != nil {
		o.u.keys = ks
	} else {
		o.acct.rootKeys = ks
	}
}

func (o owner) findKey(id string) *keyState {
	for _, k := range o.keys() {
		if k.id == id {
			return k
		}
	}
	return nil
}

// ramOwner resolves the UserName parameter with the self rule of spec §4.4.
func ramOwner(c *call) (owner, *apiError) {
	name := c.p("UserName")
	if name == "" {
		if c.sess != nil {
			return owner{}, missing("UserName")
		}
		return owner{acct: c.acct, u: c.user}, nil
	}
	if e := checkUserName(name); e != nil {
		return owner{}, e
	}
	u := c.acct.users[name]
	if u == nil {
		return owner{}, errNoUser()
	}
	return owner{acct: c.acct, u: u}, nil
}

// imsOwner resolves UserPrincipalName (name@alias.onaliyun.com), with the same self rule.
func imsOwner(c *call) (owner, *apiError) {
	upn := c.p("UserPrincipalName")
	if upn == "" {
		if c.sess != nil {
			return owner{}, missing("UserPrincipalName")
		}
		return owner{acct: c.acct, u: c.user}, nil
	}
	u := c.acct.userByUPN(upn)
	if u == nil {
		return owner{}, errNoUser()
	}
	return owner{acct: c.acct, u: u}, nil
}

// keyHandler serves a key action for the owner the request names; ims selects the IMS answer shape.
type keyHandler func(s *Server, c *call, o owner, ims bool) (map[string]any, *apiError)

// ramKeys is h as a RAM (2015-05-01) action: the owner comes from UserName.
func ramKeys(h keyHandler) handler {
	return func(s *Server, c *call) (map[string]any, *apiError) {
		o, e := ramOwner(c)
		if e != nil {
			return nil, e
		}
		return h(s, c, o, false)
	}
}

// imsKeys is h as an IMS (2019-08-15) action: the owner comes from UserPrincipalName.
func imsKeys(h keyHandler) handler {
	return func(s *Server, c *call) (map[string]any, *apiError) {
		o, e := imsOwner(c)
		if e != nil {
			return nil, e
		}
		return h(s, c, o, true)
	}
}

func (a *account) upnSuffix() string { return "@" + a.alias + ".onaliyun.com" }

func (a *account) userByUPN(upn string) *user {
	name, ok := strings.CutSuffix(upn, a.upnSuffix())
	if !ok {
		return nil
	}
	return a.users[name]
}

func ramUserJSON(u *user) map[string]any {
	return map[string]any{"UserId": u.id, "UserName": u.name, "DisplayName": u.displayName, "Comments": u.notes,
		"CreateDate": date(u.created), "UpdateDate": date(u.updated), "Email": "", "MobilePhone": ""}
}

func imsUserJSON(u *user) map[string]any {
	return map[string]any{"UserId": u.id, "UserPrincipalName": u.name + u.acct.upnSuffix(), "DisplayName": u.displayName,
		"Comments": u.notes, "CreateDate": date(u.created), "UpdateDate": date(u.updated), "LastLoginDate": date(u.lastLogin),
		"Status": u.status, "ProvisionType": "Manual", "Email": "", "MobilePhone": ""}
}

func ramCreateUser(s *Server, c *call) (map[string]any, *apiError) {
	name := c.p("UserName")
	if name == "" {
		return nil, missing("UserName")
	}
	if e := checkUserName(name); e != nil {
		return nil, e
	}
	if c.acct.users[name] != nil {
		return nil, errUserExists()
	}
	u := &user{acct: c.acct, name: name, id: s.numericID(), displayName: c.p("DisplayName"), notes: c.p("Comments"),
		created: c.now, updated: c.now, status: "active"}
	u.principalID = principalID(c.acct.id, u.id)
	if u.displayName == "" {
		u.displayName = name
	}
	c.acct.addUser(u)
	return map[string]any{"User": ramUserJSON(u)}, nil
}

func ramGetUser(s *Server, c *call) (map[string]any, *apiError) {
	name := c.p("UserName")
	if name == "" {
		return nil, missing("UserName")
	}
	o, e := ramOwner(c)
	if e != nil {
		return nil, e
	}
	u := ramUserJSON(o.u)
	u["LastLoginDate"] = date(o.u.lastLogin) // GetUser only [DOC spec §4.3]
	return map[string]any{"User": u}, nil
}

func ramDeleteUser(s *Server, c *call) (map[string]any, *apiError) {
	if c.p("UserName") == "" {
		return nil, missing("UserName")
	}
	o, e := ramOwner(c)
	if e != nil {
		return nil, e
	}
	if len(o.u.keys) > 0 {
		return nil, errf(409, "DeleteConflict.User.AccessKey", "The user CAN NOT has any access key while deleting the user.")
	}
	// The user goes to the user recycle bin, with the keys in its AccessKey bin (recyclebin.go).
	c.acct.removeUser(o.u)
	c.acct.sweepUserBin(c.now)
	c.acct.recycleUser(o.u, c.now)
	return map[string]any{}, nil
}

// listUsers pages c.acct's users in creation order behind an opaque Marker.
func listUsers(c *call, def int, render func(*user) map[string]any) (map[string]any, *apiError) {
	return listUsersWhere(c, def, render, nil)
}

// listUsersWhere is listUsers of the users keep accepts (all when nil).
func listUsersWhere(c *call, def int, render func(*user) map[string]any, keep func(*user) bool) (map[string]any, *apiError) {
	maxItems := def
	if v := c.p("MaxItems"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return nil, violationf(400, "InvalidParameter.MaxItems", `The parameter - "MaxItems" must be between 1 and 1000.`)
		}
		maxItems = n
	}
	var from int64
	if m := c.p("Marker"); m != "" {
		b, err := base64.RawURLEncoding.DecodeString(m)
		rest, ok := strings.CutPrefix(string(b), "emu-users:"+c.acct.id+":")
		n, err2 := strconv.ParseInt(rest, 10, 64)
		if err != nil || !ok || err2 != nil {
			return nil, violationf(400, "InvalidParameter.Marker", `The parameter - "Marker" is invalid.`)
		}
		from = n
	}
	list := []map[string]any{}
	out := map[string]any{"IsTruncated": false}
	for _, u := range c.acct.userOrder {
		if u.seq < from || keep != nil && !keep(u) {
			continue
		}
		if len(list) == maxItems {
			out["IsTruncated"] = true
			out["Marker"] = base64.RawURLEncoding.EncodeToString([]byte("emu-users:" + c.acct.id + ":" + strconv.FormatInt(u.seq, 10)))
			break
		}
		list = append(list, render(u))
	}
	out["Users"] = map[string]any{"User": list}
	return out, nil
}

func ramListUsers(s *Server, c *call) (map[string]any, *apiError) {
	return listUsers(c, 100, ramUserJSON)
}

// imsListUsers lists the users whose IMS Status is in the Status parameter: active, freeze or
// "active,freeze"; default active [DOC META ims ListUsers].
func imsListUsers(s *Server, c *call) (map[string]any, *apiError) {
	want := c.p("Status")
	if want == "" {
		want = "active"
	}
	for _, st := range strings.Split(want, ",") {
		if st != "active" && st != "freeze" {
			return nil, violationf(400, "InvalidParameter.Status", `The parameter - "Status" must be active, freeze or active,freeze.`)
		}
	}
	return listUsersWhere(c, 1000, imsUserJSON, func(u *user) bool { return strings.Contains(want, u.status) })
}

func keyJSON(k *keyState, ims bool) object {
	o := make(object, 3, 5)
	o[0], o[1], o[2] = str("AccessKeyId", k.id), str("CreateDate", date(k.created)), str("Status", k.status)
	if ims {
		o = append(o, str("UpdateDate", date(k.updated)))
	}
	return o
}

func listKeys(_ *Server, _ *call, o owner, ims bool) (map[string]any, *apiError) {
	list := make([]object, 0, len(o.keys()))
	for _, k := range o.keys() {
		list = append(list, keyJSON(k, ims))
	}
	return map[string]any{"AccessKeys": object{{k: "AccessKey", v: list}}}, nil
}

// keyLimit is the number of AccessKey pairs a RAM user (or, here, an account owner) may hold.
const keyLimit = 2

func createKey(s *Server, c *call, o owner, ims bool) (map[string]any, *apiError) {
	n := len(o.keys())
	if s.binCounts && o.u != nil {
		o.acct.sweepBin(o.u, c.now)
		n += len(o.u.bin)
	}
	if n >= keyLimit {
		return nil, errKeyLimit()
	}
	delay := s.propagationDelay()
	k := &keyState{id: s.newKeyID(), secret: randString(s.rng, alnum, 30), status: "Active", created: c.now, updated: c.now,
		acct: o.acct, user: o.u, visibleAt: c.now.Add(delay)}
	s.keys[k.id] = k
	o.setKeys(append(o.keys(), k))
	m := append(keyJSON(k, ims), str("AccessKeySecret", k.secret))
	return map[string]any{"AccessKey": m}, nil
}

func updateKey(s *Server, c *call, o owner, _ bool) (map[string]any, *apiError) {
	id, status := c.p("UserAccessKeyId"), c.p("Status")
	if id == "" {
		return nil, missing("UserAccessKeyId")
	}
	if status == "" {
		return nil, missing("Status")
	}
	if status != "Active" && status != "Inactive" {
		return nil, violationf(400, "InvalidParameter.Status", `The parameter - "Status" must be Active or Inactive.`)
	}
	k := o.findKey(id)
	if k == nil {
		return nil, errNoKey()
	}
	delay := s.propagationDelay()
	if k.status != status {
		k.prevStatus, k.statusAt = k.authStatus(c.now), c.now.Add(delay)
		k.status, k.updated = status, c.now
	}
	return map[string]any{}, nil
}

// ownKey is the owner's key the call names (UserAccessKeyId).
func ownKey(c *call, o owner) (*keyState, *apiError) {
	id := c.p("UserAccessKeyId")
	if id == "" {
		return nil, missing("UserAccessKeyId")
	}
	k := o.findKey(id)
	if k == nil {
		return nil, errNoKey()
	}
	return k, nil
}

func deleteKey(s *Server, c *call, o owner, _ bool) (map[string]any, *apiError) {
	k, e := ownKey(c, o)
	if e != nil {
		return nil, e
	}
	ks := o.keys()
	for i, x := range ks {
		if x == k {
			o.setKeys(append(ks[:i:i], ks[i+1:]...))
			break
		}
	}
	delay := s.propagationDelay()
	if delay > 0 {
		k.goneAt = c.now.Add(delay)
	} else {
		delete(s.keys, k.id)
	}
	s.recycle(c, k)
	return map[string]any{}, nil
}

func lastUsed(_ *Server, c *call, o owner, ims bool) (map[string]any, *apiError) {
	k, e := ownKey(c, o)
	if e != nil {
		return nil, e
	}
	m := map[string]any{"LastUsedDate": date(k.lastUsed)}
	if ims {
		m["ServiceName"] = k.lastService
	}
	return map[string]any{"AccessKeyLastUsed": m}, nil
}

// imsGetUser finds a user by exactly one of UserPrincipalName, UserId, UserAccessKeyId (spec §4.10).
func imsGetUser(s *Server, c *call) (map[string]any, *apiError) {
	upn, uid, kid := c.p("UserPrincipalName"), c.p("UserId"), c.p("UserAccessKeyId")
	n := 0
	for _, v := range []string{upn, uid, kid} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return nil, violationf(400, "InvalidParameter", "Exactly one of UserPrincipalName, UserId and UserAccessKeyId must be specified.")
	}
	var u *user
	switch {
	case upn != "":
		u = c.acct.userByUPN(upn)
	case uid != "":
		for _, x := range c.acct.userOrder {
			if x.id == uid {
				u = x
			}
		}
	default:
		k := s.keys[kid]
		if k == nil || k.acct != c.acct || k.user == nil || !k.goneAt.IsZero() {
			return nil, errNoKey()
		}
		u = k.user
	}
	if u == nil {
		return nil, errNoUser()
	}
	return map[string]any{"User": imsUserJSON(u)}, nil
}
