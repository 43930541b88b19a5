package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	sdkram "github.com/aliyun/alibaba-cloud-sdk-go/services/ram"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sts"
)

// A sink that fails: with the default (contain) the replacement is deleted again, the leaked key
// is still deleted, exit 4, and a re-run once the sink works converges; with a hold playbook the
// leaked key is kept and nothing else changes.
func TestE2EStoreFailure(t *testing.T) {
	t.Parallel()
	t.Run("unwritable file, contain, then fixed", func(t *testing.T) {
		t.Parallel()
		limit(t)
		e := newE2E(t, orgFromFile(t, "small.yaml"))
		cfg := e.fileSinkConfig("")
		// The sink's directory is a regular file: no user (root included) can write under it.
		if err := os.WriteFile(e.sinkDir()+".tmp", nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(e.sinkDir()); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(e.sinkDir()+".tmp", e.sinkDir()); err != nil {
			t.Fatal(err)
		}
		r := e.run("", "--key-id", smallLeak, "--yes", "--config", cfg, "--output", "json")
		wantCode(t, r, 4)
		rep := decodeReport(t, r)
		if res := rep.Results[0].Result; res == nil || res.Outcome != "partial" {
			t.Fatalf("result %+v, want partial", res)
		}
		if ids := e.keyIDs(smallUser); len(ids) != 0 {
			t.Fatalf("after a contained store failure the user should hold no key (leaked deleted, replacement deleted again): %v", ids)
		}
		s := e.run("", "status")
		mustContain(t, "status", s.Stdout, smallLeak, "UNFINISHED", "resume with")
		if err := os.Remove(e.sinkDir()); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(e.sinkDir(), 0o700); err != nil {
			t.Fatal(err)
		}
		r = e.run("", "--key-id", smallLeak, "--yes", "--config", cfg)
		wantCode(t, r, 0)
		e.checkRotated(smallUser, smallLeak)
	})
	t.Run("exec exits 1, contain, then fixed", func(t *testing.T) {
		t.Parallel()
		limit(t)
		e := newE2E(t, orgFromFile(t, "small.yaml"))
		ok := filepath.Join(e.work, "sink-ok")
		out := filepath.Join(e.work, "exec-out.json")
		cfg := e.writeFile("config.yaml", fmt.Sprintf(`sinks:
  push:
    type: exec
    command: [/bin/sh, -c, 'test -f "$0" || { echo "vault unreachable" >&2; exit 1; }; cat > "$1"', %q, %q]
`, ok, out))
		r := e.run("", "--key-id", smallLeak, "--yes", "--config", cfg)
		wantCode(t, r, 4)
		mustContain(t, "output", r.Stdout+r.Stderr, "vault unreachable", "respond --key-id "+smallLeak)
		if ids := e.keyIDs(smallUser); len(ids) != 0 {
			t.Fatalf("keys %v, want none", ids)
		}
		if err := os.WriteFile(ok, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		wantCode(t, e.run("", "--key-id", smallLeak, "--yes", "--config", cfg), 0)
		ids := e.keyIDs(smallUser)
		if len(ids) != 1 || ids[0] == smallLeak {
			t.Fatalf("keys %v, want one replacement", ids)
		}
		id, secret := readPair(t, out)
		if id != ids[0] {
			t.Fatalf("exec sink got %s, replacement is %s", id, ids[0])
		}
		if err := e.authenticates(id, secret); err != nil {
			t.Fatalf("stored secret: %v", err)
		}
	})
	t.Run("hold keeps the leaked key", func(t *testing.T) {
		t.Parallel()
		limit(t)
		e := newE2E(t, orgFromFile(t, "small.yaml"))
		e.writeFile("hold.yaml", "name: hold\nsteps: [locate, create, store, delete, verify]\non-failure:\n  store: hold\n")
		cfg := e.writeFile("config.yaml", `sinks:
  push:
    type: exec
    command: [/bin/sh, -c, 'exit 1']
playbooks:
  - path: hold.yaml
`)
		r := e.run("", "--key-id", smallLeak, "--yes", "--config", cfg, "--playbook", "hold", "--output", "json")
		if r.Code != 1 && r.Code != 4 {
			t.Fatalf("want exit 1 (failed) or 4, got %s", r)
		}
		rep := decodeReport(t, r)
		if rep.Results[0].Playbook != "hold" {
			t.Errorf("playbook %q", rep.Results[0].Playbook)
		}
		if ids := e.keyIDs(smallUser); !slices.Equal(ids, []string{smallLeak}) {
			t.Fatalf("hold: keys %v, want the leaked key alone (replacement deleted again)", ids)
		}
		if n := e.count("DeleteAccessKey"); n != 1 {
			t.Errorf("%d deletes, want 1 (the unstored replacement)", n)
		}
	})
}

func readPair(t testing.TB, path string) (string, string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ AccessKeyId, AccessKeySecret string }
	if err := jsonUnmarshal(b, &v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return v.AccessKeyId, v.AccessKeySecret
}

// Each built-in playbook end to end: the steps ran in its order and the cloud shows its result.
func TestE2EBuiltinPlaybooks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		steps []string
		keeps bool // a replacement exists afterwards
	}{
		{"standard", []string{"locate", "assess", "hunt", "create", "store", "delete", "verify", "notify"}, true},
		// contain twice: the quarantine attached, then removed once the leaked key is deleted
		{"contain-first", []string{"locate", "assess", "hunt", "contain", "delete", "contain", "create", "store", "eradicate", "verify", "notify"}, true},
		{"contain-only", []string{"locate", "assess", "delete", "verify", "notify"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			limit(t)
			e := newE2E(t, orgFromFile(t, "small.yaml"))
			cfg := e.fileSinkConfig("")
			r := e.run("", "--key-id", smallLeak, "--yes", "--config", cfg, "--playbook", tc.name, "--output", "json")
			wantCode(t, r, 0)
			rep := decodeReport(t, r)
			var got []string
			for _, s := range rep.stepOrder(0) {
				got = append(got, strings.SplitN(s, ":", 2)[0])
			}
			if !slices.Equal(got, tc.steps) {
				t.Errorf("steps %v, want %v", got, tc.steps)
			}
			if rep.Results[0].Playbook != tc.name {
				t.Errorf("playbook %q", rep.Results[0].Playbook)
			}
			if tc.keeps {
				e.checkRotated(smallUser, smallLeak)
			} else if ids := e.keyIDs(smallUser); len(ids) != 0 {
				t.Errorf("contain-only left keys %v", ids)
			}
			// The order reached the cloud too.
			acts := e.actions()
			c, d := slices.Index(acts, "CreateAccessKey"), slices.Index(acts, "DeleteAccessKey")
			switch {
			case tc.name == "standard" && !(c >= 0 && c < d):
				t.Errorf("standard: create must precede delete: %v", acts)
			case tc.name == "contain-first" && !(d >= 0 && d < c):
				t.Errorf("contain-first: delete must precede create: %v", acts)
			case tc.name == "contain-only" && c >= 0:
				t.Errorf("contain-only created a key: %v", acts)
			}
		})
	}
}

