package assess

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/respond-dev/respond/ram"
)

// ActionTrail is regional: a region answers with its own events plus the global ones (RAM, IMS,
// STS…), so an assessment asks every region ActionTrail lists (or the regions the configuration
// names), each at its own pace, and counts every global event once. The regions asked, what each
// answered and any region that failed or was skipped go into the Coverage, so that "no events"
// never silently means "did not look".

// DefaultParallel is how many regions are asked at once.
const DefaultParallel = 10

// DefaultLag is how long ActionTrail takes to show an event (documented: about 10 minutes).
const DefaultLag = 10 * time.Minute

// ErrPartial is wrapped by CollectRegions' error when some regions were asked and answered and
// others failed or were skipped: the events are those of the regions that answered.
var ErrPartial = errors.New("partial assessment: not every region was looked at")

// Region statuses in Coverage.
const (
	RegionOK      = "ok"
	RegionFailed  = "failed"
	RegionSkipped = "skipped"
)

// Sources of the region list.
const (
	SourceActionTrail = "actiontrail" // every region ActionTrail DescribeRegions lists
	SourceConfigured  = "configured"  // the regions Scope names (assess.regions, --region)
	SourceClient      = "client"      // the client's own region: the lister cannot list regions
)

// DefaultRegionLabel names the client's own region when the lister does not say which it is.
const DefaultRegionLabel = "(client region)"

// RegionLister lists the regions ActionTrail serves; *ram.Client implements it. A lister that does
// not is asked in its own region only (Coverage.Source "client").
type RegionLister interface {
	DescribeTrailRegions(ctx context.Context) ([]ram.Region, error)
}

// Scope says which regions an assessment asks.
type Scope struct {
	// Regions are the regions to ask; empty means every region ActionTrail lists. The regions
	// ActionTrail lists beyond them are reported as skipped.
	Regions []string
	// Parallel bounds how many regions are asked at once (0 means DefaultParallel).
	Parallel int
}

// RegionResult is what one region answered.
type RegionResult struct {
	Region string `json:"region"`
	Status string `json:"status"` // ok, failed, skipped
	// Events is how many of the key's events the region holds itself; Global how many global
	// events it returned as well (the same in every region: counted once overall).
	Events int    `json:"events"`
	Global int    `json:"global"`
	Reason string `json:"reason,omitempty"` // why it failed or was skipped
}

// Coverage is where an assessment looked.
type Coverage struct {
	Source  string         `json:"source"` // actiontrail, configured or client
	Regions []RegionResult `json:"regions"`
	Asked   int            `json:"asked"`
	Failed  int            `json:"failed"`
	Skipped int            `json:"skipped"`
	// Partial is true when a region that should have been asked failed or was not asked (a
	// region left out by the configuration does not make it partial: it is listed as skipped).
	Partial bool `json:"partial"`
	// ListError is why ActionTrail's region list could not be read, when it could not.
	ListError string `json:"list_error,omitempty"`
	// GlobalEvents counts the distinct global events (each seen in every region asked).
	GlobalEvents int `json:"global_events"`
}

// Collection is the events of every region asked, each once, and where they were looked for.
type Collection struct {
	Events   []ram.Event
	Coverage Coverage
}

// Summarize summarises the collection, with its coverage and per-region counts.
func (c Collection) Summarize(opts Options) Assessment {
	cov := c.Coverage
	opts.Coverage = &cov
	return Summarize(c.Events, opts)
}

// skip reasons
const (
	reasonNotConfigured = "not in the configured regions"
	reasonNotListed     = "ActionTrail does not list this region"
	reasonNotRegion     = "not a region id"
	reasonCancelled     = "not asked: the assessment was cancelled"
)

