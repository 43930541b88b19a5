package emulator

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server is an in-process Alibaba Cloud emulator, used like net/http/httptest.Server.
type Server struct {
	URL string // http://127.0.0.1:PORT once started

	mu       sync.Mutex // guards the cloud state below
	accounts []*account
	byID     map[string]*account
	keys     map[string]*keyState // every key that can authenticate (live, propagating, STS)
	rng      *rand.Rand

	// RequestIds: a counter (unique) mixed with a seeded salt (random-looking), lock-free.
	ridSeq  atomic.Uint64
	ridSalt uint64

	// Fixed once the server is built (options only).
	clock      func() time.Time
	checkTime  bool
	checkNonce bool
	logLimit   int
	binCounts  bool       // binned keys count toward the 2-key limit (WithRecycleBinCountedInKeyLimit)
	iamOpts    iamOptions // WithSourceIPHeader, the seed's key source IPs (authorize.go)

	// Knobs changed at run time, read by every request without a lock.
	skew        atomic.Int64  // time.Duration
	latency     atomic.Int64  // time.Duration
	propagation atomic.Int64  // time.Duration
	binDelay    atomic.Int64  // time.Duration: SetRecycleBinDelay
	qps         atomic.Uint64 // math.Float64bits
	nFaults     atomic.Int32  // len(faults), so a call skips cfgMu when there are none
	nPauses     atomic.Int32  // pending pauses, likewise

	cfgMu     sync.Mutex // guards faults, pauses, buckets
	faults    []*faultState
	faultRand *rand.Rand
	pauses    map[string][]*Pause
	buckets   map[string]*bucket

	logMu      sync.Mutex // guards the request log and the violations
	log        []logEntry
	violations []string

	nonces  *nonceCache
	scratch sync.Pool // *scratch: signature and JSON buffers

	trail trailState // ActionTrail: regions, ingestion lag, the LookupEvents limit (trail.go)

	// KMS rotations (kms_rotate.go): the phase delay, stall-all, and the rotations that progress
	// (kmsActive, guarded by mu; kmsPending is its length, read without the lock).
	kmsDelay   atomic.Int64 // time.Duration
	kmsStalled atomic.Bool
	kmsPending atomic.Int32
	kmsActive  []*kmsRotation

	closed    chan struct{}
	closeOnce sync.Once

	listener net.Listener
	srv      *http.Server
	tls      bool
}

// Option configures a Server.
type Option func(*Server)

// WithClock replaces time.Now (the timestamp check, dates, expiry and events use it).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.clock = now } }

// WithoutTimestampCheck turns off the ±15 minute Timestamp window (check 8).
func WithoutTimestampCheck() Option { return func(s *Server) { s.checkTime = false } }

// WithoutNonceCheck turns off SignatureNonce replay detection (check 15). With it on, a
// (AccessKeyId, SignatureNonce) pair is refused for 15 minutes after the later of its first use
// and its Timestamp; the memory holds the last 1,048,576 pairs.
func WithoutNonceCheck() Option { return func(s *Server) { s.checkNonce = false } }

// WithLatency delays every response by d.
func WithLatency(d time.Duration) Option { return func(s *Server) { s.latency.Store(int64(d)) } }

// WithRateLimit enables a token bucket of qps requests per second (burst max(1, qps)) per signing
// AccessKeyId; excess calls get Throttling.User (Rejected.Throttling for KMS). 0 disables it.
func WithRateLimit(qps float64) Option { return func(s *Server) { s.qps.Store(math.Float64bits(qps)) } }

// WithPropagationDelay makes key creation, deletion and status changes affect authentication only
// after d (the API view changes at once).
func WithPropagationDelay(d time.Duration) Option {
	return func(s *Server) { s.propagation.Store(int64(d)) }
}

// WithSeed seeds generated ids, secrets and fault probabilities (default 1).
func WithSeed(seed int64) Option {
	return func(s *Server) {
		s.rng = rand.New(rand.NewPCG(uint64(seed), 1))
		s.faultRand = rand.New(rand.NewPCG(uint64(seed), 2))
		s.ridSalt = rand.New(rand.NewPCG(uint64(seed), 3)).Uint64()
	}
}

// WithRequestLogLimit bounds the request log (default 200000 entries; the oldest half is dropped).
func WithRequestLogLimit(n int) Option { return func(s *Server) { s.logLimit = max(n, 2) } }

// NewServer starts an emulator of org on 127.0.0.1:0.
func NewServer(org *Org, opts ...Option) *Server {
	s := NewUnstartedServer(org, opts...)
	s.Start()
	return s
}

