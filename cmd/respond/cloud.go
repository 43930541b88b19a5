package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate"
)

// cloud is the connection of one run: respond's own client in its home account, every account
// it may search and act in (member accounts are entered on first use), and who respond is signed
// in as.
type cloud struct {
	base      ram.Config
	home      *ram.Client
	homeEntry *ram.Entry // home as an account to search
	caller    ram.Identity
	accounts  []ram.LocatorAccount

	mu   sync.Mutex
	byID map[string]ram.LocatorAccount
}

// baseConfig is the ram.Config every client of this run starts from. RESPOND_READ_TIMEOUT (a Go
// duration) replaces the SDK's read timeout of 10 s; a bad value is bad input (exit 2).
func (f *Factory) baseConfig() (ram.Config, error) {
	cfg := ram.Config{UserAgent: userAgent() + " " + f.ownMarker()}
	if v := f.getenv("RESPOND_READ_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return ram.Config{}, flagErrorf("RESPOND_READ_TIMEOUT=%q is not a positive duration (e.g. 10s or 500ms)", v)
		}
		cfg.ReadTimeout = d
	}
	cfg.Region = f.Global.Region
	if cfg.Region == "" {
		cfg.Region = f.getenv("ALIBABA_CLOUD_REGION_ID")
	}
	cfg.Endpoint = f.Global.Endpoint
	if cfg.Endpoint == "" {
		cfg.Endpoint = f.getenv("RESPOND_ENDPOINT")
	}
	if f.Global.Sandbox {
		cfg.Endpoint = f.startSandbox().srv.Endpoint()
	}
	return cfg, nil
}

// homeCredentials are the credentials respond signs with in its home account: the sandbox
// administrator with --sandbox, a named aliyun CLI profile with --profile, else the SDK's default
// chain (environment, OIDC, aliyun CLI profile, ECS RAM role).
func (f *Factory) homeCredentials() ram.CredentialSource {
	switch {
	case f.Global.Sandbox:
		a := f.startSandbox().admin
		return ram.StaticCredentials(a.AccessKeyID, accesskey.NewSecret(a.AccessKeySecret))
	case f.Global.Profile != "":
		return ram.ProfileCredentials(f.Global.Profile)
	}
	return ram.DefaultCredentials()
}

// connect signs in, learns who respond is, and lists every account the configuration names (or,
// without one, the home account alone); member accounts are entered when first used.
func (f *Factory) connect(ctx context.Context, conf *playbooks.Config) (*cloud, error) {
	base, err := f.baseConfig()
	if err != nil {
		return nil, err
	}
	homeCfg := base
	homeCfg.Credentials = f.homeCredentials()
	home, err := ram.New(ctx, homeCfg)
	if err != nil {
		return nil, fmt.Errorf("connect to Alibaba Cloud: %w", err)
	}
	c := &cloud{base: base, home: home, homeEntry: ram.Entered(home), byID: map[string]ram.LocatorAccount{}}

	var accounts []ram.LocatorAccount
	if conf != nil && len(conf.Accounts) > 0 {
		for _, ac := range conf.Accounts {
			la := f.enterAccount(ctx, c, ac)
			accounts = append(accounts, la)
		}
	} else {
		accounts = []ram.LocatorAccount{{Entry: c.homeEntry}}
	}
	// The Resource Directory is listed while respond signs in: neither waits for the other, and
	// when the home key reads the directory, who it is is asked once for both (Identity).
	var members []ram.LocatorAccount
	var dirErr error
	var wg sync.WaitGroup
	if conf != nil && conf.ResourceDirectory != nil {
		wg.Go(func() { members, dirErr = directory(ctx, home, conf, accounts) })
	}
	caller, err := home.Identity(ctx)
	wg.Wait()
	if err != nil {
		return nil, fmt.Errorf("sign in (%s): %w; check the credentials (ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET, --profile) and --endpoint", homeCfg.Credentials, err)
	}
	if dirErr != nil {
		return nil, fmt.Errorf("discover the Resource Directory's accounts: %w", dirErr)
	}
	c.caller = caller
	c.byID[caller.AccountID] = ram.LocatorAccount{Account: ram.Account{ID: caller.AccountID}, Entry: c.homeEntry}
	for i := range accounts {
		if accounts[i].Account.ID == "" && accounts[i].Entry == c.homeEntry {
			accounts[i].Account.ID = caller.AccountID
		}
	}
	if len(members) > 0 {
		rd := conf.ResourceDirectory
		for _, m := range members {
			if len(rd.Include) > 0 && !slices.Contains(rd.Include, m.Account.ID) || slices.Contains(rd.Exclude, m.Account.ID) {
				continue
			}
			if slices.ContainsFunc(accounts, func(a ram.LocatorAccount) bool { return a.Account.ID != "" && a.Account.ID == m.Account.ID }) {
				continue
			}
			accounts = append(accounts, m)
		}
	}
	for _, a := range accounts {
		if a.Err == nil && a.Account.ID != "" {
			c.byID[a.Account.ID] = a
		}
	}
	c.accounts = accounts
	return c, nil
}

