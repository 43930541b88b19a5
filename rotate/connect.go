package rotate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
)

// SessionOptions say how Connect signs in.
type SessionOptions struct {
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

// Session is the connection of one run: respond's own client in its home account, every account
// it may search and act in (member accounts are entered on first use), and who respond is signed
// in as. Its account list does not change once Connect returns, so it is safe for concurrent use.
type Session struct {
	opts      SessionOptions
	home      *ram.Client
	homeEntry *ram.Entry // home as an account to search
	caller    ram.Identity
	accounts  []ram.LocatorAccount
	byID      map[string]ram.LocatorAccount
	warnings  []string // of the clients built (Warnings)
	// mgmt is the Resource Directory's management account ("" without one): Security Center
	// reads the members' records through it.
	mgmt string
}

// Connect signs in, learns who respond is, and lists every account the configuration names (or,
// without a configuration, the home account alone) and every member of its Resource Directory.
// Accounts reached through a role are entered on first use, all at once, each searched as soon as
// it is entered. An account that cannot be entered is carried with its error (reported, not
// searched), never fatal to the others.
func Connect(ctx context.Context, conf *playbooks.Config, opts SessionOptions) (*Session, error) {
	homeCfg := opts.Base
	homeCfg.Credentials = opts.Home
	home, err := ram.New(ctx, homeCfg)
	if err != nil {
		return nil, fmt.Errorf("connect to Alibaba Cloud: %w", err)
	}
	c := &Session{opts: opts, home: home, homeEntry: ram.Entered(home), byID: map[string]ram.LocatorAccount{}, warnings: home.Warnings()}
	var accounts []ram.LocatorAccount
	if conf == nil || len(conf.Accounts) == 0 {
		accounts = []ram.LocatorAccount{{Entry: c.homeEntry}}
	}
	for _, ac := range confAccounts(conf) {
		accounts = append(accounts, c.enter(ctx, ac))
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
	if errors.Is(err, ram.ErrNoCredentials) {
		return nil, &InvalidError{Err: fmt.Errorf("sign in: %w", ram.ErrNoCredentials)}
	}
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
	if conf != nil && conf.ResourceDirectory != nil {
		c.mgmt = caller.AccountID // the directory is read by the home key unless it names an account
		for i, ac := range conf.Accounts {
			if ac.Name == conf.ResourceDirectory.Account && accounts[i].Account.ID != "" {
				c.mgmt = accounts[i].Account.ID
			}
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

// enter builds the client of one configured account (for a role, an entry that assumes it on
// first use). A failure is carried in Err (the account is reported, not searched).
func (c *Session) enter(ctx context.Context, ac playbooks.AccountConfig) ram.LocatorAccount {
	la := ram.LocatorAccount{Account: ram.Account{ID: ac.ID, Name: ac.Name}}
	cfg := c.opts.Base
	if ac.Region != "" {
		cfg.Region = ac.Region
	}
	if ac.Endpoint != "" && !c.opts.FixedEndpoint {
		cfg.Endpoint = ac.Endpoint
	}
	if ac.Credentials.Source == playbooks.CredentialsRoleARN {
		id := ac.ID
		if id == "" {
			id = accountFromArn(ac.Credentials.RoleARN)
		}
		la.Entry = c.home.EntryAt(id, ac.Credentials.RoleARN, cfg.Region, cfg.Endpoint) // the account's own, as below
		la.Account.ID = id
		return la
	}
	cfg.Credentials = c.opts.Home
	own := false
	if ac.Credentials.Source == playbooks.CredentialsProfile && c.opts.Profile != nil {
		var cred ram.CredentialSource
		if cred, own = c.opts.Profile(ac.Credentials.Profile); own {
			cfg.Credentials = cred
		}
	}
	if !own && cfg.Region == c.opts.Base.Region && cfg.Endpoint == c.opts.Base.Endpoint {
		// The home credentials at the home endpoint: the home client itself, so that one key has
		// one pace and respond does not ask who it is twice (Connect fills in an empty ID).
		la.Entry = c.homeEntry
		return la
	}
	client, err := ram.New(ctx, cfg)
	if err == nil {
		c.warnings = append(c.warnings, client.Warnings()...)
	}
	if err == nil && la.Account.ID == "" {
		var id ram.Identity
		if id, err = client.Identity(ctx); err == nil {
			la.Account.ID = id.AccountID
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

// Caller is who respond is signed in as.
func (c *Session) Caller() ram.Identity { return c.caller }

// Home is respond's own client, in its home account.
func (c *Session) Home() ram.API { return c.home }

// HomeAccount is respond's home account: its id, and its name when the configuration names it.
func (c *Session) HomeAccount() ram.Account {
	a := c.byID[c.caller.AccountID].Account
	a.ID = c.caller.AccountID
	return a
}

// Entered are the accounts entered (one that could not be entered carries its Err).
func (c *Session) Entered() []ram.LocatorAccount { return c.accounts }

// API implements Accounts: the owner's account, through the calls the engine makes.
func (c *Session) API(ctx context.Context, accountID string) (Cloud, error) {
	return c.Account(ctx, accountID)
}

// Account is the client of an account ("" is the home account), entering it first if nobody has:
// every call (the KMS sink, ActionTrail).
func (c *Session) Account(ctx context.Context, accountID string) (ram.API, error) {
	if a, ok := c.byID[accountID]; ok {
		api, _, err := a.Connect(ctx)
		return api, err
	}
	if accountID == "" {
		return c.home, nil
	}
	return nil, fmt.Errorf("no credentials for account %s: add it to the configuration's accounts or resource_directory", accountID)
}

// Authenticates implements Verifier: GetCallerIdentity signed with the given pair.
func (c *Session) Authenticates(ctx context.Context, id accesskey.ID, secret accesskey.Secret) (ram.Identity, error) {
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
func (c *Session) Locator(ctx context.Context, strategies []string, leaked accesskey.ID, secret accesskey.Secret, progress func(ram.Progress)) (Locator, error) {
	// secret-match finds the key of a secret without its id: a key's id is known here.
	strategies = slices.DeleteFunc(slices.Clone(strategies), func(s string) bool { return s == playbooks.StrategySecretMatch })
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

// MatchSecret implements Connection: the secret-match search over every account, each candidate
// signed through respond's own endpoint (never with respond's key).
func (c *Session) MatchSecret(ctx context.Context, secret accesskey.Secret, m ram.SecretMatch, progress func(ram.Progress)) (ram.Owner, ram.MatchReport, error) {
	l := &ram.Locator{Accounts: c.accounts, Progress: progress}
	m.Checker = c.home.PairCheck(secret)
	return l.MatchSecret(ctx, m)
}