// NewUnstartedServer builds an emulator of org without listening; call Start, StartTLS or Listen.
func NewUnstartedServer(org *Org, opts ...Option) *Server {
	s := &Server{
		clock: time.Now, checkTime: true, checkNonce: true,
		pauses: map[string][]*Pause{}, buckets: map[string]*bucket{},
		logLimit: 200000, closed: make(chan struct{}),
		nonces: newNonceCache(defaultNonceLimit, nonceWindow),
	}
	WithSeed(1)(s)
	WithKMSRotationDelay(DefaultKMSRotationDelay)(s)
	WithLookupEventsLimit(DefaultLookupEventsQPS)(s)
	for _, o := range opts {
		o(s)
	}
	s.load(org)
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	return s
}

// Start listens on 127.0.0.1:0 and serves in the background. It panics if it cannot listen, like httptest.
func (s *Server) Start() {
	if err := s.Listen("127.0.0.1:0"); err != nil {
		panic("emulator: " + err.Error())
	}
}

// Listen listens on addr (host:port) and serves in the background until Close.
func (s *Server) Listen(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("emulator listen on %s: %w", addr, err)
	}
	s.serve(l)
	return nil
}

func (s *Server) serve(l net.Listener) {
	s.listener = l
	scheme := "http"
	if s.tls {
		scheme = "https"
	}
	s.URL = scheme + "://" + l.Addr().String()
	go func() { _ = s.srv.Serve(l) }()
}

// Endpoint is host:port, what an SDK client's Domain takes.
func (s *Server) Endpoint() string {
	if s.listener == nil {
		return ""
	}
	return s.listener.Addr().String()
}

// Handler is the emulator as an http.Handler (for a caller's own listener).
func (s *Server) Handler() http.Handler { return s }

// Close stops the listener, releases every pause and closes open connections.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closed)
		_ = s.srv.Close()
	})
}

// SetLatency delays every later response by d.
func (s *Server) SetLatency(d time.Duration) { s.latency.Store(int64(d)) }

// SetRateLimit sets the per-AccessKeyId token bucket (0 disables it).
func (s *Server) SetRateLimit(qps float64) {
	s.cfgMu.Lock()
	s.qps.Store(math.Float64bits(qps))
	s.buckets = map[string]*bucket{}
	s.cfgMu.Unlock()
}

// SetPropagationDelay sets the delay of later key changes.
func (s *Server) SetPropagationDelay(d time.Duration) {
	s.propagation.Store(int64(d))
}

// SetRecycleBinDelay sets how long a key deleted later takes to show in its user's AccessKey
// recycle bin (0, the default: at once). The real cloud's delay is undocumented [INF]: the list
// and authentication may drop the key before the bin's actions see it.
func (s *Server) SetRecycleBinDelay(d time.Duration) { s.binDelay.Store(int64(max(d, 0))) }

// SetClockSkew shifts the emulator's clock by d (positive = the server runs ahead).
func (s *Server) SetClockSkew(d time.Duration) { s.skew.Store(int64(d)) }

func (s *Server) now() time.Time {
	return s.clock().Add(time.Duration(s.skew.Load())).UTC()
}

func (s *Server) propagationDelay() time.Duration { return time.Duration(s.propagation.Load()) }

// apiError is an error answer (spec §3.1).
type apiError struct {
	Status    int
	Code      string
	Message   string
	Quoted    string            // request text the answer's Message ends with (the string to sign); never kept in Violations
	Detail    map[string]string // AccessDeniedDetail
	Violation bool              // a protocol violation: a correct client never causes it
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

func errf(status int, code, format string, a ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, a...)}
}

func violationf(status int, code, format string, a ...any) *apiError {
	e := errf(status, code, format, a...)
	e.Violation = true
	return e
}

func missing(name string) *apiError {
	return violationf(400, "Missing"+name, "%s is mandatory for this action.", name)
}

// call is one request being served.
type call struct {
	r               *http.Request
	params          params // decoded query and body
	version, action string
	ts              time.Time // the Timestamp parameter, once parse has checked it
	prod            *product
	rid             string
	now             time.Time
	// set after authentication
	key  *keyState
	acct *account
	user *user          // the calling RAM user, nil for root and role sessions
	sess *session       // the STS session, nil otherwise
	src  string         // the source IP, once sourceIP has worked it out
	resp map[string]any // the answer, for the event's responseElements

	scratch *scratch // the request's recycled buffers
}

func (c *call) p(name string) string { v, _ := c.params.get(name); return v }

