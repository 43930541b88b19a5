package ram

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"

	"github.com/respond-dev/respond/ram/accesskey"
)

// Security Center (Sas 2018-12-03): the AccessKey-leak records Alibaba finds on GitHub
// (alibaba-api.md §9). The SDK's typed requests for the two reads lack
// ResourceDirectoryAccountId (and its detail drops TokenValid); ModifyAccessKeyLeakDeal has none.
// So all three go through one CommonRequest path and one decoder of our own, which turns the
// detail's Code (the leaked snippet, which may hold the secret) into an accesskey.Secret as it
// decodes it.

const (
	prodSAS    = "sas"
	sasVersion = "2018-12-03"

	actDescribeAccesskeyLeakList   = "DescribeAccesskeyLeakList" // lower-case k, as Alibaba spells it
	actDescribeAccessKeyLeakDetail = "DescribeAccessKeyLeakDetail"
	actModifyAccessKeyLeakDeal     = "ModifyAccessKeyLeakDeal"

	// leakPageSize is DescribeAccesskeyLeakList's PageSize: the maximum it accepts.
	leakPageSize = 100
	// maxLeakPages bounds a listing (100,000 records) against an answer that never ends.
	maxLeakPages = 1000
)

// Security Center's words for a record's state and owner.
const (
	LeakPending    = "pending" // Status (and DealType) of a record nobody handled
	LeakDealed     = "dealed"  // Status of a handled record
	LeakUserMaster = "master"  // UserType of a root-account key
	// LeakDealManual is the DealType respond marks with: handled by hand (respond did the work).
	LeakDealManual = "manual"
)

// sasHost is Security Center's endpoint: tds.aliyuncs.com for mainland China, and
// tds.ap-southeast-1.aliyuncs.com for every international region (the SDK's own endpoint map is
// wrong for several regions, alibaba-api.md §9).
func sasHost(region string) string {
	if strings.HasPrefix(region, "cn-") {
		return "tds.aliyuncs.com"
	}
	return "tds.ap-southeast-1.aliyuncs.com"
}

// LeakQuery selects Security Center leak records.
type LeakQuery struct {
	// Status is LeakPending, LeakDealed, or "" for both.
	Status string
	// Since keeps the records found at or after it (StartTs); zero keeps all.
	Since time.Time
	// KeyID keeps the records of one AccessKey id (Query, exact match); "" keeps all.
	KeyID string
	// MemberAccountID reads a Resource Directory member's records through the management
	// account's client (ResourceDirectoryAccountId); "" reads the caller's own account.
	MemberAccountID string
}

// Leak is one record of Security Center's "AccessKey leak detection", as the list shows it.
type Leak struct {
	ID int64 `json:"id"`
	// KeyID is the leaked key; zero when the cloud's id is not a valid AccessKey id (RawKeyID
	// then holds what it sent, with control characters escaped).
	KeyID       accesskey.ID `json:"key_id"`
	RawKeyID    string       `json:"-"`
	AliUserName string       `json:"ali_user_name,omitempty"`
	// UserType is LeakUserMaster for a root-account key, else ram (or what the cloud sends).
	UserType string `json:"user_type,omitempty"`
	Type     string `json:"type,omitempty"`
	Asset    string `json:"asset,omitempty"`
	// URL is where Security Center found the key (a GitHub blob URL).
	URL      string `json:"url,omitempty"`
	Status   string `json:"status"`
	DealType string `json:"deal_type,omitempty"`
	// DealTime is as the cloud wrote it (YYYY-MM-DD HH:mm:ss, China time), "" while pending.
	DealTime string    `json:"deal_time,omitempty"`
	Found    time.Time `json:"found,omitzero"` // GmtModified
}

// Root reports whether the record is a root-account (master) key.
func (l Leak) Root() bool { return l.UserType == LeakUserMaster }

// LeakDetail is DescribeAccessKeyLeakDetail: where on GitHub the key was found and whether
// Alibaba found it still valid.
type LeakDetail struct {
	ID       int64        `json:"id"`
	KeyID    accesskey.ID `json:"key_id"`
	RawKeyID string       `json:"-"`
	Type     string       `json:"type,omitempty"`
	Source   string       `json:"source,omitempty"` // GitHub
	Asset    string       `json:"asset,omitempty"`
	// Code is the leaked snippet verbatim: it may hold the secret. It redacts itself; only the
	// pairing of a secret with its id may Reveal it.
	Code accesskey.Secret `json:"-"`
	// TokenValid: 0 not confirmed yet, 1 the key was valid, 2 invalid.
	TokenValid      int    `json:"token_valid"`
	DealType        string `json:"deal_type,omitempty"`
	DealTime        string `json:"deal_time,omitempty"`
	Remark          string `json:"remark,omitempty"`
	WhitelistStatus string `json:"whitelist_status,omitempty"`
	GithubUser      string `json:"github_user,omitempty"`
	RepoName        string `json:"repo_name,omitempty"`
	RepoURL         string `json:"repo_url,omitempty"`
	FileName        string `json:"file_name,omitempty"`
	FileType        string `json:"file_type,omitempty"`
	FileURL         string `json:"file_url,omitempty"`
	FileUpdateTime  string `json:"file_update_time,omitempty"`
	Created         string `json:"created,omitempty"`  // GmtCreate, as the cloud wrote it
	Modified        string `json:"modified,omitempty"` // GmtModified, as the cloud wrote it
}

