package ram

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	sdkram "github.com/aliyun/alibaba-cloud-sdk-go/services/ram"
)

// RAM policies and their attachments (alibaba-api.md §10): what the hunt reads to check what an
// attacker attached, and what containment and eradication write (a deny policy attached to a
// user or role, detaching what the attacker attached, deleting what the attacker created).

// Action names of the policy calls.
const (
	actCreatePolicy          = "CreatePolicy"
	actGetPolicy             = "GetPolicy"
	actDeletePolicy          = "DeletePolicy"
	actAttachPolicyTo        = "AttachPolicyTo"   // + User, Role, Group
	actDetachPolicyFrom      = "DetachPolicyFrom" // + User, Role, Group
	actListPoliciesFor       = "ListPoliciesFor"  // + User, Role, Group
	actListEntitiesForPolicy = "ListEntitiesForPolicy"
)

// ErrConflict: the cloud refuses to delete something still in use (DeleteConflict.*: a policy
// still attached, or with versions besides the default; a user with a login profile…).
var ErrConflict = errors.New("still in use")

// Policy types, as RAM spells them.
const (
	PolicySystem = "System"
	PolicyCustom = "Custom"
)

// Entity kinds a policy is attached to, as RAM spells them in action names.
type EntityKind string

// The entity kinds.
const (
	EntityUser  EntityKind = "User"
	EntityRole  EntityKind = "Role"
	EntityGroup EntityKind = "Group"
)

func (k EntityKind) valid() bool { return k == EntityUser || k == EntityRole || k == EntityGroup }

// PolicyRef names a policy.
type PolicyRef struct {
	Type string `json:"type"` // System or Custom
	Name string `json:"name"`
}

func (p PolicyRef) String() string { return p.Type + " policy " + p.Name }

// Policy is a RAM policy as GetPolicy (or CreatePolicy) shows it.
type Policy struct {
	Name           string    `json:"name"`
	Type           string    `json:"type"`
	Description    string    `json:"description,omitempty"`
	DefaultVersion string    `json:"default_version,omitempty"`
	Document       string    `json:"document,omitempty"` // the default version's document (GetPolicy)
	Attachments    int       `json:"attachments"`        // AttachmentCount (GetPolicy)
	CreateDate     time.Time `json:"create_date,omitzero"`
	UpdateDate     time.Time `json:"update_date,omitzero"`
}

// AttachedPolicy is a policy attached to a user, role or group.
type AttachedPolicy struct {
	PolicyRef
	Description    string    `json:"description,omitempty"`
	DefaultVersion string    `json:"default_version,omitempty"`
	AttachDate     time.Time `json:"attach_date,omitzero"`
}

// PolicyEntities are what a policy is attached to (ListEntitiesForPolicy).
type PolicyEntities struct {
	Users  []string `json:"users"`
	Roles  []string `json:"roles"`
	Groups []string `json:"groups"`
}

// CreatePolicy creates a custom policy. After an ambiguous failure it is not repeated: a retry
// that finds the name taken reads the policy back and succeeds if it holds the same document.
func (c *Client) CreatePolicy(ctx context.Context, name, document, description string) (Policy, error) {
	var out Policy
	var ambiguous bool
	err := c.call(ctx, actCreatePolicy, "", func(ctx context.Context) error {
		req, resp := sdkram.CreateCreatePolicyRequest(), sdkram.CreateCreatePolicyResponse()
		req.PolicyName, req.PolicyDocument, req.Description = name, document, description
		if err := c.invoke(ctx, prodRAM, req, resp); err != nil {
			if errors.Is(classify(ctx, actCreatePolicy, "", err), ErrTransient) {
				ambiguous = true
			}
			return err
		}
		out = policyFrom(resp.Policy)
		return nil
	})
	if err != nil && ambiguous && errors.Is(err, ErrAlreadyExists) {
		p, gerr := c.GetPolicy(ctx, PolicyRef{Type: PolicyCustom, Name: name})
		if gerr == nil && sameDocument(p.Document, document) {
			return p, nil
		}
	}
	if err != nil {
		return Policy{}, fmt.Errorf("create policy %s: %w", name, err)
	}
	return out, nil
}

