package ram

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/responses"

	"github.com/respond-dev/respond/ram/accesskey"
)

// Defaults of Config.
const (
	DefaultRegion         = "cn-hangzhou"
	DefaultConnectTimeout = 5 * time.Second
	DefaultReadTimeout    = 10 * time.Second
	// DefaultRoleName is the role Resource Directory creates in every member account.
	DefaultRoleName = "ResourceDirectoryAccountAccessRole"
)

// Config says how to reach Alibaba Cloud (or the emulator) and as whom.
type Config struct {
	// Region is the region of the regional products (STS, ActionTrail, KMS). Default cn-hangzhou.
	Region string
	// Endpoint is used for every product instead of the real cloud hosts ("" means those):
	// https://host[:port], http://host[:port], or host[:port] (see ParseEndpoint).
	Endpoint string
	// Scheme is HTTP or HTTPS. Default: the Endpoint's, else HTTPS, except plain HTTP for a
	// loopback host[:port] (the emulator). Plain HTTP to any other host is allowed with a
	// warning (Client.Warnings).
	Scheme string
	// Credentials says where the signing credentials come from. The zero value is the SDK's
	// default chain.
	Credentials CredentialSource
	// ConnectTimeout and ReadTimeout bound one HTTP exchange (defaults 5 s and 10 s).
	ConnectTimeout, ReadTimeout time.Duration
	// UserAgent is appended to the SDK's, e.g. "respond/1.2.3", so our calls are recognisable in
	// ActionTrail.
	UserAgent string
	// Retry is our retry policy (the SDK's AutoRetry is always off).
	Retry RetryPolicy
	// Transport, when set, replaces the HTTP transport (tests). It must honour request contexts.
	Transport http.RoundTripper
	// LookupEventsQPS paces ActionTrail LookupEvents in each region (0 means
	// DefaultLookupEventsQPS, the documented limit; negative: unpaced). See trail.go.
	LookupEventsQPS float64
	// Notice, when set, is told what a slow call waits for (after NoticeAfter without an
	// answer) and why a call is retried (throttling aside: the owner search shows it): one line
	// for a person, no secret in it.
	Notice func(string)
	// Observe, when set, is told of every request sent to the cloud (each attempt: a retry is
	// another call) once it is answered or failed: its product, its action, and whether the cloud
	// throttled it. It must be quick and safe for concurrent use (respond serve counts calls and
	// throttles with it). Clients made for other accounts (ForAccount) inherit it.
	Observe func(Call)
}

// Call is what Config.Observe is told of one request.
type Call struct {
	// Product is the SDK's product, lower case: ram, ims, sts, actiontrail, kms,
	// resourcemanager, sas.
	Product string
	// Action is the API action (GetUser, CreateAccessKey, …).
	Action string
	// Throttled says the cloud refused it for its rate (a Throttling code, or HTTP 429).
	Throttled bool
}

// CredentialSource names where credentials come from, never a loader of our own: the SDK's
// default chain (environment, OIDC, aliyun CLI profile, ECS RAM role), a named aliyun CLI
// profile, or explicit static keys. Build it with DefaultCredentials, ProfileCredentials,
// StaticCredentials or STSCredentials.
type CredentialSource struct {
	kind    credKind
	profile string
	id      string
	secret  accesskey.Secret
	token   accesskey.Secret
}

type credKind int

const (
	credDefault credKind = iota
	credProfile
	credStatic
	credSTS
)

// DefaultCredentials is the SDK's own default chain.
func DefaultCredentials() CredentialSource { return CredentialSource{kind: credDefault} }

// ProfileCredentials reads the named profile of the aliyun CLI configuration (~/.aliyun/config.json).
func ProfileCredentials(name string) CredentialSource {
	return CredentialSource{kind: credProfile, profile: name}
}

// StaticCredentials is a long-term AccessKey pair.
func StaticCredentials(id string, secret accesskey.Secret) CredentialSource {
	return CredentialSource{kind: credStatic, id: id, secret: secret}
}

