package emulator

import "strings"

type handler func(s *Server, c *call) (map[string]any, *apiError)

type product struct {
	name     string // SDK Product / ActionTrail serviceName
	code     string // permission prefix
	hostName string // ram.aliyuncs.com, or kms.%s.aliyuncs.com for regional products
	actions  map[string]handler
	// auth is the RAM permission prefix of its actions when it differs from code: IMS actions
	// are authorised as ram:<Action> (every IMS API reference page, e.g. GetUser: ram:GetUser,
	// DeleteAccessKeyInRecycleBin: ram:DeleteAccessKeyInRecycleBin).
	auth string
	// authCode maps an action to its RAM permission prefix when that differs from code
	// (Security Center's list is yundun-aegis:, its other actions yundun-sas:).
	authCode map[string]string
}

// authAction is the RAM action a call needs, e.g. ram:ListUsers or yundun-aegis:DescribeAccesskeyLeakList.
func (c *call) authAction() string {
	if code, ok := c.prod.authCode[c.action]; ok {
		return code + ":" + c.action
	}
	if c.prod.auth != "" {
		return c.prod.auth + ":" + c.action
	}
	return c.prod.code + ":" + c.action
}

func (p *product) host(region string) string {
	if !strings.Contains(p.hostName, "%s") {
		return p.hostName
	}
	if region == "" {
		region = "cn-hangzhou"
	}
	return strings.Replace(p.hostName, "%s", region, 1)
}

// products maps Version to the product it selects (spec §0). It is never modified.
var products = map[string]*product{
	"2015-05-01": {name: "Ram", code: "ram", hostName: "ram.aliyuncs.com", actions: map[string]handler{
		"CreateUser": ramCreateUser, "GetUser": ramGetUser, "DeleteUser": ramDeleteUser, "ListUsers": ramListUsers,
		"ListAccessKeys": ramKeys(listKeys), "CreateAccessKey": ramKeys(createKey), "UpdateAccessKey": ramKeys(updateKey),
		"DeleteAccessKey": ramKeys(deleteKey), "GetAccessKeyLastUsed": ramKeys(lastUsed),
		// policies (policy.go)
		"CreatePolicy": ramCreatePolicy, "GetPolicy": ramGetPolicy, "DeletePolicy": ramDeletePolicy,
		"CreatePolicyVersion": ramCreatePolicyVersion, "SetDefaultPolicyVersion": ramSetDefaultPolicyVersion,
		"GetPolicyVersion": ramGetPolicyVersion, "ListPolicyVersions": ramListPolicyVersions, "DeletePolicyVersion": ramDeletePolicyVersion,
		"AttachPolicyToUser": attachTo("User"), "AttachPolicyToRole": attachTo("Role"), "AttachPolicyToGroup": attachTo("Group"),
		"DetachPolicyFromUser": detachFrom("User"), "DetachPolicyFromRole": detachFrom("Role"), "DetachPolicyFromGroup": detachFrom("Group"),
		"ListPoliciesForUser": listPoliciesFor("User"), "ListPoliciesForRole": listPoliciesFor("Role"),
		"ListPoliciesForGroup": listPoliciesFor("Group"), "ListEntitiesForPolicy": ramListEntitiesForPolicy,
		// login profiles, groups, roles (identity.go)
		"CreateLoginProfile": ramCreateLoginProfile, "GetLoginProfile": ramGetLoginProfile,
		"UpdateLoginProfile": ramUpdateLoginProfile, "DeleteLoginProfile": ramDeleteLoginProfile,
		"CreateGroup": ramCreateGroup, "GetGroup": ramGetGroup, "DeleteGroup": ramDeleteGroup,
		"AddUserToGroup": ramAddUserToGroup, "RemoveUserFromGroup": ramRemoveUserFromGroup,
		"ListGroupsForUser": ramListGroupsForUser, "ListUsersForGroup": ramListUsersForGroup,
		"CreateRole": ramCreateRole, "GetRole": ramGetRole, "ListRoles": ramListRoles,
	}},
	"2019-08-15": {name: "Ims", code: "ims", auth: "ram", hostName: "ims.aliyuncs.com", actions: map[string]handler{
		"GetUser": imsGetUser, "ListUsers": imsListUsers, "ListAccessKeys": imsKeys(listKeys),
		"CreateAccessKey": imsKeys(createKey), "UpdateAccessKey": imsKeys(updateKey),
		"DeleteAccessKey": imsKeys(deleteKey), "GetAccessKeyLastUsed": imsKeys(lastUsed),
		"ListAccessKeysInRecycleBin": imsListAccessKeysInRecycleBin, "GetAccessKeyInfoInRecycleBin": imsGetAccessKeyInfoInRecycleBin,
		"RestoreAccessKeyFromRecycleBin": imsRestoreAccessKeyFromRecycleBin, "DeleteAccessKeyInRecycleBin": imsDeleteAccessKeyInRecycleBin,
		"ListUsersInRecycleBin": imsListUsersInRecycleBin, "GetUserInRecycleBin": imsGetUserInRecycleBin,
		"RestoreUserFromRecycleBin": imsRestoreUserFromRecycleBin, "DeleteUserInRecycleBin": imsDeleteUserInRecycleBin,
		"SetAccessKeyPolicy": imsSetAccessKeyPolicy, "GetAccessKeyPolicy": imsGetAccessKeyPolicy, // authorize.go
	}},
	"2015-04-01": {name: "Sts", code: "sts", hostName: "sts.aliyuncs.com", actions: map[string]handler{
		"GetCallerIdentity": stsGetCallerIdentity, "AssumeRole": stsAssumeRole,
	}},
	"2020-07-06": {name: "Actiontrail", code: "actiontrail", hostName: "actiontrail.%s.aliyuncs.com", actions: map[string]handler{
		"LookupEvents": trailLookupEvents, "GetAccessKeyLastUsedInfo": trailGetAccessKeyLastUsedInfo,
		"DescribeRegions": trailDescribeRegions,
	}},
	"2016-01-20": {name: "Kms", code: "kms", hostName: "kms.%s.aliyuncs.com", actions: map[string]handler{
		"CreateSecret": kmsCreateSecret, "PutSecretValue": kmsPutSecretValue, "GetSecretValue": kmsGetSecretValue,
		"DescribeSecret": kmsDescribeSecret, "ListSecrets": kmsListSecrets, "RotateSecret": kmsRotateSecret,
	}},
	"2020-03-31": {name: "ResourceManager", code: "resourcemanager", hostName: "resourcemanager.aliyuncs.com", actions: map[string]handler{
		"ListAccounts": rmListAccounts,
	}},
	"2018-12-03": {name: "Sas", code: "yundun-sas", hostName: "tds.aliyuncs.com", actions: map[string]handler{
		"DescribeAccesskeyLeakList": sasListLeaks, "DescribeAccessKeyLeakDetail": sasLeakDetail,
		"ModifyAccessKeyLeakDeal": sasModifyLeakDeal,
	}, authCode: map[string]string{"DescribeAccesskeyLeakList": "yundun-aegis"}},
}
