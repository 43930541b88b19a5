package ram

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/actiontrail"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ims"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/kms"
	sdkram "github.com/aliyun/alibaba-cloud-sdk-go/services/ram"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/resourcemanager"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sts"

	"github.com/respond-dev/respond/ram/accesskey"
)

// Action names, as the cloud spells them (and as *Error.Action carries them).
const (
	actGetCallerIdentity        = "GetCallerIdentity"
	actAssumeRole               = "AssumeRole"
	actListUsers                = "ListUsers"
	actGetUser                  = "GetUser"
	actListAccessKeys           = "ListAccessKeys"
	actCreateAccessKey          = "CreateAccessKey"
	actDeleteAccessKey          = "DeleteAccessKey"
	actGetAccessKeyLastUsed     = "GetAccessKeyLastUsed"
	actGetAccessKeyLastUsedInfo = "GetAccessKeyLastUsedInfo"
	actLookupEvents             = "LookupEvents"
	actCreateSecret             = "CreateSecret"
	actPutSecretValue           = "PutSecretValue"
	actListAccounts             = "ListAccounts"
)

// listUsersPage is the page size of ListUsers: the maximum RAM accepts.
const listUsersPage = 1000

func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// GetCallerIdentity asks STS who signs our calls.
func (c *Client) GetCallerIdentity(ctx context.Context) (Identity, error) {
	var out Identity
	err := c.call(ctx, actGetCallerIdentity, "", func(ctx context.Context) error {
		req, resp := sts.CreateGetCallerIdentityRequest(), sts.CreateGetCallerIdentityResponse()
		if err := c.invoke(ctx, prodSTS, req, resp); err != nil {
			return err
		}
		if resp.RequestId == "" {
			return noRequestID() // not proof that the pair signs
		}
		out = Identity{AccountID: resp.AccountId, UserID: resp.UserId, RoleID: resp.RoleId,
			IdentityType: resp.IdentityType, PrincipalID: resp.PrincipalId, Arn: resp.Arn}
		return nil
	})
	if err != nil {
		return Identity{}, err
	}
	if cc, cerr := c.creds.GetCredentials(); cerr == nil {
		out.AccessKeyID = cc.AccessKeyId
	}
	return out, nil
}

// AssumeRole gets temporary credentials for roleArn. Repeating it is harmless.
func (c *Client) AssumeRole(ctx context.Context, roleArn, sessionName string, duration time.Duration) (TempCredentials, error) {
	var out TempCredentials
	err := c.call(ctx, actAssumeRole, "", func(ctx context.Context) error {
		req, resp := sts.CreateAssumeRoleRequest(), sts.CreateAssumeRoleResponse()
		req.RoleArn = roleArn
		req.RoleSessionName = sessionName
		if duration > 0 {
			req.DurationSeconds = requests.NewInteger(int(duration / time.Second))
		}
		if err := c.invoke(ctx, prodSTS, req, resp); err != nil {
			return err
		}
		out = TempCredentials{
			AccessKeyID:   resp.Credentials.AccessKeyId,
			Secret:        accesskey.NewSecret(resp.Credentials.AccessKeySecret),
			SecurityToken: accesskey.NewSecret(resp.Credentials.SecurityToken),
			Expiration:    parseTime(resp.Credentials.Expiration),
		}
		return nil
	})
	if err != nil {
		return TempCredentials{}, fmt.Errorf("assume role %s: %w", roleArn, err)
	}
	if out.AccessKeyID == "" || out.Secret.IsZero() {
		return TempCredentials{}, fmt.Errorf("assume role %s: the answer carried no credentials", roleArn)
	}
	return out, nil
}

