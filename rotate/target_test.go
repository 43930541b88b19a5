package rotate

import (
	"errors"
	"reflect"
	"testing"

	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
)

// TestTargetSessionOptions: who respond signs in as, where, and which configured profiles it
// uses, from the global flags and the environment.
func TestTargetSessionOptions(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	admin := ram.StaticCredentials("LTAI5tSandboxAdmin000000", accesskey.NewSecret("s"))
	sandbox := func() Sandbox { return Sandbox{Endpoint: "http://127.0.0.1:1", Admin: admin} }
	for _, tc := range []struct {
		name                   string
		t                      Target
		home, endpoint, region string
		fixed                  bool
		profileOps             string // the credentials of an account configured with profile "ops" ("" = respond's own)
	}{
		{"default chain, the environment's region and endpoint",
			Target{Getenv: env(map[string]string{"ALIBABA_CLOUD_REGION_ID": "cn-shanghai", "RESPOND_ENDPOINT": "https://e.example"})},
			ram.DefaultCredentials().String(), "https://e.example", "cn-shanghai", false, ram.ProfileCredentials("ops").String()},
		{"the flags win over the environment",
			Target{Region: "eu-central-1", Endpoint: "https://flag.example", Getenv: env(map[string]string{"ALIBABA_CLOUD_REGION_ID": "cn-shanghai", "RESPOND_ENDPOINT": "https://e.example"})},
			ram.DefaultCredentials().String(), "https://flag.example", "eu-central-1", true, ram.ProfileCredentials("ops").String()},
		{"--profile signs respond; an account with the same profile signs as respond",
			Target{Profile: "ops", Getenv: env(nil)},
			ram.ProfileCredentials("ops").String(), "", "", false, ""},
		{"the sandbox's endpoint and administrator, whatever the environment",
			Target{Profile: "ops", Sandbox: sandbox, Getenv: env(map[string]string{"RESPOND_ENDPOINT": "https://e.example"})},
			admin.String(), "http://127.0.0.1:1", "", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := tc.t.SessionOptions("respond/test", nil)
			if err != nil {
				t.Fatal(err)
			}
			if o.Home.String() != tc.home || o.Base.Endpoint != tc.endpoint || o.FixedEndpoint != tc.fixed || o.Base.UserAgent != "respond/test" {
				t.Errorf("home %s, endpoint %q (fixed %v), user agent %q; want %s, %q (fixed %v)", o.Home, o.Base.Endpoint, o.FixedEndpoint, o.Base.UserAgent, tc.home, tc.endpoint, tc.fixed)
			}
			if tc.region != "" && o.Base.Region != tc.region {
				t.Errorf("region %q, want %q", o.Base.Region, tc.region)
			}
			got := ""
			if c, ok := o.Profile("ops"); ok {
				got = c.String()
			}
			if got != tc.profileOps {
				t.Errorf("account with profile ops signs with %q, want %q", got, tc.profileOps)
			}
		})
	}
}

// TestTargetBadEnvironment: a bad variable is bad input (exit 2), for the connection and for the
// resume command alike.
func TestTargetBadEnvironment(t *testing.T) {
	tg := Target{Getenv: func(k string) string {
		if k == "RESPOND_READ_TIMEOUT" {
			return "soon"
		}
		return ""
	}}
	_, err := tg.SessionOptions("", nil)
	_, err2 := tg.Invocation("/state", "", "")
	var ie *InvalidError
	if !errors.As(err, &ie) || !errors.As(err2, &ie) {
		t.Errorf("errors %v, %v: want *InvalidError", err, err2)
	}
}

// TestTargetInvocation: the resume command repeats the target, but not the sandbox's endpoint.
func TestTargetInvocation(t *testing.T) {
	env := func(k string) string { return map[string]string{"RESPOND_ENDPOINT": "https://e.example"}[k] }
	for _, tc := range []struct {
		name string
		t    Target
		want Invocation
	}{
		{"cloud", Target{Profile: "ops", Region: "cn-beijing", Getenv: env},
			Invocation{StateDir: "/s", Config: "/c.yaml", Profile: "ops", Region: "cn-beijing", Endpoint: "https://e.example", Playbook: "standard"}},
		{"sandbox", Target{Region: "cn-beijing", Getenv: env, Sandbox: func() Sandbox { t.Fatal("the sandbox is started"); return Sandbox{} }},
			Invocation{Sandbox: true, StateDir: "/s", Config: "/c.yaml", Region: "cn-beijing", Playbook: "standard"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.t.Invocation("/s", "/c.yaml", "standard")
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Invocation = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}
