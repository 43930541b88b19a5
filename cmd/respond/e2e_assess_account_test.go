package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// assessOrg: a Resource Directory whose member-prod respond can enter and whose member-locked it
// cannot (its role trusts member-prod only); each member's key has history in its own trail only.
// In member-noims respond may list but not ask IMS.
const assessOrg = `accounts:
  - id: "4444000000000001"
    name: assess-mgmt
    management: true
    users:
      - name: admin
        admin: true
        keys:
          - {id: LTAI5tFAKEASSESSADMIN001, secret: FakeAssessAdminSecret000000001}
  - id: "4444000000000002"
    name: member-prod
    roles:
      - name: ResourceDirectoryAccountAccessRole
        trust: ["4444000000000001"]
        allow: ["*"]
    users:
      - name: orders-svc
        keys:
          - {id: LTAI5tFAKEASSESSORDERS01, secret: FakeAssessOrdersSecret00000001}
    events:
      - {name: RunInstances, service: Ecs, ago: 20h, repeat: 3, every: 1m, accessKeyId: LTAI5tFAKEASSESSORDERS01, userName: orders-svc, sourceIp: 203.0.113.77}
  - id: "4444000000000003"
    name: member-locked
    roles:
      - name: ResourceDirectoryAccountAccessRole
        trust: ["4444000000000002"]
        allow: ["*"]
    users:
      - name: locked-bot
        keys:
          - {id: LTAI5tFAKEASSESSLOCKED01, secret: FakeAssessLockedSecret00000001}
    events:
      - {name: CreateUser, ago: 10h, accessKeyId: LTAI5tFAKEASSESSLOCKED01, userName: locked-bot, sourceIp: 203.0.113.78}
  - id: "4444000000000004"
    name: member-noims
    roles:
      - name: ResourceDirectoryAccountAccessRole
        trust: ["4444000000000001"]
        allow: ["ram:List*", "actiontrail:*"]
`

func parseAssess(t *testing.T, r runResult) assessJSON {
	t.Helper()
	var a assessJSON
	if err := json.Unmarshal([]byte(r.Stdout), &a); err != nil {
		t.Fatalf("assess json: %v\n%s", err, r)
	}
	return a
}

// TestE2EAssessAccount: respond assess reads the ActionTrail of the account the owner search (in
// the configuration's order, or --locate's) finds the key in, and names it; when the owner's
// account cannot be entered, or IMS is refused there with no scan in the order, it reads the home
// account's, says so in the report and on stderr, and exits 4 (fix the access, run again), not 0;
// an owner no account has (every account searched) exits 3.
func TestE2EAssessAccount(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromYAML(t, assessOrg))
	rd := "accounts:\n  - name: mgmt\n    credentials: {source: env}\nresource-directory:\n  account: mgmt\n"
	cfg := e.writeFile("rd.yaml", rd)
	byScan := e.writeFile("rd-scan.yaml", rd+"locate: [scan, self]\n")
	bySecret := e.writeFile("rd-secret.yaml", rd+"locate: [secret-match, scan]\n") // secret-match needs the secret assess has not
	unlocked := e.writeFile("rd-unlocked.yaml", strings.Replace(rd, "  account: mgmt\n", "  account: mgmt\n  exclude: [\"4444000000000003\"]\n", 1))

	for _, tc := range []struct {
		name     string
		args     []string
		strategy string
	}{
		{"default order", []string{"--config", cfg}, "ims"},
		{"configuration's locate", []string{"--config", byScan}, "scan"},
		{"configuration's locate but secret-match", []string{"--config", bySecret}, "scan"},
		{"--locate", []string{"--config", cfg, "--locate", "scan"}, "scan"},
	} {
		t.Run("member "+tc.name, func(t *testing.T) {
			r := e.run("", append([]string{"assess", "--key-id", "LTAI5tFAKEASSESSORDERS01", "--output", "json"}, tc.args...)...)
			wantCode(t, r, 0)
			a := parseAssess(t, r)
			if a.Trail.Account.ID != "4444000000000002" || a.Trail.By != "owner" || a.Trail.Strategy != tc.strategy ||
				a.Trail.UserName != "orders-svc" || a.Trail.Problem != "" || a.ExitCode != 0 || a.Assessment.Total != 3 {
				t.Errorf("report %+v\n%s", a, r.Stdout)
			}
		})
	}
	r := e.run("", "assess", "--key-id", "LTAI5tFAKEASSESSORDERS01", "--config", cfg)
	wantCode(t, r, 0)
	mustContain(t, "text", r.Stdout, "ActionTrail of account member-prod (4444000000000002), the owner's: RAM user orders-svc, found by ims.", "203.0.113.77")

	// member-locked's key: the search cannot enter member-locked, the home account's trail is read.
	r = e.run("", "assess", "--key-id", "LTAI5tFAKEASSESSLOCKED01", "--config", cfg, "--output", "json")
	wantCode(t, r, 4)
	a := parseAssess(t, r)
	if a.Trail.Account.ID != "4444000000000001" || a.Trail.By != "home" || a.Trail.NotFound || a.ExitCode != 4 || a.Assessment.Total != 0 ||
		!strings.Contains(a.Trail.Problem, "4444000000000003") || !strings.Contains(a.Trail.Problem, "fix respond's access") {
		t.Errorf("locked member's key: %+v\n%s", a, r.Stdout)
	}
	mustContain(t, "stderr", r.Stderr, "not the owner's ActionTrail", "4444000000000003", "run again")
	r = e.run("", "assess", "--key-id", "LTAI5tFAKEASSESSLOCKED01", "--config", cfg)
	wantCode(t, r, 4)
	mustContain(t, "text", r.Stdout, "NOT THE OWNER'S ACCOUNT: ActionTrail of respond's home account", "4444000000000001", "shows nothing of a key of another account")
	if strings.Contains(r.Stdout, "203.0.113.78") {
		t.Errorf("the locked member's events read:\n%s", r.Stdout)
	}

	// Every account searched, no owner: not found.
	r = e.run("", "assess", "--key-id", "LTAI5tFAKEASSESSLOCKED01", "--config", unlocked, "--output", "json")
	wantCode(t, r, 3)
	if a := parseAssess(t, r); !a.Trail.NotFound || a.Trail.By != "home" || a.ExitCode != 3 || !strings.Contains(a.Trail.Problem, "owner not found") {
		t.Errorf("not found: %+v", a)
	}
	mustContain(t, "stderr", r.Stderr, "owner not found", "add the key's account to the configuration")

	// IMS refused in member-noims and no scan: the search did not cover it.
	r = e.run("", "assess", "--key-id", "LTAI5tFAKEASSESSLOCKED01", "--config", unlocked, "--locate", "ims", "--output", "json")
	wantCode(t, r, 4)
	if a := parseAssess(t, r); a.Trail.NotFound || a.Trail.By != "home" || !strings.Contains(a.Trail.Problem, "ims in 4444000000000004") {
		t.Errorf("IMS refused: %+v", a)
	}

	r = e.run("", "assess", "--key-id", "LTAI5tFAKEASSESSORDERS01", "--config", cfg, "--locate", "nope")
	wantCode(t, r, 2)
	mustContain(t, "stderr", r.Stderr, "--locate")
	for _, q := range e.s.RequestLog() { // entering a member is AssumeRole; nothing else but reads
		if !readOnlyAction(q.Action) && q.Action != "AssumeRole" {
			t.Errorf("mutating call %s (%s)", q.Action, q.Code)
		}
	}
}
