package ram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ims"
	sdkram "github.com/aliyun/alibaba-cloud-sdk-go/services/ram"

	"github.com/respond-dev/respond/ram/accesskey"
)

// Login profiles, groups, roles and AccessKey network policies: what the hunt checks and what
// eradication and containment remove or set.

const (
	actGetLoginProfile     = "GetLoginProfile"
	actDeleteLoginProfile  = "DeleteLoginProfile"
	actListGroupsForUser   = "ListGroupsForUser"
	actRemoveUserFromGroup = "RemoveUserFromGroup"
	actGetRole             = "GetRole"
	actSetAccessKeyPolicy  = "SetAccessKeyPolicy"
	actGetAccessKeyPolicy  = "GetAccessKeyPolicy"
)

// LoginProfile is a user's console logon (never its password).
type LoginProfile struct {
	UserName              string    `json:"user_name"`
	PasswordResetRequired bool      `json:"password_reset_required,omitempty"`
	MFABindRequired       bool      `json:"mfa_bind_required,omitempty"`
	CreateDate            time.Time `json:"create_date,omitzero"`
}

// Group is a RAM user group a user belongs to.
type Group struct {
	Name     string    `json:"name"`
	ID       string    `json:"id,omitempty"`
	Comments string    `json:"comments,omitempty"`
	JoinDate time.Time `json:"join_date,omitzero"`
}

// Role is a RAM role.
type Role struct {
	Name               string        `json:"name"`
	ID                 string        `json:"id,omitempty"`
	Arn                string        `json:"arn,omitempty"`
	Description        string        `json:"description,omitempty"`
	MaxSessionDuration time.Duration `json:"max_session_duration,omitempty"`
	CreateDate         time.Time     `json:"create_date,omitzero"`
}

// GetLoginProfile reads a user's login profile: ErrNotFound when console logon is off.
func (c *Client) GetLoginProfile(ctx context.Context, userName string) (LoginProfile, error) {
	var out LoginProfile
	err := c.call(ctx, actGetLoginProfile, "", func(ctx context.Context) error {
		req, resp := sdkram.CreateGetLoginProfileRequest(), sdkram.CreateGetLoginProfileResponse()
		req.UserName = userName
		if err := c.invoke(ctx, prodRAM, req, resp); err != nil {
			return err
		}
		p := resp.LoginProfile
		out = LoginProfile{UserName: p.UserName, PasswordResetRequired: p.PasswordResetRequired,
			MFABindRequired: p.MFABindRequired, CreateDate: parseTime(p.CreateDate)}
		return nil
	})
	if err != nil {
		return LoginProfile{}, fmt.Errorf("get login profile of user %s: %w", userName, err)
	}
	return out, nil
}

// DeleteLoginProfile turns a user's console logon off: ErrNotFound when it is already off (after
// an ambiguous failure that counts as done).
func (c *Client) DeleteLoginProfile(ctx context.Context, userName string) error {
	err := c.call(ctx, actDeleteLoginProfile, "", func(ctx context.Context) error {
		req, resp := sdkram.CreateDeleteLoginProfileRequest(), sdkram.CreateDeleteLoginProfileResponse()
		req.UserName = userName
		return c.invoke(ctx, prodRAM, req, resp)
	})
	if err != nil {
		return fmt.Errorf("delete login profile of user %s: %w", userName, err)
	}
	return nil
}