// directory lists the Resource Directory's accounts, read by the configured account it names (by
// the home key when it names none).
func directory(ctx context.Context, home *ram.Client, conf *playbooks.Config, accounts []ram.LocatorAccount) ([]ram.LocatorAccount, error) {
	rd := conf.ResourceDirectory
	mgmt := home
	for i, ac := range conf.Accounts {
		if ac.Name == rd.Account {
			if accounts[i].Err != nil {
				return nil, accounts[i].Err
			}
			var err error
			if mgmt, err = accounts[i].Entry.Client(ctx); err != nil {
				return nil, err
			}
		}
	}
	return ram.DirectoryAccounts(ctx, mgmt, rd.RoleName)
}

// enterAccount builds the client of one configured account (for a role, an entry that assumes
// it on first use). A failure is carried in Err (the account is reported, not searched), never
// fatal to the others.
func (f *Factory) enterAccount(ctx context.Context, c *cloud, ac playbooks.AccountConfig) ram.LocatorAccount {
	la := ram.LocatorAccount{Account: ram.Account{ID: ac.ID, Name: ac.Name}}
	cfg := c.base
	if ac.Region != "" {
		cfg.Region = ac.Region
	}
	if ac.Endpoint != "" && !f.Global.Sandbox && f.Global.Endpoint == "" {
		cfg.Endpoint = ac.Endpoint
	}
	var client *ram.Client
	var err error
	switch ac.Credentials.Source {
	case playbooks.CredentialsRoleARN:
		id := ac.ID
		if id == "" {
			id = accountFromArn(ac.Credentials.RoleARN)
		}
		la.Entry = c.home.Entry(id, ac.Credentials.RoleARN)
		la.Account.ID = id
		return la
	default:
		ownProfile := ac.Credentials.Source == playbooks.CredentialsProfile && !f.Global.Sandbox && ac.Credentials.Profile != f.Global.Profile
		if !ownProfile && cfg.Region == c.base.Region && cfg.Endpoint == c.base.Endpoint {
			// The home credentials at the home endpoint: the home client itself, so that one
			// key has one pace and respond does not ask who it is twice (connect fills in an
			// empty ID once signed in).
			la.Entry = c.homeEntry
			return la
		}
		cfg.Credentials = f.homeCredentials()
		if ownProfile {
			cfg.Credentials = ram.ProfileCredentials(ac.Credentials.Profile)
		}
		client, err = ram.New(ctx, cfg)
		if err == nil && la.Account.ID == "" {
			var id ram.Identity
			if id, err = client.GetCallerIdentity(ctx); err == nil {
				la.Account.ID = id.AccountID
			}
		}
	}
	if err != nil {
		la.Err = fmt.Errorf("enter account %s: %w", ac.Name, err)
		return la
	}
	la.Entry = ram.Entered(client)
	return la
}