// STSCredentials is a temporary STS triple.
func STSCredentials(id string, secret, token accesskey.Secret) CredentialSource {
	return CredentialSource{kind: credSTS, id: id, secret: secret, token: token}
}

// String names the source without any secret.
func (s CredentialSource) String() string {
	switch s.kind {
	case credProfile:
		return "aliyun CLI profile " + s.profile
	case credStatic:
		return "static AccessKey " + s.id
	case credSTS:
		return "STS credentials " + s.id
	}
	return "default credential chain"
}

func (s CredentialSource) provider() (credentials.CredentialsProvider, error) {
	switch s.kind {
	case credProfile:
		if s.profile == "" {
			return nil, errors.New("aliyun CLI profile: empty profile name")
		}
		return credentials.NewCLIProfileCredentialsProviderBuilder().WithProfileName(s.profile).Build(), nil
	case credStatic:
		if s.id == "" || s.secret.IsZero() {
			return nil, errors.New("static credentials: AccessKey id and secret are both required")
		}
		return credentials.NewStaticAKCredentialsProvider(s.id, s.secret.Reveal()), nil
	case credSTS:
		if s.id == "" || s.secret.IsZero() || s.token.IsZero() {
			return nil, errors.New("STS credentials: id, secret and security token are all required")
		}
		return credentials.NewStaticSTSCredentialsProvider(s.id, s.secret.Reveal(), s.token.Reveal()), nil
	}
	return credentials.NewDefaultCredentialsProvider(), nil
}

// lockedProvider serialises a credentials provider shared by the pooled SDK clients: the SDK's
// default chain remembers the last provider that worked in an unguarded field.
type lockedProvider struct {
	mu sync.Mutex
	p  credentials.CredentialsProvider
}

func (l *lockedProvider) GetCredentials() (*credentials.Credentials, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.p.GetCredentials()
}

func (l *lockedProvider) GetProviderName() string { return l.p.GetProviderName() }

// Client is the SDK implementation of API. It is safe for concurrent use: every call borrows an
// SDK client of its own from a pool (a shared SDK client races, alibaba-api.md §2.3.4), and all of
// them share one credentials provider and one HTTP transport.
type Client struct {
	cfg       Config
	creds     *lockedProvider
	transport http.RoundTripper
	pool      *sync.Pool
	rnd       *lockedRand
	// lim paces every call signed by this client's key (shared by its copies): concurrent
	// callers slow down together when the cloud throttles, instead of each backing off blindly.
	lim *aimd
	// me is who signs this client's calls, asked once (Identity), shared by its copies.
	me *once[Identity]
	// retryThrottled is false in the copy the owner scan uses: it retries throttled listings
	// itself (more often than a call would) and must see every throttle.
	retryThrottled bool
	// trail paces ActionTrail per region and remembers its region list (trail.go).
	trail    *trailState
	warnings []string
}

// Warnings are what the caller should show the operator about this client's configuration (plain
// HTTP to a host that is not this machine). ram never prints them itself.
func (c *Client) Warnings() []string { return append([]string(nil), c.warnings...) }

var _ API = (*Client)(nil)

// New builds a Client. It makes no call: credentials are resolved on the first request.
func New(ctx context.Context, cfg Config) (*Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	warnings, err := resolveEndpoint(&cfg)
	if err != nil {
		return nil, fmt.Errorf("new cloud client: %w", err)
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = DefaultReadTimeout
	}
	cfg.Retry = cfg.Retry.withDefaults()
	p, err := cfg.Credentials.provider()
	if err != nil {
		return nil, fmt.Errorf("new cloud client (%s): %w", cfg.Credentials, err)
	}
	c := &Client{
		cfg:            cfg,
		warnings:       warnings,
		creds:          &lockedProvider{p: p},
		transport:      cfg.Transport,
		rnd:            newLockedRand(),
		lim:            newClientAIMD(),
		me:             newOnce[Identity](),
		retryThrottled: true,
		trail:          newTrailState(cfg.LookupEventsQPS),
	}
	if c.transport == nil {
		c.transport = &http.Transport{
			// ProxyFromEnvironment, unlike the SDK's own proxy code, never proxies loopback.
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second}).DialContext,
			TLSHandshakeTimeout: cfg.ConnectTimeout,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
		}
	}
	c.pool = &sync.Pool{}
	return c, nil
}

