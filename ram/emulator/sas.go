package emulator

import (
	"fmt"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Security Center (Sas, 2018-12-03): AccessKey-leak records (alibaba-api.md §9).
//
// Documented: the three actions, their parameters (aliyun-openapi-meta), the answer shapes (the
// API reference's examples and the SDK's structs), the RAM action names (yundun-aegis for the
// list, yundun-sas for the detail and the deal), PageSize ≤ 100, StartTs in Unix ms,
// ModifyAccessKeyLeakDeal's 403 NoPermission "caller has no permission". Inferred (README.md):
// the sort order, the error codes of bad parameters and of an unknown Id, what
// ResourceDirectoryAccountId allows, that an unknown Id in ModifyAccessKeyLeakDeal is accepted and
// ignored, the UTC+8 zone of the "YYYY-MM-DD HH:mm:ss" times.

// Leak is a seeded Security Center AccessKey-leak record (an entry of "AccessKey leak detection").
type Leak struct {
	ID          int64  `yaml:"id,omitempty"`          // the record id; generated when 0
	AccessKeyID string `yaml:"accessKeyId"`           // the leaked key (need not exist in the org)
	UserType    string `yaml:"userType,omitempty"`    // master | ram; default: master for a root key of the account, else ram
	AliUserName string `yaml:"aliUserName,omitempty"` // default: the key's RAM user, or the account name for a root key
	// URL is the GitHub blob URL of the file: https://github.com/{owner}/{repo}/blob/{commit}/{path}.
	URL        string `yaml:"url"`
	FileType   string `yaml:"fileType,omitempty"`   // GithubFileType, e.g. Python, INI
	GithubUser string `yaml:"githubUser,omitempty"` // default: the URL's owner
	// Code is the leaked snippet as Security Center shows it; it may hold the secret.
	Code       string `yaml:"code,omitempty"`
	TokenValid int    `yaml:"tokenValid,omitempty"` // 0 to be confirmed, 1 valid, 2 invalid
	Status     string `yaml:"status,omitempty"`     // pending (default) | dealed
	DealType   string `yaml:"dealType,omitempty"`   // pending (default when pending) | manual | disable | add-whitelist
	Remark     string `yaml:"remark,omitempty"`
	// Found is when Security Center found the leak (GmtModified); Ago places it before the
	// server's start instead. Neither: the server's start.
	Found time.Time     `yaml:"found,omitempty"`
	Ago   time.Duration `yaml:"ago,omitempty"`
}

type leakState struct {
	id                          int64
	keyID, userType, aliUser    string
	url, fileType, githubUser   string
	code, remark                string
	tokenValid                  int
	status, dealType, whitelist string
	found, dealt, whitelistTime time.Time
}

// sasState is one account's Security Center.
type sasState struct {
	leaks       []*leakState // newest first (found, then id, descending)
	byID        map[int64]*leakState
	maxID       int64
	unmonitored bool // the management account may not read it with ResourceDirectoryAccountId
}

const (
	sasStatusPending = "pending"
	sasStatusDealed  = "dealed"
	firstLeakID      = 390001 // generated ids start here [INF]; the doc examples are 389xxx
	sasMaxPageSize   = 100
	sasDefaultPage   = 20
)

// cst is the zone of Security Center's "YYYY-MM-DD HH:mm:ss" times: UTC+8 [INF from the doc's
// examples, alibaba-api.md §9].
var cst = time.FixedZone("CST", 8*3600)

func sasTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(cst).Format("2006-01-02 15:04:05")
}

func (a *account) sasState() *sasState {
	if a.sas == nil {
		a.sas = &sasState{byID: map[int64]*leakState{}}
	}
	return a.sas
}

func validDealType(t string) bool {
	switch t {
	case "manual", "disable", "add-whitelist":
		return true
	}
	return false
}

