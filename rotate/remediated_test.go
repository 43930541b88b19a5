package rotate

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/journal"
)

// TestRemediatedBefore: respond serve skips the engine for a key reported again only when the
// engine would find nothing to do: an id-only finding from an untrusted source, a canary, a
// journal that did not end remediated or leaves a deny policy in place, a key still in its
// owner's list all go through the engine.
func TestRemediatedBefore(t *testing.T) {
	const leaked = "LTAI5tFAKEAGAIN000000001"
	id := accesskey.MustParseID(leaked)
	ended := func(outcome journal.Outcome) []journal.Record {
		return []journal.Record{
			{RunID: "r1", Kind: journal.KindBegin, KeyID: leaked, AccountID: "1001", UserName: user},
			{RunID: "r1", Kind: journal.KindEnd, KeyID: leaked, Outcome: outcome},
		}
	}
	quarantined := append(ended(journal.OutcomeRemediated)[:1:1],
		journal.Record{RunID: "r1", Kind: journal.KindResult, KeyID: leaked, Step: "eradicate", Action: journal.ActionDenyRole,
			Target: "role/admin", Policy: "respond-deny-r1", Expires: time.Now().Add(-time.Hour), Outcome: journal.OutcomeDone},
		journal.Record{RunID: "r1", Kind: journal.KindEnd, KeyID: leaked, Outcome: journal.OutcomeRemediated})
	// another user named half-way: not a journal respond wrote; the key may live on elsewhere
	suspect := append(ended(journal.OutcomeRemediated)[:1:1],
		journal.Record{RunID: "r1", Kind: journal.KindResult, KeyID: leaked, AccountID: "1001", UserName: "someone-else", Outcome: journal.OutcomeDone},
		journal.Record{RunID: "r1", Kind: journal.KindEnd, KeyID: leaked, Outcome: journal.OutcomeRemediated})
	pair := detect.Finding{KeyID: id, Kind: detect.KindAccessKey, Secret: accesskey.NewSecret("FakeAgainSecret000000000000001"),
		Evidence: detect.EvidenceSecret, Source: "text"}
	idOnly := detect.Finding{KeyID: id, Kind: detect.KindAccessKey, Evidence: detect.EvidenceNone, Source: "text"}
	trusting, err := playbooks.ParseConfig("c.yaml", []byte("trust: [{source: text}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	canary, err := playbooks.ParseConfig("c.yaml", []byte("canaries: ["+leaked+"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		records []journal.Record
		conf    *playbooks.Config
		f       detect.Finding
		present bool // the key is still in its owner's list
		want    bool
	}{
		{"remediated and gone", ended(journal.OutcomeRemediated), nil, pair, false, true},
		{"found already remediated", ended(journal.OutcomeAlreadyRemediated), nil, pair, false, true},
		{"still there", ended(journal.OutcomeRemediated), nil, pair, true, false},
		{"no journal", nil, nil, pair, false, false},
		{"ended partial", ended(journal.OutcomePartial), nil, pair, false, false},
		{"an id alone from an untrusted source", ended(journal.OutcomeRemediated), nil, idOnly, false, false},
		{"an id alone from a trusted source", ended(journal.OutcomeRemediated), trusting, idOnly, false, true},
		{"a canary", ended(journal.OutcomeRemediated), canary, pair, false, false},
		{"a deny policy left in place", quarantined, nil, pair, false, false},
		{"a journal respond did not write", suspect, nil, pair, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if len(tt.records) > 0 {
				j, err := journal.Open(dir, id)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range tt.records {
					if _, err := j.Append(r); err != nil {
						t.Fatal(err)
					}
				}
				_ = j.Close()
			}
			f := newFake(user)
			if tt.present {
				f = newFake(user, leaked)
			}
			b := &Batch{Session: newFakeConn(f, nil), Config: tt.conf, StateDir: dir}
			_, got, err := b.RemediatedBefore(context.Background(), tt.f)
			if err != nil || got != tt.want {
				t.Errorf("RemediatedBefore = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

// respond status's command to remove a deny policy is the one that resumes the key's rotation,
// as its journal recorded it (the state directory, the configuration), like its resume command:
// a bare respond --key-id reads another state directory's journals and never learns of the
// policy.
func TestStatusQuarantineRemoveCommand(t *testing.T) {
	const leaked = "LTAI5tFAKEAGAIN000000001"
	const cmd = "respond --key-id " + leaked + " --yes --state-dir /srv/respond --config /etc/respond/config.yaml"
	dir := t.TempDir()
	j, err := journal.Open(dir, accesskey.MustParseID(leaked))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []journal.Record{
		{RunID: "r1", Kind: journal.KindBegin, KeyID: leaked, AccountID: "1001", UserName: user, Command: cmd},
		{RunID: "r1", Kind: journal.KindResult, KeyID: leaked, Step: "eradicate", Action: journal.ActionDenyRole,
			Target: "role/admin", Policy: "respond-deny-r1", Expires: time.Now().Add(time.Hour), Outcome: journal.OutcomeDone},
		{RunID: "r1", Kind: journal.KindEnd, KeyID: leaked, Outcome: journal.OutcomeRemediated},
	} {
		if _, err := j.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	_ = j.Close()
	st, err := ReadStatusAt(dir, true, time.Now())
	if err != nil || len(st.Quarantines) != 1 {
		t.Fatalf("status %+v, %v", st.Quarantines, err)
	}
	if got := st.Quarantines[0].Remove; got != cmd {
		t.Errorf("remove with %q, want the journal's %q", got, cmd)
	}
}

// What respond status says of a deny policy comes from a journal, which may have been edited:
// its text shows a control sequence in any of those fields, never obeys it.
func TestStatusQuarantineTextEscapesTheJournal(t *testing.T) {
	const esc = "\x1b]0;owned\a\x1b[2J"
	for _, expired := range []bool{true, false} {
		st := Status{Quarantines: []StatusQuarantine{{
			Quarantine: journal.Quarantine{Policy: "respond-deny" + esc, Target: "role/admin" + esc, Expires: time.Now().Add(time.Hour), Step: "eradicate", Attached: true},
			KeyID:      "LTAI5tFAKEAGAIN000000001" + esc, AccountID: "1001" + esc, Expired: expired, Remove: "respond --key-id x" + esc}}}
		var b strings.Builder
		writeQuarantinesText(&b, st)
		if got := b.String(); strings.ContainsAny(got, "\x1b\a") || strings.Count(got, `\x1b]0;owned`) != 5 {
			t.Errorf("expired %v: a journal's control sequence reached the text (or a field is missing):\n%q", expired, got)
		}
	}
}
