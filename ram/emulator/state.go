package emulator

import (
	"fmt"
	"path"
	"strings"
	"sync/atomic"
	"time"
)

type account struct {
	id, name, alias string
	management      bool
	joinTime        time.Time
	users           map[string]*user
	userOrder       []*user // creation order (ListUsers)
	userSeq         int64
	rootKeys        []*keyState
	roles           map[string]*role
	iamState        *iamState // policies, groups, login profiles (policy.go); nil until first needed
	events          []*trailEvent
	secrets         map[string]*kmsSecret
	// binned indexes the keys in its users' AccessKey recycle bins by id
	// (GetAccessKeyInfoInRecycleBin needs nothing but the id); userBin is its RAM user recycle
	// bin, oldest first (recyclebin.go).
	binned  map[string]*keyState
	userBin []*user
	sas     *sasState // Security Center leak records (sas.go); nil until the first record
	// kmsRotations are the times of the RotateSecret calls of the last hour (kms_rotate.go);
	// kmsKey is the credential of KMS's service role session, made on first use.
	kmsRotations []time.Time
	kmsKey       *keyState
}

type user struct {
	acct                         *account
	name, id, displayName, notes string
	created, updated             time.Time
	allow                        []string
	keys                         []*keyState
	seq                          int64
	principalID                  string // GetCallerIdentity's PrincipalId: not the UserId (spec §5.1 example)
	lastLogin                    time.Time
	status                       string // IMS Status: active or freeze
	// bin is the user's AccessKey recycle bin, oldest first (at most binCapacity); recycled and
	// purgeAt are set while the user itself is in the account's user recycle bin.
	bin               []*keyState
	recycled, purgeAt time.Time
}

type keyState struct {
	id, secret  string
	status      string
	created     time.Time
	updated     time.Time
	acct        *account
	user        *user // nil: the account's root key (or an STS session)
	sess        *session
	lastUsed    time.Time
	lastService string
	lastIP      string
	// propagation: authentication sees the key only from visibleAt, until goneAt, and with
	// prevStatus until statusAt.
	visibleAt  time.Time
	goneAt     time.Time
	prevStatus string
	statusAt   time.Time
	// recycled and purgeAt are RecycleDate and DeleteDate while the key is in its user's recycle
	// bin; flagged is Alibaba's "restrictive protection" (protect.go).
	recycled, purgeAt time.Time
	// binVisibleAt: the bin's actions see the key only from then on (Server.SetRecycleBinDelay).
	binVisibleAt time.Time
	flagged      atomic.Bool
}

func (k *keyState) authStatus(now time.Time) string {
	if now.Before(k.statusAt) {
		return k.prevStatus
	}
	return k.status
}

type role struct {
	acct       *account
	name, id   string
	trust      []string
	allow      []string
	maxSession int
}

type session struct {
	role    *role
	name    string
	token   string
	expires time.Time
}

type trailEvent struct {
	id, name, service, version      string
	t                               time.Time
	accessKeyID, userName, identity string
	principalID, accountID          string
	sourceIP, userAgent, region, rw string
	errorCode, errorMessage         string
	requestID                       string
	resourceType, resourceName      string
	params                          map[string]string // seeded events
	call                            params            // recorded events: see eventParams
	response                        map[string]any    // responseElements (authorize.go)
}

type kmsSecret struct {
	name        string
	dataType    string
	description string
	created     time.Time
	versions    []*kmsVersion
	ram         *ramSecret // a RAMCredentials secret (kms_ram.go); nil for a generic one
}

type kmsVersion struct {
	id, data string
	stages   []string
	created  time.Time
	// A RAM secret's version holds a key pair (its SecretData is made from it: secretData).
	keyID, keySecret string
	keyCreated       time.Time
}

const tokenPrefix = "CAIS"

const maxEventsPerAccount = 200000

