package emulator_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ims"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ram"

	"github.com/respond-dev/respond/ram/emulator"
	et "github.com/respond-dev/respond/ram/emulator/emulatortest"
)

// The v1.63.107 SDK has no typed request for the recycle-bin actions (spec §8): these tests use
// a CommonRequest with product Ims and version 2019-08-15, as the aliyun CLI and ram do.

type binKey struct {
	AccessKeyId, CreateDate, RecycleDate, DeleteDate string
	UserId, UserPrincipalName                        string
	UserRecycled                                     bool
}

type binAnswer struct {
	RequestId   string
	AccessKeys  struct{ AccessKey []binKey }
	AccessKey   binKey
	IsTruncated bool
	Marker      string
	Users       struct {
		User []struct{ UserId, UserPrincipalName, DisplayName, CreateDate, RecycleDate, DeleteDate string }
	}
	User struct{ UserId, UserPrincipalName, RecycleDate, DeleteDate string }
}

// imsCall sends an IMS action as a CommonRequest (GET: the CommonRequest default, which IMS
// documents as accepted) and decodes the answer.
func imsCall(c *sdk.Client, action string, params map[string]string) (binAnswer, error) {
	r := requests.NewCommonRequest()
	r.Product, r.Version, r.ApiName, r.Scheme = "Ims", "2019-08-15", action, "http"
	for k, v := range params {
		r.QueryParams[k] = v
	}
	var out binAnswer
	resp, err := c.ProcessCommonRequest(r)
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(resp.GetHttpContentBytes(), &out); err != nil {
		return out, err
	}
	if out.RequestId == "" {
		return out, errorString("no RequestId in " + resp.GetHttpContentString())
	}
	return out, nil
}

type errorString string

func (e errorString) Error() string { return string(e) }

func mustIMS(t *testing.T, c *sdk.Client, action string, params map[string]string) binAnswer {
	t.Helper()
	a, err := imsCall(c, action, params)
	if err != nil {
		t.Fatalf("%s %v: %v", action, params, err)
	}
	return a
}

func binIDs(a binAnswer) []string {
	var ids []string
	for _, k := range a.AccessKeys.AccessKey {
		ids = append(ids, k.AccessKeyId)
	}
	return ids
}

func userID(t *testing.T, c *ims.Client, upn string) string {
	t.Helper()
	req := ims.CreateGetUserRequest()
	req.UserPrincipalName = upn
	u, err := c.GetUser(req)
	if err != nil {
		t.Fatal(err)
	}
	return u.User.UserId
}

