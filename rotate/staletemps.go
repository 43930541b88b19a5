package rotate

import (
	"context"
	"path/filepath"
	"slices"
	"strings"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/rotate/sink"
)

// removeStaleTemps removes the temporary files (".NAME.respond-<digits>", each holding a whole
// credential) that an earlier run of this rotation left next to a file sink's target when it
// was killed between writing and renaming, for every target the journal records that this run
// will not store to again (a store to a file sink cleans up its own target first). It returns a
// note for the step's detail; a failure is a warning.
func (x *run) removeStaleTemps(ctx context.Context) []string {
	again := map[string]bool{}
	if x.p.hasStep(playbooks.StepStore) && x.replacement == "" {
		for _, s := range x.d.Sinks {
			if fs, ok := s.(*sink.File); ok {
				again[fs.Path()] = true
			}
		}
	}
	var removed []string
	for _, p := range x.st.FileTargets {
		if again[p] || !filepath.IsAbs(p) {
			continue
		}
		got, err := sink.RemoveStaleTemps(ctx, p)
		removed = append(removed, got...)
		if err != nil {
			x.warn("temporary files of an interrupted write to " + p + " could not all be removed (each holds a secret): " + err.Error())
		}
	}
	if len(removed) == 0 {
		return nil
	}
	slices.Sort(removed)
	return []string{"removed the temporary file(s) an interrupted write left behind: " + strings.Join(removed, ", ")}
}