// ListUsers calls fn for every RAM user, following Marker until IsTruncated is false (the seed's
// loop stopped after the first page of 100; we never do).
func (c *Client) ListUsers(ctx context.Context, fn func(User) error) error {
	marker := ""
	for {
		var page []User
		var next string
		var truncated bool
		err := c.call(ctx, actListUsers, "", func(ctx context.Context) error {
			req, resp := sdkram.CreateListUsersRequest(), sdkram.CreateListUsersResponse()
			req.MaxItems = requests.NewInteger(listUsersPage)
			req.Marker = marker
			if err := c.invoke(ctx, prodRAM, req, resp); err != nil {
				return err
			}
			page = page[:0]
			for _, u := range resp.Users.User {
				page = append(page, User{UserID: u.UserId, UserName: u.UserName, DisplayName: u.DisplayName, CreateDate: parseTime(u.CreateDate)})
			}
			next, truncated = resp.Marker, resp.IsTruncated
			return nil
		})
		if err != nil {
			return err
		}
		for _, u := range page {
			if err := fn(u); err != nil {
				return err
			}
		}
		if !truncated {
			return nil
		}
		if next == "" || next == marker {
			return &Error{Action: actListUsers, Class: ErrTransient, Err: errors.New("IsTruncated without a new Marker")}
		}
		marker = next
	}
}

// GetUser reads one RAM user.
func (c *Client) GetUser(ctx context.Context, userName string) (User, error) {
	var out User
	err := c.call(ctx, actGetUser, "", func(ctx context.Context) error {
		req, resp := sdkram.CreateGetUserRequest(), sdkram.CreateGetUserResponse()
		req.UserName = userName
		if err := c.invoke(ctx, prodRAM, req, resp); err != nil {
			return err
		}
		u := resp.User
		out = User{UserID: u.UserId, UserName: u.UserName, DisplayName: u.DisplayName, CreateDate: parseTime(u.CreateDate)}
		return nil
	})
	if err != nil {
		return User{}, fmt.Errorf("get user %s: %w", userName, err)
	}
	return out, nil
}

// ListAccessKeys lists a user's keys ("" = the caller's own keys). Ids the cloud sends that do
// not parse are skipped.
func (c *Client) ListAccessKeys(ctx context.Context, userName string) ([]AccessKey, error) {
	var out []AccessKey
	err := c.call(ctx, actListAccessKeys, "", func(ctx context.Context) error {
		req, resp := sdkram.CreateListAccessKeysRequest(), sdkram.CreateListAccessKeysResponse()
		req.UserName = userName
		if err := c.invoke(ctx, prodRAM, req, resp); err != nil {
			return err
		}
		if resp.RequestId == "" {
			return noRequestID() // its empty list is not proof that a key is gone
		}
		out = out[:0]
		for _, k := range resp.AccessKeys.AccessKey {
			id, perr := accesskey.ParseID(k.AccessKeyId)
			if perr != nil {
				continue
			}
			out = append(out, AccessKey{ID: id, Status: k.Status, CreateDate: parseTime(k.CreateDate)})
		}
		return nil
	})
	if err != nil {
		who := userName
		if who == "" {
			who = "the caller"
		}
		return nil, fmt.Errorf("list access keys of %s: %w", who, err)
	}
	return out, nil
}

// AmbiguousCreateError says a CreateAccessKey failed in a way that may have created a key (5xx,
// dropped connection, timeout). When NewKeyIDs is not empty, the cloud did create those keys and
// their secrets are lost: delete them and create again. It wraps ErrTransient.
type AmbiguousCreateError struct {
	UserName  string
	NewKeyIDs []accesskey.ID
	// Unverified is true when listing the keys afterwards failed too, so nothing is known.
	Unverified bool
	// LostAttempts counts the attempts (this one included) whose answer never came (no HTTP
	// answer: a timeout, a dropped connection): the cloud may still carry them out later.
	LostAttempts int
	Err          error
}