func TestRecycleBinDeleteRestorePurge(t *testing.T) {
	clk := newClock()
	s, org := demo(t, emulator.WithClock(clk.Now), emulator.WithoutTimestampCheck())
	admin := et.AK(org.Admin())
	r, bin, imc := et.RAM(t, s, admin), et.Common(t, s, admin), et.IMS(t, s, admin)
	uid := userID(t, imc, "billing-app@acme.onaliyun.com")
	leakedSTS := et.STSClient(t, s, cred(t, org, leaked))
	deletedAt := clk.Now().UTC()

	if err := deleteKey(r, "billing-app", leaked); err != nil {
		t.Fatal(err)
	}
	if got := listKeys(t, r, "billing-app"); len(got) != 1 || got[0] != keepKey+":Active" {
		t.Fatalf("ListAccessKeys after delete: %v", got)
	}
	_, err := callerIdentity(leakedSTS)
	serverErr(t, err, 404, "InvalidAccessKeyId.NotFound")
	gu := ims.CreateGetUserRequest()
	gu.UserAccessKeyId = leaked
	_, err = imc.GetUser(gu)
	serverErr(t, err, 404, "EntityNotExist.User.AccessKey")

	list := mustIMS(t, bin, "ListAccessKeysInRecycleBin", map[string]string{"UserId": uid})
	if len(list.AccessKeys.AccessKey) != 1 {
		t.Fatalf("bin: %+v", list.AccessKeys)
	}
	k := list.AccessKeys.AccessKey[0]
	rd, _ := time.Parse(time.RFC3339, k.RecycleDate)
	dd, _ := time.Parse(time.RFC3339, k.DeleteDate)
	if k.AccessKeyId != leaked || k.CreateDate != "2023-05-02T12:00:00Z" || rd.Sub(deletedAt).Abs() > time.Second ||
		dd.Sub(rd) != 30*24*time.Hour {
		t.Fatalf("binned key %+v (deleted at %s)", k, deletedAt)
	}
	info := mustIMS(t, bin, "GetAccessKeyInfoInRecycleBin", map[string]string{"UserAccessKeyId": leaked}).AccessKey
	if info.AccessKeyId != leaked || info.UserId != uid || info.UserPrincipalName != "billing-app@acme.onaliyun.com" ||
		info.UserRecycled || info.DeleteDate != k.DeleteDate {
		t.Fatalf("GetAccessKeyInfoInRecycleBin %+v", info)
	}

	// Restore works while there is room; the key signs again.
	mustIMS(t, bin, "RestoreAccessKeyFromRecycleBin", map[string]string{"UserId": uid, "UserAccessKeyId": leaked})
	if got := listKeys(t, r, "billing-app"); len(got) != 2 {
		t.Fatalf("after restore: %v", got)
	}
	if _, err := callerIdentity(leakedSTS); err != nil {
		t.Fatalf("restored key cannot sign: %v", err)
	}
	if got := binIDs(mustIMS(t, bin, "ListAccessKeysInRecycleBin", map[string]string{"UserId": uid})); len(got) != 0 {
		t.Fatalf("bin after restore: %v", got)
	}

	// Delete again, create a replacement: the user is at the 2-key limit and Restore fails.
	if err := deleteKey(r, "billing-app", leaked); err != nil {
		t.Fatal(err)
	}
	if _, err := createKey(r, "billing-app"); err != nil {
		t.Fatalf("replacement: %v", err)
	}
	_, err = imsCall(bin, "RestoreAccessKeyFromRecycleBin", map[string]string{"UserId": uid, "UserAccessKeyId": leaked})
	serverErr(t, err, 409, "LimitExceeded.User.AccessKey")
	_, err = callerIdentity(leakedSTS)
	serverErr(t, err, 404, "InvalidAccessKeyId.NotFound")

	// Purge: gone from the bin, and for good.
	mustIMS(t, bin, "DeleteAccessKeyInRecycleBin", map[string]string{"UserId": uid, "UserAccessKeyId": leaked})
	_, err = imsCall(bin, "GetAccessKeyInfoInRecycleBin", map[string]string{"UserAccessKeyId": leaked})
	serverErr(t, err, 404, "EntityNotExist.User.AccessKey")
	if got := binIDs(mustIMS(t, bin, "ListAccessKeysInRecycleBin", map[string]string{"UserId": uid})); len(got) != 0 {
		t.Fatalf("bin after purge: %v", got)
	}
	_, err = imsCall(bin, "DeleteAccessKeyInRecycleBin", map[string]string{"UserId": uid, "UserAccessKeyId": leaked})
	serverErr(t, err, 404, "EntityNotExist.User.AccessKey")
	_, err = callerIdentity(leakedSTS)
	serverErr(t, err, 404, "InvalidAccessKeyId.NotFound")

	// A second DeleteAccessKey of a binned or purged key is a not-found, as before.
	serverErr(t, deleteKey(r, "billing-app", leaked), 404, "EntityNotExist.User.AccessKey")
	noViolations(t, s)
}

