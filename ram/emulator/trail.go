package emulator

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ActionTrail as the cloud keeps it (alibaba-api.md §5.2, §12; ram/emulator/README.md says what is
// documented and what is inferred):
//   - every event belongs to a region: a seeded event's Region (default cn-hangzhou), a served
//     call's RegionId;
//   - events of the global services (RAM, IMS, STS, ResourceManager) are global: LookupEvents in
//     any region returns them, with the events of that region;
//   - an event becomes visible to LookupEvents only after the ingestion lag (0 unless set);
//   - LookupEvents is limited per account and region (2 queries per second by default);
//   - DescribeRegions lists the regions.

// TrailSettings is the seed file's actiontrail section.
type TrailSettings struct {
	// Lag is the ingestion delay: an event is visible to LookupEvents only Lag after it happened
	// (the cloud documents about 10 minutes). WithActionTrailLag overrides it.
	Lag time.Duration `yaml:"lag,omitempty"`
	// Regions replaces the regions DescribeRegions lists and LookupEvents accepts (ids such as
	// cn-hangzhou; default: DefaultTrailRegions).
	Regions []string `yaml:"regions,omitempty"`
}

// DefaultLookupEventsQPS is the documented LookupEvents limit (queries per second), enforced per
// account and region.
const DefaultLookupEventsQPS = 2

// TrailRegion is one region ActionTrail DescribeRegions lists.
type TrailRegion struct {
	ID, Name, NameZH string
}

// defaultTrailRegions are 25 public regions of Alibaba Cloud (the ids and names of its region
// list; which of them ActionTrail lists is inferred).
var defaultTrailRegions = []TrailRegion{
	{"cn-qingdao", "China (Qingdao)", "华北1（青岛）"},
	{"cn-beijing", "China (Beijing)", "华北2（北京）"},
	{"cn-zhangjiakou", "China (Zhangjiakou)", "华北3（张家口）"},
	{"cn-huhehaote", "China (Hohhot)", "华北5（呼和浩特）"},
	{"cn-wulanchabu", "China (Ulanqab)", "华北6（乌兰察布）"},
	{"cn-hangzhou", "China (Hangzhou)", "华东1（杭州）"},
	{"cn-shanghai", "China (Shanghai)", "华东2（上海）"},
	{"cn-nanjing", "China (Nanjing - Local Region)", "华东5（南京-本地地域）"},
	{"cn-shenzhen", "China (Shenzhen)", "华南1（深圳）"},
	{"cn-heyuan", "China (Heyuan)", "华南2（河源）"},
	{"cn-guangzhou", "China (Guangzhou)", "华南3（广州）"},
	{"cn-chengdu", "China (Chengdu)", "西南1（成都）"},
	{"cn-hongkong", "China (Hong Kong)", "中国香港"},
	{"ap-northeast-1", "Japan (Tokyo)", "日本（东京）"},
	{"ap-northeast-2", "South Korea (Seoul)", "韩国（首尔）"},
	{"ap-southeast-1", "Singapore", "新加坡"},
	{"ap-southeast-3", "Malaysia (Kuala Lumpur)", "马来西亚（吉隆坡）"},
	{"ap-southeast-5", "Indonesia (Jakarta)", "印度尼西亚（雅加达）"},
	{"ap-southeast-6", "Philippines (Manila)", "菲律宾（马尼拉）"},
	{"ap-southeast-7", "Thailand (Bangkok)", "泰国（曼谷）"},
	{"us-east-1", "US (Virginia)", "美国（弗吉尼亚）"},
	{"us-west-1", "US (Silicon Valley)", "美国（硅谷）"},
	{"eu-west-1", "UK (London)", "英国（伦敦）"},
	{"eu-central-1", "Germany (Frankfurt)", "德国（法兰克福）"},
	{"me-east-1", "UAE (Dubai)", "阿联酋（迪拜）"},
}

// DefaultTrailRegions returns the regions the emulator's ActionTrail lists unless the seed names
// others.
func DefaultTrailRegions() []TrailRegion { return append([]TrailRegion(nil), defaultTrailRegions...) }

// globalService reports the services whose events are global (visible from every region). RAM
// is documented as global and Alibaba's IMS sample carries isGlobal: true; STS and
// ResourceManager (central endpoints) are inferred.
func globalService(service string) bool {
	switch strings.ToLower(service) {
	case "ram", "ims", "sts", "resourcemanager":
		return true
	}
	return false
}

// trailState is the emulator's ActionTrail configuration and the LookupEvents buckets.
type trailState struct {
	lag     atomic.Int64  // time.Duration
	qps     atomic.Uint64 // math.Float64bits; 0 disables the limit
	regions []TrailRegion // fixed once the server is loaded
	known   map[string]bool
	lagSet  bool // an option set the lag: the seed's does not replace it

	mu      sync.Mutex
	buckets map[string]*bucket // account id + "/" + region
}

// WithActionTrailLag delays the visibility of every event to LookupEvents by d (the cloud: about
// 10 minutes). It overrides the seed's actiontrail.lag.
func WithActionTrailLag(d time.Duration) Option {
	return func(s *Server) { s.trail.lag.Store(int64(d)); s.trail.lagSet = true }
}

// WithLookupEventsLimit sets the LookupEvents limit per account and region, in queries per
// second (burst max(1, qps)); beyond it the answer is Throttling. 0 disables it. Default
// DefaultLookupEventsQPS.
func WithLookupEventsLimit(qps float64) Option {
	return func(s *Server) { s.trail.qps.Store(math.Float64bits(qps)) }
}

// SetActionTrailLag changes the ingestion delay at run time.
func (s *Server) SetActionTrailLag(d time.Duration) { s.trail.lag.Store(int64(d)) }

// SetLookupEventsLimit changes the LookupEvents limit at run time (0 disables it).
func (s *Server) SetLookupEventsLimit(qps float64) {
	s.trail.mu.Lock()
	s.trail.qps.Store(math.Float64bits(qps))
	s.trail.buckets = nil
	s.trail.mu.Unlock()
}

// TrailRegions returns the regions the emulator's ActionTrail lists.
func (s *Server) TrailRegions() []TrailRegion { return append([]TrailRegion(nil), s.trail.regions...) }

// loadTrail applies the seed's actiontrail section; options already applied win.
func (t *trailState) loadTrail(ts *TrailSettings) {
	t.regions = defaultTrailRegions
	if ts != nil {
		if !t.lagSet {
			t.lag.Store(int64(ts.Lag))
		}
		if len(ts.Regions) > 0 {
			t.regions = nil
			for _, id := range ts.Regions {
				r := TrailRegion{ID: id, Name: id, NameZH: id}
				for _, d := range defaultTrailRegions {
					if d.ID == id {
						r = d
					}
				}
				t.regions = append(t.regions, r)
			}
		}
	}
	t.known = map[string]bool{}
	for _, r := range t.regions {
		t.known[r.ID] = true
	}
}

// throttle enforces the LookupEvents limit of the caller's account in the request's region.
// Calls for regions ActionTrail does not list are left to the handler (which refuses them).
func (t *trailState) throttle(c *call) *apiError {
	if c.prod == nil || c.prod.code != "actiontrail" || c.action != "LookupEvents" || c.acct == nil {
		return nil
	}
	qps := math.Float64frombits(t.qps.Load())
	r := region(c)
	if qps <= 0 || !t.known[r] {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.buckets == nil {
		t.buckets = map[string]*bucket{}
	}
	if !takeToken(t.buckets, c.acct.id+"/"+r, qps, c.now) {
		return errf(400, "Throttling", "Request was denied due to request throttling.")
	}
	return nil
}

// takeToken takes a token from the bucket id of buckets (a token bucket of qps per second, burst
// max(1, qps), created full) and reports whether there was one. The caller holds the map's lock.
func takeToken(buckets map[string]*bucket, id string, qps float64, now time.Time) bool {
	burst := max(1, qps)
	b := buckets[id]
	if b == nil {
		b = &bucket{tokens: burst, last: now}
		buckets[id] = b
	}
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = min(burst, b.tokens+el*qps)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func trailDescribeRegions(s *Server, c *call) (map[string]any, *apiError) {
	zh := false
	switch c.p("AcceptLanguage") {
	case "", "en-US":
	case "zh-CN":
		zh = true
	default:
		return nil, badParam("AcceptLanguage")
	}
	list := make([]map[string]any, 0, len(s.trail.regions))
	for _, r := range s.trail.regions {
		name := r.Name
		if zh {
			name = r.NameZH
		}
		list = append(list, map[string]any{"RegionId": r.ID, "RegionEndpoint": "actiontrail." + r.ID + ".aliyuncs.com", "LocalName": name})
	}
	return map[string]any{"Regions": map[string]any{"Region": list}}, nil
}

// lookupKeys are the LookupAttribute keys (DOC "How do I configure the LookupAttribute
// parameter"), each with what it matches.
var lookupKeys = map[string]func(*trailEvent) string{
	"ServiceName":      func(e *trailEvent) string { return e.service },
	"EventName":        func(e *trailEvent) string { return e.name },
	"User":             func(e *trailEvent) string { return e.userName },
	"EventId":          func(e *trailEvent) string { return e.id },
	"ResourceType":     func(e *trailEvent) string { return e.resourceType },
	"ResourceName":     func(e *trailEvent) string { return e.resourceName },
	"EventRW":          func(e *trailEvent) string { return e.rw },
	"EventAccessKeyId": func(e *trailEvent) string { return e.accessKeyID },
	"SensitiveAction":  func(e *trailEvent) string { return strconv.FormatBool(e.sensitive()) },
	"SourceIpAddress":  func(e *trailEvent) string { return e.sourceIP },
	"EventType":        func(e *trailEvent) string { return "ApiCall" },
	"RoleName":         func(e *trailEvent) string { return e.roleName() },
}

// sensitive is the emulator's notion of a sensitive event (inferred): a write to a global
// (identity) service, or a deletion.
func (e *trailEvent) sensitive() bool {
	return e.rw == "Write" && globalService(e.service) || strings.HasPrefix(e.name, "Delete")
}

// roleName is the role of an assumed-role event (userName "<role>:<session>").
func (e *trailEvent) roleName() string {
	if e.identity != "assumed-role" {
		return ""
	}
	r, _, _ := strings.Cut(e.userName, ":")
	return r
}

type lookupAttr struct {
	key, val string
	get      func(*trailEvent) string
}

// lookupAttrs reads LookupAttribute.N: only the first two count, and of two with the same key the
// second wins (DOC); an unknown key is refused.
func lookupAttrs(c *call) ([]lookupAttr, *apiError) {
	var out []lookupAttr
	for n := 1; len(out) < 2 && n <= 2; n++ {
		p := "LookupAttribute." + strconv.Itoa(n)
		key, hasKey := c.params.get(p + ".Key")
		val, _ := c.params.get(p + ".Value")
		if !hasKey {
			continue
		}
		get := lookupKeys[key]
		if get == nil {
			return nil, badParam(p + ".Key")
		}
		if len(out) == 1 && out[0].key == key {
			out = out[:0]
		}
		out = append(out, lookupAttr{key, val, get})
	}
	return out, nil
}

func trailLookupEvents(s *Server, c *call) (map[string]any, *apiError) {
	attrs, e := lookupAttrs(c)
	if e != nil {
		return nil, e
	}
	rgn := region(c)
	if !s.trail.known[rgn] {
		return nil, errf(400, "InvalidRegionId", "The specified region does not exist.")
	}
	sv, hasStart := c.params.get("StartTime")
	ev, hasEnd := c.params.get("EndTime")
	if hasStart != hasEnd {
		// DOC: StartTime and EndTime are given together or not at all.
		missingName := "EndTime"
		if hasEnd {
			missingName = "StartTime"
		}
		return nil, violationf(400, "InvalidParameter", "The specified parameter %s is invalid: StartTime and EndTime must be specified together.", missingName)
	}
	end, start := c.now, c.now.Add(-7*24*time.Hour)
	if hasStart {
		var err1, err2 error
		start, err1 = time.Parse(time.RFC3339, sv)
		end, err2 = time.Parse(time.RFC3339, ev)
		switch {
		case err1 != nil:
			return nil, badParam("StartTime")
		case err2 != nil:
			return nil, badParam("EndTime")
		case start.After(end):
			return nil, badParam("StartTime")
		}
		start, end = start.UTC(), end.UTC()
	}
	maxResults := 50
	if v, ok := c.params.get("MaxResults"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 50 {
			return nil, badParam("MaxResults")
		}
		maxResults = n
	}
	dir := c.p("Direction")
	if dir == "" {
		dir = "BACKWARD"
	}
	if dir != "FORWARD" && dir != "BACKWARD" {
		return nil, badParam("Direction")
	}
	// The token pins the window of the first page (the defaults move with the clock) and is
	// valid only with the same parameters.
	fields := []string{c.acct.id, rgn, sv, ev, dir}
	for _, a := range attrs {
		fields = append(fields, a.key, a.val)
	}
	h := sha256.Sum256([]byte(strings.Join(fields, "\x00")))
	fp := hex.EncodeToString(h[:6])
	offset := 0
	if tok := c.p("NextToken"); tok != "" {
		b, err := base64.RawURLEncoding.DecodeString(tok)
		parts := strings.Split(string(b), ":")
		var nums [3]int64
		ok := err == nil && len(parts) == 4 && parts[0] == fp
		for i := 0; ok && i < 3; i++ {
			nums[i], err = strconv.ParseInt(parts[i+1], 10, 64)
			ok = err == nil && nums[i] >= 0
		}
		if !ok {
			return nil, badParam("NextToken")
		}
		offset, start, end = int(nums[0]), time.Unix(nums[1], 0).UTC(), time.Unix(nums[2], 0).UTC()
	}
	visible := c.now.Add(-time.Duration(s.trail.lag.Load()))
	var hits []*trailEvent
	for _, e := range c.acct.events {
		if e.t.Before(start) || e.t.After(end) || e.t.After(visible) || (e.region != rgn && !globalService(e.service)) {
			continue
		}
		match := true
		for _, a := range attrs {
			match = match && a.get(e) == a.val
		}
		if match {
			hits = append(hits, e)
		}
	}
	sort.SliceStable(hits, func(i, j int) bool {
		if dir == "FORWARD" {
			return hits[i].t.Before(hits[j].t)
		}
		return hits[i].t.After(hits[j].t)
	})
	out := map[string]any{"StartTime": date(start), "EndTime": date(end)}
	events := []map[string]any{}
	for i := offset; i < len(hits) && len(events) < maxResults; i++ {
		events = append(events, hits[i].render())
	}
	if next := offset + len(events); next < len(hits) {
		tok := fmt.Sprintf("%s:%d:%d:%d", fp, next, start.Unix(), end.Unix())
		out["NextToken"] = base64.RawURLEncoding.EncodeToString([]byte(tok))
	}
	out["Events"] = events
	return out, nil
}

// eventSource is the host the event's call went to: the product's global host, or its host in
// the event's region (the cloud's eventSource carries the region of a regional service).
func (e *trailEvent) eventSource() string {
	svc := strings.ToLower(e.service)
	if globalService(e.service) {
		return svc + ".aliyuncs.com"
	}
	return svc + "." + e.region + ".aliyuncs.com"
}

func (e *trailEvent) render() map[string]any {
	host := e.eventSource()
	params := map[string]any{}
	for k, v := range e.params {
		params[k] = v
	}
	e.call.each(func(k, v string) {
		if !commonParam(k) && !redacted(k) {
			params[k] = v
		}
	})
	// The gateway's own fields, as in Alibaba's samples.
	params["AcsHost"], params["HostId"], params["AcsProduct"], params["RequestId"] = host, host, e.service, e.requestID
	params["RegionId"] = e.region
	// eventVersion: a number in Alibaba's RAM/IMS samples, a string in the others (DOC).
	var version any = "1"
	if s := strings.ToLower(e.service); s == "ram" || s == "ims" {
		version = 1
	}
	m := map[string]any{
		"eventId": e.id, "eventName": e.name, "eventTime": e.t.Format(time.RFC3339), "eventType": "ApiCall",
		"eventVersion": version, "eventRW": e.rw, "eventSource": host, "isGlobal": globalService(e.service),
		"acsRegion": e.region, "apiVersion": e.version, "requestId": e.requestID, "serviceName": e.service,
		"sourceIpAddress": e.sourceIP, "userAgent": e.userAgent, "errorCode": e.errorCode, "errorMessage": e.errorMessage,
		"requestParameters": params, "resourceName": e.resourceName, "resourceType": e.resourceType,
		"userIdentity": map[string]any{
			"type": e.identity, "principalId": e.principalID, "accountId": e.accountID, "accessKeyId": e.accessKeyID,
			"userName": e.userName,
			"sessionContext": map[string]any{"attributes": map[string]any{
				"mfaAuthenticated": "false", "creationDate": e.t.Format(time.RFC3339)}},
		},
	}
	if e.response != nil {
		m["responseElements"] = e.response
	}
	return m
}

var reRegion = regexp.MustCompile(`^[a-z]{2,}(-[a-z0-9]+)+$`)

// validateTrail checks the actiontrail section and that every regional event lies in a region
// ActionTrail lists (an event elsewhere could never be found).
func (o *Org) validateTrail(bad func(msg string, p ...any)) {
	known := map[string]bool{}
	for _, r := range defaultTrailRegions {
		known[r.ID] = true
	}
	if t := o.ActionTrail; t != nil {
		if t.Lag < 0 {
			bad("actiontrail lag must not be negative", "actiontrail", "lag")
		}
		if len(t.Regions) > 0 {
			known = map[string]bool{}
		}
		for i, r := range t.Regions {
			if !reRegion.MatchString(r) || known[r] {
				bad(fmt.Sprintf("actiontrail region %q is not a region id or is listed twice", r), "actiontrail", "regions", i)
			}
			known[r] = true
		}
	}
	for ai, a := range o.Accounts {
		for ei, e := range a.Events {
			svc := e.Service
			if svc == "" {
				svc = "Ram" // the default service of a seeded event
			}
			if e.Region != "" && !globalService(svc) && !known[e.Region] {
				bad(fmt.Sprintf("event region %q is not a region ActionTrail lists", e.Region), "accounts", ai, "events", ei, "region")
			}
		}
	}
}
