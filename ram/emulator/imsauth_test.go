package emulator_test

import (
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ims"

	"github.com/respond-dev/respond/ram/emulator"
	et "github.com/respond-dev/respond/ram/emulator/emulatortest"
)

// IMS actions are authorised as ram:<Action> (every IMS API reference page's "Authorization
// information": ram:GetUser, ram:GetAccessKeyInfoInRecycleBin, ram:DeleteAccessKeyInRecycleBin…),
// never ims:<Action>. The demo's auditor is allowed ram:Get* and ram:List*: it may read the bin
// and look a key's owner up through IMS, but not purge; ci-deploy, allowed no RAM action, may do
// neither, and the refusal names the ram: action.
func TestIMSActionsAuthorisedAsRAM(t *testing.T) {
	s, org := demo(t)
	auditor := et.Common(t, s, cred(t, org, auditorKey))
	if _, err := imsCall(auditor, "GetAccessKeyInfoInRecycleBin", map[string]string{"UserAccessKeyId": leaked}); err == nil ||
		!strings.Contains(err.Error(), "EntityNotExist") {
		t.Fatalf("auditor, ram:Get*: GetAccessKeyInfoInRecycleBin of a live key = %v, want not found (allowed)", err)
	}
	if _, err := et.IMS(t, s, cred(t, org, auditorKey)).GetUser(imsGetUserByKey(leaked)); err != nil {
		t.Fatalf("auditor, ram:Get*: IMS GetUser = %v", err)
	}
	for _, tc := range []struct {
		who, key, action string
		params           map[string]string
	}{
		{"auditor", auditorKey, "DeleteAccessKeyInRecycleBin", map[string]string{"UserId": "1", "UserAccessKeyId": leaked}},
		{"ci-deploy", ciKey, "GetAccessKeyInfoInRecycleBin", map[string]string{"UserAccessKeyId": leaked}},
		{"ci-deploy", ciKey, "ListAccessKeysInRecycleBin", map[string]string{"UserId": "1"}},
	} {
		_, err := imsCall(et.Common(t, s, cred(t, org, tc.key)), tc.action, tc.params)
		se := serverErr(t, err, 403, "NoPermission")
		if got := se.AccessDeniedDetail()["AuthAction"]; got != "ram:"+tc.action {
			t.Errorf("%s %s: AuthAction %q, want ram:%s", tc.who, tc.action, got, tc.action)
		}
	}
	noViolations(t, s)

	// A seed that grants ims:<Action> would grant nothing in the cloud: refused.
	_, err := emulator.ParseOrg([]byte("accounts:\n  - id: \"1000000000000009\"\n    users:\n      - name: u\n        allow: [\"ims:GetUser\"]\n"))
	if err == nil || !strings.Contains(err.Error(), "IMS actions are authorised as ram:<Action>") {
		t.Fatalf("seed with ims:GetUser: %v", err)
	}
}

func imsGetUserByKey(id string) *ims.GetUserRequest {
	r := ims.CreateGetUserRequest()
	r.UserAccessKeyId = id
	return r
}
