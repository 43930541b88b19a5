package journal

import (
	"strings"
	"testing"
	"time"
)

// A journal respond wrote has none of the signs suspect looks for; planted or edited ones do.
func TestSuspect(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const key, user = "LTAI5tMYCr1pxcx4vz2o7riE", "ci-deploy"
	r := func(seq int, kind, action, newKey string) Record {
		return Record{Seq: seq, Time: at.Add(time.Duration(seq) * time.Second), RunID: "run1", Kind: kind, Action: action,
			KeyID: key, AccountID: "1", UserName: user, NewKeyID: newKey, Outcome: OutcomeDone}
	}
	written := []Record{
		r(1, KindBegin, "", ""),
		r(2, KindIntent, "ram:CreateAccessKey", ""),
		r(3, KindResult, "ram:CreateAccessKey", "LTAI5tNEW000000000000001"),
		r(4, KindEnd, "", ""),
	}
	tests := []struct {
		name string
		edit func([]Record) []Record
		want string // "" for none
	}{
		{"as written", func(rs []Record) []Record { return rs }, ""},
		{"no begin", func(rs []Record) []Record { return rs[1:] }, "does not start with a begin record"},
		{"no time", func(rs []Record) []Record { rs[1].Time = time.Time{}; return rs }, "record 2 has no time"},
		{"a create result without its intent", func(rs []Record) []Record { return append(rs[:1:1], rs[2:]...) }, "record 2 says respond created LTAI5tNEW000000000000001, with no intent"},
		{"another run's intent", func(rs []Record) []Record { rs[1].RunID = "run0"; return rs }, "with no intent to create"},
		{"two owners", func(rs []Record) []Record { rs[3].UserName = "auditor"; return rs }, "record 4 names user auditor in account 1, an earlier one user ci-deploy"},
		{"another key", func(rs []Record) []Record { rs[2].KeyID = "LTAI5tOTHERKEY0000000001"; return rs }, "record 3 is about key LTAI5tOTHERKEY0000000001"},
		{"escapes in a name", func(rs []Record) []Record { rs[3].UserName = "\x1b[2Jx"; return rs }, `names user \x1b[2Jx`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := tt.edit(append([]Record(nil), written...))
			got := strings.Join(Summarize(recs).Suspect, "; ")
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("Suspect = %q, want %q", got, tt.want)
			}
		})
	}
}
