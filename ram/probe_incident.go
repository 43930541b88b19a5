package ram

import (
	"encoding/json"
	"errors"
	"strings"

	"github.com/respond-dev/respond/ram/accesskey"
)

// The probes of the incident steps (hunt, contain, eradicate): the hunt's reads, and the
// containment's and eradication's writes, each on a user, role, group or custom policy that
// cannot exist (respond-doctor-<random>). Every write names the made-up policy or the made-up
// user, so that even a role or group of that name could not be changed. ram:CreatePolicy has no
// such form (see probeCreatePolicy).

// The incident probes.
const (
	ProbeGetLoginProfile       ProbeKind = "Ram.GetLoginProfile"
	ProbeListPoliciesForUser   ProbeKind = "Ram.ListPoliciesForUser"
	ProbeListPoliciesForRole   ProbeKind = "Ram.ListPoliciesForRole"
	ProbeListPoliciesForGroup  ProbeKind = "Ram.ListPoliciesForGroup"
	ProbeGetPolicy             ProbeKind = "Ram.GetPolicy"
	ProbeListGroupsForUser     ProbeKind = "Ram.ListGroupsForUser"
	ProbeGetRole               ProbeKind = "Ram.GetRole"
	ProbeCreatePolicy          ProbeKind = "Ram.CreatePolicy"
	ProbeDeletePolicy          ProbeKind = "Ram.DeletePolicy"
	ProbeAttachPolicyToRole    ProbeKind = "Ram.AttachPolicyToRole"
	ProbeDetachPolicyFromRole  ProbeKind = "Ram.DetachPolicyFromRole"
	ProbeDetachPolicyFromGroup ProbeKind = "Ram.DetachPolicyFromGroup"
	ProbeDeleteLoginProfile    ProbeKind = "Ram.DeleteLoginProfile"
	ProbeRemoveUserFromGroup   ProbeKind = "Ram.RemoveUserFromGroup"
	ProbeSetAccessKeyPolicy    ProbeKind = "Ims.SetAccessKeyPolicy"
)

// probeCreatePolicy says why ram:CreatePolicy is not probed: a create has no target that cannot
// exist, and the only harmless forms (an invalid document or name) prove the permission only if
// the cloud authorises before it validates, which Alibaba does not document.
const probeCreatePolicy = "no harmless call proves it: a CreatePolicy that passes authorisation creates a policy, and the " +
	"refusals of an invalid document or name come after authorisation only by inference (undocumented)"

// namedParams is the made-up name of one kind (RoleName, GroupName, PolicyName) with more.
func namedParams(t ProbeTarget, params ...string) (map[string]string, error) {
	p := map[string]string{}
	for _, name := range params {
		var v string
		switch name {
		case "UserName":
			v = t.UserName
		case "RoleName":
			v = t.RoleName
		case "GroupName":
			v = t.GroupName
		case "PolicyName":
			v = t.PolicyName
			p["PolicyType"] = PolicyCustom
		}
		if !strings.HasPrefix(v, "respond-doctor-") {
			return nil, errors.New("no made-up " + name + " (respond-doctor-…) to probe")
		}
		p[name] = v
	}
	return p, nil
}

func named(params ...string) func(ProbeTarget) (map[string]string, error) {
	return func(t ProbeTarget) (map[string]string, error) { return namedParams(t, params...) }
}

// keyPolicyParams names the probe user by its user principal name in the account's default
// domain (<account id>.onaliyun.com) and the made-up key, with the "no policy" document.
func keyPolicyParams(t ProbeTarget) (map[string]string, error) {
	p, err := namedParams(t, "UserName")
	if err != nil {
		return nil, err
	}
	if t.AccountID == "" || t.KeyID.IsZero() {
		return nil, errors.New("no account id or probe key id (a user principal name needs the account's domain)")
	}
	doc, err := json.Marshal(NoAccessKeyPolicy())
	if err != nil {
		return nil, err
	}
	delete(p, "UserName")
	p["UserPrincipalName"] = t.UserName + "@" + t.AccountID + ".onaliyun.com"
	p["UserAccessKeyId"], p["AccessKeyPolicy"] = t.KeyID.String(), string(doc)
	return p, nil
}

const (
	safeNoPolicy     = "names a custom policy that cannot exist (respond-doctor-<random>)"
	safeNoRole       = "names a role that cannot exist (respond-doctor-<random>)"
	safeNoGroup      = "names a group that cannot exist (respond-doctor-<random>)"
	safeNoUserPolicy = safeNoUser + ", and " + safeNoPolicy
)

