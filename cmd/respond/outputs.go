package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate"
	"github.com/respond-dev/respond/rotate/journal"
	"github.com/respond-dev/respond/rotate/notify"
	"github.com/respond-dev/respond/rotate/sink"
)

// classify maps the errors of the engine and the cloud to exit codes (design §10).
func classify(err error) exitCode {
	var re *rotate.RefusedError
	var pe *rotate.PartialError
	var le *journal.LockedError
	switch {
	case errors.As(err, &pe), errors.Is(err, context.Canceled):
		return exitPartial
	case errors.As(err, &le), errors.Is(err, rotate.ErrInProgress):
		return exitPartial
	case errors.As(err, &re):
		return exitRefused
	case errors.Is(err, ram.ErrOwnerNotFound):
		return exitNotFound
	case errors.Is(err, ram.ErrSDKDebug):
		return exitUsage
	}
	return exitFailed
}

// buildSinks makes the playbook's sinks for one key, with targets expanded from its owner.
func (f *Factory) buildSinks(ctx context.Context, pb *playbooks.Playbook, conf *playbooks.Config, cl *cloud, snap rotate.Snapshot, opts *RespondOptions) ([]sink.Sink, error) {
	var out []sink.Sink
	if !pb.Has(playbooks.StepStore) {
		return nil, nil
	}
	vals := playbooks.TemplateValues{UserName: snap.Owner.UserName, AccountID: snap.Owner.Account.ID,
		AccountName: snap.Owner.Account.Name, KeyID: snap.Owner.KeyID.String(), Date: f.Now().UTC()}
	if vals.UserName == "" {
		vals.UserName = "unknown-user"
	}
	if vals.AccountID == "" {
		vals.AccountID = cl.caller.AccountID
	}
	if vals.AccountName == "" {
		vals.AccountName = vals.AccountID
	}
	if vals.KeyID == "" {
		vals.KeyID = "unknown-key"
	}
	names := pb.Sinks
	if len(opts.Sinks) > 0 {
		names = opts.Sinks
	}
	if conf != nil {
		for _, name := range names {
			sc, ok := conf.Sinks[name]
			if !ok {
				return nil, flagErrorf("--sink %s: no such sink in %s", name, conf.Source)
			}
			s, err := f.buildSink(ctx, sc, vals, cl, snap)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
	} else if len(opts.Sinks) > 0 {
		return nil, flagErrorf("--sink needs a configuration file that defines the sinks (--config)")
	}
	if len(out) == 0 && f.Global.Sandbox {
		// The sandbox rehearses the whole response: without a configured sink, the replacement
		// goes to a 0600 file in the state directory.
		dir, err := f.stateDir()
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Join(dir, "sandbox"), 0o700); err != nil {
			return nil, fmt.Errorf("create the sandbox sink's directory: %w", err)
		}
		s, err := sink.NewFile("sandbox-file", filepath.Join(dir, "sandbox", vals.UserName+".env"), sink.FormatDotenv)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if opts.Reveal {
		w := f.rawOut
		if w == nil {
			w = f.Streams.Out
		}
		t, err := sink.NewTerminal("terminal", w)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func (f *Factory) buildSink(ctx context.Context, sc playbooks.SinkConfig, vals playbooks.TemplateValues, cl *cloud, snap rotate.Snapshot) (sink.Sink, error) {
	switch sc.Type {
	case playbooks.SinkFile:
		path, err := sc.ExpandTarget(vals)
		if err != nil {
			return nil, &FlagError{Err: fmt.Errorf("sink %s: %w", sc.Name, err)}
		}
		return sink.NewFile(sc.Name, path, sc.Format)
	case playbooks.SinkKMS:
		name, err := sc.ExpandTarget(vals)
		if err != nil {
			return nil, &FlagError{Err: fmt.Errorf("sink %s: %w", sc.Name, err)}
		}
		accountID := snap.Owner.Account.ID
		if sc.Account != "" {
			for _, a := range cl.accounts {
				if a.Account.Name == sc.Account || a.Account.ID == sc.Account {
					accountID = a.Account.ID
				}
			}
		}
		api, err := cl.account(ctx, accountID)
		if err != nil {
			return nil, fmt.Errorf("sink %s: %w", sc.Name, err)
		}
		return sink.NewKMS(sc.Name, name, sc.Create, api)
	case playbooks.SinkExec:
		return sink.NewExec(sc.Name, sc.Command, sink.WithGetenv(f.getenv))
	}
	return nil, flagErrorf("sink %s: unknown type %q", sc.Name, sc.Type)
}

// buildNotifiers makes the configured channels. Their URLs and signing secrets come from the
// environment or a file, never from the configuration itself.
func (f *Factory) buildNotifiers(conf *playbooks.Config) ([]notify.Notifier, error) {
	if conf == nil {
		return nil, nil
	}
	var out []notify.Notifier
	opts := notify.Options{Logger: slog.New(slog.DiscardHandler)}
	if f.redactor != nil {
		opts.Redact = f.redactor.Redact
	}
	for name, nc := range conf.Notify {
		url, err := f.readSecretRef(nc.URLEnv, nc.URLFile)
		if err != nil {
			return nil, &FlagError{Err: fmt.Errorf("notify %s: %w", name, err)}
		}
		var signing accesskey.Secret
		if nc.SecretEnv != "" {
			signing, err = f.readSecretRef(nc.SecretEnv, "")
			if err != nil {
				return nil, &FlagError{Err: fmt.Errorf("notify %s: %w", name, err)}
			}
		}
		var n notify.Notifier
		switch nc.Type {
		case playbooks.NotifyDingTalk:
			n, err = notify.NewDingTalk(name, url, signing, opts)
		case playbooks.NotifySlack:
			n, err = notify.NewSlack(name, url, opts)
		case playbooks.NotifyLark:
			n, err = notify.NewLark(name, url, signing, opts)
		case playbooks.NotifyWebhook:
			n, err = notify.NewWebhook(name, url, signing, opts)
		default:
			err = fmt.Errorf("unknown type %q", nc.Type)
		}
		if err != nil {
			return nil, &FlagError{Err: fmt.Errorf("notify %s: %w", name, err)}
		}
		out = append(out, n)
	}
	return out, nil
}

func (f *Factory) readSecretRef(env, file string) (accesskey.Secret, error) {
	switch {
	case env != "":
		v := f.getenv(env)
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
