package main

import (
	"cmp"
	"context"
	_ "embed"
	"fmt"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate"
)

// connect signs in and enters every account the configuration names (rotate.Connect), with the
// credentials and endpoint the flags and the environment say; p shows what slow calls wait for.
func (f *Factory) connect(ctx context.Context, conf *playbooks.Config, p *ram.ProgressPrinter) (*rotate.Session, error) {
	if p == nil {
		p = ram.NewProgressPrinter(f.Streams.ErrOut, false, true, f.Now)
	}
	base, err := f.baseConfig(p.Notice)
	if err != nil {
		return nil, err
	}
	s, err := rotate.Connect(ctx, conf, rotate.SessionOptions{
		Base: base, Home: f.homeCredentials(), FixedEndpoint: f.Global.Sandbox || f.Global.Endpoint != "",
		Profile: func(name string) (ram.CredentialSource, bool) {
			if f.Global.Sandbox || name == f.Global.Profile {
				return ram.CredentialSource{}, false // signs as respond itself
			}
			return ram.ProfileCredentials(name), true
		},
	})
	if err != nil {
		return nil, err
	}
	for _, w := range s.Warnings() { // e.g. an endpoint over plain HTTP to another machine
		fmt.Fprintln(f.Streams.ErrOut, "respond: warning: "+accesskey.Printable(w))
	}
	return s, nil
}

// baseConfig is the ram.Config every client of this run starts from: the environment's
// (ram.EnvConfig; a bad value is exit 2), the flags, the sandbox; notice is told of slow calls.
func (f *Factory) baseConfig(notice func(string)) (ram.Config, error) {
	cfg, err := f.flagConfig()
	if err != nil {
		return cfg, err
	}
	cfg.UserAgent, cfg.Notice, cfg.Observe = userAgent()+" "+f.ownMarker, notice, f.observe
	if f.Global.Sandbox {
		cfg.Endpoint = f.startSandbox().srv.Endpoint()
	}
	return cfg, nil
}

// flagConfig is the environment's ram.Config (ram.EnvConfig; a bad value is exit 2) with the
// region and endpoint of the flags.
func (f *Factory) flagConfig() (ram.Config, error) {
	cfg, err := ram.EnvConfig(f.getenv)
	if err != nil {
		return ram.Config{}, &FlagError{Err: err}
	}
	cfg.Region = cmp.Or(f.Global.Region, cfg.Region)
	cfg.Endpoint = cmp.Or(f.Global.Endpoint, cfg.Endpoint)
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
