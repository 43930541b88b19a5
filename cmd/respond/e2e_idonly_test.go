package main

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// Issue 12 §1: a key id is not a secret. An id-only finding from --from is refused (exit 5, outcome
// id-only) and says how to act anyway; nothing about it is asked of the cloud or changed.
func TestE2EIDOnly(t *testing.T) {
	t.Parallel()
	limit(t)
	const planted = "see OSSAccessKeyId=" + demoKeep + "\n"

	// The reproduction, exactly: the sandbox used to delete KEEP01.
	sb := newE2E(t, orgFromFile(t, "small.yaml"))
	r := sb.runRaw(planted, "--sandbox", "--from", "-", "--yes", "--state-dir", sb.state)
	wantCode(t, r, 5)
	mustContain(t, "stdout", r.Stdout, "decision:   id-only", demoKeep+"  id-only", "respond --key-id "+demoKeep,
		"trust: [{source: text}]")
	if strings.Contains(r.Stdout, "remediated") || strings.Contains(r.Stderr, "delete") {
		t.Errorf("the id-only finding was acted on:\n%s", r)
	}

	// The same against the emulator, whose state the test can read: the key is still there,
	// nothing changed, and the owner search did not even run.
	e := newE2E(t, orgFromFile(t, "demo.yaml"))
	r = e.run(planted, "--from", "-", "--yes", "--output", "json")
	wantCode(t, r, 5)
	rep := decodeReport(t, r)
	mustContain(t, "report", r.Stdout, `"evidence": "none"`, `"source": "text"`)
	if len(rep.Results) != 1 || rep.Results[0].Result == nil || rep.Results[0].Result.Outcome != "id-only" ||
		rep.Results[0].Plan.Decision != "id-only" || rep.Results[0].ExitCode != 5 {
		t.Fatalf("report %+v", rep.Results)
	}
	if ids := e.keyIDs(demoUser); !slices.Contains(ids, demoKeep) || !slices.Contains(ids, demoLeak) {
		t.Fatalf("billing-app's keys are now %v", ids)
	}
	e.noMutation()
	for _, q := range e.s.RequestLog() {
		if q.Params["UserAccessKeyId"] == demoKeep || q.Params["AccessKeyId"] == demoKeep {
			t.Errorf("respond asked the cloud about the id-only key: %s %v", q.Action, q.Params)
		}
	}

	// The dry run says the same and exits 0 (a plan printed).
	r = e.run(planted, "--from", "-", "--dry-run")
	wantCode(t, r, 0)
	mustContain(t, "dry-run", r.Stdout, "decision:   id-only", "respond --key-id "+demoKeep)

	// A person naming the key is evidence enough; a rule can tell (evidence: operator).
	cfg := e.fileSinkConfig("rules:\n  - match: {evidence: [operator]}\n    playbook: contain-only\n")
	r = e.run(planted, "--key-id", demoKeep, "--from", "-", "--yes", "--config", cfg, "--output", "json")
	wantCode(t, r, 0)
	rep = decodeReport(t, r)
	if rep.Results[0].Playbook != "contain-only" || !strings.Contains(rep.Results[0].PlaybookReason, `evidence "operator"`) {
		t.Errorf("playbook %s (%s), want contain-only chosen by the evidence", rep.Results[0].Playbook, rep.Results[0].PlaybookReason)
	}
	if ids := e.keyIDs(demoUser); slices.Contains(ids, demoKeep) {
		t.Errorf("--key-id %s did not delete it: %v", demoKeep, ids)
	}
}

// Several findings from gitleaks: the one with its secret is rotated, the three ids without one
// are refused, their keys untouched; the batch exits 5. (TestE2EFromGitleaksStdin trusts gitleaks
// and rotates all four.)
func TestE2EIDOnlyMixed(t *testing.T) {
	t.Parallel()
	limit(t)
	e := newE2E(t, orgFromYAML(t, gitleaksOrg))
	in, err := os.ReadFile("../../testdata/formats/gitleaks.json")
	if err != nil {
		t.Fatal(err)
	}
	r := e.run(string(in), "--from", "-", "--yes", "--config", e.fileSinkConfig(""), "--output", "json")
	wantCode(t, r, 5)
	rep := decodeReport(t, r)
	outcomes := map[string]string{}
	for _, kr := range rep.Results {
		if kr.Result != nil {
			outcomes[kr.KeyID] = kr.Result.Outcome
		}
	}
	e.checkRotated("env-app", "LTAI5tFAKEb8HnR4sW6cJq2d")
	if outcomes["LTAI5tFAKEb8HnR4sW6cJq2d"] != "remediated" {
		t.Errorf("outcomes %v", outcomes)
	}
	for user, key := range map[string]string{"oss-app": "LTAI5tFAKEp4Gz8Kd2Ym6Rw9", "cfg-app": "LTAI5tFAKEv7Tc3Jn9Ws5Qe1", "deploy-app": "LTAI5tFAKEk3yQ9mZ7pR2wXn"} {
		if outcomes[key] != "id-only" {
			t.Errorf("%s: outcome %q, want id-only", key, outcomes[key])
		}
		if ids := e.keyIDs(user); !slices.Equal(ids, []string{key}) {
			t.Errorf("%s's keys are now %v", user, ids)
		}
	}
}
