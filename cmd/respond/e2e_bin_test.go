package main

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	sdkram "github.com/aliyun/alibaba-cloud-sdk-go/services/ram"

	"github.com/respond-dev/respond/ram/emulator/emulatortest"
)

// Deleted must mean gone (issue 13): the AccessKey recycle bin, through the built binary, checked
// through the SDK (a CommonRequest: the v1.63.107 SDK has no typed request for the bin).

// binInfo asks IMS GetAccessKeyInfoInRecycleBin about id: found, and until when.
func (e *e2e) binInfo(id string) (found bool, deleteDate string) {
	e.t.Helper()
	r := requests.NewCommonRequest()
	r.Method = requests.POST
	r.Product, r.Version, r.ApiName, r.Scheme = "Ims", "2019-08-15", "GetAccessKeyInfoInRecycleBin", "http"
	r.QueryParams["UserAccessKeyId"] = id
	resp, err := emulatortest.Common(e.t, e.s, emulatortest.AK(e.admin)).ProcessCommonRequest(r)
	var se *sdkerrors.ServerError
	if errors.As(err, &se) && se.ErrorCode() == "EntityNotExist.User.AccessKey" {
		return false, ""
	}
	if err != nil {
		e.t.Fatalf("SDK GetAccessKeyInfoInRecycleBin(%s): %v", id, err)
	}
	var out struct {
		AccessKey struct{ AccessKeyId, DeleteDate string }
	}
	if err := json.Unmarshal(resp.GetHttpContentBytes(), &out); err != nil || out.AccessKey.AccessKeyId != id {
		e.t.Fatalf("GetAccessKeyInfoInRecycleBin(%s) = %s, %v", id, resp.GetHttpContentString(), err)
	}
	return true, out.AccessKey.DeleteDate
}

// notInBin fails the test when a recycle bin still holds id (restorable).
func (e *e2e) notInBin(id string) {
	e.t.Helper()
	if found, until := e.binInfo(id); found {
		e.t.Fatalf("%s is still in the recycle bin, restorable until %s", id, until)
	}
}

// respondMutations are the changes respond itself asked for after the first n calls of the log.
func (e *e2e) respondMutations(n int) []string {
	var out []string
	log := e.s.RequestLog()
	for _, q := range log[min(n, len(log)):] {
		if !readOnlyAction(q.Action) && strings.Contains(q.UserAgent, "respond") {
			out = append(out, q.Action)
		}
	}
	return out
}