func (s *Server) load(o *Org) {
	now := s.now()
	s.byID = map[string]*account{}
	s.keys = map[string]*keyState{}
	mgmt := o.managementIndex()
	for ai, a := range o.Accounts {
		acc := &account{id: a.ID, name: a.Name, alias: a.Alias, management: a.Management || (ai == mgmt && !hasManagement(o)),
			joinTime: a.JoinTime, users: map[string]*user{}, roles: map[string]*role{}, secrets: map[string]*kmsSecret{},
			binned: map[string]*keyState{}}
		if acc.alias == "" {
			acc.alias = acc.id
		}
		if acc.name == "" {
			acc.name = "account-" + acc.id
		}
		if acc.joinTime.IsZero() {
			acc.joinTime = now
		}
		s.accounts = append(s.accounts, acc)
		s.byID[acc.id] = acc
		for _, k := range a.RootKeys {
			acc.rootKeys = append(acc.rootKeys, s.seedKey(acc, nil, k, now))
		}
		for _, u := range a.Users {
			usr := &user{acct: acc, name: u.Name, id: u.ID, displayName: u.DisplayName, notes: u.Comments,
				created: u.Created, allow: u.Allow, lastLogin: u.LastLogin, status: u.Status}
			if usr.id == "" {
				usr.id = s.numericID()
			}
			if usr.displayName == "" {
				usr.displayName = u.Name
			}
			if usr.created.IsZero() {
				usr.created = now
			}
			usr.updated = usr.created
			if u.Admin && len(usr.allow) == 0 {
				usr.allow = []string{"*"}
			}
			usr.principalID = principalID(acc.id, usr.id)
			if usr.status == "" {
				usr.status = "active"
			}
			for _, k := range u.Keys {
				usr.keys = append(usr.keys, s.seedKey(acc, usr, k, now))
			}
			s.seedBin(acc, usr, u.RecycleBin, now)
			if u.Recycled.IsZero() {
				acc.addUser(usr)
			} else {
				acc.recycleUser(usr, u.Recycled.UTC())
			}
		}
		for _, r := range a.Roles {
			ro := &role{acct: acc, name: r.Name, id: r.ID, trust: r.Trust, allow: r.Allow, maxSession: r.MaxSessionDuration}
			if ro.id == "" {
				ro.id = s.numericID()
			}
			if ro.maxSession == 0 {
				ro.maxSession = 3600
			}
			acc.roles[strings.ToLower(r.Name)] = ro
		}
		s.loadIAM(acc, a, now)
		for _, sec := range a.Secrets {
			if sec.Type == secretTypeRAM {
				if ks := seedRAMSecret(acc, sec, now); ks != nil {
					acc.secrets[sec.Name] = ks
				}
				continue
			}
			ks := &kmsSecret{name: sec.Name, dataType: "text", created: now}
			for i, v := range sec.Versions {
				st := v.Stages
				if len(st) == 0 && i == len(sec.Versions)-1 {
					st = []string{"ACSCurrent"}
				}
				ks.versions = append(ks.versions, &kmsVersion{id: v.ID, data: v.Data, stages: st, created: now})
			}
			acc.secrets[sec.Name] = ks
		}
	}
	s.trail.loadTrail(o.ActionTrail)
	for _, a := range o.Accounts {
		s.addEventsLocked(a.ID, now, a.Events...)
	}
	s.loadLeaks(o, now)
}

func hasManagement(o *Org) bool {
	for _, a := range o.Accounts {
		if a.Management {
			return true
		}
	}
	return false
}

func (a *account) addUser(u *user) {
	a.userSeq++
	u.seq = a.userSeq
	a.users[u.name] = u
	a.userOrder = append(a.userOrder, u)
}

func (a *account) removeUser(u *user) {
	delete(a.users, u.name)
	for i, x := range a.userOrder {
		if x == u {
			a.userOrder = append(a.userOrder[:i:i], a.userOrder[i+1:]...)
			break
		}
	}
}

func (s *Server) seedKey(acc *account, u *user, k Key, now time.Time) *keyState {
	ks := seededKey(acc, u, k, now)
	s.keys[ks.id] = ks
	return ks
}

// seededKey is the state of a seeded key, not yet in the authentication table.
func seededKey(acc *account, u *user, k Key, now time.Time) *keyState {
	ks := &keyState{id: k.ID, secret: k.Secret, status: k.Status, created: k.Created, acct: acc, user: u,
		lastUsed: k.LastUsed, lastService: k.LastUsedService}
	if ks.status == "" {
		ks.status = "Active"
	}
	if ks.created.IsZero() {
		ks.created = now
	}
	ks.updated = ks.created
	ks.flagged.Store(k.Flagged)
	return ks
}