const twoUsersOrg = `accounts:
  - id: "5555000000000001"
    name: main
    management: true
    users:
      - name: admin
        admin: true
        keys:
          - {id: LTAI5tFAKEMATCHADMIN0001, secret: FakeMatchAdminSecret0000000001}
      - name: ci-runner
        keys:
          - {id: LTAI5tFAKEMATCHCIRUN0001, secret: FakeMatchCiRunSecret0000000001}
      - name: orders-app
        keys:
          - {id: LTAI5tFAKEMATCHORDERS001, secret: FakeMatchOrdersSecret000000001}
`

// A configuration with two custom playbooks whose match blocks choose by user name glob.
func TestE2ECustomPlaybookMatch(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromYAML(t, twoUsersOrg))
	e.writeFile("playbooks/ci-purge.yaml", `name: ci-purge
description: CI keys are deleted at once, then replaced
steps: [locate, delete, create, store, verify]
match:
  users: ["ci-*"]
`)
	e.writeFile("playbooks/app-rotate.yaml", `name: app-rotate
description: applications get their replacement first
steps: [locate, create, store, delete, verify]
match:
  users: ["*-app"]
`)
	cfg := e.fileSinkConfig(`playbooks:
  - path: playbooks/ci-purge.yaml
  - path: playbooks/app-rotate.yaml
`)
	r := e.run("", "--key-id", "LTAI5tFAKEMATCHCIRUN0001", "--key-id", "LTAI5tFAKEMATCHORDERS001", "--yes", "--config", cfg, "--output", "json")
	wantCode(t, r, 0)
	rep := decodeReport(t, r)
	got := map[string]string{}
	for i, kr := range rep.Results {
		got[kr.KeyID] = kr.Playbook
		if kr.Result == nil || kr.Result.Outcome != "remediated" {
			t.Errorf("%s: result %+v", kr.KeyID, kr.Result)
		}
		t.Logf("%s: %s (%s) %v", kr.KeyID, kr.Playbook, kr.PlaybookReason, rep.stepOrder(i))
	}
	if got["LTAI5tFAKEMATCHCIRUN0001"] != "ci-purge" || got["LTAI5tFAKEMATCHORDERS001"] != "app-rotate" {
		t.Fatalf("playbooks chosen %v, want ci-purge for ci-runner and app-rotate for orders-app", got)
	}
	e.checkRotated("ci-runner", "LTAI5tFAKEMATCHCIRUN0001")
	for i, kr := range rep.Results {
		order := rep.stepOrder(i)
		d, c := slices.Index(order, "delete:done"), slices.Index(order, "create:done")
		if (kr.Playbook == "ci-purge") != (d < c) || len(order) != 5 {
			t.Errorf("%s ran %v, not the order of %s", kr.KeyID, order, kr.Playbook)
		}
	}
	e.checkRotated("orders-app", "LTAI5tFAKEMATCHORDERS001")
	// The dry-run says which playbook matched and why.
	e2 := newE2E(t, orgFromYAML(t, twoUsersOrg))
	r = e2.run("", "--key-id", "LTAI5tFAKEMATCHCIRUN0001", "--dry-run", "--config", cfg)
	wantCode(t, r, 0)
	mustContain(t, "dry-run", r.Stdout, "Playbook ci-purge (", "ci-*")
}

