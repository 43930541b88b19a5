package emulator_test

import (
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/kms"

	et "github.com/respond-dev/respond/ram/emulator/emulatortest"
)

// TestKMSDescribeSecret: the metadata of a secret through the SDK's typed request, never its
// value; an unknown name is 404 Forbidden.ResourceNotFound; a caller without kms:DescribeSecret
// is refused before the name is looked up.
func TestKMSDescribeSecret(t *testing.T) {
	s, org := demo(t)
	k := et.KMS(t, s, et.AK(org.Admin()))
	req := kms.CreateDescribeSecretRequest()
	req.SecretName = "billing-app/credentials"
	resp, err := k.DescribeSecret(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.SecretName != req.SecretName || resp.Arn != "acs:kms:cn-hangzhou:"+mgmtID+":secret/"+req.SecretName ||
		resp.CreateTime == "" || resp.UpdateTime == "" || resp.RequestId == "" {
		t.Errorf("DescribeSecret = %+v", resp)
	}
	if body := resp.GetHttpContentString(); len(body) == 0 || strings.Contains(body, "SecretData") || strings.Contains(body, "Fake") {
		t.Errorf("DescribeSecret answered the value: %s", body)
	}
	req.SecretName = "no/such/secret"
	_, err = k.DescribeSecret(req)
	serverErr(t, err, 404, "Forbidden.ResourceNotFound")
	_, err = et.KMS(t, s, cred(t, org, ciKey)).DescribeSecret(req)
	serverErr(t, err, 403, "Forbidden.NoPermission")
	noViolations(t, s)
}

// TestPermissionBeforeExistence: every action respond doctor probes checks the caller's
// permission before it looks for the user, key, policy, secret or record the call names: a
// caller without the permission is refused (NoPermission) whether or not the target exists, and
// one with it learns that the target does not exist. (The real cloud's order is inferred:
// README "Documented and inferred".)
func TestPermissionBeforeExistence(t *testing.T) {
	const doctorName = "respond-doctor-0123456789abcdef"
	s, org := demo(t)
	admin := et.Common(t, s, et.AK(org.Admin()))
	none := et.Common(t, s, cred(t, org, ciKey))
	for _, tc := range []struct {
		product, version, action string
		params                   map[string]string
		notFound                 string
	}{
		{"Ram", "2015-05-01", "CreateAccessKey", map[string]string{"UserName": "respond-doctor-0123456789abcdef"}, "EntityNotExist.User"},
		{"Ram", "2015-05-01", "DeleteAccessKey", map[string]string{"UserName": "respond-doctor-0123456789abcdef", "UserAccessKeyId": "LTAIDOCTOR0123456789ABCD"}, "EntityNotExist.User"},
		{"Ram", "2015-05-01", "DeleteAccessKey", map[string]string{"UserName": "billing-app", "UserAccessKeyId": "LTAIDOCTOR0123456789ABCD"}, "EntityNotExist.User.AccessKey"},
		{"Ram", "2015-05-01", "ListAccessKeys", map[string]string{"UserName": "respond-doctor-0123456789abcdef"}, "EntityNotExist.User"},
		{"Ram", "2015-05-01", "GetAccessKeyLastUsed", map[string]string{"UserName": "respond-doctor-0123456789abcdef", "UserAccessKeyId": "LTAIDOCTOR0123456789ABCD"}, "EntityNotExist.User"},
		{"Ims", "2019-08-15", "GetUser", map[string]string{"UserAccessKeyId": "LTAIDOCTOR0123456789ABCD"}, "EntityNotExist.User.AccessKey"},
		{"Ims", "2019-08-15", "DeleteAccessKeyInRecycleBin", map[string]string{"UserId": "912345678901234567", "UserAccessKeyId": "LTAIDOCTOR0123456789ABCD"}, "EntityNotExist.User"},
		// The incident steps' probes (respond doctor): the hunt's reads, containment's and eradication's writes.
		{"Ram", "2015-05-01", "GetLoginProfile", map[string]string{"UserName": doctorName}, "EntityNotExist.User"},
		{"Ram", "2015-05-01", "ListPoliciesForUser", map[string]string{"UserName": doctorName}, "EntityNotExist.User"},
		{"Ram", "2015-05-01", "ListPoliciesForRole", map[string]string{"RoleName": doctorName}, "EntityNotExist.Role"},
		{"Ram", "2015-05-01", "ListPoliciesForGroup", map[string]string{"GroupName": doctorName}, "EntityNotExist.Group"},
		{"Ram", "2015-05-01", "GetPolicy", map[string]string{"PolicyType": "Custom", "PolicyName": doctorName}, "EntityNotExist.Policy"},
		{"Ram", "2015-05-01", "ListGroupsForUser", map[string]string{"UserName": doctorName}, "EntityNotExist.User"},
		{"Ram", "2015-05-01", "GetRole", map[string]string{"RoleName": doctorName}, "EntityNotExist.Role"},
		{"Ram", "2015-05-01", "DeletePolicy", map[string]string{"PolicyName": doctorName}, "EntityNotExist.Policy"},
		{"Ram", "2015-05-01", "AttachPolicyToRole", map[string]string{"RoleName": doctorName, "PolicyType": "Custom", "PolicyName": doctorName}, "EntityNotExist.Policy"},
		{"Ram", "2015-05-01", "DetachPolicyFromRole", map[string]string{"RoleName": doctorName, "PolicyType": "Custom", "PolicyName": doctorName}, "EntityNotExist.Policy"},
		{"Ram", "2015-05-01", "DetachPolicyFromGroup", map[string]string{"GroupName": doctorName, "PolicyType": "Custom", "PolicyName": doctorName}, "EntityNotExist.Policy"},
		{"Ram", "2015-05-01", "AttachPolicyToUser", map[string]string{"UserName": doctorName, "PolicyType": "Custom", "PolicyName": doctorName}, "EntityNotExist.Policy"},
		{"Ram", "2015-05-01", "DetachPolicyFromUser", map[string]string{"UserName": doctorName, "PolicyType": "Custom", "PolicyName": doctorName}, "EntityNotExist.Policy"},
		{"Ram", "2015-05-01", "DeleteLoginProfile", map[string]string{"UserName": doctorName}, "EntityNotExist.User"},
		{"Ram", "2015-05-01", "RemoveUserFromGroup", map[string]string{"UserName": doctorName, "GroupName": doctorName}, "EntityNotExist.Group"},
		{"Ims", "2019-08-15", "SetAccessKeyPolicy", map[string]string{"UserPrincipalName": doctorName + "@1000000000000001.onaliyun.com",
			"UserAccessKeyId": "LTAIDOCTOR0123456789ABCD", "AccessKeyPolicy": `{"Version":1,"Status":"Inactive","Statements":[]}`}, "EntityNotExist.User"},
		{"Kms", "2016-01-20", "PutSecretValue", map[string]string{"SecretName": "respond/doctor/x", "VersionId": "v", "SecretData": "d"}, "Forbidden.ResourceNotFound"},
		{"Kms", "2016-01-20", "DescribeSecret", map[string]string{"SecretName": "respond/doctor/x"}, "Forbidden.ResourceNotFound"},
		{"Kms", "2016-01-20", "GetSecretValue", map[string]string{"SecretName": "acs/ram/user/respond-doctor-0123456789abcdef"}, "Forbidden.ResourceNotFound"},
		{"Kms", "2016-01-20", "RotateSecret", map[string]string{"SecretName": "acs/ram/user/respond-doctor-0123456789abcdef", "VersionId": "respond-doctor-0123456789abcdef"}, "Forbidden.ResourceNotFound"},
	} {
		req := requests.NewCommonRequest()
		req.Method, req.Scheme = "POST", "http"
		req.Product, req.Version, req.ApiName = tc.product, tc.version, tc.action
		for k, v := range tc.params {
			req.QueryParams[k] = v
		}
		_, err := none.ProcessCommonRequest(req)
		code := "NoPermission"
		if tc.product == "Kms" {
			code = "Forbidden.NoPermission"
		}
		if se := serverErr(t, err, 403, code); se.AccessDeniedDetail()["AuthAction"] == nil {
			t.Errorf("%s: no AuthAction in the refusal", tc.action)
		}
		_, err = admin.ProcessCommonRequest(req)
		serverErr(t, err, 404, tc.notFound)
	}
	noViolations(t, s)
}