// numericID is a fresh 16-digit id. Call with s.mu held (or during load).
func (s *Server) numericID() string {
	return fmt.Sprintf("2%015d", s.rng.Int64N(1e15))
}

func (s *Server) newKeyID() string {
	for {
		id := "LTAI5t" + randString(s.rng, alnum, 18)
		if _, ok := s.keys[id]; !ok {
			return id
		}
	}
}

// AddEvents seeds ActionTrail history into an account (unknown accounts are ignored).
func (s *Server) AddEvents(accountID string, evs ...Event) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addEventsLocked(accountID, now, evs...)
}

func (s *Server) addEventsLocked(accountID string, now time.Time, evs ...Event) {
	acc := s.byID[accountID]
	if acc == nil {
		return
	}
	for _, e := range evs {
		t := e.Time
		if t.IsZero() {
			t = now.Add(-e.Ago)
		}
		n := max(e.Repeat, 1)
		every := e.Every
		if every == 0 {
			every = time.Minute
		}
		for i := range n {
			te := &trailEvent{id: e.ID, name: e.Name, service: e.Service, t: t.Add(-time.Duration(i) * every).UTC(),
				accessKeyID: e.AccessKeyID, userName: e.UserName, identity: e.IdentityType, accountID: acc.id,
				sourceIP: e.SourceIP, userAgent: e.UserAgent, region: e.Region, rw: e.RW, errorCode: e.ErrorCode,
				errorMessage: e.ErrorMessage, resourceType: e.ResourceType, resourceName: e.ResourceName, params: e.Params,
				response: e.Response}
			if te.id == "" || n > 1 {
				te.id = s.eventID()
			}
			if te.service == "" {
				te.service = "Ram"
			}
			if te.region == "" {
				te.region = "cn-hangzhou"
			}
			if te.rw == "" {
				te.rw = rwOf(te.name)
			}
			if te.identity == "" {
				te.identity = "ram-user"
				if te.userName == "" {
					te.identity = "root-account"
				}
			}
			if te.userAgent == "" {
				te.userAgent = "AlibabaCloud (linux; amd64) Golang/1.22.1 Core/1.63.22"
			}
			if te.sourceIP == "" {
				te.sourceIP = "203.0.113.7"
			}
			te.requestID = s.requestID(false)
			if k := s.keys[te.accessKeyID]; k != nil && te.t.After(k.lastUsed) && te.errorCode == "" {
				k.lastUsed, k.lastService, k.lastIP = te.t, te.service, te.sourceIP
			}
			acc.appendEvent(te)
		}
	}
}

func (a *account) appendEvent(e *trailEvent) {
	if len(a.events) >= maxEventsPerAccount {
		a.events = append(a.events[:0:0], a.events[len(a.events)/2:]...)
	}
	a.events = append(a.events, e)
}

func (s *Server) eventID() string { return s.requestID(true) }

func rwOf(name string) string {
	for _, p := range []string{"Get", "List", "Describe", "Lookup", "Query", "Check"} {
		if strings.HasPrefix(name, p) {
			return "Read"
		}
	}
	return "Write"
}

// recordEvent stores the served call as an ActionTrail event in the acting account. Call with s.mu held.
func (s *Server) recordEvent(c *call, e *apiError) {
	if c.acct == nil || c.prod == nil {
		return
	}
	kept, region := eventParams(c.params)
	if region == "" {
		region = "cn-hangzhou" // the SDK and the CLI always send RegionId
	}
	te := &trailEvent{id: s.eventID(), name: c.action, service: c.prod.name, version: c.version, t: c.now,
		accessKeyID: c.key.id, accountID: c.acct.id, userAgent: c.r.UserAgent(), region: region,
		rw: rwOf(c.action), requestID: c.rid, call: kept}
	te.sourceIP = s.sourceIP(c)
	te.response = responseElements(c)
	switch {
	case c.sess != nil:
		te.identity = "assumed-role"
		te.userName = c.sess.role.name + ":" + c.sess.name // DOC: <role>:<session>
		te.principalID = c.sess.role.id + ":" + c.sess.name
	case c.user != nil:
		te.identity, te.userName, te.principalID = "ram-user", c.user.name, c.user.id
	default:
		te.identity, te.principalID = "root-account", c.acct.id
	}
	if n, _ := kept.get("UserName"); n != "" {
		te.resourceType, te.resourceName = "ACS::RAM::User", n
	}
	if e != nil {
		te.errorCode, te.errorMessage = e.Code, e.Message
	}
	c.acct.appendEvent(te)
}

