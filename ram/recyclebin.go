package ram

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/responses"

	"github.com/respond-dev/respond/ram/accesskey"
)

// The AccessKey recycle bin (alibaba-api.md §8). DeleteAccessKey does not destroy a RAM user's
// key: it moves it into the user's recycle bin, where it cannot sign but anyone allowed
// ram:RestoreAccessKeyFromRecycleBin can bring it back for 30 days. A leaked key is gone only once
// DeleteAccessKeyInRecycleBin has purged it and GetAccessKeyInfoInRecycleBin no longer finds it.
// The v1.63.107 SDK has no typed requests for these IMS actions: they go out as CommonRequests.

// Action names of the recycle bin (IMS 2019-08-15).
const (
	actListAccessKeysInRecycleBin     = "ListAccessKeysInRecycleBin"
	actGetAccessKeyInfoInRecycleBin   = "GetAccessKeyInfoInRecycleBin"
	actRestoreAccessKeyFromRecycleBin = "RestoreAccessKeyFromRecycleBin"
	actDeleteAccessKeyInRecycleBin    = "DeleteAccessKeyInRecycleBin"
)

// BinnedKey is a key in its user's recycle bin: deleted, unable to sign, restorable until
// DeleteDate, when the cloud purges it by itself.
type BinnedKey struct {
	ID                accesskey.ID `json:"id"`
	UserID            string       `json:"user_id,omitempty"`
	UserPrincipalName string       `json:"user_principal_name,omitempty"`
	// UserName is the part of UserPrincipalName before '@' (empty when the cloud did not say).
	UserName string `json:"user_name,omitempty"`
	// UserRecycled is true when the user itself is in the RAM user recycle bin.
	UserRecycled bool      `json:"user_recycled,omitempty"`
	CreateDate   time.Time `json:"create_date,omitzero"`
	RecycleDate  time.Time `json:"recycle_date,omitzero"` // when it was deleted
	DeleteDate   time.Time `json:"delete_date,omitzero"`  // when the cloud purges it
}

// binKeyJSON is a key as the recycle-bin actions answer it.
type binKeyJSON struct {
	AccessKeyId, CreateDate, RecycleDate, DeleteDate string
	UserId, UserPrincipalName                        string
	UserRecycled                                     bool
}

func (k binKeyJSON) binned() (BinnedKey, bool) {
	id, err := accesskey.ParseID(k.AccessKeyId)
	if err != nil {
		return BinnedKey{}, false
	}
	name, _, _ := strings.Cut(k.UserPrincipalName, "@")
	return BinnedKey{ID: id, UserID: k.UserId, UserPrincipalName: k.UserPrincipalName, UserName: name,
		UserRecycled: k.UserRecycled, CreateDate: parseTime(k.CreateDate), RecycleDate: parseTime(k.RecycleDate),
		DeleteDate: parseTime(k.DeleteDate)}, true
}

// imsCommon makes one IMS call the SDK has no typed request for, as a POST CommonRequest with
// every parameter in the query (empty ones left out), and decodes the answer into out (nil: none
// wanted).
func (c *Client) imsCommon(ctx context.Context, action string, params map[string]string, out any) error {
	return c.common(ctx, prodIMS, "Ims", imsVersion, action, params, out)
}

// common makes one call as a POST CommonRequest to product (its host) with every parameter in the
// query (empty ones left out), and decodes the answer into out (nil: none wanted).
func (c *Client) common(ctx context.Context, product, sdkProduct, version, action string, params map[string]string, out any) error {
	body, err := c.commonBody(ctx, product, sdkProduct, version, action, params)
	if err != nil || out == nil {
		return err
	}
	if err := json.Unmarshal(body, out); err != nil {
		// Like the SDK's own decoding failure: classified transient, the body never kept.
		return sdkerrors.NewClientError(sdkerrors.JsonUnmarshalErrorCode, sdkerrors.JsonUnmarshalErrorMessage, nil)
	}
	return nil
}

// commonBody is common's request, its answer's body returned as it came (it may hold a secret:
// the caller decodes what it needs and keeps nothing else); the error is the SDK's, unclassified.
// Every call the SDK has no typed request for goes through it (IMS, RAM's entity calls, Security
// Center, the permission probes).
func (c *Client) commonBody(ctx context.Context, product, sdkProduct, version, action string, params map[string]string) ([]byte, error) {
	req := requests.NewCommonRequest()
	req.Method = requests.POST
	req.Product, req.Version, req.ApiName = sdkProduct, version, action
	for k, v := range params {
		if v != "" {
			req.QueryParams[k] = v
		}
	}
	req.TransToAcsRequest()
	resp := responses.NewCommonResponse()
	if err := c.invoke(ctx, product, req, resp); err != nil {
		return nil, err
	}
	return resp.GetHttpContentBytes(), nil
}