// A key deleted in the console (moved to the recycle bin) before respond ever saw it: locate
// finds it in the bin, the dry-run plans the purge without changing anything, the run purges it
// (no replacement: the user already holds a newer key), a re-run finds nothing left. A key
// deleted and purged by hand stays what it was: owned by nobody (exit 3).
func TestE2EConsoleDeletedKey(t *testing.T) {
	t.Parallel()
	t.Run("in the bin", func(t *testing.T) {
		t.Parallel()
		limit(t)
		e := newE2E(t, orgFromFile(t, "demo.yaml"))
		e.deleteKey(demoUser, demoLeak)
		found, until := e.binInfo(demoLeak)
		if !found {
			t.Fatal("the deleted key is not in the bin")
		}
		cfg := e.fileSinkConfig("")
		n := len(e.s.RequestLog())

		r := e.run("", "locate", "--key-id", demoLeak)
		wantCode(t, r, 0)
		mustContain(t, "locate", r.Stdout, "found by:  recycle-bin", "in the recycle bin of user "+demoUser+" until "+until)

		r = e.run("", "--key-id", demoLeak, "--dry-run", "--config", cfg)
		wantCode(t, r, 0)
		mustContain(t, "dry-run", r.Stdout, "decision:   purge", "deleted but restorable until "+until+": purge",
			"ram:DeleteAccessKeyInRecycleBin(UserId=", "UserAccessKeyId="+demoLeak+")",
			"ram:GetAccessKeyInfoInRecycleBin(UserAccessKeyId="+demoLeak+"): must find nothing",
			"a deleted key stays restorable for 30 days", demoKeep+" Active — created after the leaked key")
		if strings.Contains(r.Stdout, "ram:CreateAccessKey") {
			t.Errorf("the plan creates a replacement although %s holds a newer key:\n%s", demoUser, r.Stdout)
		}
		e.noMutationAfter(n)
		if found, _ := e.binInfo(demoLeak); !found {
			t.Fatal("the dry-run purged the key")
		}

		r = e.run("", "--key-id", demoLeak, "--yes", "--config", cfg, "--output", "json")
		wantCode(t, r, 0)
		rep := decodeReport(t, r)
		if res := rep.Results[0].Result; res == nil || res.Decision != "purge" || res.Outcome != "remediated" || res.NewKeyID != "" {
			t.Fatalf("result %+v", rep.Results[0])
		}
		if m := e.respondMutations(n); !slices.Equal(m, []string{"DeleteAccessKeyInRecycleBin"}) {
			t.Errorf("respond's changes %v, want the purge alone", m)
		}
		e.notInBin(demoLeak)
		if ids := e.keyIDs(demoUser); !slices.Equal(ids, []string{demoKeep}) {
			t.Errorf("keys %v, want %s untouched", ids, demoKeep)
		}

		n = len(e.s.RequestLog())
		r = e.run("", "--key-id", demoLeak, "--yes", "--config", cfg)
		wantCode(t, r, 0)
		mustContain(t, "re-run", r.Stdout, "already-remediated")
		e.noMutationAfter(n)
	})
	t.Run("purged too", func(t *testing.T) {
		t.Parallel()
		limit(t)
		e := newE2E(t, orgFromFile(t, "demo.yaml"))
		e.deleteKey(demoUser, demoLeak)
		uid := e.userID(demoUser)
		r := requests.NewCommonRequest()
		r.Method = requests.POST
		r.Product, r.Version, r.ApiName, r.Scheme = "Ims", "2019-08-15", "DeleteAccessKeyInRecycleBin", "http"
		r.QueryParams["UserId"], r.QueryParams["UserAccessKeyId"] = uid, demoLeak
		if _, err := emulatortest.Common(t, e.s, emulatortest.AK(e.admin)).ProcessCommonRequest(r); err != nil {
			t.Fatal(err)
		}
		cfg := e.fileSinkConfig("")
		res := e.run("", "--key-id", demoLeak, "--yes", "--config", cfg)
		wantCode(t, res, 3)
		mustContain(t, "output", res.Stdout, "owner-not-found", "check that the id is complete")
		if ids := e.keyIDs(demoUser); !slices.Equal(ids, []string{demoKeep}) {
			t.Errorf("keys %v, want only %s", ids, demoKeep)
		}
		e.noMutationAfter(0)
	})
}

// A live key's plan shows the delete and both calls of the purge, and why; the dry-run changes
// nothing (the request log holds only reads). The rotation then leaves the key in no bin.
func TestE2EPurgePlanAndRun(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "small.yaml"))
	cfg := e.fileSinkConfig("")
	r := e.run("", "--key-id", smallLeak, "--dry-run", "--config", cfg)
	wantCode(t, r, 0)
	mustContain(t, "dry-run", r.Stdout, "ram:DeleteAccessKey(UserName="+smallUser,
		"ram:DeleteAccessKeyInRecycleBin(UserId=", "ram:GetAccessKeyInfoInRecycleBin(UserAccessKeyId="+smallLeak+"): must find nothing",
		"then purge from the recycle bin: a deleted key stays restorable for 30 days", "Why purge:")
	e.noMutation()
	r = e.run("", "--key-id", smallLeak, "--yes", "--config", cfg)
	wantCode(t, r, 0)
	e.checkRotated(smallUser, smallLeak)
	e.notInBin(smallLeak)
	if n := e.count("RestoreAccessKeyFromRecycleBin"); n != 0 {
		t.Errorf("respond restored a key %d times", n)
	}
}

// userID is a user's id, through the SDK.
func (e *e2e) userID(user string) string {
	e.t.Helper()
	req := sdkram.CreateGetUserRequest()
	req.UserName = user
	resp, err := e.ramClient().GetUser(req)
	if err != nil {
		e.t.Fatalf("SDK GetUser(%s): %v", user, err)
	}
	return resp.User.UserId
}