func TestRecycleBinCapacityAndRetention(t *testing.T) {
	clk := newClock()
	s, org := demo(t, emulator.WithClock(clk.Now), emulator.WithoutTimestampCheck())
	admin := et.AK(org.Admin())
	r, bin := et.RAM(t, s, admin), et.Common(t, s, admin)
	uid := userID(t, et.IMS(t, s, admin), "backup-canary@acme.onaliyun.com")
	var deleted []string
	for i := range 4 {
		k, err := createKey(r, "backup-canary")
		if err != nil {
			t.Fatal(err)
		}
		if err := deleteKey(r, "backup-canary", k.AccessKey.AccessKeyId); err != nil {
			t.Fatal(err)
		}
		deleted = append(deleted, k.AccessKey.AccessKeyId)
		clk.Add(time.Duration(i+1) * time.Hour)
	}
	got := binIDs(mustIMS(t, bin, "ListAccessKeysInRecycleBin", map[string]string{"UserId": uid}))
	if strings.Join(got, ",") != strings.Join(deleted[1:], ",") {
		t.Fatalf("bin %v, want the 3 newest of %v (the oldest purged)", got, deleted)
	}
	_, err := imsCall(bin, "GetAccessKeyInfoInRecycleBin", map[string]string{"UserAccessKeyId": deleted[0]})
	serverErr(t, err, 404, "EntityNotExist.User.AccessKey")
	// The seeded canary key is still live: binned keys do not count toward the 2-key limit.
	if _, err := createKey(r, "backup-canary"); err != nil {
		t.Fatalf("create with a full bin: %v", err)
	}

	// 30 days after its deletion a key is purged by itself. The three were deleted 1 h, 3 h and
	// 6 h after the start, and the clock now stands at 10 h.
	clk.Add(30*24*time.Hour - 8*time.Hour) // 30 d 2 h: only the first has expired
	if got := binIDs(mustIMS(t, bin, "ListAccessKeysInRecycleBin", map[string]string{"UserId": uid})); len(got) != 2 {
		t.Fatalf("bin 30 days after the second deletion: %v", got)
	}
	clk.Add(4 * time.Hour)
	if got := binIDs(mustIMS(t, bin, "ListAccessKeysInRecycleBin", map[string]string{"UserId": uid})); len(got) != 0 {
		t.Fatalf("bin after retention: %v", got)
	}
	noViolations(t, s)
}

func TestRecycleBinKeyLimitOption(t *testing.T) {
	s, org := demo(t, emulator.WithRecycleBinCountedInKeyLimit())
	r := et.RAM(t, s, et.AK(org.Admin()))
	if err := deleteKey(r, "billing-app", leaked); err != nil {
		t.Fatal(err)
	}
	_, err := createKey(r, "billing-app")
	serverErr(t, err, 409, "LimitExceeded.User.AccessKey")
}