// accountFromArn takes the account id out of acs:ram::<account>:role/<name>.
func accountFromArn(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) >= 5 {
		return parts[3]
	}
	return ""
}

// API implements rotate.Accounts: the owner's account, through the calls the engine makes.
func (c *cloud) API(ctx context.Context, accountID string) (rotate.Cloud, error) {
	api, err := c.account(ctx, accountID)
	if err != nil {
		return nil, err
	}
	return api, nil
}

// account is the client of an account (every call: the KMS sink, ActionTrail).
func (c *cloud) account(ctx context.Context, accountID string) (ram.API, error) {
	c.mu.Lock()
	a, ok := c.byID[accountID]
	c.mu.Unlock()
	if ok {
		api, _, err := a.Connect(ctx)
		return api, err
	}
	if accountID == "" {
		return c.home, nil
	}
	return nil, fmt.Errorf("no credentials for account %s: add it to the configuration's accounts or resource_directory", accountID)
}

// Authenticates implements rotate.Verifier: GetCallerIdentity signed with the given pair.
func (c *cloud) Authenticates(ctx context.Context, id accesskey.ID, secret accesskey.Secret) (ram.Identity, error) {
	cfg := c.base
	cfg.Credentials = ram.StaticCredentials(id.String(), secret)
	cl, err := ram.New(ctx, cfg)
	if err != nil {
		return ram.Identity{}, err
	}
	return cl.GetCallerIdentity(ctx)
}

// locator builds the owner search over every account.
func (c *cloud) locator(strategies []string, leaked accesskey.ID, secret accesskey.Secret, progress func(ram.Progress)) (*ram.Locator, error) {
	l := &ram.Locator{Accounts: c.accounts, Strategies: strategies, Progress: progress}
	if slices.Contains(strategies, ram.StrategyCaller) {
		if secret.IsZero() {
			return nil, flagErrorf("the caller strategy signs a call with the leaked pair, and the leaked secret of %s is not known", leaked)
		}
		cfg := c.base
		cfg.Credentials = ram.StaticCredentials(leaked.String(), secret)
		cl, err := ram.New(context.Background(), cfg)
		if err != nil {
			return nil, err
		}
		l.Leaked = cl
	}
	return l, nil
}

// accountNames lists the accounts searched, for messages.
func (c *cloud) accountNames() []string {
	var out []string
	for _, a := range c.accounts {
		n := a.Account.ID
		if a.Account.Name != "" {
			n = a.Account.Name + " (" + a.Account.ID + ")"
		}
		out = append(out, n)
	}
	return out
}

//go:embed sandbox-config.yaml
var sandboxConfigYAML []byte

// loadConfig reads --config, or the default path when it exists; no file means no configuration.
// With --sandbox and no --config, it is the sandbox's own configuration.
func (f *Factory) loadConfig() (*playbooks.Config, error) {
	if f.Global.Sandbox && f.Global.ConfigPath == "" {
		conf, err := playbooks.ParseConfig("sandbox-config.yaml", sandboxConfigYAML)
		if err != nil {
			return nil, fmt.Errorf("the built-in sandbox configuration: %w", err)
		}
		return conf, nil
	}
	path := f.Global.ConfigPath
	if path == "" {
		path = f.getenv("RESPOND_CONFIG")
	}
	explicit := path != ""
	if !explicit {
		dir := f.getenv("XDG_CONFIG_HOME")
		if dir == "" {
			if home := f.getenv("HOME"); home != "" {
				dir = home + "/.config"
			}
		}
		if dir == "" {
			return nil, nil
		}
		path = playbooks.DefaultConfigPath(dir)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
	}
	conf, err := playbooks.LoadConfig(path)
	if err != nil {
		return nil, &FlagError{Err: fmt.Errorf("configuration: %w", err)}
	}
	return conf, nil
}