// NewWithTempCredentials builds a Client like New but signing with temporary credentials (from
// AssumeRole), whatever cfg.Credentials says.
func NewWithTempCredentials(ctx context.Context, cfg Config, tc TempCredentials) (*Client, error) {
	cfg.Credentials = STSCredentials(tc.AccessKeyID, tc.Secret, tc.SecurityToken)
	return New(ctx, cfg)
}

// RoleArn is the ARN of a role in an account: acs:ram::<account>:role/<name>.
func RoleArn(accountID, roleName string) string {
	if roleName == "" {
		roleName = DefaultRoleName
	}
	return "acs:ram::" + accountID + ":role/" + roleName
}

// ForAccount assumes roleArn (default: the Resource Directory access role of accountID) through
// an explicit STS AssumeRole on this client's endpoint, and returns a client for that account.
// (The SDK's own RAM-role provider hard-codes https and its own host.) The new client has a pace
// of its own (its key is another) but shares this client's HTTP transport: the connections
// opened to enter the account are reused by the calls made in it.
func (c *Client) ForAccount(ctx context.Context, accountID, roleArn string) (*Client, error) {
	return c.forAccount(ctx, accountID, roleArn, "", "")
}

// forAccount is ForAccount with the account's own region and endpoint ("": this client's).
func (c *Client) forAccount(ctx context.Context, accountID, roleArn, region, endpoint string) (*Client, error) {
	if roleArn == "" {
		roleArn = RoleArn(accountID, "")
	}
	tc, err := c.AssumeRole(ctx, roleArn, "respond", time.Hour)
	if err != nil {
		return nil, fmt.Errorf("enter account %s: %w", accountID, err)
	}
	cfg := c.cfg
	cfg.Transport = c.transport
	cfg.Region, cfg.Endpoint = cmp.Or(region, cfg.Region), cmp.Or(endpoint, cfg.Endpoint)
	return NewWithTempCredentials(ctx, cfg, tc)
}

// withoutThrottleRetry returns a copy sharing the pool that hands throttling back at once.
func (c *Client) withoutThrottleRetry() *Client {
	cp := *c
	cp.retryThrottled = false
	return &cp
}

// conn is one SDK client with a transport that carries the context of the current call.
type conn struct {
	sdk *sdk.Client
	rt  *ctxTransport
}

// ctxTransport attaches the caller's context to every request: the SDK builds requests without
// one. It belongs to one conn, which one goroutine holds at a time.
type ctxTransport struct {
	base http.RoundTripper
	ctx  context.Context
}

func (t *ctxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.ctx != nil {
		r = r.WithContext(t.ctx)
	}
	return t.base.RoundTrip(r)
}

func (c *Client) getConn() (*conn, error) {
	if v := c.pool.Get(); v != nil {
		return v.(*conn), nil
	}
	return c.newConn(c.creds)
}

// newConn is a new SDK client of c's configuration signing with creds.
func (c *Client) newConn(creds credentials.CredentialsProvider) (*conn, error) {
	rt := &ctxTransport{base: c.transport}
	conf := sdk.NewConfig().
		WithAutoRetry(false).
		WithScheme(c.cfg.Scheme).
		WithDebug(false)
	conf.Transport = rt // not an *http.Transport: the SDK then leaves proxy, TLS and dialer alone
	conf.UserAgent = c.cfg.UserAgent
	sc, err := sdk.NewClientWithOptions(c.cfg.Region, conf, creds)
	if err != nil {
		return nil, err
	}
	sc.SetReadTimeout(c.cfg.ReadTimeout)
	sc.SetConnectTimeout(c.cfg.ConnectTimeout)
	// No SetLogger, ever: its templates print the URI (KMS SecretData) and bodies (new secrets).
	return &conn{sdk: sc, rt: rt}, nil
}

