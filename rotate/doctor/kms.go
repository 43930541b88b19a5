package doctor

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
)

// kmsSinks checks the KMS sinks the account's playbooks use and that write in this account (the
// sink's account, or by default the key owner's): the secret exists (or create: true), and
// respond may put a version in it (and create it).
func (r *runner) kmsSinks(ctx context.Context, p prober, acct ram.Account, pbs []*playbooks.Playbook) []Check {
	conf := r.o.Config
	if conf == nil {
		return nil
	}
	var names []string
	for _, pb := range pbs {
		for _, s := range pb.Sinks {
			if !slices.Contains(names, s) {
				names = append(names, s)
			}
		}
	}
	slices.Sort(names)
	var out []Check
	for _, name := range names {
		sc, ok := conf.Sinks[name]
		if !ok || sc.Type != playbooks.SinkKMS || !r.sinkAccount(sc, acct) {
			continue
		}
		out = append(out, r.kmsSink(ctx, p, acct, sc)...)
	}
	return out
}

// sinkAccount reports whether the sink writes in acct: its account names it, or it names none.
func (r *runner) sinkAccount(sc playbooks.SinkConfig, acct ram.Account) bool {
	if sc.Account == "" {
		return true
	}
	if sc.Account == acct.ID || sc.Account == acct.Name {
		return true
	}
	if ac, ok := r.o.Config.Account(sc.Account); ok && ac.ID != "" && ac.ID == acct.ID {
		return true
	}
	return false
}

func (r *runner) kmsSink(ctx context.Context, p prober, acct ram.Account, sc playbooks.SinkConfig) []Check {
	where := " in " + accountLabel(acct)
	chk := func(item string) Check {
		return Check{Kind: KindSink, Component: "sink " + sc.Name + " (kms)", Item: item + where, Required: true,
			NeededBy: r.use.sinks[sc.Name]}
	}
	perKey := sc.Target != nil && slices.ContainsFunc(sc.Target.Fields(), perKeyField)
	vals := playbooks.TemplateValues{AccountID: acct.ID, AccountName: cmp.Or(acct.Name, acct.ID),
		UserName: r.target.UserName, KeyID: r.target.KeyID.String(), Date: r.o.Now().UTC()}
	name, err := sc.ExpandTarget(vals)
	if err != nil {
		c := chk("secret name")
		c.Status, c.Detail = StatusError, err.Error()
		return []Check{c}
	}
	var out []Check
	exists := false
	t := r.target
	if perKey {
		c := chk("secret")
		c.Status = StatusNotChecked
		c.Detail = "the name " + sc.Target.String() + " depends on the user or key: not checked"
		if !sc.Create {
			c.Detail += "; each user's secret must exist before respond stores a key there, or set create: true"
		}
		out = append(out, c)
		t.SecretName = name // the probe user's: cannot exist
	} else {
		t.SecretName = name
		d := p.Probe(ctx, ram.ProbeDescribeSecret, t)
		c := chk("secret " + name)
		c.Probe, c.Answer, c.Inferred = d.Call, d.Code, d.Inferred
		switch {
		case d.Grant == ram.GrantGranted && d.Code == "":
			c.Status, c.Detail, exists = StatusOK, "exists", true
		case d.Grant == ram.GrantGranted && sc.Create:
			c.Status, c.Detail = StatusOK, "does not exist yet: respond creates it (create: true)"
		case d.Grant == ram.GrantGranted:
			c.Status, c.Detail = StatusMissing, "does not exist, and create is false"
			c.Fix = "create the secret " + name + ", or set create: true"
		case d.Grant == ram.GrantDenied:
			c.Status, c.Detail = StatusUnknown, "cannot tell whether it exists: respond doctor reads its metadata with kms:DescribeSecret (a run does not need it)"
			c.Fix = "grant " + d.Missing() + " to respond doctor"
		case d.Grant == ram.GrantNotProbed:
			c.Status, c.Detail = StatusNotChecked, "not probed (action unknown to this endpoint)"
		default:
			c.Status, c.Detail = statusOf(d.Grant), d.Detail
		}
		out = append(out, c)
		// A name without the user in it is a real secret's: the probe writes beside it.
		var b [8]byte
		_, _ = rand.Read(b[:])
		t.SecretName = name + "-respond-doctor-" + hex.EncodeToString(b[:])
	}
	out = append(out, r.kmsProbe(ctx, p, t, sc, ram.ProbePutSecretValue, true, perKey, where, ""))
	if !sc.Create {
		return out
	}
	// create: true: kms:CreateSecret, probed on the same name as PutSecretValue, encrypted with a
	// KMS key that cannot exist, so that nothing can be created. A fixed name that exists already
	// is only ever added to.
	note := ""
	if exists {
		note = "optional: the secret exists, so a run adds a version to it and creates nothing"
	}
	return append(out, r.kmsProbe(ctx, p, t, sc, ram.ProbeCreateSecret, !exists, perKey, where, note))
}

// kmsProbe makes one of a KMS sink's write probes and reports it as the sink's check.
func (r *runner) kmsProbe(ctx context.Context, p prober, t ram.ProbeTarget, sc playbooks.SinkConfig, kind ram.ProbeKind,
	required, perKey bool, where, note string) Check {
	c := probeCheck("", &need{kind: kind, required: required, neededBy: r.use.sinks[sc.Name], note: note}, p.Probe(ctx, kind, t))
	c.Kind, c.Component, c.Item = KindSink, "sink "+sc.Name+" (kms)", c.Item+where
	if !perKey && c.Status == StatusMissing {
		c.Detail = strings.TrimPrefix(c.Detail+"; probed on a name beside the secret: a policy that names the secret exactly shows as missing here", "; ")
	}
	return c
}

func statusOf(g ram.Grant) Status {
	switch g {
	case ram.GrantGranted:
		return StatusOK
	case ram.GrantDenied:
		return StatusMissing
	case ram.GrantUnknown:
		return StatusUnknown
	case ram.GrantNotProbed:
		return StatusNotChecked
	}
	return StatusError
}