const maxBody = 1 << 20

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := &call{r: r, now: s.now()}
	x := s.getScratch()
	defer s.putScratch(x)
	c.scratch = x
	if latency := time.Duration(s.latency.Load()); latency > 0 && !s.sleep(r.Context(), latency) {
		return
	}
	if e := s.parse(c); e != nil {
		s.fail(w, c, e)
		return
	}
	if e := s.authenticate(c); e != nil {
		s.fail(w, c, e)
		return
	}
	if e := protect(c); e != nil {
		s.fail(w, c, e)
		return
	}
	if e := s.throttle(c); e != nil {
		s.fail(w, c, e)
		return
	}
	if e := s.trail.throttle(c); e != nil {
		s.fail(w, c, e)
		return
	}
	f := s.matchFaults(c)
	if f.delay > 0 && !s.sleep(context.Background(), f.delay) {
		return // like a slow server, the call goes on even if the client gave up
	}
	if !s.waitPause(r.Context(), c.action) {
		return
	}
	switch f.kind {
	case FaultThrottle:
		if f.retryAfter > 0 {
			w.Header().Set("x-acs-retry-after", strconv.FormatInt(f.retryAfter.Milliseconds(), 10))
		}
		s.fail(w, c, throttled(c))
		return
	case FaultServerErrorBefore:
		s.fail(w, c, serverError(f.status))
		return
	case FaultDropBefore:
		s.record(c, 0, "DroppedConnection")
		drop(w)
		return
	case FaultGarbage:
		s.garbage(w, c, f.status)
		return
	case FaultEmptyAnswer:
		s.record(c, 200, "EmptyAnswer")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		_, _ = io.WriteString(w, "{}")
		return
	}
	status, body, e := s.dispatch(c)
	switch f.kind {
	case FaultServerErrorAfter:
		s.fail(w, c, serverError(f.status))
		return
	case FaultDropAfter:
		s.record(c, 0, "DroppedConnection")
		drop(w)
		return
	}
	if e != nil {
		s.fail(w, c, e)
		return
	}
	s.record(c, status, "")
	s.writeJSON(w, status, c, body)
}

func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.closed:
		return false
	}
}

func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

func (s *Server) garbage(w http.ResponseWriter, c *call, status int) {
	if status == 0 {
		status = 200
	}
	s.record(c, status, "Garbage")
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("x-acs-request-id", c.rid)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, "<html><body><h1>502 Bad Gateway</h1>emulator garbage body</body></html>\n")
}