// ListGroupsForUser lists the groups a user belongs to.
func (c *Client) ListGroupsForUser(ctx context.Context, userName string) ([]Group, error) {
	var out []Group
	err := c.call(ctx, actListGroupsForUser, "", func(ctx context.Context) error {
		req, resp := sdkram.CreateListGroupsForUserRequest(), sdkram.CreateListGroupsForUserResponse()
		req.UserName = userName
		if err := c.invoke(ctx, prodRAM, req, resp); err != nil {
			return err
		}
		out = out[:0]
		for _, g := range resp.Groups.Group {
			out = append(out, Group{Name: g.GroupName, ID: g.GroupId, Comments: g.Comments, JoinDate: parseTime(g.JoinDate)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list groups of user %s: %w", userName, err)
	}
	return out, nil
}

// RemoveUserFromGroup removes a user from a group: ErrNotFound when it is not a member (after an
// ambiguous failure that counts as done).
func (c *Client) RemoveUserFromGroup(ctx context.Context, groupName, userName string) error {
	err := c.call(ctx, actRemoveUserFromGroup, "", func(ctx context.Context) error {
		req, resp := sdkram.CreateRemoveUserFromGroupRequest(), sdkram.CreateRemoveUserFromGroupResponse()
		req.GroupName, req.UserName = groupName, userName
		return c.invoke(ctx, prodRAM, req, resp)
	})
	if err != nil {
		return fmt.Errorf("remove user %s from group %s: %w", userName, groupName, err)
	}
	return nil
}

// GetRole reads a role (its MaxSessionDuration bounds the sessions assumed from it).
func (c *Client) GetRole(ctx context.Context, roleName string) (Role, error) {
	var out Role
	err := c.call(ctx, actGetRole, "", func(ctx context.Context) error {
		req, resp := sdkram.CreateGetRoleRequest(), sdkram.CreateGetRoleResponse()
		req.RoleName = roleName
		if err := c.invoke(ctx, prodRAM, req, resp); err != nil {
			return err
		}
		r := resp.Role
		out = Role{Name: r.RoleName, ID: r.RoleId, Arn: r.Arn, Description: r.Description,
			MaxSessionDuration: time.Duration(r.MaxSessionDuration) * time.Second, CreateDate: parseTime(r.CreateDate)}
		return nil
	})
	if err != nil {
		return Role{}, fmt.Errorf("get role %s: %w", roleName, err)
	}
	return out, nil
}

// AccessKeyPolicy is an IMS AccessKey network policy (alibaba-api.md §11): when Active, the key
// works only from the listed addresses. Inactive with no statements means "no policy".
type AccessKeyPolicy struct {
	Version    int                        `json:"Version"`
	Status     string                     `json:"Status"` // Active or Inactive
	Statements []AccessKeyPolicyStatement `json:"Statements"`
}

// AccessKeyPolicyStatement lists allowed addresses: public ones (ClassicWhiteList) or those of a
// VPC (VPCWhiteList, Value = the VPC id).
type AccessKeyPolicyStatement struct {
	Type   string   `json:"Type"`
	Value  string   `json:"Value,omitempty"`
	IPList []string `json:"IPList"`
}

// AllowOnly is an Active policy admitting only the given public addresses (IPs or CIDR blocks).
func AllowOnly(ips ...string) AccessKeyPolicy {
	return AccessKeyPolicy{Version: 1, Status: StatusActive,
		Statements: []AccessKeyPolicyStatement{{Type: "ClassicWhiteList", IPList: append([]string{}, ips...)}}}
}

// NoAccessKeyPolicy is how the cloud spells "no policy".
func NoAccessKeyPolicy() AccessKeyPolicy {
	return AccessKeyPolicy{Version: 1, Status: StatusInactive, Statements: []AccessKeyPolicyStatement{}}
}

// userPrincipalName finds the IMS user principal name of a key's owner (IMS addresses users by it).
func (c *Client) userPrincipalName(ctx context.Context, id accesskey.ID) (string, error) {
	var upn string
	err := c.call(ctx, actGetUser, id.String(), func(ctx context.Context) error {
		req, resp := ims.CreateGetUserRequest(), ims.CreateGetUserResponse()
		req.UserAccessKeyId = id.String()
		if err := c.invoke(ctx, prodIMS, req, resp); err != nil {
			return err
		}
		upn = resp.User.UserPrincipalName
		return nil
	})
	if err == nil && upn == "" {
		err = &Error{Action: actGetUser, KeyID: id.String(), Class: ErrNotFound, Err: errors.New("no user principal name in the answer")}
	}
	return upn, err
}

// SetAccessKeyPolicy sets the network policy of a RAM user's key (IMS; no typed request in the
// SDK). It is safe to repeat.
func (c *Client) SetAccessKeyPolicy(ctx context.Context, id accesskey.ID, p AccessKeyPolicy) error {
	doc, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("set network policy of access key %s: %w", id, err)
	}
	upn, err := c.userPrincipalName(ctx, id)
	if err != nil {
		return fmt.Errorf("set network policy of access key %s: %w", id, err)
	}
	err = c.call(ctx, actSetAccessKeyPolicy, id.String(), func(ctx context.Context) error {
		return c.imsCommon(ctx, actSetAccessKeyPolicy, map[string]string{"UserPrincipalName": upn,
			"UserAccessKeyId": id.String(), "AccessKeyPolicy": string(doc)}, nil)
	})
	if err != nil {
		return fmt.Errorf("set network policy of access key %s: %w", id, err)
	}
	return nil
}

// GetAccessKeyPolicy reads the network policy of a RAM user's key.
func (c *Client) GetAccessKeyPolicy(ctx context.Context, id accesskey.ID) (AccessKeyPolicy, error) {
	upn, err := c.userPrincipalName(ctx, id)
	if err != nil {
		return AccessKeyPolicy{}, fmt.Errorf("get network policy of access key %s: %w", id, err)
	}
	var out AccessKeyPolicy
	err = c.call(ctx, actGetAccessKeyPolicy, id.String(), func(ctx context.Context) error {
		var resp struct{ AccessKeyPolicy string }
		if err := c.imsCommon(ctx, actGetAccessKeyPolicy, map[string]string{"UserPrincipalName": upn,
			"UserAccessKeyId": id.String()}, &resp); err != nil {
			return err
		}
		out = AccessKeyPolicy{}
		if err := json.NewDecoder(strings.NewReader(resp.AccessKeyPolicy)).Decode(&out); err != nil {
			// Like an undecodable answer: classified transient, the text never kept.
			return sdkerrors.NewClientError(sdkerrors.JsonUnmarshalErrorCode, sdkerrors.JsonUnmarshalErrorMessage, nil)
		}
		return nil
	})
	if err != nil {
		return AccessKeyPolicy{}, fmt.Errorf("get network policy of access key %s: %w", id, err)
	}
	return out, nil
}
