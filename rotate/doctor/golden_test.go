package doctor

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/doctor")

// goldenReport has one check of each kind and status, a hostile item, optional failures, and a
// fix under each failure.
func goldenReport() Report {
	return finish(Report{Schema: Schema, ProbeUser: "respond-doctor-0123456789abcdef", Checks: []Check{
		{Kind: KindDirectory, Component: "resource directory (mgmt)", Item: "list the member accounts", Status: StatusOK, Required: true,
			Detail: "2 account(s) to enter besides the configured ones"},
		{Kind: KindAccount, Component: "account mgmt (3333000000000001)", Item: "sign in", Status: StatusOK, Required: true,
			Detail: "RAMUser acs:ram::3333000000000001:user/responder", Probe: "GetCallerIdentity"},
		{Kind: KindAccount, Component: "account mgmt (3333000000000001)", Item: "ram:CreateAccessKey", Status: StatusOK, Required: true,
			Probe: "CreateAccessKey(UserName=respond-doctor-0123456789abcdef)", Answer: "EntityNotExist.User", Inferred: true,
			NeededBy: []string{"standard (create)"}},
		{Kind: KindAccount, Component: "account mgmt (3333000000000001)", Item: "ram:ListUsers", Status: StatusOK, Required: true,
			Probe: "ListUsers(MaxItems=1)", NeededBy: []string{"standard (locate)"}},
		{Kind: KindAccount, Component: "account mgmt (3333000000000001)", Item: "ram:DeleteAccessKey", Status: StatusMissing, Required: true,
			Probe:  "DeleteAccessKey(UserAccessKeyId=LTAIDOCTOR0123456789ABCD, UserName=respond-doctor-0123456789abcdef)",
			Answer: "NoPermission", Fix: "grant ram:DeleteAccessKey", NeededBy: []string{"standard (delete)", "contain-only (delete)"}},
		{Kind: KindAccount, Component: "account mgmt (3333000000000001)", Item: "actiontrail:LookupEvents", Status: StatusMissing,
			Detail: noteTrail, Probe: "LookupEvents(MaxResults=1)", Answer: "NoPermission", Fix: "grant actiontrail:LookupEvents",
			NeededBy: []string{"standard (assess)"}},
		{Kind: KindAccount, Component: "account mgmt (3333000000000001)", Item: "ram:AttachPolicyToUser", Status: StatusNotChecked, Required: true,
			Detail: "not probed (action unknown to this endpoint)", Probe: "AttachPolicyToUser(…)", NeededBy: []string{"quarantine (contain)"}},
		{Kind: KindAccount, Component: "account mgmt (3333000000000001)", Item: "ram:CreateUser\x1b[31m", Status: StatusUnknown, Required: true,
			Detail: "an answer that says neither (HTTP 400 InvalidParameter)", Fix: "check that respond is allowed ram:CreateUser"},
		{Kind: KindAccount, Component: "account locked (3333000000000003)", Item: "enter", Status: StatusMissing, Required: true,
			Detail: "AssumeRole: NoPermission", Probe: "AssumeRole", Fix: "grant sts:AssumeRole to respond, and a trust policy on the role that trusts respond's account"},
		{Kind: KindSink, Component: "sink app-file (file)", Item: "directory /srv/keys", Status: StatusError, Required: true,
			Detail: "file sink \"app-file\": directory /srv/keys: stat /srv/keys: no such file or directory",
			Fix:    "create the directory, writable by the user respond runs as", NeededBy: []string{"standard"}},
		{Kind: KindNotify, Component: "notify oncall (slack)", Item: "test message", Status: StatusNotChecked,
			Detail: "not sent (pass --send-test to send one)", NeededBy: []string{"standard"}},
		{Kind: KindState, Component: "state directory /var/lib/respond", Item: "unfinished rotation of LTAI5tFAKEDOCTORAPP00001",
			Status: StatusError, Required: true, Detail: "user app in account 3333000000000001, last -, updated 2026-11-28T09:00:00Z",
			Fix: "resume it: respond --key-id LTAI5tFAKEDOCTORAPP00001"},
	}})
}

func TestGolden(t *testing.T) {
	rep := goldenReport()
	var txt, js bytes.Buffer
	if err := rep.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	enc := json.NewEncoder(&js)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rep); err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][]byte{"report.txt": txt.Bytes(), "report.json": js.Bytes()} {
		p := filepath.Join("..", "..", "testdata", "doctor", name)
		if *update {
			if err := os.WriteFile(p, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs (go test ./rotate/doctor -run Golden -update):\n%s", name, got)
		}
	}
	if bytes.Contains(txt.Bytes(), []byte("\x1b")) {
		t.Error("a control character reached the text output")
	}
	if rep.OK || rep.ExitCode != 1 {
		t.Errorf("report %v %d", rep.OK, rep.ExitCode)
	}
}
