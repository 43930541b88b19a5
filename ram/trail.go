package ram

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/actiontrail"
)

// ActionTrail is regional: LookupEvents in a region returns that region's events plus the global
// ones (RAM, IMS, STS…), so a complete answer asks every region DescribeRegions lists. Each
// region has its own limit (2 queries per second, documented; per region is inferred), so each
// region has its own pace here, shared by every caller of a Client (one Client per account).

// DefaultLookupEventsQPS is the pace of LookupEvents in one region: ActionTrail's documented
// limit.
const DefaultLookupEventsQPS = 2

const actDescribeRegions = "DescribeRegions"

// Region is one region ActionTrail serves (DescribeRegions).
type Region struct {
	ID       string `json:"id"`                 // cn-hangzhou
	Endpoint string `json:"endpoint,omitempty"` // actiontrail.cn-hangzhou.aliyuncs.com
	Name     string `json:"name,omitempty"`     // China (Hangzhou)
}

var regionRe = regexp.MustCompile(`^[a-z]{2,}(-[a-z0-9]+)+$`)

// ValidRegion reports whether s has the shape of a region id (cn-hangzhou, ap-southeast-1): it
// becomes part of a host name.
func ValidRegion(s string) bool { return len(s) <= 64 && regionRe.MatchString(s) }

// trailState is shared by a Client and its copies.
type trailState struct {
	qps float64

	mu      sync.Mutex
	pace    map[string]*aimd
	regions []Region // DescribeRegions' answer, once it succeeded
	// listing is held while DescribeRegions is asked: callers that need the list at the same
	// time (every key of a batch in the same account) wait for one answer instead of each asking.
	listing chan struct{}
}

func newTrailState(qps float64) *trailState {
	if qps == 0 {
		qps = DefaultLookupEventsQPS
	}
	return &trailState{qps: qps, pace: map[string]*aimd{}, listing: make(chan struct{}, 1)}
}

// pacer is the pace of LookupEvents in region: at most the documented limit, slower after
// throttling; unpaced when Config.LookupEventsQPS is negative.
func (t *trailState) pacer(region string) *aimd {
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.pace[region]
	if a == nil {
		if t.qps < 0 {
			a = newClientAIMD()
		} else {
			a = newAIMD(t.qps, t.qps/20, t.qps, nil, nil)
		}
		t.pace[region] = a
	}
	return a
}

// trailHost is ActionTrail's host in region (or the configured endpoint).
func (c *Client) trailHost(region string) string {
	if c.cfg.Endpoint != "" {
		return c.cfg.Endpoint
	}
	return prodActionTrail + "." + region + ".aliyuncs.com"
}

// DescribeTrailRegions lists the regions ActionTrail serves (asked in the client's region). The
// first successful answer is remembered by the client and its copies; callers that ask while it
// is being fetched wait for it (one call per account, however many keys are assessed at once).
func (c *Client) DescribeTrailRegions(ctx context.Context) ([]Region, error) {
	if cached := c.trail.cachedRegions(); cached != nil {
		return cached, nil
	}
	select {
	case c.trail.listing <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("list ActionTrail regions: %w", ctx.Err())
	}
	defer func() { <-c.trail.listing }()
	if cached := c.trail.cachedRegions(); cached != nil {
		return cached, nil // fetched while this caller waited
	}
	var out []Region
	err := c.call(ctx, actDescribeRegions, "", func(ctx context.Context) error {
		req, resp := actiontrail.CreateDescribeRegionsRequest(), actiontrail.CreateDescribeRegionsResponse()
		if err := c.invoke(ctx, prodActionTrail, req, resp); err != nil {
			return err
		}
		out = out[:0]
		for _, r := range resp.Regions.Region {
			if !ValidRegion(r.RegionId) {
				continue // never a host name we would build
			}
			out = append(out, Region{ID: r.RegionId, Endpoint: r.RegionEndpoint, Name: r.LocalName})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list ActionTrail regions: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("list ActionTrail regions: %w", &Error{Action: actDescribeRegions, Class: ErrNotFound,
			Err: fmt.Errorf("the answer lists no region")})
	}
	c.trail.mu.Lock()
	c.trail.regions = append([]Region(nil), out...)
	c.trail.mu.Unlock()
	return out, nil
}

// cachedRegions is a copy of the remembered region list, or nil.
func (t *trailState) cachedRegions() []Region {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.regions == nil {
		return nil
	}
	return append([]Region(nil), t.regions...)
}

// LookupEvents calls fn for every ActionTrail event signed by q.AccessKeyID in [Start, End] that
// region q.Region (default: the client's) holds, the global events included, following
// NextToken to the end at the region's own pace.
func (c *Client) LookupEvents(ctx context.Context, q EventQuery, fn func(Event) error) error {
	region := q.Region
	if region == "" {
		region = c.cfg.Region
	}
	if !ValidRegion(region) {
		return fmt.Errorf("look up ActionTrail events of %s: %q is not a region id", q.subject(), region)
	}
	// The cloud takes StartTime and EndTime together or not at all.
	start, end := q.Start, q.End
	if start.IsZero() != end.IsZero() {
		if end.IsZero() {
			end = time.Now()
		} else {
			start = end.Add(-7 * 24 * time.Hour)
		}
	}
	lim, host := c.trail.pacer(region), c.trailHost(region)
	token := ""
	for {
		var page []Event
		var next string
		err := c.call(ctx, actLookupEvents, q.AccessKeyID.String(), func(ctx context.Context) error {
			req, resp := actiontrail.CreateLookupEventsRequest(), actiontrail.CreateLookupEventsResponse()
			req.RegionId = region
			req.LookupAttribute = &[]actiontrail.LookupEventsLookupAttribute{q.attribute()}
			if !start.IsZero() {
				req.StartTime = start.UTC().Format("2006-01-02T15:04:05Z")
				req.EndTime = end.UTC().Format("2006-01-02T15:04:05Z")
			}
			req.MaxResults = "50"
			req.NextToken = token
			if err := c.invokeAt(ctx, lim, host, req, resp); err != nil {
				return err
			}
			page = page[:0]
			for _, m := range resp.Events {
				page = append(page, eventFromMap(m))
			}
			next = resp.NextToken
			return nil
		})
		if err != nil {
			return fmt.Errorf("look up ActionTrail events of %s in %s: %w", q.subject(), region, err)
		}
		for _, e := range page {
			if err := fn(e); err != nil {
				return err
			}
		}
		if next == "" || next == token {
			return nil
		}
		token = next
	}
}

// str reads a field that the cloud writes as a string or a number (eventVersion is 1 in
// Alibaba's RAM/IMS samples and "1" in the others).
func str(m map[string]any, k string) string {
	switch v := m[k].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

func eventFromMap(m map[string]any) Event {
	e := Event{ID: str(m, "eventId"), Name: str(m, "eventName"), Service: str(m, "serviceName"),
		Time: parseTime(str(m, "eventTime")), RW: str(m, "eventRW"), SourceIP: str(m, "sourceIpAddress"),
		UserAgent: str(m, "userAgent"), ErrorCode: str(m, "errorCode"), ErrorMessage: str(m, "errorMessage"),
		Region: str(m, "acsRegion"), RequestID: str(m, "requestId")}
	e.Global, _ = strconv.ParseBool(str(m, "isGlobal"))
	if ui, ok := m["userIdentity"].(map[string]any); ok {
		e.AccessKeyID = str(ui, "accessKeyId")
	}
	e.addDetail(m)
	return e
}
