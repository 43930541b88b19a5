package emulator_test

import (
	"encoding/json"
	"errors"
	"testing"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ram"

	"github.com/respond-dev/respond/ram/emulator"
	et "github.com/respond-dev/respond/ram/emulator/emulatortest"
)

// serverErr asserts err is an SDK ServerError with code and status.
func serverErr(t *testing.T, err error, status int, code string) *sdkerrors.ServerError {
	t.Helper()
	var se *sdkerrors.ServerError
	if !errors.As(err, &se) {
		t.Fatalf("want ServerError %d %s, got %v", status, code, err)
	}
	if se.HttpStatus() != status || se.ErrorCode() != code {
		t.Fatalf("want %d %s, got %d %s (%s)", status, code, se.HttpStatus(), se.ErrorCode(), se.Message())
	}
	return se
}

func TestSmokeListUsers(t *testing.T) {
	org := emulator.DemoOrg()
	s := et.Start(t, org)
	c := et.RAM(t, s, et.AK(org.Admin()))
	resp, err := c.ListUsers(ram.CreateListUsersRequest())
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Users.User) != 7 || resp.Users.User[0].UserName != "admin" || resp.Users.User[5].UserName != "svc-reports" || resp.Users.User[6].UserName != "payments-app" || resp.RequestId == "" {
		t.Fatalf("users: %+v", resp.Users.User)
	}
	if v := s.Violations(); len(v) != 0 {
		t.Fatalf("violations: %v", v)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