func serverError(status int) *apiError {
	if status == 503 {
		return errf(503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.")
	}
	return errf(500, "InternalError", "An internal error occurred.")
}

func throttled(c *call) *apiError {
	if c.prod != nil && c.prod.code == "kms" {
		return errf(429, "Rejected.Throttling", "The QPS upper limit is exceeded.")
	}
	return errf(400, "Throttling.User", "Request was denied due to user flow control.")
}

// parse reads and merges the parameters and runs checks 1-7 of spec §1.4.
func (s *Server) parse(c *call) *apiError {
	r := c.r
	raw := rawParams{query: r.URL.RawQuery}
	if r.Body != nil && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		b, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
		raw.body = string(b)
	}
	c.params = raw.parse()
	merged := c.params
	c.version, c.action = c.p("Version"), c.p("Action")
	c.rid = s.requestID(false)
	if r.URL.Path != "/" && r.URL.Path != "" {
		return errUnknownAPI()
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return violationf(400, "UnsupportedHTTPMethod", "This http method is not supported.")
	}
	if c.action == "" {
		return missing("Action")
	}
	if c.version == "" {
		return missing("Version")
	}
	c.prod = products[c.version]
	if c.prod == nil {
		return violationf(400, "InvalidVersion", "Specified parameter Version is not valid.")
	}
	if c.prod.code == "kms" {
		c.rid = s.requestID(true)
	}
	if _, ok := c.prod.actions[c.action]; !ok {
		return errUnknownAPI()
	}
	if f, ok := merged.get("Format"); ok && f != "JSON" && f != "XML" && f != "json" && f != "xml" {
		return violationf(400, "InvalidParameter.Format", "Specified parameter format is not valid.")
	}
	if _, ok := merged.get("Signature"); !ok && strings.HasPrefix(r.Header.Get("Authorization"), "ACS3-") {
		return violationf(400, "IncompleteSignature", "The request signature does not conform to Aliyun standards.")
	}
	if c.p("SignatureMethod") != "HMAC-SHA1" {
		return violationf(400, "InvalidSignatureMethod", "Specified signature method is not valid.")
	}
	for _, name := range []string{"Signature", "AccessKeyId", "SignatureNonce", "Timestamp"} {
		if c.p(name) == "" {
			return missing(name)
		}
	}
	ts, err := time.Parse("2006-01-02T15:04:05Z", c.p("Timestamp"))
	if err != nil {
		return violationf(400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")
	}
	c.ts = ts
	return nil
}

// authenticate runs checks 8-15 against the live key table and marks the key used.
func (s *Server) authenticate(c *call) *apiError {
	ts := c.ts
	if s.checkTime {
		if d := c.now.Sub(ts); d > 15*time.Minute || d < -15*time.Minute {
			return violationf(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
		}
	}
	id := c.p("AccessKeyId")
	s.mu.Lock()
	s.advanceKMS(c.now)
	k := s.keys[id]
	var secret, status, token string
	var expires time.Time
	if k != nil {
		if !k.goneAt.IsZero() && !c.now.Before(k.goneAt) {
			delete(s.keys, id)
			k = nil
		} else if c.now.Before(k.visibleAt) {
			k = nil
		}
	}
	if k != nil {
		secret, status = k.secret, k.authStatus(c.now)
		if k.sess != nil {
			token, expires = k.sess.token, k.sess.expires
		}
	}
	s.mu.Unlock()
	if k == nil {
		return errf(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
	}
	if status != "Active" {
		return errf(400, "InvalidAccessKeyId.Inactive", "Specified access key is disabled.")
	}
	if k.sess != nil {
		got := c.p("SecurityToken")
		switch {
		case got == "":
			return violationf(400, "MissingSecurityToken", "SecurityToken is mandatory for this action.")
		case !strings.HasPrefix(got, tokenPrefix):
			return violationf(400, "InvalidSecurityToken.Malformed", "Specified SecurityToken is malformed.")
		case got != token:
			return violationf(400, "InvalidSecurityToken.MismatchWithAccessKey", "Specified SecurityToken mismatch with the AccessKey.")
		case !c.now.Before(expires):
			return errf(400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.")
		}
	}
	sg := &c.scratch.signer
	sts := sg.stringToSign(c.r.Method, c.params.list)
	if !sg.verify(secret, c.p("Signature")) {
		// The cloud quotes its string to sign, parameter values and all (a KMS SecretData too): the
		// answer does the same, since the SDK compares it with its own, but Violations does not.
		e := violationf(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation. server string to sign is:")
		e.Quoted = string(sts)
		return e
	}
	if s.checkNonce && !s.nonces.fresh(id, c.p("SignatureNonce"), c.now, ts) {
		return violationf(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
	}
	s.mu.Lock()
	c.key, c.acct, c.sess, c.user = k, k.acct, k.sess, k.user
	if k.sess == nil {
		k.lastUsed, k.lastService = c.now, c.prod.name
		k.lastIP = s.sourceIP(c)
	}
	s.mu.Unlock()
	return nil
}

type bucket struct {
	tokens float64
	last   time.Time
}

func (s *Server) throttle(c *call) *apiError {
	if math.Float64frombits(s.qps.Load()) <= 0 {
		return nil
	}
	s.cfgMu.Lock()
	defer s.cfgMu.Unlock()
	qps := math.Float64frombits(s.qps.Load())
	if qps <= 0 {
		return nil
	}
	if !takeToken(s.buckets, c.p("AccessKeyId"), qps, c.now) {
		return throttled(c)
	}
	return nil
}

func (s *Server) fail(w http.ResponseWriter, c *call, e *apiError) {
	if e.Violation {
		s.violation(c, e)
	}
	s.record(c, e.Status, e.Code)
	if c.acct != nil {
		s.mu.Lock()
		s.recordEvent(c, e)
		s.mu.Unlock()
	}
	host, product := "aliyuncs.com", "Pop"
	if c.prod != nil {
		host, product = c.prod.host(c.p("RegionId")), c.prod.name
	}
	body := map[string]any{
		"RequestId": c.rid, "HostId": host, "Code": e.Code, "Message": e.Message + e.Quoted,
		"Recommend": "https://api.aliyun.com/troubleshoot?q=" + url.QueryEscape(e.Code) + "&product=" + product,
	}
	if e.Detail != nil {
		body["AccessDeniedDetail"] = e.Detail
	}
	s.writeJSON(w, e.Status, c, body)
}

func (s *Server) writeJSON(w http.ResponseWriter, status int, c *call, body any) {
	b, err := appendJSON(c.scratch.json[:0], body)
	if err != nil {
		status = 500
		b = []byte(`{"RequestId":"` + c.rid + `","HostId":"aliyuncs.com","Code":"InternalError","Message":"An internal error occurred.","Recommend":""}`)
	} else {
		c.scratch.json = b
	}
	h := w.Header()
	// Canonical keys set directly: what Header.Set does, without canonicalising on every call.
	h["Content-Type"] = []string{"application/json;charset=utf-8"}
	h["X-Acs-Request-Id"] = []string{c.rid}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
