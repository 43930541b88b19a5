package rotate

import (
	"context"
	"errors"
	"fmt"
	"github.com/respond-dev/respond/ram/accesskey"
	"strings"
	"time"

	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/rotate/assess"
)

// ActionTrail is regional (issue 21): the assessment asks every region ActionTrail lists, or the
// regions the configuration names (assess.regions), and says which it did not look at.

// collectEvents reads the events of q in the regions (empty: every region ActionTrail lists). A
// partial collection (some regions failed or were not asked) is returned with a nil error: its
// Coverage says what is missing (see assessWarnings). The error is for a read that found nothing
// to go on: no region answered.
func collectEvents(ctx context.Context, api assess.EventLister, q ram.EventQuery, regions []string) (assess.Collection, error) {
	col, err := assess.CollectRegions(ctx, api, q, assess.Scope{Regions: regions})
	if err != nil && !errors.Is(err, assess.ErrPartial) {
		return col, err
	}
	return col, nil
}

// summarizeEvents is the assessment of a collection over the window that ends at now: with where
// it looked, and ActionTrail's documented lag (events of the last minutes may not show yet).
func summarizeEvents(events []ram.Event, cov *assess.Coverage, window time.Duration, now time.Time, ownUA string) assess.Assessment {
	return assess.Summarize(events, assess.Options{Window: window, Now: now, OwnUserAgent: ownUA, Lag: assess.DefaultLag, Coverage: cov})
}

// partialWarning is the warning of an assessment that did not look everywhere, or "".
func partialWarning(a *assess.Assessment) string {
	if a == nil || !a.Partial || a.Coverage == nil {
		return ""
	}
	c := a.Coverage
	var missing []string
	for _, r := range c.Regions {
		switch {
		case r.Status == assess.RegionFailed:
			missing = append(missing, r.Region+" failed ("+accesskey.OneLine(r.Reason)+")")
		case r.Status == assess.RegionSkipped && r.Reason != "" && !strings.HasPrefix(r.Reason, "not in the configured"):
			missing = append(missing, r.Region+" skipped ("+r.Reason+")")
		}
	}
	if c.ListError != "" && c.Source == assess.SourceClient {
		missing = append(missing, "ActionTrail's region list failed ("+accesskey.OneLine(c.ListError)+"): asked the client's own region only")
	}
	return fmt.Sprintf("%sPARTIAL: not every ActionTrail region was looked at, so the counts are those of the regions that answered: %s",
		AssessWarningPrefix, strings.Join(missing, "; "))
}

// regionsText says where the assess step asks ActionTrail, for the plan.
func regionsText(regions []string) string {
	if len(regions) == 0 {
		return "in every region ActionTrail lists (DescribeRegions)"
	}
	return "in " + strings.Join(regions, ", ") + " (the configuration's assess.regions)"
}