// sameDocument compares two policy documents, ignoring whitespace outside strings well enough
// for documents respond wrote itself.
func sameDocument(a, b string) bool {
	strip := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r == ' ' || r == '\n' || r == '\t' || r == '\r' {
				return -1
			}
			return r
		}, s)
	}
	return strip(a) == strip(b)
}

func policyFrom(p sdkram.Policy) Policy {
	return Policy{Name: p.PolicyName, Type: p.PolicyType, Description: p.Description, DefaultVersion: p.DefaultVersion,
		Document: p.PolicyDocument, Attachments: p.AttachmentCount, CreateDate: parseTime(p.CreateDate),
		UpdateDate: parseTime(p.UpdateDate)}
}

// GetPolicy reads a policy and its default version's document.
func (c *Client) GetPolicy(ctx context.Context, ref PolicyRef) (Policy, error) {
	var out Policy
	err := c.call(ctx, actGetPolicy, "", func(ctx context.Context) error {
		req, resp := sdkram.CreateGetPolicyRequest(), sdkram.CreateGetPolicyResponse()
		req.PolicyType, req.PolicyName = ref.Type, ref.Name
		if err := c.invoke(ctx, prodRAM, req, resp); err != nil {
			return err
		}
		out = policyFrom(resp.Policy)
		if out.Document == "" {
			out.Document = resp.DefaultPolicyVersion.PolicyDocument
		}
		return nil
	})
	if err != nil {
		return Policy{}, fmt.Errorf("get %s: %w", ref, err)
	}
	return out, nil
}

// DeletePolicy deletes a custom policy with all its versions (CascadingDelete). It fails with
// ErrConflict while the policy is attached. A not-found after an ambiguous failure counts as done.
func (c *Client) DeletePolicy(ctx context.Context, name string) error {
	err := c.call(ctx, actDeletePolicy, "", func(ctx context.Context) error {
		req, resp := sdkram.CreateDeletePolicyRequest(), sdkram.CreateDeletePolicyResponse()
		req.PolicyName = name
		req.QueryParams["CascadingDelete"] = "true" // documented, not a typed field in v1.63.107
		return c.invoke(ctx, prodRAM, req, resp)
	})
	if err != nil {
		return fmt.Errorf("delete policy %s: %w", name, err)
	}
	return nil
}

// entityCall makes one of the six attach/detach actions or the three lists for kind (the
// typed SDK requests differ only by the entity's parameter name), decoding the answer into out.
func (c *Client) entityCall(ctx context.Context, action string, kind EntityKind, entity string, ref *PolicyRef, out any) error {
	params := map[string]string{string(kind) + "Name": entity}
	if ref != nil {
		params["PolicyType"], params["PolicyName"] = ref.Type, ref.Name
	}
	return c.common(ctx, prodRAM, "Ram", ramVersion, action, params, out)
}

// AttachPolicy attaches a policy to a user, role or group. An already-attached answer after an
// ambiguous failure counts as done; on a first attempt it is returned (ErrAlreadyExists).
func (c *Client) AttachPolicy(ctx context.Context, kind EntityKind, entity string, ref PolicyRef) error {
	if !kind.valid() {
		return fmt.Errorf("attach %s: unknown entity kind %q", ref, kind)
	}
	action := actAttachPolicyTo + string(kind)
	err := c.call(ctx, action, "", func(ctx context.Context) error {
		return c.entityCall(ctx, action, kind, entity, &ref, nil)
	})
	if err != nil {
		return fmt.Errorf("attach %s to %s %s: %w", ref, strings.ToLower(string(kind)), entity, err)
	}
	return nil
}