// validateLeak checks one seeded record; bad reports with the path below the record.
func validateLeak(l Leak, bad func(msg string, p ...any)) {
	if !reKeyID.MatchString(l.AccessKeyID) {
		bad(fmt.Sprintf("leak accessKeyId %q is not LTAI plus 12 or 20 letters and digits", l.AccessKeyID), "accessKeyId")
	}
	if u, err := url.Parse(l.URL); err != nil || u.Scheme != "https" || u.Host != "github.com" {
		bad(fmt.Sprintf("leak url %q is not an https://github.com/ URL", l.URL), "url")
	}
	if l.ID < 0 {
		bad("leak id must be positive", "id")
	}
	if l.UserType != "" && l.UserType != "master" && l.UserType != "ram" {
		bad(fmt.Sprintf("leak userType %q is not master or ram", l.UserType), "userType")
	}
	if l.TokenValid < 0 || l.TokenValid > 2 {
		bad("leak tokenValid must be 0, 1 or 2", "tokenValid")
	}
	if !l.Found.IsZero() && l.Ago != 0 {
		bad("leak has both found and ago", "found")
	}
	switch l.Status {
	case "", sasStatusPending:
		if l.DealType != "" && l.DealType != sasStatusPending {
			bad(fmt.Sprintf("a pending leak has dealType %q; want pending", l.DealType), "dealType")
		}
	case sasStatusDealed:
		if l.DealType != "" && !validDealType(l.DealType) {
			bad(fmt.Sprintf("leak dealType %q is not manual, disable or add-whitelist", l.DealType), "dealType")
		}
	default:
		bad(fmt.Sprintf("leak status %q is not pending or dealed", l.Status), "status")
	}
}

// loadLeaks seeds every account's records (during load).
func (s *Server) loadLeaks(o *Org, now time.Time) {
	for _, a := range o.Accounts {
		s.addLeaksLocked(a.ID, now, a.Leaks...)
	}
}

// AddLeaks seeds Security Center leak records into an account (unknown accounts are ignored).
// Records are not validated beyond what the server needs: seed files go through ParseOrg.
func (s *Server) AddLeaks(accountID string, leaks ...Leak) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addLeaksLocked(accountID, now, leaks...)
}

// SetMonitored says whether the management account may read accountID's records with
// ResourceDirectoryAccountId (default: every member may be read). [INF: the real service needs
// the member to be monitored by the management account's Security Center.]
func (s *Server) SetMonitored(accountID string, monitored bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.byID[accountID]; a != nil {
		a.sasState().unmonitored = !monitored
	}
}

func (s *Server) addLeaksLocked(accountID string, now time.Time, leaks ...Leak) {
	acc := s.byID[accountID]
	if acc == nil || len(leaks) == 0 {
		return
	}
	st := acc.sasState()
	next := s.nextLeakID()
	for _, l := range leaks {
		ls := &leakState{id: l.ID, keyID: l.AccessKeyID, userType: l.UserType, aliUser: l.AliUserName, url: l.URL,
			fileType: l.FileType, githubUser: l.GithubUser, code: l.Code, remark: l.Remark, tokenValid: l.TokenValid,
			status: l.Status, dealType: l.DealType, whitelist: "no", found: l.Found}
		if ls.id == 0 || s.leakByID(ls.id) != nil {
			ls.id = next
		}
		next = max(next, ls.id+1)
		if ls.found.IsZero() {
			ls.found = now.Add(-l.Ago)
		}
		ls.found = ls.found.UTC().Truncate(time.Millisecond)
		if ls.status == "" {
			ls.status = sasStatusPending
		}
		if ls.dealType == "" {
			ls.dealType = sasStatusPending
			if ls.status == sasStatusDealed {
				ls.dealType = "manual"
			}
		}
		if ls.status == sasStatusDealed {
			ls.dealt = ls.found
			if ls.dealType == "add-whitelist" {
				ls.whitelist, ls.whitelistTime = "yes", ls.found
			}
		}
		k := s.keys[ls.keyID]
		if ls.userType == "" {
			ls.userType = "ram"
			if k != nil && k.acct == acc && k.user == nil && k.sess == nil {
				ls.userType = "master"
			}
		}
		if ls.aliUser == "" {
			switch {
			case k != nil && k.acct == acc && k.user != nil:
				ls.aliUser = k.user.name
			case ls.userType == "master":
				ls.aliUser = acc.name
			}
		}
		if ls.githubUser == "" {
			ls.githubUser, _, _, _ = githubParts(ls.url)
		}
		st.byID[ls.id] = ls
		st.maxID = max(st.maxID, ls.id)
		st.leaks = append(st.leaks, ls)
	}
	slices.SortStableFunc(st.leaks, func(a, b *leakState) int {
		if c := b.found.Compare(a.found); c != 0 {
			return c
		}
		return int(min(max(b.id-a.id, -1), 1))
	})
}

