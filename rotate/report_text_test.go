package rotate

import (
	"errors"
	"strings"
	"testing"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/ram/accesskey"
)

// A report's text: a dry run shows the plans; a batch that ran, its summary; nothing to do says
// so; plans not carried out (declined) add nothing; the Security Center lines follow a summary or
// nothing to do, never plans only.
func TestReportWriteText(t *testing.T) {
	item := &Item{Finding: detect.Finding{KeyID: accesskey.MustParseID("LTAI5tReportText0000000A")}, Err: errors.New("no owner")}
	sc := &SecurityCenterReport{Records: 2}
	for _, tc := range []struct {
		name             string
		dryRun, declined bool
		items            []*Item
		want, notWant    []string
	}{
		{"nothing to do", false, false, nil, []string{"No AccessKey ids found: nothing to do.", "Security Center: 2 pending"}, []string{"Summary"}},
		{"ran", false, false, []*Item{item}, []string{"Summary", "not run: no owner", "Security Center: 2 pending"}, []string{"cannot plan", "No AccessKey"}},
		{"dry run", true, false, []*Item{item}, []string{"cannot plan: no owner"}, []string{"Summary", "Security Center"}},
		{"declined", false, true, []*Item{item}, nil, []string{"Summary", "cannot plan", "Security Center", "No AccessKey"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReport(tc.dryRun, nil)
			r.Declined, r.SecurityCenter = tc.declined, sc
			r.AddItems(tc.items, func(Severity) int { return 0 })
			var b strings.Builder
			if err := r.WriteText(&b); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("missing %q in:\n%s", w, b.String())
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(b.String(), w) {
					t.Errorf("unexpected %q in:\n%s", w, b.String())
				}
			}
			if ran := len(tc.items) > 0 && !tc.dryRun && !tc.declined; r.Ran() != ran {
				t.Errorf("Ran() = %v, want %v", r.Ran(), ran)
			}
		})
	}
}
