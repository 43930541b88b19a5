package ram

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestBuildInfo(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i+1 < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	for _, tc := range []struct {
		name string
		bi   *debug.BuildInfo
		ok   bool
		want string // String() without the Go version
	}{
		{"no build information", nil, false, "devel (no commit recorded: built without VCS information; "},
		{"go build with -buildvcs=false (CI)", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, true,
			"devel (no commit recorded: built without VCS information; "},
		{"go install of a tagged version", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.0"}, Settings: vcs(
			"vcs.revision", "0123456789abcdef0123", "vcs.time", "2026-11-20T10:00:00Z", "vcs.modified", "false")}, true,
			"v1.2.0 (commit 0123456789ab, 2026-11-20T10:00:00Z, "},
		{"a build from a changed checkout", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261120100000-0123456789ab+dirty"}, Settings: vcs(
			"vcs.revision", "0123456789abcdef0123", "vcs.time", "2026-11-20T10:00:00Z", "vcs.modified", "true")}, true,
			"v0.0.0-20261120100000-0123456789ab+dirty (commit 0123456789ab, modified, 2026-11-20T10:00:00Z, "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := buildInfoOf(tc.bi, tc.ok).String()
			if !strings.HasPrefix(got, tc.want) || !strings.HasSuffix(got, ")") {
				t.Errorf("String() = %q, want %q…)", got, tc.want)
			}
		})
	}
}