// nextLeakID is one more than every record id in the org (ids are unique across accounts, like
// the cloud's). Call with s.mu held (or during load).
func (s *Server) nextLeakID() int64 {
	next := int64(firstLeakID)
	for _, a := range s.accounts {
		if a.sas != nil {
			next = max(next, a.sas.maxID+1)
		}
	}
	return next
}

func (s *Server) leakByID(id int64) *leakState {
	for _, a := range s.accounts {
		if a.sas != nil && a.sas.byID[id] != nil {
			return a.sas.byID[id]
		}
	}
	return nil
}

// githubParts splits https://github.com/{owner}/{repo}/blob/{commit}/{path}.
func githubParts(raw string) (owner, repo, commit, file string) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", "", ""
	}
	parts := strings.SplitN(strings.Trim(u.Path, "/"), "/", 5)
	if len(parts) >= 1 {
		owner = parts[0]
	}
	if len(parts) >= 2 {
		repo = parts[1]
	}
	if len(parts) == 5 && parts[2] == "blob" {
		commit, file = parts[3], parts[4]
	}
	return owner, repo, commit, file
}

// sasTarget is the account whose records a call reads: the caller's, or with
// ResourceDirectoryAccountId a member's (the caller must then be the management account) [INF].
func sasTarget(s *Server, c *call) (*account, *apiError) {
	v := c.p("ResourceDirectoryAccountId")
	if v == "" || v == c.acct.id {
		return c.acct, nil
	}
	if _, err := strconv.ParseInt(v, 10, 64); err != nil {
		return nil, badParam("ResourceDirectoryAccountId")
	}
	if !c.acct.management {
		return nil, c.noPermission()
	}
	a := s.byID[v]
	if a == nil {
		return nil, errf(400, "InvalidParameter", "The specified parameter ResourceDirectoryAccountId is invalid.")
	}
	if a.sas != nil && a.sas.unmonitored {
		return nil, c.noPermission()
	}
	return a, nil
}

// intParam reads an integer parameter: def when absent, badParam when not an integer in [lo, hi].
func intParam(c *call, name string, def, lo, hi int64) (int64, *apiError) {
	v := c.p(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, badParam(name)
	}
	return n, nil
}

