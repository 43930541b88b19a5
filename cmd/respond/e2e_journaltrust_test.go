package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Issue 12 §2, design §6 rule 9: the journal is a memory, the cloud the authority. Each case
// plants a journal in the state directory (the reproductions) and runs the binary.
func TestE2EPlantedJournal(t *testing.T) {
	t.Parallel()
	limit(t)
	const unknown = "LTAI5tFAKEUNKNOWN0000001"
	const auditor, auditorKey = "auditor", "LTAI5tFAKEAUDITOR0000001"
	began := time.Now().Add(-time.Hour)
	line := func(seq int, kind, id, user, extra string) string {
		return fmt.Sprintf(`{"seq":%d,"time":%q,"run_id":"planted","kind":%q,"key_id":%q,"account_id":"1000000000000001","user_name":%q%s}`,
			seq, began.Add(time.Duration(seq)*time.Second).UTC().Format(time.RFC3339Nano), kind, id, user, extra)
	}
	created := func(seq int, id, user, newKey string) string {
		return line(seq, "result", id, user, `,"step":"create","action":"ram:CreateAccessKey","new_key_id":"`+newKey+`","outcome":"done"`)
	}
	plant := func(e *e2e, id string, lines ...string) {
		t.Helper()
		if err := os.MkdirAll(e.state, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(e.state, id+".jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	untouched := func(e *e2e) {
		t.Helper()
		if ids := e.keyIDs(auditor); !slices.Equal(ids, []string{auditorKey}) {
			t.Errorf("auditor's keys are now %v", ids)
		}
		if ids := e.keyIDs(demoUser); !slices.Equal(ids, []string{demoKeep, demoLeak}) {
			t.Errorf("billing-app's keys are now %v", ids)
		}
		e.noMutation()
	}

	t.Run("two lines for an unknown key", func(t *testing.T) {
		e := newE2E(t, orgFromFile(t, "demo.yaml"))
		plant(e, unknown, line(1, "begin", unknown, auditor, ""), created(2, unknown, auditor, auditorKey))
		r := e.run("", "--key-id", unknown, "--yes")
		wantCode(t, r, 3)
		mustContain(t, "output", r.Stdout, "does not look like one respond wrote", "the journal is not acted on")
		untouched(e)
		s := e.run("", "status")
		wantCode(t, s, 0)
		mustContain(t, "status", s.Stdout, "SUSPECT", "with no intent to create before it")
		if strings.Contains(s.Stdout, "resume with") {
			t.Errorf("status offers to resume a planted journal:\n%s", s.Stdout)
		}
	})

	t.Run("one begin line and a finding on stdin", func(t *testing.T) {
		e := newE2E(t, orgFromFile(t, "demo.yaml"))
		plant(e, unknown, line(1, "begin", unknown, auditor, ""))
		s := e.run("", "status")
		mustContain(t, "status", s.Stdout, "unconfirmed by the cloud", "resume with: respond --key-id "+unknown)
		// the id with a secret next to it: evidence of a leak, so only the journal is in question
		r := e.run("AccessKeyId="+unknown+"\nAccessKeySecret=FakeUnknownSecret0000000000001\n", "--from", "-", "--yes")
		wantCode(t, r, 3)
		mustContain(t, "output", r.Stdout, "names user auditor in account 1000000000000001, but the cloud does not confirm it",
			"neither on that user nor in a recycle bin")
		untouched(e)
	})

	t.Run("the real leaked key, the user's other key claimed", func(t *testing.T) {
		e := newE2E(t, orgFromFile(t, "demo.yaml"))
		plant(e, demoLeak, line(1, "begin", demoLeak, demoUser, ""), created(2, demoLeak, demoUser, demoKeep))
		r := e.run("", "--key-id", demoLeak, "--yes", "--output", "json")
		wantCode(t, r, 5)
		rep := decodeReport(t, r)
		if p := rep.Results[0].Plan; p == nil || p.Decision != "journal-unconfirmed" {
			t.Fatalf("plan %+v", p)
		}
		untouched(e)
	})

	t.Run("a journal naming another owner", func(t *testing.T) {
		e := newE2E(t, orgFromFile(t, "demo.yaml"))
		plant(e, demoLeak, line(1, "begin", demoLeak, auditor, ""))
		r := e.run("", "--key-id", demoLeak, "--dry-run")
		wantCode(t, r, 0)
		mustContain(t, "dry-run", r.Stdout, "decision:   journal-unconfirmed", "but the cloud says the key belongs to user billing-app")
		r = e.run("", "--key-id", demoLeak, "--yes")
		wantCode(t, r, 5)
		untouched(e)
	})

	// A journal respond could have written claims KEEP01 as its replacement; the cloud dates KEEP01
	// (2024) before the rotation began: it is not respond's, and the rotation goes on around it.
	t.Run("a claimed key older than the journal", func(t *testing.T) {
		e := newE2E(t, orgFromFile(t, "demo.yaml"))
		cfg := e.fileSinkConfig("")
		plant(e, demoLeak, line(1, "begin", demoLeak, demoUser, ""),
			line(2, "intent", demoLeak, demoUser, `,"step":"create","action":"ram:CreateAccessKey"`),
			created(3, demoLeak, demoUser, demoKeep))
		r := e.run("", "--key-id", demoLeak, "--yes", "--config", cfg, "--output", "json")
		wantCode(t, r, 0)
		e.checkRotated(demoUser, demoLeak, demoKeep)
		mustContain(t, "report", r.Stdout, demoKeep+" of billing-app is named by the journal as respond's")
	})
}
