package rotate

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
)

// CloudOptions say how Connect signs in.
type CloudOptions struct {
	// Base is the configuration every client of the run starts from (User-Agent, read timeout,
	// region, endpoint).
	Base ram.Config
	// Home are respond's own credentials, in its home account.
	Home ram.CredentialSource
	// FixedEndpoint says Base.Endpoint was chosen on purpose (--endpoint, the sandbox): an
	// account's own endpoint does not replace it.
	FixedEndpoint bool
	// Profile gives the credentials of an account configured with a named aliyun CLI profile, or
	// false when that account signs with Home (the sandbox; respond's own profile).
	Profile func(name string) (ram.CredentialSource, bool)
}

// Cloud is the connection of one run: respond's own client in its home account, every account
// it may search and act in, and who respond is signed in as. It does not change once Connect
// returns, so it is safe for concurrent use.
type Cloud struct {
	opts     CloudOptions
	home     *ram.Client
	caller   ram.Identity
	accounts []ram.LocatorAccount
	byID     map[string]ram.API
}

// Connect signs in, learns who respond is, and enters every account the configuration names
// (or, without a configuration, the home account alone) and every member of its Resource
// Directory. An account that cannot be entered is carried with its error (reported, not
// searched), never fatal to the others.
func Connect(ctx context.Context, conf *playbooks.Config, opts CloudOptions) (*Cloud, error) {
	homeCfg := opts.Base
	homeCfg.Credentials = opts.Home
	home, err := ram.New(ctx, homeCfg)
	if err != nil {
		return nil, fmt.Errorf("connect to Alibaba Cloud: %w", err)
	}
	caller, err := home.GetCallerIdentity(ctx)
	if err != nil {
		return nil, fmt.Errorf("sign in (%s): %w; check the credentials (ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET, --profile) and --endpoint", homeCfg.Credentials, err)
	}
	c := &Cloud{opts: opts, home: home, caller: caller, byID: map[string]ram.API{caller.AccountID: home}}
	if conf == nil || len(conf.Accounts) == 0 {
		c.accounts = []ram.LocatorAccount{{Account: ram.Account{ID: caller.AccountID}, API: home}}
	}
	mgmt := home // the Resource Directory's management account
	for _, ac := range confAccounts(conf) {
		la, client := c.enter(ctx, ac)
		if client != nil && conf.ResourceDirectory != nil && ac.Name == conf.ResourceDirectory.Account {
			mgmt = client
		}
		c.accounts = append(c.accounts, la)
	}
	if conf != nil && conf.ResourceDirectory != nil {
		if err := c.enterDirectory(ctx, mgmt, conf.ResourceDirectory); err != nil {
			return nil, err
		}
	}
	for _, a := range c.accounts {
		if a.Err == nil && a.Account.ID != "" {
			c.byID[a.Account.ID] = a.API
		}
	}
	return c, nil
}

func confAccounts(conf *playbooks.Config) []playbooks.AccountConfig {
	if conf == nil {
		return nil
	}
	return conf.Accounts
}

// enterDirectory adds the Resource Directory's members that the configuration does not name
// already and does not exclude.
func (c *Cloud) enterDirectory(ctx context.Context, mgmt *ram.Client, rd *playbooks.RDConfig) error {
	members, err := ram.DirectoryAccounts(ctx, mgmt, rd.RoleName)
	if err != nil {
		return fmt.Errorf("discover the Resource Directory's accounts: %w", err)
	}
	for _, m := range members {
		if len(rd.Include) > 0 && !slices.Contains(rd.Include, m.Account.ID) || slices.Contains(rd.Exclude, m.Account.ID) {
			continue
		}
		if slices.ContainsFunc(c.accounts, func(a ram.LocatorAccount) bool { return a.Account.ID != "" && a.Account.ID == m.Account.ID }) {
			continue
		}
		c.accounts = append(c.accounts, m)
	}
	return nil
}

// enter builds the client of one configured account, and returns it too when it is a client of
// its own (not the home client), for the Resource Directory's management account.
func (c *Cloud) enter(ctx context.Context, ac playbooks.AccountConfig) (ram.LocatorAccount, *ram.Client) {
	la := ram.LocatorAccount{Account: ram.Account{ID: ac.ID, Name: ac.Name}}
	cfg := c.opts.Base
	if ac.Region != "" {
		cfg.Region = ac.Region
	}
	if ac.Endpoint != "" && !c.opts.FixedEndpoint {
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
		client, err = c.home.ForAccount(ctx, id, ac.Credentials.RoleARN)
		la.Account.ID = id
	default:
		cfg.Credentials = c.opts.Home
		own := false
		if ac.Credentials.Source == playbooks.CredentialsProfile && c.opts.Profile != nil {
			var cred ram.CredentialSource
			if cred, own = c.opts.Profile(ac.Credentials.Profile); own {
				cfg.Credentials = cred
			}
		}
		if !own && cfg.Region == c.opts.Base.Region && cfg.Endpoint == c.opts.Base.Endpoint {
			// The home credentials at the home endpoint: the home client itself, so that one
			// key has one pace and respond does not ask who it is twice.
			la.API = c.home
			if la.Account.ID == "" {
				la.Account.ID = c.caller.AccountID
			}
			return la, c.home
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
		return la, nil
	}
	la.API = client
	return la, client
}

// accountFromArn takes the account id out of acs:ram::<account>:role/<name>.
func accountFromArn(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) >= 5 {
		return parts[3]
	}
	return ""
}

// Caller is who respond is signed in as.
func (c *Cloud) Caller() ram.Identity { return c.caller }

// Home is respond's own client, in its home account.
func (c *Cloud) Home() ram.API { return c.home }

// Entered are the accounts entered (one that could not be entered carries its Err).
func (c *Cloud) Entered() []ram.LocatorAccount { return c.accounts }

// API implements Accounts: the client of an account entered ("" is the home account).
func (c *Cloud) API(ctx context.Context, accountID string) (ram.API, error) {
	if api, ok := c.byID[accountID]; ok {
		return api, nil
	}
	if accountID == "" {
		return c.home, nil
	}
	return nil, fmt.Errorf("no credentials for account %s: add it to the configuration's accounts or resource_directory", accountID)
}

// Authenticates implements Verifier: GetCallerIdentity signed with the given pair.
func (c *Cloud) Authenticates(ctx context.Context, id accesskey.ID, secret accesskey.Secret) (ram.Identity, error) {
	cfg := c.opts.Base
	cfg.Credentials = ram.StaticCredentials(id.String(), secret)
	cl, err := ram.New(ctx, cfg)
	if err != nil {
		return ram.Identity{}, err
	}
	return cl.GetCallerIdentity(ctx)
}

// Locator builds the owner search over every account. The caller strategy signs a call with the
// leaked pair: it needs the leaked secret (an *InvalidError without it).
func (c *Cloud) Locator(ctx context.Context, strategies []string, leaked accesskey.ID, secret accesskey.Secret, progress func(ram.Progress)) (Locator, error) {
	l := &ram.Locator{Accounts: c.accounts, Strategies: strategies, Progress: progress}
	if slices.Contains(strategies, ram.StrategyCaller) {
		if secret.IsZero() {
			return nil, invalidf("the caller strategy signs a call with the leaked pair, and the leaked secret of %s is not known", leaked)
		}
		cfg := c.opts.Base
		cfg.Credentials = ram.StaticCredentials(leaked.String(), secret)
		cl, err := ram.New(ctx, cfg)
		if err != nil {
			return nil, err
		}
		l.Leaked = cl
	}
	return l, nil
}
