package main

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate"
)

// connect signs in and enters every account the configuration names (rotate.Connect), on the
// target the flags and the environment say; p shows what slow calls wait for.
func (f *Factory) connect(ctx context.Context, conf *playbooks.Config, p *ram.ProgressPrinter) (*rotate.Session, error) {
	if p == nil {
		p = ram.NewProgressPrinter(f.Streams.ErrOut, false, true, f.Now)
	}
	opts, err := f.target().SessionOptions(ram.UserAgent()+" "+f.ownMarker, p.Notice)
	if err != nil {
		return nil, err
	}
	opts.Base.Observe = f.observe // respond serve's metrics: every cloud call and throttle
	s, err := rotate.Connect(ctx, conf, opts)
	if err != nil {
		return nil, err
	}
	for _, w := range s.Warnings() { // e.g. an endpoint over plain HTTP to another machine
		fmt.Fprintln(f.Streams.ErrOut, "respond: warning: "+accesskey.Printable(w))
	}
	return s, nil
}

// connected is the configuration and the connection to its accounts (connect), for a read-only
// command.
func (f *Factory) connected(ctx context.Context) (*playbooks.Config, *rotate.Session, error) {
	conf, err := f.loadConfig()
	if err != nil {
		return nil, nil, err
	}
	s, err := f.connect(ctx, conf, nil)
	return conf, s, err
}

// target is where and as whom the global flags and the environment say respond signs in
// (rotate.Target); the sandbox starts on first use.
func (f *Factory) target() rotate.Target {
	t := rotate.Target{Profile: f.Global.Profile, Region: f.Global.Region, Endpoint: f.Global.Endpoint, Getenv: f.getenv}
	if f.Global.Sandbox {
		t.Sandbox = f.startSandbox
	}
	return t
}

// configPath is --config, else the default path when it exists (playbooks.FindConfig), else "".
func (f *Factory) configPath() (string, error) {
	if f.Global.ConfigPath != "" {
		return f.Global.ConfigPath, nil
	}
	return playbooks.FindConfig(f.getenv)
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
	path, err := f.configPath()
	if path == "" || err != nil {
		return nil, err
	}
	conf, err := playbooks.LoadConfig(path)
	if err != nil {
		return nil, &FlagError{Err: fmt.Errorf("configuration: %w", err)}
	}
	return conf, nil
}