// CollectRegions reads every event of q signed by q.AccessKeyID in every region of scope (or
// q.Region alone when set and scope names none), asking up to scope.Parallel regions at once,
// and counts each event once. The error is nil when every region that should be asked answered;
// it wraps ErrPartial (and the regions' errors) when some did, or the error of the regions when
// none did. The collection is returned in every case.
func CollectRegions(ctx context.Context, api EventLister, q ram.EventQuery, scope Scope) (Collection, error) {
	cov := Coverage{Regions: []RegionResult{}}
	wanted := scope.Regions
	if len(wanted) == 0 && q.Region != "" {
		wanted = []string{q.Region}
	}
	var ask []string
	switch lister, ok := api.(RegionLister); {
	case ok:
		listed, err := lister.DescribeTrailRegions(ctx)
		if err != nil {
			cov.ListError = err.Error()
		}
		ask = cov.plan(wanted, listed, err == nil)
	case len(wanted) > 0:
		cov.Source = SourceConfigured
		ask = cov.plan(wanted, nil, false)
	default:
		cov.Source = SourceClient
		ask = []string{""}
		cov.Regions = append(cov.Regions, RegionResult{Region: DefaultRegionLabel})
	}
	found, errs := askRegions(ctx, api, q, ask, scope.Parallel)
	events := cov.merge(ask, found, errs)
	err := cov.finish(ctx, q, errs)
	return Collection{Events: events, Coverage: cov}, err
}

// plan fills the regions to report and returns the ones to ask, in order.
func (cov *Coverage) plan(wanted []string, listed []ram.Region, haveList bool) []string {
	var ask []string
	add := func(r, status, reason string) {
		cov.Regions = append(cov.Regions, RegionResult{Region: r, Status: status, Reason: reason})
		if status == "" {
			ask = append(ask, r)
		}
	}
	isListed := func(r string) bool {
		return slices.ContainsFunc(listed, func(x ram.Region) bool { return x.ID == r })
	}
	switch {
	case len(wanted) == 0 && haveList:
		cov.Source = SourceActionTrail
		for _, r := range listed {
			add(r.ID, "", "")
		}
	case len(wanted) == 0:
		// No list: the client's own region is better than nothing, and the result says so.
		cov.Source = SourceClient
		add(DefaultRegionLabel, "", "")
		cov.Partial = true
	default:
		cov.Source = SourceConfigured
		seen := map[string]bool{}
		for _, r := range wanted {
			switch {
			case seen[r]:
				continue
			case !ram.ValidRegion(r):
				add(r, RegionSkipped, reasonNotRegion)
				cov.Partial = true
			case haveList && !isListed(r):
				add(r, RegionSkipped, reasonNotListed)
				cov.Partial = true
			default:
				add(r, "", "")
			}
			seen[r] = true
		}
		for _, r := range listed {
			if !seen[r.ID] {
				add(r.ID, RegionSkipped, reasonNotConfigured)
			}
		}
	}
	for i := range cov.Regions {
		if cov.Regions[i].Status == RegionSkipped {
			cov.Skipped++
		}
	}
	return ask
}

// askRegions asks each region of ask (the label DefaultRegionLabel: the client's own) with up to
// parallel at once. found[i] and errs[i] belong to ask[i]; a region never started because ctx
// ended has errs[i] = errNotAsked.
func askRegions(ctx context.Context, api EventLister, q ram.EventQuery, ask []string, parallel int) ([][]ram.Event, []error) {
	if parallel <= 0 {
		parallel = DefaultParallel
	}
	found := make([][]ram.Event, len(ask))
	errs := make([]error, len(ask))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, r := range ask {
		started := ctx.Err() == nil
		if started {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				started = false
			}
		}
		if !started {
			for j := i; j < len(ask); j++ {
				errs[j] = errNotAsked
			}
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			rq := q
			if r != DefaultRegionLabel {
				rq.Region = r
			}
			errs[i] = api.LookupEvents(ctx, rq, func(e ram.Event) error {
				if e.Region == "" && rq.Region != "" {
					e.Region = rq.Region
				}
				found[i] = append(found[i], e)
				return ctx.Err()
			})
		})
	}
	wg.Wait()
	return found, errs
}

var errNotAsked = errors.New(reasonCancelled)

// globalService reports the services whose events every region returns: RAM (documented), IMS
// (Alibaba's sample carries isGlobal), STS and ResourceManager (central endpoints; inferred). An
// event without isGlobal is recognised by its service, or by being returned by two regions.
func globalService(s string) bool {
	switch strings.ToLower(s) {
	case "ram", "ims", "sts", "resourcemanager":
		return true
	}
	return false
}