func (e *AmbiguousCreateError) Error() string {
	s := "create access key for user " + e.UserName + ": outcome ambiguous"
	switch {
	case e.Unverified:
		s += "; the user's keys could not be listed afterwards, check them before creating again"
	case len(e.NewKeyIDs) > 0:
		ids := make([]string, len(e.NewKeyIDs))
		for i, id := range e.NewKeyIDs {
			ids[i] = id.String()
		}
		s += "; new key(s) " + strings.Join(ids, ", ") + " appeared but their secret was lost: delete them and create again"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *AmbiguousCreateError) Unwrap() []error { return []error{ErrTransient, e.Err} }

// CreateAccessKey creates a key for userName against before, the list of the user's keys the
// caller took itself right before, with no change since: an older list could blame a key that
// appeared in between. It is never blindly retried: after an ambiguous failure it lists the
// user's keys and compares them with before. A new key there means the create happened and its
// secret is lost (*AmbiguousCreateError); none means it is safe to try again. Throttling is
// rejected before anything commits, so it is retried.
func (c *Client) CreateAccessKey(ctx context.Context, userName string, before []AccessKey) (NewAccessKey, error) {
	failed, throttled, lost := 0, 0, 0
	for n := 1; ; n++ {
		var out NewAccessKey
		rerr := func() error {
			req, resp := sdkram.CreateCreateAccessKeyRequest(), sdkram.CreateCreateAccessKeyResponse()
			req.UserName = userName
			if err := c.invoke(ctx, prodRAM, req, resp); err != nil {
				return err
			}
			id, perr := accesskey.ParseID(resp.AccessKey.AccessKeyId)
			if perr != nil {
				return fmt.Errorf("the cloud answered an invalid key id: %w", perr)
			}
			out = NewAccessKey{ID: id, Secret: accesskey.NewSecret(resp.AccessKey.AccessKeySecret),
				Status: resp.AccessKey.Status, CreateDate: parseTime(resp.AccessKey.CreateDate), RequestID: resp.RequestId}
			return nil
		}()
		if rerr == nil {
			out.LostAttempts = lost
			return out, nil
		}
		e := classify(ctx, actCreateAccessKey, "", rerr)
		switch {
		case errors.Is(e, ErrThrottled) && c.retryThrottled && !c.spent(e, &failed, &throttled):
			// Rejected before commit: safe to repeat.
		case errors.Is(e, ErrTransient):
			if e.Status == 0 {
				lost++ // no answer: the call may still be carried out after we gave up
			}
			after, lerr := c.ListAccessKeys(context.WithoutCancel(ctx), userName)
			if lerr != nil {
				return NewAccessKey{}, &AmbiguousCreateError{UserName: userName, Unverified: true, LostAttempts: lost, Err: e}
			}
			if fresh := newKeys(before, after); len(fresh) > 0 {
				return NewAccessKey{}, &AmbiguousCreateError{UserName: userName, NewKeyIDs: fresh, LostAttempts: lost, Err: e}
			}
			if c.spent(e, &failed, &throttled) || ctx.Err() != nil {
				return NewAccessKey{}, fmt.Errorf("create access key for user %s: %w", userName, e)
			}
			// Nothing appeared: the failure was before commit; try again.
			before = after
		default:
			return NewAccessKey{}, fmt.Errorf("create access key for user %s: %w", userName, e)
		}
		if serr := c.cfg.Retry.Sleep(ctx, c.retryWait(e, n, throttled)); serr != nil {
			return NewAccessKey{}, fmt.Errorf("create access key for user %s: %w", userName, classify(ctx, actCreateAccessKey, "", serr))
		}
	}
}

func newKeys(before, after []AccessKey) []accesskey.ID {
	var fresh []accesskey.ID
	for _, a := range after {
		if !slices.ContainsFunc(before, func(b AccessKey) bool { return b.ID == a.ID }) {
			fresh = append(fresh, a.ID)
		}
	}
	return fresh
}

// DeleteAccessKey deletes a key. It is retried; a not-found on a retry after an ambiguous failure
// means the earlier attempt did it, and counts as done. A not-found on the first attempt is
// returned (errors.Is ErrNotFound): the caller decides whether that means "already done".
func (c *Client) DeleteAccessKey(ctx context.Context, userName string, id accesskey.ID) error {
	err := c.call(ctx, actDeleteAccessKey, id.String(), func(ctx context.Context) error {
		req, resp := sdkram.CreateDeleteAccessKeyRequest(), sdkram.CreateDeleteAccessKeyResponse()
		req.UserName = userName
		req.UserAccessKeyId = id.String()
		if err := c.invoke(ctx, prodRAM, req, resp); err != nil {
			return err
		}
		if resp.RequestId == "" {
			return noRequestID() // not proof of the delete: tried again, a not-found then says it happened
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete access key %s of user %s: %w", id, userName, err)
	}
	return nil
}

// GetAccessKeyLastUsed is RAM's last-use date of a key (zero when never used).
func (c *Client) GetAccessKeyLastUsed(ctx context.Context, userName string, id accesskey.ID) (time.Time, error) {
	var out time.Time
	err := c.call(ctx, actGetAccessKeyLastUsed, id.String(), func(ctx context.Context) error {
		req, resp := sdkram.CreateGetAccessKeyLastUsedRequest(), sdkram.CreateGetAccessKeyLastUsedResponse()
		req.UserName = userName
		req.UserAccessKeyId = id.String()
		if err := c.invoke(ctx, prodRAM, req, resp); err != nil {
			return err
		}
		out = parseTime(resp.AccessKeyLastUsed.LastUsedDate)
		return nil
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("last use of access key %s: %w", id, err)
	}
	return out, nil
}

// GetUserByAccessKey is IMS GetUser(UserAccessKeyId): the owner of a key in one call. UserName is
// the part of the user principal name before '@'.
func (c *Client) GetUserByAccessKey(ctx context.Context, id accesskey.ID) (User, error) {
	var out User
	err := c.call(ctx, actGetUser, id.String(), func(ctx context.Context) error {
		req, resp := ims.CreateGetUserRequest(), ims.CreateGetUserResponse()
		req.UserAccessKeyId = id.String()
		if err := c.invoke(ctx, prodIMS, req, resp); err != nil {
			return err
		}
		u := resp.User
		name, _, _ := strings.Cut(u.UserPrincipalName, "@")
		out = User{UserID: u.UserId, UserName: name, DisplayName: u.DisplayName, CreateDate: parseTime(u.CreateDate)}
		return nil
	})
	if err != nil {
		return User{}, fmt.Errorf("find user of access key %s (IMS): %w", id, err)
	}
	if out.UserName == "" {
		return User{}, fmt.Errorf("find user of access key %s (IMS): %w", id, &Error{Action: actGetUser, KeyID: id.String(), Class: ErrNotFound, Err: errors.New("no user in the answer")})
	}
	return out, nil
}

// GetAccessKeyLastUsedInfo is what ActionTrail knows of a key's last use (last 400 days).
func (c *Client) GetAccessKeyLastUsedInfo(ctx context.Context, id accesskey.ID) (LastUsed, error) {
	var out LastUsed
	err := c.call(ctx, actGetAccessKeyLastUsedInfo, id.String(), func(ctx context.Context) error {
		req, resp := actiontrail.CreateGetAccessKeyLastUsedInfoRequest(), actiontrail.CreateGetAccessKeyLastUsedInfoResponse()
		req.AccessKey = id.String()
		if err := c.invoke(ctx, prodActionTrail, req, resp); err != nil {
			return err
		}
		out = LastUsed{ServiceName: resp.ServiceName, UserName: resp.UserName, AccountID: resp.AccountId,
			AccountType: resp.AccountType, Source: resp.Source}
		if resp.UsedTimestamp > 0 {
			out.Used = time.UnixMilli(resp.UsedTimestamp).UTC()
		}
		return nil
	})
	if err != nil {
		return LastUsed{}, fmt.Errorf("ActionTrail last use of access key %s: %w", id, err)
	}
	return out, nil
}

// CreateSecret stores data as a new KMS secret. A retry that finds the name taken (after an
// ambiguous failure) confirms with an idempotent PutSecretValue of the same version.
func (c *Client) CreateSecret(ctx context.Context, name, versionID string, data accesskey.Secret) (SecretVersion, error) {
	var out SecretVersion
	var ambiguous bool
	err := c.call(ctx, actCreateSecret, "", func(ctx context.Context) error {
		req, resp := kms.CreateCreateSecretRequest(), kms.CreateCreateSecretResponse()
		req.SecretName = name
		req.VersionId = versionID
		req.SecretData = data.Reveal()
		req.SecretDataType = "text"
		err := c.invoke(ctx, prodKMS, req, resp)
		if err == nil && resp.RequestId == "" {
			err = noRequestID() // not proof that the secret is stored: the leaked key is deleted next
		}
		if err != nil {
			if e := classify(ctx, actCreateSecret, "", err); errors.Is(e, ErrTransient) {
				ambiguous = true
			}
			return err
		}
		out = SecretVersion{Name: resp.SecretName, VersionID: resp.VersionId, Arn: resp.Arn, RequestID: resp.RequestId}
		return nil
	})
	if err != nil && ambiguous && errors.Is(err, ErrAlreadyExists) {
		return c.PutSecretValue(ctx, name, versionID, data)
	}
	if err != nil {
		return SecretVersion{}, fmt.Errorf("create KMS secret %s: %w", name, err)
	}
	return out, nil
}

// PutSecretValue stores a new version; the same VersionId with the same data is idempotent, so it
// is retried.
func (c *Client) PutSecretValue(ctx context.Context, name, versionID string, data accesskey.Secret) (SecretVersion, error) {
	var out SecretVersion
	err := c.call(ctx, actPutSecretValue, "", func(ctx context.Context) error {
		req, resp := kms.CreatePutSecretValueRequest(), kms.CreatePutSecretValueResponse()
		req.SecretName = name
		req.VersionId = versionID
		req.SecretData = data.Reveal()
		req.SecretDataType = "text"
		if err := c.invoke(ctx, prodKMS, req, resp); err != nil {
			return err
		}
		if resp.RequestId == "" {
			return noRequestID() // not proof that the secret is stored: the leaked key is deleted next
		}
		out = SecretVersion{Name: resp.SecretName, VersionID: resp.VersionId, RequestID: resp.RequestId}
		return nil
	})
	if err != nil {
		return SecretVersion{}, fmt.Errorf("put KMS secret %s version %s: %w", name, versionID, err)
	}
	return out, nil
}

// ListAccounts lists every account of the Resource Directory, all pages.
func (c *Client) ListAccounts(ctx context.Context) ([]Account, error) {
	var out []Account
	err := c.eachPage(ctx, actListAccounts, func(ctx context.Context, page int) (int, int, error) {
		req, resp := resourcemanager.CreateListAccountsRequest(), resourcemanager.CreateListAccountsResponse()
		req.PageNumber = requests.NewInteger(page)
		req.PageSize = requests.NewInteger(pageSize)
		if err := c.invoke(ctx, prodRM, req, resp); err != nil {
			return 0, 0, err
		}
		for _, a := range resp.Accounts.Account {
			out = append(out, Account{ID: a.AccountId, Name: a.DisplayName, Type: a.Type, Status: a.Status,
				JoinMethod: a.JoinMethod, DisplayName: a.DisplayName})
		}
		return len(resp.Accounts.Account), resp.TotalCount, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list Resource Directory accounts: %w", err)
	}
	return out, nil
}

// pageSize is the page of the PageNumber/PageSize listings (the most they accept).
const pageSize = 100

// eachPage fetches the pages of a PageNumber/PageSize listing, each a retried call of action,
// until a page is empty or TotalCount is reached; fetch returns the page's length and the total.
func (c *Client) eachPage(ctx context.Context, action string, fetch func(ctx context.Context, page int) (got, total int, err error)) error {
	for page := 1; ; page++ {
		var got, total int
		err := c.call(ctx, action, "", func(ctx context.Context) error {
			var err error
			got, total, err = fetch(ctx, page)
			return err
		})
		if err != nil {
			return err
		}
		if got == 0 || page*pageSize >= total {
			return nil
		}
	}
}
