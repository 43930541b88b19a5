package doctor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/rotate"
)

// prober is the one call the permission checks make (ram.Client implements it).
type prober interface {
	Probe(ctx context.Context, kind ram.ProbeKind, t ram.ProbeTarget) ram.ProbeResult
}

// cloud checks every account respond would enter: sign-in, entry, the permissions, and the KMS
// sinks that write there.
func (r *runner) cloud(ctx context.Context) []Check {
	if r.o.Connect == nil {
		return nil
	}
	conf := r.o.Config
	var out []Check
	sess, err := r.o.Connect(ctx, conf)
	if err != nil && conf != nil && conf.ResourceDirectory != nil {
		// Sign in again without the directory: when that works, the directory was the problem,
		// and the configured accounts are still checked.
		alone := *conf
		alone.ResourceDirectory = nil
		if s2, err2 := r.o.Connect(ctx, &alone); err2 == nil {
			c := Check{Kind: KindDirectory, Component: "resource directory (" + conf.ResourceDirectory.Account + ")",
				Item: "list the member accounts", Required: true, Probe: "ListAccounts", Detail: err.Error()}
			c.Status, c.Fix = failure(err, "resourcemanager:ListAccounts")
			out = append(out, c)
			sess, err = s2, nil
		}
	}
	if err != nil {
		c := Check{Kind: KindAccount, Component: "respond's own credentials", Item: "sign in", Required: true,
			Probe: "GetCallerIdentity", Detail: err.Error()}
		c.Status, c.Fix = failure(err, "")
		if c.Fix == "" {
			c.Fix = "check the credentials (ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET, --profile) and --endpoint"
		}
		return append(out, c)
	}
	accounts := sess.Entered()
	if conf != nil && conf.ResourceDirectory != nil && len(out) == 0 {
		n := 0
		for _, a := range accounts {
			if configured(conf, a.Account) == nil {
				n++
			}
		}
		out = append(out, Check{Kind: KindDirectory, Component: "resource directory (" + conf.ResourceDirectory.Account + ")",
			Item: "list the member accounts", Status: StatusOK, Required: true, Probe: "ListAccounts",
			Detail: fmt.Sprintf("%d account(s) to enter besides the configured ones", n)})
	}
	results := make([][]Check, len(accounts))
	sem := make(chan struct{}, r.o.Concurrency)
	var wg sync.WaitGroup
	for i := range accounts {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = r.account(ctx, sess, accounts[i])
		})
	}
	wg.Wait()
	var sinks []Check
	for _, res := range results {
		for _, c := range res {
			if c.Kind == KindSink {
				sinks = append(sinks, c)
			} else {
				out = append(out, c)
			}
		}
	}
	// KMS sink checks follow the accounts, grouped by sink name.
	slices.SortStableFunc(sinks, func(a, b Check) int { return strings.Compare(a.Component, b.Component) })
	return append(out, sinks...)
}

// configured is the configuration's entry for an account, or nil.
func configured(conf *playbooks.Config, a ram.Account) *playbooks.AccountConfig {
	if conf == nil {
		return nil
	}
	for i, ac := range conf.Accounts {
		if (ac.Name != "" && ac.Name == a.Name) || (ac.ID != "" && ac.ID == a.ID) {
			return &conf.Accounts[i]
		}
	}
	return nil
}

func accountLabel(a ram.Account) string {
	switch {
	case a.Name != "" && a.ID != "":
		return "account " + a.Name + " (" + a.ID + ")"
	case a.ID != "":
		return "account " + a.ID
	case a.Name != "":
		return "account " + a.Name
	}
	return "home account"
}

// failure maps an error to a status and a fix: a refusal for lack of permission is missing
// (grant perm, or the cloud's own AuthAction), anything else an error.
func failure(err error, perm string) (Status, string) {
	if errors.Is(err, ram.ErrNoPermission) {
		if perm == "" {
			return StatusMissing, "grant the permission the message names"
		}
		return StatusMissing, "grant " + perm
	}
	return StatusError, ""
}