// eventParams copies what an event keeps of a call's parameters (its requestParameters: not the
// protocol ones, never a secret) and its RegionId into one string, so that an event, kept for
// long, does not pin the request's whole query.
func eventParams(p params) (kept params, region string) {
	var arr [8]param
	keep, size := arr[:0], 0
	p.each(func(k, v string) {
		if k == "RegionId" || !commonParam(k) && !redacted(k) {
			keep = append(keep, param{k, v})
			size += len(k) + len(v)
		}
	})
	if len(keep) == 0 {
		return params{}, ""
	}
	buf := make([]byte, 0, size)
	for _, x := range keep {
		buf = append(append(buf, x.k...), x.v...)
	}
	arena := string(buf)
	list := make([]param, 0, len(keep))
	for _, x := range keep {
		kc, vc := arena[:len(x.k)], arena[len(x.k):len(x.k)+len(x.v)]
		arena = arena[len(x.k)+len(x.v):]
		if x.k == "RegionId" {
			region = vc
			continue
		}
		list = append(list, param{kc, vc})
	}
	return params{list: list, body: len(list)}, region
}

// commonParam reports the protocol parameters that an event's requestParameters leave out.
func commonParam(name string) bool {
	switch name {
	case "Action", "Version", "Format", "AccessKeyId", "SignatureMethod", "SignatureVersion", "SignatureType",
		"SignatureNonce", "Timestamp", "RegionId":
		return true
	}
	return false
}

// allowed reports whether the caller may call product:action.
func (c *call) allowed() bool {
	if authFree(c) {
		return true
	}
	var allow []string
	switch {
	case c.sess != nil:
		allow = c.sess.role.allow
	case c.user != nil:
		allow = c.user.allow
	default:
		return true // the account owner
	}
	want := c.authAction()
	for _, a := range allow {
		if ok, _ := path.Match(a, want); ok {
			return true
		}
	}
	return false
}

func (c *call) noPermission() *apiError {
	msg := "You are not authorized to do this action."
	code := "NoPermission"
	switch c.prod.code {
	case "sts":
		msg += " You should be authorized by RAM."
	case "kms":
		code, msg = "Forbidden.NoPermission", "This operation is forbidden by permission system."
	case "yundun-sas":
		msg = "caller has no permission" // ModifyAccessKeyLeakDeal's documented 403 [DOC]; the others [INF]
	}
	ptype, pname := "SubUser", ""
	switch {
	case c.sess != nil:
		ptype, pname = "AssumedRoleUser", c.sess.role.name+":"+c.sess.name
	case c.user != nil:
		pname = c.user.name
	}
	e := errf(403, code, "%s", msg)
	e.Detail = map[string]string{
		"AuthAction": c.authAction(), "AuthPrincipalType": ptype, "AuthPrincipalDisplayName": pname,
		"AuthPrincipalOwnerId": c.acct.id, "PolicyType": "AccountLevelIdentityBasedPolicy",
		"NoPermissionType": "ImplicitDeny", "EncodedDiagnosticMessage": "",
	}
	return e
}

// dispatch checks permission and runs the action under the state lock, recording an event.
func (s *Server) dispatch(c *call) (int, map[string]any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.authorize(c); e != nil {
		return 0, nil, e
	}
	h := c.prod.actions[c.action]
	body, e := h(s, c)
	if e != nil {
		return 0, nil, e
	}
	body["RequestId"] = c.rid
	c.resp = body
	s.recordEvent(c, nil)
	return 200, body, nil
}
