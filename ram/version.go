package ram

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// BuildInfo is what the build recorded: the module version ("devel" for a plain go build) and,
// from a git checkout with VCS stamping (not -buildvcs=false), the commit, whether the tree had
// changes, and the commit's time (Go records no build time: builds are reproducible).
type BuildInfo struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Date     string `json:"commit_date,omitempty"`
	Go       string `json:"go"`
}

// ReadBuildInfo is this binary's BuildInfo.
func ReadBuildInfo() BuildInfo { return buildInfoOf(debug.ReadBuildInfo()) }

func buildInfoOf(bi *debug.BuildInfo, ok bool) BuildInfo {
	b := BuildInfo{Version: "devel", Go: runtime.Version()}
	if !ok {
		return b
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		b.Version = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value[:min(len(s.Value), 12)]
		case "vcs.time":
			b.Date = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// String is one line: "v1.2.0 (commit 0123456789ab, 2026-11-20T10:00:00Z, go1.26.0)".
func (b BuildInfo) String() string {
	switch {
	case b.Commit == "":
		return fmt.Sprintf("%s (no commit recorded: built without VCS information; %s)", b.Version, b.Go)
	case b.Modified:
		return fmt.Sprintf("%s (commit %s, modified, %s, %s)", b.Version, b.Commit, b.Date, b.Go)
	}
	return fmt.Sprintf("%s (commit %s, %s, %s)", b.Version, b.Commit, b.Date, b.Go)
}

// WriteText is respond version's line: "respond " and String.
func (b BuildInfo) WriteText(w io.Writer) error {
	_, err := fmt.Fprintf(w, "respond %s\n", b)
	return err
}

// UserAgent marks respond's own API calls ("respond/" and the version), so that ActionTrail
// summaries can leave them out.
func UserAgent() string { return UserAgentPrefix + ReadBuildInfo().Version }