// account checks one account: it is entered (a role assumed) and signs in, then each permission
// its candidate playbooks need is probed, and the KMS sinks that write in it are checked.
func (r *runner) account(ctx context.Context, sess *rotate.Session, la ram.LocatorAccount) []Check {
	comp := accountLabel(la.Account)
	ac := configured(r.o.Config, la.Account)
	role := ""
	switch {
	case ac != nil && ac.Credentials.Source == playbooks.CredentialsRoleARN:
		role = ac.Credentials.RoleARN
	case ac == nil && r.o.Config != nil && r.o.Config.ResourceDirectory != nil && la.Account.ID != sess.Caller().AccountID:
		role = ram.RoleArn(la.Account.ID, r.o.Config.ResourceDirectory.RoleName)
	}
	chk := func(item string) Check { return Check{Kind: KindAccount, Component: comp, Item: item, Required: true} }
	var out []Check
	api, _, err := la.Connect(ctx)
	if err != nil {
		c := chk("sign in")
		c.Detail, c.Probe = err.Error(), "GetCallerIdentity"
		if role != "" {
			c.Item, c.Probe = "enter", "AssumeRole"
			c.Status, c.Fix = failure(err, "sts:AssumeRole to respond, and a trust policy on the role that trusts respond's account")
		} else {
			c.Status, c.Fix = failure(err, "")
		}
		return append(out, c)
	}
	if role != "" {
		c := chk("enter")
		c.Status, c.Probe, c.Detail = StatusOK, "AssumeRole", "assumed "+role
		out = append(out, c)
	}
	id, err := api.GetCallerIdentity(ctx)
	c := chk("sign in")
	c.Probe = "GetCallerIdentity"
	if err != nil {
		c.Detail = err.Error()
		c.Status, c.Fix = failure(err, "")
		return append(out, c)
	}
	c.Status, c.Detail = StatusOK, id.IdentityType+" "+id.Arn
	out = append(out, c)
	p, ok := api.(prober)
	if !ok {
		c := chk("permissions")
		c.Status, c.Detail = StatusNotChecked, "this client cannot probe"
		return append(out, c)
	}
	needs, pbs, err := r.accountNeeds(la.Account)
	if err != nil {
		c := chk("playbooks")
		c.Status, c.Detail = StatusError, err.Error()
		return append(out, c)
	}
	target := r.target
	target.AccountID = la.Account.ID
	if target.AccountID == "" {
		target.AccountID = id.AccountID
	}
	if c, ok := targetExists(ctx, p, target, needs); ok {
		c.Kind, c.Component, c.Required = KindAccount, comp, true
		return append(out, c)
	}
	for _, n := range needs {
		out = append(out, probeCheck(comp, n, p.Probe(ctx, n.kind, target)))
	}
	out = append(out, r.kmsManaged(ctx, comp, p, pbs)...)
	return append(out, r.kmsSinks(ctx, p, la.Account, pbs)...)
}

// targetExists makes sure the user the probes name does not exist, nor the custom policy when a
// write probe names it, before any write names them: ok reports one that does (the check says so).
func targetExists(ctx context.Context, p prober, t ram.ProbeTarget, needs []*need) (Check, bool) {
	if g := p.Probe(ctx, ram.ProbeGetUser, t); g.Grant == ram.GrantGranted && g.Code == "" {
		return Check{Item: "probe user", Status: StatusError, Detail: "a user named " + t.UserName + " exists: no write permission was probed"}, true
	}
	policy := map[ram.ProbeKind]bool{}
	for _, info := range ram.ProbeCatalog() {
		policy[info.Kind] = info.Write && info.NamesPolicy && info.Unprobed == ""
	}
	if !slices.ContainsFunc(needs, func(n *need) bool { return policy[n.kind] }) {
		return Check{}, false
	}
	if g := p.Probe(ctx, ram.ProbeGetPolicy, t); g.Grant == ram.GrantGranted && g.Code == "" {
		return Check{Item: "probe policy", Status: StatusError, Detail: "a custom policy named " + t.PolicyName + " exists: no write permission was probed"}, true
	}
	return Check{}, false
}

// probeCheck turns a probe's answer into a check.
func probeCheck(comp string, n *need, res ram.ProbeResult) Check {
	c := Check{Kind: KindAccount, Component: comp, Item: res.Permission, Status: statusOf(res.Grant), Required: n.required,
		NeededBy: n.neededBy, Probe: res.Call, Answer: res.Code, Inferred: res.Inferred}
	switch res.Grant {
	case ram.GrantGranted:
	case ram.GrantDenied:
		c.Fix = "grant " + res.Missing()
		if res.AuthAction != "" && res.AuthAction != res.Permission {
			c.Item = res.AuthAction // the action this endpoint checks
		}
	case ram.GrantNotProbed:
		c.Detail = "not probed (action unknown to this endpoint)"
		if res.Code == "" { // no call made: no harmless one proves it
			c.Detail, c.Fix = "not probed: "+res.Detail, "make sure respond is allowed "+res.Permission
		}
	case ram.GrantUnknown:
		c.Detail, c.Fix = res.Detail, "check that respond is allowed "+res.Permission
	default:
		c.Detail = res.Detail
	}
	if n.note != "" && c.Status != StatusOK {
		c.Detail = strings.TrimSuffix(n.note+"; "+c.Detail, "; ")
	}
	return c
}