// TokenValid values of LeakDetail.
const (
	TokenUnconfirmed = 0
	TokenValid       = 1
	TokenInvalid     = 2
)

// ListLeaks calls fn for every record q selects, following CurrentPage (100 a page) to the end.
// Records found while it pages can shift the pages; the caller de-duplicates by ID.
func (c *Client) ListLeaks(ctx context.Context, q LeakQuery, fn func(Leak) error) error {
	params := map[string]string{"PageSize": strconv.Itoa(leakPageSize)}
	if q.Status != "" {
		params["Status"] = q.Status
	}
	if !q.Since.IsZero() {
		params["StartTs"] = strconv.FormatInt(q.Since.UnixMilli(), 10)
	}
	if q.KeyID != "" {
		params["Query"] = q.KeyID
	}
	if q.MemberAccountID != "" {
		params["ResourceDirectoryAccountId"] = q.MemberAccountID
	}
	seen := 0
	for page := 1; ; page++ {
		params["CurrentPage"] = strconv.Itoa(page)
		var leaks []Leak
		var total int
		_, err := c.sasCall(ctx, actDescribeAccesskeyLeakList, q.KeyID, params, func(body []byte) (err error) {
			leaks, total, err = decodeLeakPage(body)
			return err
		})
		if err != nil {
			return fmt.Errorf("list Security Center leaks%s: %w", inAccount(q.MemberAccountID), err)
		}
		for _, l := range leaks {
			if err := fn(l); err != nil {
				return err
			}
		}
		seen += len(leaks)
		if len(leaks) < leakPageSize || (total > 0 && seen >= total) {
			return nil
		}
		if page >= maxLeakPages {
			return &Error{Action: actDescribeAccesskeyLeakList, Class: ErrTransient,
				Err: fmt.Errorf("still full pages after %d pages of %d records: the listing does not end", page, leakPageSize)}
		}
	}
}

// decodeLeakPage decodes one DescribeAccesskeyLeakList answer. Its errors never quote the body.
func decodeLeakPage(body []byte) ([]Leak, int, error) {
	var resp struct {
		TotalCount        flexInt
		AccessKeyLeakList []struct {
			ID          flexInt `json:"Id"`
			AccesskeyID string  `json:"AccesskeyId"`
			AliUserName string
			UserType    string
			Type        string
			Asset       string
			URL         string `json:"Url"`
			Status      string
			DealType    string
			DealTime    string
			GmtModified flexInt
		}
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, 0, errUndecodable
	}
	leaks := make([]Leak, 0, len(resp.AccessKeyLeakList))
	for _, l := range resp.AccessKeyLeakList {
		out := Leak{ID: int64(l.ID), RawKeyID: accesskey.Printable(l.AccesskeyID), AliUserName: accesskey.Printable(l.AliUserName),
			UserType: accesskey.Printable(l.UserType), Type: accesskey.Printable(l.Type), Asset: accesskey.Printable(l.Asset), URL: accesskey.Printable(l.URL),
			Status: accesskey.Printable(l.Status), DealType: accesskey.Printable(l.DealType), DealTime: accesskey.Printable(l.DealTime)}
		if id, err := accesskey.ParseID(strings.TrimSpace(l.AccesskeyID)); err == nil {
			out.KeyID = id
		}
		if l.GmtModified > 0 {
			out.Found = time.UnixMilli(int64(l.GmtModified)).UTC()
		}
		leaks = append(leaks, out)
	}
	return leaks, int(resp.TotalCount), nil
}

// errUndecodable says an answer was not the JSON expected; it never carries the body.
var errUndecodable = errors.New("undecodable answer")

func inAccount(member string) string {
	if member == "" {
		return ""
	}
	return " of member account " + member
}

// GetLeakDetail reads one record (of a member's account through the management account when
// memberAccountID is set).
func (c *Client) GetLeakDetail(ctx context.Context, id int64, memberAccountID string) (LeakDetail, error) {
	params := map[string]string{"Id": strconv.FormatInt(id, 10)}
	if memberAccountID != "" {
		params["ResourceDirectoryAccountId"] = memberAccountID
	}
	var out LeakDetail
	_, err := c.sasCall(ctx, actDescribeAccessKeyLeakDetail, "", params, func(body []byte) (err error) {
		out, err = decodeLeakDetail(body, id)
		return err
	})
	if err != nil {
		return LeakDetail{}, fmt.Errorf("read Security Center leak %d%s: %w", id, inAccount(memberAccountID), err)
	}
	return out, nil
}

