package main

import (
	"cmp"
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// buildInfo is what the build recorded of respond: the module version ("devel" for a plain go
// build), and, when built from a git checkout with VCS stamping (not -buildvcs=false), the commit,
// whether the tree had changes, and the commit's time (Go records no build time: builds are
// reproducible).
type buildInfo struct {
	Version  string `json:"version"`
	Commit   string `json:"commit,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Date     string `json:"commit_date,omitempty"`
	Go       string `json:"go"`
}

func readBuildInfo() buildInfo { return buildInfoOf(debug.ReadBuildInfo()) }

func buildInfoOf(bi *debug.BuildInfo, ok bool) buildInfo {
	b := buildInfo{Version: "devel", Go: runtime.Version()}
	if !ok {
		return b
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		b.Version = v
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.time":
			b.Date = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

// String is one line: "v1.2.0 (commit 0123abc, 2026-11-20T10:00:00Z, go1.26.0)".
func (b buildInfo) String() string {
	if b.Commit == "" {
		return fmt.Sprintf("%s (no commit recorded: built without VCS information; %s)", b.Version, b.Go)
	}
	c := b.Commit[:min(len(b.Commit), 12)]
	if b.Modified {
		c += ", modified"
	}
	return fmt.Sprintf("%s (commit %s, %s, %s)", b.Version, c, b.Date, b.Go)
}

// version is respond's module version as the build recorded it ("devel" for a plain go build).
func version() string { return readBuildInfo().Version }

// userAgent marks respond's own API calls, so that ActionTrail summaries can leave them out.
func userAgent() string { return "respond/" + version() }

func newCmdVersion(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print respond's version, commit and commit date (also respond --version)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if asJSON, err := f.outputJSON(); asJSON || err != nil {
				return cmp.Or(err, writeJSON(f.Streams.Out, readBuildInfo()))
			}
			_, err := fmt.Fprintf(f.Streams.Out, "respond %s\n", readBuildInfo())
			return err
		},
	}
}
