package rotate

import (
	"cmp"

	"github.com/respond-dev/respond/ram"
)

// Target is where and as whom respond signs in, as the global flags (--profile, --region,
// --endpoint, --sandbox) and the environment (ram.EnvConfig) say.
type Target struct {
	Profile, Region, Endpoint string
	// Sandbox, with --sandbox, starts the in-process sandbox (once) and says where it listens and
	// who its administrator is: every call goes there, signed as it.
	Sandbox func() Sandbox
	Getenv  func(string) string
}

// Sandbox is an in-process emulated organisation respond rehearses on.
type Sandbox struct {
	Endpoint string
	Admin    ram.CredentialSource
}

// Config is the environment's ram.Config (ram.EnvConfig; a bad value is an *InvalidError) with
// the region and endpoint of the flags.
func (t Target) Config() (ram.Config, error) {
	cfg, err := ram.EnvConfig(t.Getenv)
	if err != nil {
		return ram.Config{}, &InvalidError{Err: err}
	}
	cfg.Region = cmp.Or(t.Region, cfg.Region)
	cfg.Endpoint = cmp.Or(t.Endpoint, cfg.Endpoint)
	return cfg, nil
}

// SessionOptions are Connect's options for the target: every client starts from Config (the
// sandbox's endpoint with --sandbox), with userAgent, and notice told of slow calls. respond signs
// in its home account as the sandbox's administrator, the --profile's aliyun CLI profile, else the
// SDK's default chain (environment, OIDC, aliyun CLI profile, ECS RAM role).
func (t Target) SessionOptions(userAgent string, notice func(string)) (SessionOptions, error) {
	base, err := t.Config()
	if err != nil {
		return SessionOptions{}, err
	}
	base.UserAgent, base.Notice = userAgent, notice
	home := ram.DefaultCredentials()
	switch {
	case t.Sandbox != nil:
		sb := t.Sandbox()
		base.Endpoint, home = sb.Endpoint, sb.Admin
	case t.Profile != "":
		home = ram.ProfileCredentials(t.Profile)
	}
	return SessionOptions{Base: base, Home: home, FixedEndpoint: t.Sandbox != nil || t.Endpoint != "",
		Profile: func(name string) (ram.CredentialSource, bool) {
			if t.Sandbox != nil || name == t.Profile {
				return ram.CredentialSource{}, false // signs as respond itself
			}
			return ram.ProfileCredentials(name), true
		},
	}, nil
}

// Invocation is what a run on this target used, for the command that resumes its rotations: the
// state directory, the configuration file (config; "" for none or the sandbox's built-in one), a
// forced playbook, and the target (the sandbox's endpoint is its own, not recorded).
func (t Target) Invocation(stateDir, config, playbook string) (Invocation, error) {
	cfg, err := t.Config()
	if err != nil {
		return Invocation{}, err
	}
	inv := Invocation{Sandbox: t.Sandbox != nil, StateDir: stateDir, Config: config, Profile: t.Profile,
		Region: cfg.Region, Playbook: playbook}
	if t.Sandbox == nil {
		inv.Endpoint = cfg.Endpoint
	}
	return inv, nil
}