// --from - with gitleaks JSON: several findings, one of them with its secret.
func TestE2EFromGitleaksStdin(t *testing.T) {
	t.Parallel()
	limit(t)
	org := orgFromYAML(t, gitleaksOrg)
	e := newE2E(t, org)
	in, err := os.ReadFile("../../testdata/formats/gitleaks.json")
	if err != nil {
		t.Fatal(err)
	}
	// three of the four findings are ids without their secret: acted on because the
	// configuration trusts gitleaks for id-only findings (TestE2EIDOnly is the same without it)
	cfg := e.fileSinkConfig("trust:\n  - source: gitleaks-json\n")
	r := e.run(string(in), "--from", "-", "--yes", "--config", cfg, "--output", "json")
	wantCode(t, r, 0)
	rep := decodeReport(t, r)
	if len(rep.Results) != 4 {
		t.Fatalf("%d results, want 4", len(rep.Results))
	}
	for _, u := range []struct{ user, key string }{
		{"env-app", "LTAI5tFAKEb8HnR4sW6cJq2d"}, {"oss-app", "LTAI5tFAKEp4Gz8Kd2Ym6Rw9"},
		{"cfg-app", "LTAI5tFAKEv7Tc3Jn9Ws5Qe1"}, {"deploy-app", "LTAI5tFAKEk3yQ9mZ7pR2wXn"},
	} {
		e.checkRotated(u.user, u.key)
	}
	// The finding with its secret was verified as rejected after the delete.
	if err := e.authenticates("LTAI5tFAKEb8HnR4sW6cJq2d", gitleaksSecret); err == nil {
		t.Error("the leaked pair still authenticates")
	}
}

const gitleaksSecret = "FAKEm7Lp2Qx9Vr4Ts8Nk3Hd6Bz1Wc5"