// ListAccessKeysInRecycleBin lists the keys in a user's recycle bin (userID "" = the calling RAM
// user's own; an account owner must name the user). Ids that do not parse are skipped.
func (c *Client) ListAccessKeysInRecycleBin(ctx context.Context, userID string) ([]BinnedKey, error) {
	var out []BinnedKey
	err := c.call(ctx, actListAccessKeysInRecycleBin, "", func(ctx context.Context) error {
		var resp struct {
			AccessKeys struct{ AccessKey []binKeyJSON }
		}
		if err := c.imsCommon(ctx, actListAccessKeysInRecycleBin, map[string]string{"UserId": userID}, &resp); err != nil {
			return err
		}
		out = out[:0]
		for _, k := range resp.AccessKeys.AccessKey {
			if b, ok := k.binned(); ok {
				b.UserID = userID
				out = append(out, b)
			}
		}
		return nil
	})
	if err != nil {
		who := "user " + userID
		if userID == "" {
			who = "the caller"
		}
		return nil, fmt.Errorf("list the recycle bin of %s: %w", who, err)
	}
	return out, nil
}

// GetAccessKeyInfoInRecycleBin finds a key in the recycle bins of the caller's account, with its
// owner: errors.Is(err, ErrNotFound) when no bin holds it (never deleted, restored, or purged).
func (c *Client) GetAccessKeyInfoInRecycleBin(ctx context.Context, id accesskey.ID) (BinnedKey, error) {
	var out BinnedKey
	err := c.call(ctx, actGetAccessKeyInfoInRecycleBin, id.String(), func(ctx context.Context) error {
		var resp struct{ AccessKey binKeyJSON }
		if err := c.imsCommon(ctx, actGetAccessKeyInfoInRecycleBin, map[string]string{"UserAccessKeyId": id.String()}, &resp); err != nil {
			return err
		}
		b, ok := resp.AccessKey.binned()
		if !ok || b.ID != id {
			return fmt.Errorf("the answer names key %q", resp.AccessKey.AccessKeyId)
		}
		out = b
		return nil
	})
	if err != nil {
		return BinnedKey{}, fmt.Errorf("find access key %s in the recycle bin: %w", id, err)
	}
	return out, nil
}

// DeleteAccessKeyInRecycleBin purges a key from its user's recycle bin for good (userID "" = the
// calling RAM user; an account owner must name the user). It is retried; a not-found after an
// ambiguous failure means the purge happened. A not-found on the first attempt is returned
// (errors.Is ErrNotFound): the caller decides whether that means "already purged".
func (c *Client) DeleteAccessKeyInRecycleBin(ctx context.Context, userID string, id accesskey.ID) error {
	return c.binKeyAction(ctx, actDeleteAccessKeyInRecycleBin, "purge", userID, id)
}

// RestoreAccessKeyFromRecycleBin brings a binned key back to its user: it signs again. respond
// never restores a key (a leaked key must stay dead), so this is not part of API; it exists for
// tests and tools that prove the bin's danger. It fails with ErrKeyLimit when the user already
// holds two keys. Like every call it is retried after a transient failure; a not-found then means an earlier attempt
// restored it, which the caller checks.
func (c *Client) RestoreAccessKeyFromRecycleBin(ctx context.Context, userID string, id accesskey.ID) error {
	return c.binKeyAction(ctx, actRestoreAccessKeyFromRecycleBin, "restore", userID, id)
}

// binKeyAction calls a recycle-bin action on one key of a user; verb names it in the error.
func (c *Client) binKeyAction(ctx context.Context, action, verb, userID string, id accesskey.ID) error {
	err := c.call(ctx, action, id.String(), func(ctx context.Context) error {
		return c.imsCommon(ctx, action, map[string]string{"UserId": userID, "UserAccessKeyId": id.String()}, nil)
	})
	if err != nil {
		return fmt.Errorf("%s access key %s of user %s in the recycle bin: %w", verb, id, userID, err)
	}
	return nil
}