// DetachPolicy detaches a policy from a user, role or group: ErrNotFound when it is not attached
// (a not-found after an ambiguous failure counts as done).
func (c *Client) DetachPolicy(ctx context.Context, kind EntityKind, entity string, ref PolicyRef) error {
	if !kind.valid() {
		return fmt.Errorf("detach %s: unknown entity kind %q", ref, kind)
	}
	action := actDetachPolicyFrom + string(kind)
	err := c.call(ctx, action, "", func(ctx context.Context) error {
		return c.entityCall(ctx, action, kind, entity, &ref, nil)
	})
	if err != nil {
		return fmt.Errorf("detach %s from %s %s: %w", ref, strings.ToLower(string(kind)), entity, err)
	}
	return nil
}

// ListPoliciesFor lists the policies attached to a user, role or group.
func (c *Client) ListPoliciesFor(ctx context.Context, kind EntityKind, entity string) ([]AttachedPolicy, error) {
	if !kind.valid() {
		return nil, fmt.Errorf("list policies: unknown entity kind %q", kind)
	}
	var out []AttachedPolicy
	action := actListPoliciesFor + string(kind)
	err := c.call(ctx, action, "", func(ctx context.Context) error {
		var resp struct {
			Policies struct{ Policy []sdkram.Policy }
		}
		if err := c.entityCall(ctx, action, kind, entity, nil, &resp); err != nil {
			return err
		}
		out = out[:0]
		for _, p := range resp.Policies.Policy {
			out = append(out, AttachedPolicy{PolicyRef: PolicyRef{Type: p.PolicyType, Name: p.PolicyName},
				Description: p.Description, DefaultVersion: p.DefaultVersion, AttachDate: parseTime(p.AttachDate)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list policies of %s %s: %w", strings.ToLower(string(kind)), entity, err)
	}
	return out, nil
}

// ListEntitiesForPolicy lists the users, roles and groups a policy is attached to.
func (c *Client) ListEntitiesForPolicy(ctx context.Context, ref PolicyRef) (PolicyEntities, error) {
	var out PolicyEntities
	err := c.call(ctx, actListEntitiesForPolicy, "", func(ctx context.Context) error {
		req, resp := sdkram.CreateListEntitiesForPolicyRequest(), sdkram.CreateListEntitiesForPolicyResponse()
		req.PolicyType, req.PolicyName = ref.Type, ref.Name
		if err := c.invoke(ctx, prodRAM, req, resp); err != nil {
			return err
		}
		out = PolicyEntities{Users: []string{}, Roles: []string{}, Groups: []string{}}
		for _, u := range resp.Users.User {
			out.Users = append(out.Users, u.UserName)
		}
		for _, r := range resp.Roles.Role {
			out.Roles = append(out.Roles, r.RoleName)
		}
		for _, g := range resp.Groups.Group {
			out.Groups = append(out.Groups, g.GroupName)
		}
		return nil
	})
	if err != nil {
		return PolicyEntities{}, fmt.Errorf("list what %s is attached to: %w", ref, err)
	}
	return out, nil
}

// goneMeansDone reports the deleting actions for which a not-found answer, after an attempt whose
// outcome is unknown, means that attempt did it.
func goneMeansDone(action string) bool {
	switch action {
	case actDeleteAccessKey, actDeleteAccessKeyInRecycleBin, actDeletePolicy, actDeleteLoginProfile, actRemoveUserFromGroup,
		actDetachPolicyFrom + string(EntityUser), actDetachPolicyFrom + string(EntityRole), actDetachPolicyFrom + string(EntityGroup):
		return true
	}
	return false
}

// existsMeansDone reports the creating actions for which an already-exists answer, after an
// attempt whose outcome is unknown, means that attempt did it.
func existsMeansDone(action string) bool {
	return strings.HasPrefix(action, actAttachPolicyTo)
}
