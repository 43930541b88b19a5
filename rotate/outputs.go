package rotate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/notify"
	"github.com/respond-dev/respond/rotate/sink"
)

// Outputs say where the batch's replacements go besides the playbook's sinks, and how the
// configured sinks are built.
type Outputs struct {
	// Sinks, when set, replace the playbook's sinks (names in the configuration; --sink).
	Sinks []string
	// Getenv reads the environment for the exec sinks (default: none).
	Getenv func(string) string
	// Fallback, when set, is the sink of a playbook that stores and has none configured (the
	// sandbox's file in its state directory).
	Fallback func(playbooks.TemplateValues) (sink.Sink, error)
	// Reveal, when set, receives every new pair in the clear (--reveal on a terminal).
	Reveal io.Writer
	// Now dates the sinks' targets ({{.Date}}; default time.Now).
	Now func() time.Time
}

func (o Outputs) getenv(k string) string {
	if o.Getenv == nil {
		return ""
	}
	return o.Getenv(k)
}

// now is Now, else time.Now.
func (o Outputs) now() time.Time {
	if o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

// sinksFor makes the playbook's sinks for one key, with targets expanded from its owner.
func (b *Batch) sinksFor(ctx context.Context, pb *playbooks.Playbook, snap Snapshot) ([]sink.Sink, error) {
	if !pb.Has(playbooks.StepStore) {
		return nil, nil
	}
	o := b.Outputs
	vals := playbooks.TemplateValues{UserName: snap.Owner.UserName, AccountID: snap.Owner.Account.ID,
		AccountName: snap.Owner.Account.Name, KeyID: snap.Owner.KeyID.String(), Date: o.now().UTC()}
	vals.UserName = cmp.Or(vals.UserName, "unknown-user")
	vals.AccountID = cmp.Or(vals.AccountID, b.Session.Caller().AccountID)
	vals.AccountName = cmp.Or(vals.AccountName, vals.AccountID)
	vals.KeyID = cmp.Or(vals.KeyID, "unknown-key")
	names := pb.Sinks
	if len(o.Sinks) > 0 {
		names = o.Sinks
	}
	var out []sink.Sink
	if b.Config != nil {
		for _, name := range names {
			sc, ok := b.Config.Sinks[name]
			if !ok {
				return nil, invalidf("--sink %s: no such sink in %s", name, b.Config.Source)
			}
			s, err := b.buildSink(ctx, sc, vals, snap)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
	} else if len(o.Sinks) > 0 {
		return nil, invalidf("--sink needs a configuration file that defines the sinks (--config)")
	}
	if len(out) == 0 && o.Fallback != nil {
		s, err := o.Fallback(vals)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if o.Reveal != nil {
		t, err := sink.NewTerminal("terminal", o.Reveal)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func (b *Batch) buildSink(ctx context.Context, sc playbooks.SinkConfig, vals playbooks.TemplateValues, snap Snapshot) (sink.Sink, error) {
	switch sc.Type {
	case playbooks.SinkFile:
		path, err := sc.ExpandTarget(vals)
		if err != nil {
			return nil, &InvalidError{Err: fmt.Errorf("sink %s: %w", sc.Name, err)}
		}
		return sink.NewFile(sc.Name, path, sc.Format)
	case playbooks.SinkKMS:
		name, err := sc.ExpandTarget(vals)
		if err != nil {
			return nil, &InvalidError{Err: fmt.Errorf("sink %s: %w", sc.Name, err)}
		}
		accountID := snap.Owner.Account.ID
		if sc.Account != "" {
			for _, a := range b.Session.Entered() {
				if a.Account.Name == sc.Account || a.Account.ID == sc.Account {
					accountID = a.Account.ID
				}
			}
		}
		api, err := b.Session.Account(ctx, accountID)
		if err != nil {
			return nil, fmt.Errorf("sink %s: %w", sc.Name, err)
		}
		return sink.NewKMS(sc.Name, name, sc.Create, api)
	case playbooks.SinkExec:
		return sink.NewExec(sc.Name, sc.Command, sink.WithGetenv(b.Outputs.getenv))
	}
	return nil, invalidf("sink %s: unknown type %q", sc.Name, sc.Type)
}

// Notifiers makes the configured channels. Their URLs and signing secrets come from the
// environment (getenv) or a file, never from the configuration itself; redact, when set, passes
// over everything a channel logs. A channel that cannot be built is an *InvalidError.
func Notifiers(conf *playbooks.Config, getenv func(string) string, redact func(string) string) ([]notify.Notifier, error) {
	if conf == nil {
		return nil, nil
	}
	return newChannels(conf, getenv, redact).named(slices.Sorted(maps.Keys(conf.Notify)))
}

// channels are a run's notification channels, each built the first time a playbook of the run
// names it (a channel no playbook names is never opened: respond doctor does not require it).
type channels struct {
	conf   *playbooks.Config
	getenv func(string) string
	opts   notify.Options

	mu    sync.Mutex
	built map[string]notify.Notifier
}

func newChannels(conf *playbooks.Config, getenv func(string) string, redact func(string) string) *channels {
	return &channels{conf: conf, getenv: getenv, opts: notify.Options{Logger: slog.New(slog.DiscardHandler), Redact: redact},
		built: map[string]notify.Notifier{}}
}

// named are the channels of these names (a playbook's notify, filled in by the configuration).
func (c *channels) named(names []string) ([]notify.Notifier, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []notify.Notifier
	for _, name := range names {
		n, ok := c.built[name]
		if !ok {
			var err error
			if n, err = c.build(name); err != nil {
				return nil, &InvalidError{Err: fmt.Errorf("notify %s: %w", name, err)}
			}
			c.built[name] = n
		}
		out = append(out, n)
	}
	return out, nil
}

func (c *channels) build(name string) (notify.Notifier, error) {
	var nc playbooks.NotifyConfig
	ok := c.conf != nil
	if ok {
		nc, ok = c.conf.Notify[name]
	}
	if !ok {
		return nil, errors.New("no such channel in the configuration")
	}
	url, signing, err := NotifyRefs(c.getenv, nc)
	if err != nil {
		return nil, err
	}
	switch nc.Type {
	case playbooks.NotifyDingTalk:
		return notify.NewDingTalk(name, url, signing, c.opts)
	case playbooks.NotifySlack:
		return notify.NewSlack(name, url, c.opts)
	case playbooks.NotifyLark:
		return notify.NewLark(name, url, signing, c.opts)
	case playbooks.NotifyWebhook:
		return notify.NewWebhook(name, url, signing, c.opts)
	}
	return nil, fmt.Errorf("unknown type %q", nc.Type)
}

// NotifyRefs resolves a channel's webhook URL and, when it has one, its signing secret: from the
// environment (getenv) or a file, never from the configuration. The error names where it looked,
// never a value.
func NotifyRefs(getenv func(string) string, nc playbooks.NotifyConfig) (url, signing accesskey.Secret, err error) {
	if url, err = readSecretRef(getenv, nc.URLEnv, nc.URLFile); err != nil {
		return url, signing, err
	}
	if nc.SecretEnv != "" {
		if signing, err = readSecretRef(getenv, nc.SecretEnv, ""); err != nil {
			return url, signing, fmt.Errorf("signing secret: %w", err)
		}
	}
	return url, signing, nil
}

func readSecretRef(getenv func(string) string, env, file string) (accesskey.Secret, error) {
	switch {
	case env != "":
		v := getenv(env)
		if v == "" {
			return accesskey.Secret{}, fmt.Errorf("environment variable %s is empty or unset", env)
		}
		return accesskey.NewSecret(v), nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return accesskey.Secret{}, fmt.Errorf("read %s: %w", file, err)
		}
		return accesskey.NewSecret(strings.TrimSpace(string(b))), nil
	}
	return accesskey.Secret{}, errors.New("no url-env or url-file")
}