// decodeLeakDetail decodes a DescribeAccessKeyLeakDetail answer: Code becomes an
// accesskey.Secret here, before anything else sees it. Its errors never quote the body.
func decodeLeakDetail(body []byte, id int64) (LeakDetail, error) {
	var resp struct {
		AccesskeyID          string `json:"AccesskeyId"`
		Type                 string
		Source               string
		Asset                string
		Code                 secretJSON
		TokenValid           flexInt
		DealType             string
		DealTime             string
		Remark               string
		WhitelistStatus      string
		GithubUser           string
		GithubRepoName       string
		GithubRepoURL        string `json:"GithubRepoUrl"`
		GithubFileName       string
		GithubFileType       string
		GithubFileURL        string `json:"GithubFileUrl"`
		GithubFileUpdateTime string
		GmtCreate            string
		GmtModified          string
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return LeakDetail{}, errUndecodable
	}
	out := LeakDetail{ID: id, RawKeyID: accesskey.Printable(resp.AccesskeyID), Type: accesskey.Printable(resp.Type), Source: accesskey.Printable(resp.Source),
		Asset: accesskey.Printable(resp.Asset), Code: resp.Code.s, TokenValid: int(resp.TokenValid), DealType: accesskey.Printable(resp.DealType),
		DealTime: accesskey.Printable(resp.DealTime), Remark: accesskey.Printable(resp.Remark), WhitelistStatus: accesskey.Printable(resp.WhitelistStatus),
		GithubUser: accesskey.Printable(resp.GithubUser), RepoName: accesskey.Printable(resp.GithubRepoName), RepoURL: accesskey.Printable(resp.GithubRepoURL),
		FileName: accesskey.Printable(resp.GithubFileName), FileType: accesskey.Printable(resp.GithubFileType), FileURL: accesskey.Printable(resp.GithubFileURL),
		FileUpdateTime: accesskey.Printable(resp.GithubFileUpdateTime), Created: accesskey.Printable(resp.GmtCreate), Modified: accesskey.Printable(resp.GmtModified)}
	if kid, err := accesskey.ParseID(strings.TrimSpace(resp.AccesskeyID)); err == nil {
		out.KeyID = kid
	}
	return out, nil
}

// MarkLeaksHandled marks records handled: ModifyAccessKeyLeakDeal with Type=manual and remark.
// The records must be the caller's own account's (the call has no ResourceDirectoryAccountId:
// a member's records need a client signed in the member). An HTTP 200 only means the request
// was accepted: list the records again to confirm. It returns the cloud's request id.
func (c *Client) MarkLeaksHandled(ctx context.Context, ids []int64, remark string) (string, error) {
	if len(ids) == 0 {
		return "", errors.New("mark Security Center leaks handled: no record id")
	}
	params := map[string]string{"Type": LeakDealManual}
	if len(ids) == 1 {
		params["Id"] = strconv.FormatInt(ids[0], 10)
	} else {
		for i, id := range ids {
			params["IdList."+strconv.Itoa(i+1)] = strconv.FormatInt(id, 10)
		}
	}
	if remark != "" {
		params["Remark"] = remark
	}
	rid, err := c.sasCall(ctx, actModifyAccessKeyLeakDeal, "", params, nil)
	if err != nil {
		return "", fmt.Errorf("mark Security Center leaks %s handled: %w", joinIDs(ids), err)
	}
	return rid, nil
}

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ", ")
}

// sasCall makes one Security Center call (retried: all three are safe to repeat) and hands the
// answer's body to decode (nil: only the request id is read). An undecodable answer is a
// transient failure whose error keeps nothing of the body.
func (c *Client) sasCall(ctx context.Context, action, keyID string, params map[string]string, decode func([]byte) error) (string, error) {
	var rid string
	err := c.call(ctx, action, keyID, func(ctx context.Context) error {
		body, err := c.commonBody(ctx, prodSAS, "Sas", sasVersion, action, params)
		if err != nil {
			return err
		}
		var head struct {
			RequestID string `json:"RequestId"`
		}
		if err := json.Unmarshal(body, &head); err != nil {
			return sdkerrors.NewClientError(sdkerrors.JsonUnmarshalErrorCode, "", nil)
		}
		if decode != nil {
			if err := decode(body); err != nil {
				return sdkerrors.NewClientError(sdkerrors.JsonUnmarshalErrorCode, "", nil)
			}
		}
		rid = accesskey.Printable(head.RequestID)
		return nil
	})
	return rid, err
}

// secretJSON decodes a JSON string straight into an accesskey.Secret. Its errors never quote the
// value.
type secretJSON struct{ s accesskey.Secret }

func (v *secretJSON) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("a secret-bearing field is not a string")
	}
	v.s = accesskey.NewSecret(s)
	return nil
}

// flexInt is an integer the cloud may send as a number or a numeric string (the SDK's decoder is
// fuzzy about scalars too). Its errors never quote the value.
type flexInt int64

func (v *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return errors.New("not an integer")
	}
	*v = flexInt(n)
	return nil
}