func ramProbe(api, permission string, write bool, params func(ProbeTarget) (map[string]string, error), safe string) probeDef {
	return probeDef{product: prodRAM, sdkProduct: "Ram", version: ramVersion, api: api, permission: permission, write: write,
		params: params, safe: safe}
}

var incidentProbeDefs = map[ProbeKind]probeDef{
	// The hunt's reads.
	ProbeGetLoginProfile:      ramProbe(actGetLoginProfile, "ram:GetLoginProfile", false, named("UserName"), safeRead+"; "+safeNoUser),
	ProbeListPoliciesForUser:  ramProbe("ListPoliciesForUser", "ram:ListPoliciesForUser", false, named("UserName"), safeRead+"; "+safeNoUser),
	ProbeListPoliciesForRole:  ramProbe("ListPoliciesForRole", "ram:ListPoliciesForRole", false, named("RoleName"), safeRead+"; "+safeNoRole),
	ProbeListPoliciesForGroup: ramProbe("ListPoliciesForGroup", "ram:ListPoliciesForGroup", false, named("GroupName"), safeRead+"; "+safeNoGroup),
	ProbeGetPolicy:            ramProbe(actGetPolicy, "ram:GetPolicy", false, named("PolicyName"), safeRead+"; "+safeNoPolicy),
	ProbeListGroupsForUser:    ramProbe(actListGroupsForUser, "ram:ListGroupsForUser", false, named("UserName"), safeRead+"; "+safeNoUser),
	ProbeGetRole:              ramProbe(actGetRole, "ram:GetRole", false, named("RoleName"), safeRead+"; "+safeNoRole),
	// Containment's and eradication's writes.
	ProbeCreatePolicy: {product: prodRAM, sdkProduct: "Ram", version: ramVersion, api: actCreatePolicy, permission: "ram:CreatePolicy",
		write: true, unprobed: probeCreatePolicy, safe: "not called: " + probeCreatePolicy},
	ProbeDeletePolicy: ramProbe(actDeletePolicy, "ram:DeletePolicy", true, named("PolicyName"), safeNoPolicy+": there is nothing to delete"),
	ProbeAttachPolicyToRole: ramProbe("AttachPolicyToRole", "ram:AttachPolicyToRole", true, named("RoleName", "PolicyName"),
		safeNoRole+", and "+safeNoPolicy),
	ProbeDetachPolicyFromRole: ramProbe("DetachPolicyFromRole", "ram:DetachPolicyFromRole", true, named("RoleName", "PolicyName"),
		safeNoRole+", and "+safeNoPolicy),
	ProbeDetachPolicyFromGroup: ramProbe("DetachPolicyFromGroup", "ram:DetachPolicyFromGroup", true, named("GroupName", "PolicyName"),
		safeNoGroup+", and "+safeNoPolicy),
	ProbeDeleteLoginProfile: ramProbe(actDeleteLoginProfile, "ram:DeleteLoginProfile", true, named("UserName"), safeNoUser),
	ProbeRemoveUserFromGroup: ramProbe(actRemoveUserFromGroup, "ram:RemoveUserFromGroup", true, named("UserName", "GroupName"),
		safeNoUser+", from "+strings.TrimPrefix(safeNoGroup, "names ")),
	ProbeSetAccessKeyPolicy: {product: prodIMS, sdkProduct: "Ims", version: imsVersion, api: actSetAccessKeyPolicy,
		permission: "ram:SetAccessKeyPolicy", write: true, params: keyPolicyParams,
		safe: "names the probe user in the account's default domain (respond-doctor-<random>@<account id>.onaliyun.com), which cannot exist, " +
			"and a key id that cannot exist, with the \"no policy\" document (Inactive, no statements)"},
}

// namesPolicy reports whether d's call names the made-up custom policy (respond doctor makes
// sure no policy has that name before it probes a write that names it).
func (d probeDef) namesPolicy() bool {
	if d.params == nil {
		return false
	}
	id, err := accesskey.ParseID("LTAIDOCTOR00000000000000")
	if err != nil {
		return false
	}
	const n = "respond-doctor-0"
	p, err := d.params(ProbeTarget{UserName: n, RoleName: n, GroupName: n, PolicyName: n, AccountID: "1", KeyID: id})
	return err == nil && p["PolicyName"] != ""
}

// lookupProbe finds a probe's definition.
func lookupProbe(k ProbeKind) (probeDef, bool) {
	if d, ok := probeDefs[k]; ok {
		return d, true
	}
	d, ok := incidentProbeDefs[k]
	return d, ok
}
