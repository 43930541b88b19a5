package rotate

import (
	"slices"
	"strings"
	"testing"

	"github.com/respond-dev/respond/ram"
)

// A search that found no owner is "not found" only where a strategy that answers for every RAM
// user of an account (ims, scan) completed in it.
func TestUncovered(t *testing.T) {
	ok := func(s, a string) ram.StrategyReport { return ram.StrategyReport{Strategy: s, AccountID: a} }
	failed := func(s, a string) ram.StrategyReport {
		return ram.StrategyReport{Strategy: s, AccountID: a, Error: "refused"}
	}
	for _, tc := range []struct {
		name  string
		tried []ram.StrategyReport
		want  []string
	}{
		{"ims everywhere", []ram.StrategyReport{ok("ims", "1"), ok("ims", "2")}, nil},
		{"scan where ims was refused", []ram.StrategyReport{ok("ims", "1"), failed("ims", "2"), ok("scan", "2")}, nil},
		{"ims refused, no scan", []ram.StrategyReport{ok("ims", "1"), failed("ims", "2"), ok("actiontrail", "2"), ok("self", "2")}, []string{"2"}},
		{"not entered", []ram.StrategyReport{ok("ims", "1"), failed("enter", "2"), failed("ims", "2"), failed("scan", "2")}, []string{"2"}},
		{"only partial strategies", []ram.StrategyReport{ok("actiontrail", "1"), ok("self", "1"), ok("actiontrail", "2")}, []string{"1", "2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := uncovered(&ram.NotFoundError{AccountIDs: []string{"1", "2"}, Tried: tc.tried}); !slices.Equal(got, tc.want) {
				t.Errorf("uncovered %v, want %v", got, tc.want)
			}
		})
	}
	// why an account not entered was not searched is said once, not per strategy
	got := triedErrors([]ram.StrategyReport{ok("ims", "1"), failed("self", "1"), failed("enter", "2"), failed("ims", "2")}, []string{"2"})
	if !slices.Equal(got, []string{"enter in 2: refused"}) {
		t.Errorf("tried errors %q", got)
	}
}

// The text says whose ActionTrail was read before any event, and a trail not the owner's in
// capitals with why.
func TestAssessReportText(t *testing.T) {
	for _, tc := range []struct {
		name  string
		trail AssessTrail
		want  string
	}{
		{"owner", AssessTrail{Account: ram.Account{ID: "2", Name: "prod"}, By: TrailOwner, Strategy: "ims", UserName: "orders"},
			"ActionTrail of account prod (2), the owner's: RAM user orders, found by ims.\n"},
		{"root", AssessTrail{Account: ram.Account{ID: "1"}, By: TrailOwner, Strategy: "self"},
			"ActionTrail of account 1, the owner's: the root account, found by self.\n"},
		{"home", AssessTrail{Account: ram.Account{ID: "1", Name: "mgmt"}, By: TrailHome, NotFound: true, Problem: "owner not found (x)\x1b[2J"},
			"NOT THE OWNER'S ACCOUNT: ActionTrail of respond's home account mgmt (1): owner not found (x)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b strings.Builder
			if err := (AssessReport{KeyID: "LTAI5tFAKEASSESS00000001", Trail: tc.trail}).WriteText(&b); err != nil {
				t.Fatal(err)
			}
			head, _, _ := strings.Cut(b.String(), "\n")
			if rest := strings.TrimPrefix(b.String(), head+"\n"); !strings.HasPrefix(rest, tc.want) || strings.Contains(rest, "\x1b") {
				t.Errorf("text:\n%s\nwant after the first line:\n%s", b.String(), tc.want)
			}
		})
	}
}
