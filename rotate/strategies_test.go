package rotate

import (
	"slices"
	"strings"
	"testing"
)

func TestParseStrategies(t *testing.T) {
	for _, tc := range []struct {
		list    string
		want    []string
		wantErr string
	}{
		{"", nil, ""},
		{"scan", []string{"scan"}, ""},
		{"ims, scan,caller", []string{"ims", "scan", "caller"}, ""},
		{"ims,,scan", nil, `unknown strategy ""`},
		{"ims,guess", nil, `unknown strategy "guess"; known: ims, actiontrail, scan, self, recycle-bin, secret-match, caller`},
	} {
		t.Run(tc.list, func(t *testing.T) {
			got, err := ParseStrategies(tc.list)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("ParseStrategies(%q) = %v, %v; want %v", tc.list, got, err, tc.want)
			}
		})
	}
}