// eventKey identifies an event across regions.
func eventKey(e ram.Event) string {
	if e.ID != "" {
		return e.ID
	}
	return e.RequestID + "\x00" + e.Name + "\x00" + e.Time.String()
}

// merge counts every event once, in the order of the regions asked, marks as global an event
// that more than one region returned, and fills the per-region counts and statuses.
func (cov *Coverage) merge(ask []string, found [][]ram.Event, errs []error) []ram.Event {
	seenIn := map[string]int{}
	for i := range ask {
		for _, e := range found[i] {
			seenIn[eventKey(e)]++
		}
	}
	idx := map[string]int{}
	var out []ram.Event
	counts := map[string][2]int{} // region: regional, global
	for i, r := range ask {
		// A region that failed after some pages keeps them: evidence is evidence (the region
		// is still reported as failed).
		c := counts[r]
		for _, e := range found[i] {
			k := eventKey(e)
			e.Global = e.Global || seenIn[k] > 1 || globalService(e.Service)
			if e.Global {
				c[1]++
			} else {
				c[0]++
			}
			if _, dup := idx[k]; dup {
				continue
			}
			idx[k] = len(out)
			out = append(out, e)
			if e.Global {
				cov.GlobalEvents++
			}
		}
		counts[r] = c
	}
	for i := range cov.Regions {
		rr := &cov.Regions[i]
		if rr.Status == RegionSkipped {
			continue
		}
		j := slices.Index(ask, rr.Region)
		if j < 0 {
			continue
		}
		switch err := errs[j]; {
		case err == nil:
			rr.Status = RegionOK
			rr.Events, rr.Global = counts[rr.Region][0], counts[rr.Region][1]
			cov.Asked++
		case errors.Is(err, errNotAsked):
			rr.Status, rr.Reason = RegionSkipped, reasonCancelled
			cov.Skipped++
			cov.Partial = true
		default:
			rr.Status, rr.Reason = RegionFailed, regionReason(err, rr.Region)
			rr.Events, rr.Global = counts[rr.Region][0], counts[rr.Region][1]
			cov.Asked++
			cov.Failed++
			cov.Partial = true
		}
	}
	return out
}

// regionReason is the error of a region without the prefix that names the key and the region
// (ram's "look up ActionTrail events of access key K in R: "): the report names both already.
func regionReason(err error, region string) string {
	msg := err.Error()
	if i := strings.Index(msg, " in "+region+": "); i >= 0 {
		return msg[i+len(" in "+region+": "):]
	}
	return msg
}

// finish builds the error of a collection.
func (cov *Coverage) finish(ctx context.Context, q ram.EventQuery, errs []error) error {
	var failed []string
	var causes []error
	for _, rr := range cov.Regions {
		if rr.Status == RegionFailed || rr.Status == RegionSkipped && rr.Reason != reasonNotConfigured {
			failed = append(failed, rr.Region+" "+rr.Status)
		}
	}
	cancelled := false
	for _, err := range errs {
		switch {
		case errors.Is(err, errNotAsked):
			cancelled = true
		case err != nil:
			causes = append(causes, err)
		}
	}
	if cancelled && ctx.Err() != nil && !slices.ContainsFunc(causes, func(e error) bool { return errors.Is(e, ctx.Err()) }) {
		causes = append(causes, ctx.Err())
	}
	if ok := cov.Asked - cov.Failed; ok == 0 && len(causes) > 0 {
		// Nothing answered: the failure itself, as a single-region lookup reports it.
		return fmt.Errorf("look up ActionTrail events of key %s: %w", q.AccessKeyID, errors.Join(causes...))
	}
	if !cov.Partial {
		return nil
	}
	why := strings.Join(failed, ", ")
	if cov.ListError != "" && cov.Source == SourceClient {
		why = "the region list failed (" + cov.ListError + "): asked only the client's region"
	}
	return fmt.Errorf("look up ActionTrail events of key %s: %w (%s)", q.AccessKeyID, errors.Join(append([]error{ErrPartial}, causes...)...), why)
}
