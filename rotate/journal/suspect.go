package journal

import (
	"fmt"
	"strconv"

	"github.com/respond-dev/respond/ram/accesskey"
)

// The journal is a memory, not an authority (design §6 rule 9): respond resumes only what the
// cloud confirms. suspect finds, without the cloud, the signs that respond did not write a journal
// as it stands (it was planted or edited): a resume does not trust such a journal, and `respond
// status` does not offer to resume it.

// maxSuspect bounds the problems one journal reports.
const maxSuspect = 8

// suspect lists what is wrong with recs as a journal respond wrote: every run starts with a begin
// record, every record has a time, every replacement respond created has the intent of its create
// before the result, and every record names the same owner.
func suspect(recs []Record) []string {
	var out []string
	add := func(format string, a ...any) {
		if len(out) < maxSuspect {
			out = append(out, fmt.Sprintf(format, a...))
		}
	}
	if len(recs) > 0 && recs[0].Kind != KindBegin {
		add("it does not start with a begin record")
	}
	var acct, user string
	intent := map[string]bool{} // run ids with a create intent
	for i, r := range recs {
		line := strconv.Itoa(i + 1)
		if r.KeyID != recs[0].KeyID {
			add("record %s is about key %s, record 1 about %s", line, accesskey.Printable(r.KeyID), accesskey.Printable(recs[0].KeyID))
		}
		if r.Time.IsZero() {
			add("record %s has no time", line)
		}
		if r.AccountID != "" || r.UserName != "" {
			switch {
			case acct == "" && user == "":
				acct, user = r.AccountID, r.UserName
			case r.AccountID != acct || r.UserName != user:
				add("record %s names user %s in account %s, an earlier one user %s in account %s",
					line, accesskey.Printable(r.UserName), accesskey.Printable(r.AccountID), accesskey.Printable(user), accesskey.Printable(acct))
			}
		}
		if r.Action != "ram:CreateAccessKey" {
			continue
		}
		switch r.Kind {
		case KindIntent:
			intent[r.RunID] = true
		case KindResult:
			if r.NewKeyID != "" && !intent[r.RunID] {
				add("record %s says respond created %s, with no intent to create before it", line, accesskey.Printable(r.NewKeyID))
			}
		}
	}
	return out
}