// Products and their hosts.
const (
	prodRAM         = "ram"
	prodIMS         = "ims"
	prodSTS         = "sts"
	prodActionTrail = "actiontrail"
	prodKMS         = "kms"
	prodRM          = "resourcemanager"
)

func (c *Client) host(product string) string {
	if c.cfg.Endpoint != "" {
		return c.cfg.Endpoint
	}
	switch product {
	case prodSTS, prodActionTrail, prodKMS:
		return product + "." + c.cfg.Region + ".aliyuncs.com"
	case prodSAS:
		return sasHost(c.cfg.Region)
	}
	return product + ".aliyuncs.com"
}

// invoke makes exactly one SDK call, with its own SDK client, bound to ctx, in the next slot of
// the client's pace, and tells the pace whether the cloud throttled it.
func (c *Client) invoke(ctx context.Context, product string, req requests.AcsRequest, resp responses.AcsResponse) error {
	return c.invokeAt(ctx, c.lim, c.host(product), req, resp)
}

// codeUserFlowControl is the cloud's answer when a key's own flow control refuses a call
// ("Request was denied due to user flow control."), whichever API it was.
const codeUserFlowControl = "Throttling.User"

// invokeAt is invoke with the pace lim and the host given (a regional call: trail.go).
func (c *Client) invokeAt(ctx context.Context, lim *aimd, host string, req requests.AcsRequest, resp responses.AcsResponse) error {
	return c.invokeOn(ctx, lim, host, req, resp, c.getConn, func(cn *conn) { c.pool.Put(cn) })
}

// invokeOn is invokeAt with the SDK client taken from get and given back to put: a call signed
// with other credentials than c's (pair.go).
func (c *Client) invokeOn(ctx context.Context, lim *aimd, host string, req requests.AcsRequest, resp responses.AcsResponse,
	get func() (*conn, error), put func(*conn)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d := lim.reserve(); d > 0 {
		if err := c.cfg.Retry.Sleep(ctx, d); err != nil {
			return err
		}
	}
	cn, err := get()
	if err != nil {
		return err
	}
	req.SetDomain(host)
	req.SetScheme(c.cfg.Scheme)
	cn.rt.ctx = ctx
	stop := c.noticeSlow(req.GetActionName(), host)
	err = cn.sdk.DoAction(req, resp)
	stop()
	cn.rt.ctx = nil
	put(cn)
	var ce *Error
	throttled := false
	if err != nil && ctx.Err() == nil {
		ce = classify(ctx, "", "", err)
		throttled = errors.Is(ce, ErrThrottled)
	}
	if c.cfg.Observe != nil {
		c.cfg.Observe(Call{Product: strings.ToLower(req.GetProduct()), Action: req.GetActionName(), Throttled: throttled})
	}
	switch {
	case err == nil:
		lim.OK()
	case ctx.Err() != nil:
		// cancelled: says nothing about the cloud's limit
	case throttled:
		if lim != c.lim && ce.Code == codeUserFlowControl {
			// A regional call's pace (ActionTrail's per-region limit) is not what the key's own
			// flow control refused: that slows the key, not the region.
			lim.OK()
			c.lim.Throttled(0)
			break
		}
		lim.Throttled(0) // a Retry-After is honoured by the caller's backoff
	default:
		lim.OK() // answered, not throttled (an error of another kind is no rate signal)
	}
	return err
}

// lockedRand is a per-client source of jitter (no global rand).
type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func newLockedRand() *lockedRand {
	var seed [32]byte
	now := uint64(time.Now().UnixNano())
	for i := range 8 {
		seed[i] = byte(now >> (8 * i))
	}
	return &lockedRand{r: rand.New(rand.NewChaCha8(seed))}
}

func (l *lockedRand) Float64() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64()
}