// gitleaksOrg owns the four ids of testdata/formats/gitleaks.json (the first with its secret).
const gitleaksOrg = `accounts:
  - id: "6666000000000001"
    name: repo-owner
    management: true
    users:
      - name: admin
        admin: true
        keys:
          - {id: LTAI5tFAKEGLADMIN0000001, secret: FakeGlAdminSecret0000000000001}
      - name: env-app
        keys:
          - {id: LTAI5tFAKEb8HnR4sW6cJq2d, secret: FAKEm7Lp2Qx9Vr4Ts8Nk3Hd6Bz1Wc5}
      - name: oss-app
        keys:
          - {id: LTAI5tFAKEp4Gz8Kd2Ym6Rw9, secret: FakeGlOssSecret000000000000001}
      - name: cfg-app
        keys:
          - {id: LTAI5tFAKEv7Tc3Jn9Ws5Qe1, secret: FakeGlCfgSecret000000000000001}
      - name: deploy-app
        keys:
          - {id: LTAI5tFAKEk3yQ9mZ7pR2wXn, secret: FakeGlDeploySecret000000000001}
`

// Multi-account: a key in a member account, reached through the Resource Directory (and, in
// a second run, through a role-arn account), checked in that account through the SDK.
func TestE2EMultiAccount(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, conf string }{
		{"resource-directory", `accounts:
  - name: mgmt
    credentials: {source: env}
resource-directory:
  account: mgmt
  role-name: ResourceDirectoryAccountAccessRole
`},
		{"role-arn", `accounts:
  - name: mgmt
    credentials: {source: env}
  - name: prod
    id: "2222000000000002"
    credentials:
      source: role-arn
      role-arn: acs:ram::2222000000000002:role/ResourceDirectoryAccountAccessRole
`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			limit(t)
			e := newE2E(t, orgFromFile(t, "multi-account.yaml"))
			cfg := e.fileSinkConfig(tc.conf)
			r := e.run("", "--key-id", "LTAI5tFAKEMULTIORDERS001", "--yes", "--config", cfg, "--output", "json")
			wantCode(t, r, 0)
			rep := decodeReport(t, r)
			if res := rep.Results[0].Result; res == nil || res.Outcome != "remediated" || res.UserName != "orders-svc" {
				t.Fatalf("result %+v", res)
			}
			member := e.memberRAM("2222000000000002", "ResourceDirectoryAccountAccessRole")
			ids := listKeys(t, member, "orders-svc")
			id, secret := e.sinkCredential("orders-svc")
			if len(ids) != 1 || ids[0] != id {
				t.Fatalf("member keys %v, sink holds %s", ids, id)
			}
			if err := e.authenticates(id, secret); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The README's flow: respond sandbox serve in one process, respond in another, pointed at it by
// the three printed lines.
func TestE2ESandboxServe(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromFile(t, "small.yaml")) // for the home and state directories only
	srv, vars := serveSandbox(t, e)
	cfg := e.fileSinkConfig("")
	r := e.runRaw("", "--key-id", demoLeak, "--yes", "--config", cfg, "--state-dir", e.state)
	wantCode(t, r, 0)
	mustContain(t, "summary", r.Stdout, "remediated", "stored by app-file", e.sinkDir())
	// Check the served emulator through the SDK.
	cred := credentials.NewStaticAKCredentialsProvider(vars["ALIBABA_CLOUD_ACCESS_KEY_ID"], vars["ALIBABA_CLOUD_ACCESS_KEY_SECRET"])
	rc, err := sdkram.NewClientWithOptions("cn-hangzhou", sdk.NewConfig().WithScheme("HTTP"), cred)
	if err != nil {
		t.Fatal(err)
	}
	rc.Domain = vars["RESPOND_ENDPOINT"]
	ids := listKeys(t, rc, demoUser)
	id, secret := e.sinkCredential(demoUser)
	if len(ids) != 2 || !slices.Contains(ids, demoKeep) || !slices.Contains(ids, id) || slices.Contains(ids, demoLeak) {
		t.Fatalf("keys %v, sink %s", ids, id)
	}
	sc2, err := sts.NewClientWithOptions("cn-hangzhou", sdk.NewConfig().WithScheme("HTTP"), credentials.NewStaticAKCredentialsProvider(id, secret))
	if err != nil {
		t.Fatal(err)
	}
	sc2.Domain = vars["RESPOND_ENDPOINT"]
	if _, err := sc2.GetCallerIdentity(sts.CreateGetCallerIdentityRequest()); err != nil {
		t.Fatalf("the stored secret does not authenticate: %v", err)
	}
	_ = srv.Process.Signal(os.Interrupt)
	done := make(chan error, 1)
	go func() { done <- srv.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("sandbox serve after SIGINT: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("sandbox serve did not stop on SIGINT")
	}
}