func sasListLeaks(s *Server, c *call) (map[string]any, *apiError) {
	acc, e := sasTarget(s, c)
	if e != nil {
		return nil, e
	}
	page, e := intParam(c, "CurrentPage", 1, 1, 1<<31-1)
	if e != nil {
		return nil, e
	}
	size, e := intParam(c, "PageSize", sasDefaultPage, 1, sasMaxPageSize)
	if e != nil {
		return nil, e
	}
	since, e := intParam(c, "StartTs", 0, 0, 1<<62)
	if e != nil {
		return nil, e
	}
	status, query := c.p("Status"), c.p("Query")
	if status != "" && status != sasStatusPending && status != sasStatusDealed {
		return nil, badParam("Status")
	}
	st := acc.sasState()
	var total, pending int
	var last int64
	list := []object{}
	from := (page - 1) * size
	for _, l := range st.leaks {
		if l.status == sasStatusPending {
			pending++
		}
		last = max(last, l.found.UnixMilli())
		if (status != "" && l.status != status) || (query != "" && l.keyID != query) || l.found.UnixMilli() < since {
			continue
		}
		if int64(total) >= from && int64(len(list)) < size {
			list = append(list, object{
				{k: "Id", v: l.id}, str("AccesskeyId", l.keyID), str("AliUserName", l.aliUser), str("UserType", l.userType),
				str("Type", "AccessKey"), str("Asset", "云平台"), str("Url", l.url), str("Status", l.status),
				str("DealType", l.dealType), str("DealTime", sasTime(l.dealt)), {k: "GmtModified", v: l.found.UnixMilli()},
			})
		}
		total++
	}
	return map[string]any{"CurrentPage": int(page), "PageSize": int(size), "TotalCount": total, "AkLeakCount": pending,
		"GmtLast": last, "AccessKeyLeakList": list}, nil
}

func sasLeakDetail(s *Server, c *call) (map[string]any, *apiError) {
	acc, e := sasTarget(s, c)
	if e != nil {
		return nil, e
	}
	if c.p("Id") == "" {
		return nil, missing("Id")
	}
	id, err := strconv.ParseInt(c.p("Id"), 10, 64)
	if err != nil {
		return nil, badParam("Id")
	}
	l := acc.sasState().byID[id]
	if l == nil {
		return nil, errf(400, "InvalidParameter", "The specified parameter Id is invalid.")
	}
	owner, repo, _, file := githubParts(l.url)
	var wl int64
	if !l.whitelistTime.IsZero() {
		wl = l.whitelistTime.UnixMilli()
	}
	return map[string]any{
		"AccesskeyId": l.keyID, "Type": "AccessKey", "Source": "GitHub", "Asset": "云平台", "Code": l.code,
		"TokenValid": l.tokenValid, "DealType": l.dealType, "DealTime": sasTime(l.dealt), "Remark": l.remark,
		"WhitelistStatus": l.whitelist, "WhitelistTime": wl, "GmtCreate": sasTime(l.found), "GmtModified": sasTime(l.found),
		"GithubUser": l.githubUser, "GithubUserPicUrl": "https://avatars.githubusercontent.com/u/" + strconv.FormatInt(l.id, 10) + "?s=48&v=4",
		"GithubRepoName": repo, "GithubRepoUrl": "https://github.com/" + owner + "/" + repo,
		"GithubFileName": path.Base(file), "GithubFileType": l.fileType, "GithubFileUrl": l.url,
		"GithubFileUpdateTime": l.found.UTC().Format("2006-01-02T15:04:05"),
	}, nil
}

func sasModifyLeakDeal(s *Server, c *call) (map[string]any, *apiError) {
	typ := c.p("Type")
	if typ == "" {
		return nil, missing("Type")
	}
	if !validDealType(typ) {
		return nil, badParam("Type")
	}
	var ids []int64
	names := []string{"Id"}
	for i := 1; ; i++ {
		n := "IdList." + strconv.Itoa(i)
		if _, ok := c.params.get(n); !ok {
			break
		}
		names = append(names, n)
	}
	for _, n := range names {
		v := c.p(n)
		if v == "" {
			continue
		}
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, badParam(n)
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, missing("Id")
	}
	st := c.acct.sasState()
	for _, id := range ids {
		l := st.byID[id]
		if l == nil {
			continue // accepted and ignored: "HTTP 200 only means the request was accepted" [DOC; INF]
		}
		l.status, l.dealType, l.dealt = sasStatusDealed, typ, c.now
		if r := c.p("Remark"); r != "" {
			l.remark = r
		}
		if typ == "add-whitelist" {
			l.whitelist, l.whitelistTime = "yes", c.now
		}
	}
	return map[string]any{}, nil
}