func TestRecycleBinCallers(t *testing.T) {
	clk := newClock()
	s, org := demo(t, emulator.WithClock(clk.Now), emulator.WithoutTimestampCheck())
	// IMS DeleteAccessKey moves the key to the bin too.
	imsAdmin := et.IMS(t, s, et.AK(org.Admin()))
	d := ims.CreateDeleteAccessKeyRequest()
	d.UserPrincipalName, d.UserAccessKeyId = "ci-deploy@acme.onaliyun.com", ciKey
	if _, err := imsAdmin.DeleteAccessKey(d); err != nil {
		t.Fatal(err)
	}
	// The account owner must name the user; a RAM user may omit it for itself.
	root := et.Common(t, s, cred(t, org, rootKey))
	_, err := imsCall(root, "ListAccessKeysInRecycleBin", nil)
	serverErr(t, err, 400, "MissingUserId")
	_, err = imsCall(root, "DeleteAccessKeyInRecycleBin", map[string]string{"UserAccessKeyId": ciKey})
	serverErr(t, err, 400, "MissingUserId")
	if got := mustIMS(t, root, "GetAccessKeyInfoInRecycleBin", map[string]string{"UserAccessKeyId": ciKey}); got.AccessKey.AccessKeyId != ciKey {
		t.Fatalf("owner's GetAccessKeyInfoInRecycleBin %+v", got)
	}
	// admin deletes one of its own keys after creating a second; then lists its own bin.
	adminRAM := et.RAM(t, s, et.AK(org.Admin()))
	k, err := createKey(adminRAM, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := deleteKey(adminRAM, "", k.AccessKey.AccessKeyId); err != nil {
		t.Fatal(err)
	}
	self := et.Common(t, s, et.AK(org.Admin()))
	if got := binIDs(mustIMS(t, self, "ListAccessKeysInRecycleBin", nil)); len(got) != 1 || got[0] != k.AccessKey.AccessKeyId {
		t.Fatalf("own bin %v", got)
	}
	// Another account's binned key is not visible.
	member := et.Common(t, s, cred(t, org, "LTAI5tFAKEROOTPROD000001"))
	_, err = imsCall(member, "GetAccessKeyInfoInRecycleBin", map[string]string{"UserAccessKeyId": ciKey})
	serverErr(t, err, 404, "EntityNotExist.User.AccessKey")
	// A root key has no bin: deleting it destroys it.
	rr := et.RAM(t, s, cred(t, org, rootKey))
	nk, err := createKey(rr, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := deleteKey(rr, "", nk.AccessKey.AccessKeyId); err != nil {
		t.Fatal(err)
	}
	_, err = imsCall(root, "GetAccessKeyInfoInRecycleBin", map[string]string{"UserAccessKeyId": nk.AccessKey.AccessKeyId})
	serverErr(t, err, 404, "EntityNotExist.User.AccessKey")
	if v := s.Violations(); len(v) != 2 {
		t.Fatalf("violations %q", v)
	}
}

// binOrg is testdata/orgs/recycle-bin.yaml at a fixed time after its seeded deletions.
func binOrg(t *testing.T) (*emulator.Server, *emulator.Org) {
	t.Helper()
	org, err := emulator.LoadOrg("../../testdata/orgs/recycle-bin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	return et.Start(t, org, emulator.WithClock(func() time.Time { return at }), emulator.WithoutTimestampCheck()), org
}

func TestRecycleBinSeeded(t *testing.T) {
	s, org := binOrg(t)
	admin := et.AK(org.Admin())
	bin := et.Common(t, s, admin)
	got := mustIMS(t, bin, "ListAccessKeysInRecycleBin", map[string]string{"UserId": "2444000000000002"})
	if len(got.AccessKeys.AccessKey) != 1 || got.AccessKeys.AccessKey[0].AccessKeyId != "LTAI5tFAKEBINDEPLOYDEL01" ||
		got.AccessKeys.AccessKey[0].RecycleDate != "2026-11-20T09:00:00Z" || got.AccessKeys.AccessKey[0].DeleteDate != "2026-12-20T09:00:00Z" {
		t.Fatalf("seeded bin (the 40-day-old key must be purged): %+v", got.AccessKeys)
	}
	_, err := callerIdentity(et.STSClient(t, s, cred(t, org, "LTAI5tFAKEBINDEPLOYDEL01")))
	serverErr(t, err, 404, "InvalidAccessKeyId.NotFound")

	// A key of a user in the user recycle bin: UserRecycled, and not restorable before the user.
	info := mustIMS(t, bin, "GetAccessKeyInfoInRecycleBin", map[string]string{"UserAccessKeyId": "LTAI5tFAKEBINCONTRACT001"}).AccessKey
	if info.UserId != "2444000000000003" || !info.UserRecycled || info.UserPrincipalName != "old-contractor@binco.onaliyun.com" {
		t.Fatalf("binned user's key %+v", info)
	}
	restoreKey := map[string]string{"UserId": "2444000000000003", "UserAccessKeyId": "LTAI5tFAKEBINCONTRACT001"}
	_, err = imsCall(bin, "RestoreAccessKeyFromRecycleBin", restoreKey)
	serverErr(t, err, 404, "EntityNotExist.User")
	users := mustIMS(t, bin, "ListUsersInRecycleBin", nil).Users.User
	if len(users) != 1 || users[0].UserId != "2444000000000003" || users[0].DeleteDate != "2026-12-27T09:00:00Z" {
		t.Fatalf("user bin %+v", users)
	}
	byKey := mustIMS(t, bin, "GetUserInRecycleBin", map[string]string{"UserAccessKeyId": "LTAI5tFAKEBINCONTRACT001"}).User
	if byKey.UserId != "2444000000000003" {
		t.Fatalf("GetUserInRecycleBin by key %+v", byKey)
	}
	r := et.RAM(t, s, admin)
	gu := ram.CreateGetUserRequest()
	gu.UserName = "old-contractor"
	_, err = r.GetUser(gu)
	serverErr(t, err, 404, "EntityNotExist.User")

	mustIMS(t, bin, "RestoreUserFromRecycleBin", map[string]string{"UserId": "2444000000000003"})
	if _, err := r.GetUser(gu); err != nil {
		t.Fatalf("restored user: %v", err)
	}
	mustIMS(t, bin, "RestoreAccessKeyFromRecycleBin", restoreKey)
	if _, err := callerIdentity(et.STSClient(t, s, cred(t, org, "LTAI5tFAKEBINCONTRACT001"))); err != nil {
		t.Fatalf("restored key: %v", err)
	}
	noViolations(t, s)
}

func TestDeleteUserToRecycleBin(t *testing.T) {
	s, org := binOrg(t)
	admin := et.AK(org.Admin())
	r, bin := et.RAM(t, s, admin), et.Common(t, s, admin)
	du := ram.CreateDeleteUserRequest()
	du.UserName = "deploy-bot"
	_, err := r.DeleteUser(du)
	se := serverErr(t, err, 409, "DeleteConflict.User.AccessKey")
	if se.Message() != "The user CAN NOT has any access key while deleting the user." {
		t.Fatalf("DeleteConflict message %q", se.Message())
	}
	if err := deleteKey(r, "deploy-bot", "LTAI5tFAKEBINDEPLOYLIVE1"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.DeleteUser(du); err != nil {
		t.Fatal(err)
	}
	names := []string{}
	lu, err := r.ListUsers(ram.CreateListUsersRequest())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range lu.Users.User {
		names = append(names, u.UserName)
	}
	if strings.Contains(strings.Join(names, ","), "deploy-bot") {
		t.Fatalf("deleted user still listed: %v", names)
	}
	filtered := mustIMS(t, bin, "ListUsersInRecycleBin", map[string]string{"Filter": "UserPrincipalName eq deploy-bot@binco.onaliyun.com"})
	if len(filtered.Users.User) != 1 || filtered.Users.User[0].UserId != "2444000000000002" {
		t.Fatalf("filtered user bin %+v", filtered.Users)
	}
	page := mustIMS(t, bin, "ListUsersInRecycleBin", map[string]string{"MaxItems": "1"})
	if !page.IsTruncated || page.Marker == "" || len(page.Users.User) != 1 {
		t.Fatalf("page 1 %+v", page)
	}
	page2 := mustIMS(t, bin, "ListUsersInRecycleBin", map[string]string{"MaxItems": "1", "Marker": page.Marker})
	if page2.IsTruncated || len(page2.Users.User) != 1 || page2.Users.User[0].UserId == page.Users.User[0].UserId {
		t.Fatalf("page 2 %+v", page2)
	}
	// Its keys went with it; purging the user purges them.
	info := mustIMS(t, bin, "GetAccessKeyInfoInRecycleBin", map[string]string{"UserAccessKeyId": "LTAI5tFAKEBINDEPLOYLIVE1"}).AccessKey
	if !info.UserRecycled {
		t.Fatalf("key of a deleted user %+v", info)
	}
	mustIMS(t, bin, "DeleteUserInRecycleBin", map[string]string{"UserId": "2444000000000002"})
	for _, id := range []string{"LTAI5tFAKEBINDEPLOYLIVE1", "LTAI5tFAKEBINDEPLOYDEL01"} {
		_, err := imsCall(bin, "GetAccessKeyInfoInRecycleBin", map[string]string{"UserAccessKeyId": id})
		serverErr(t, err, 404, "EntityNotExist.User.AccessKey")
	}
	_, err = imsCall(bin, "RestoreUserFromRecycleBin", map[string]string{"UserId": "2444000000000002"})
	serverErr(t, err, 404, "EntityNotExist.User")
	noViolations(t, s)
}
