package rotate

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/respond-dev/respond/ram/accesskey"
)

func TestShellQuote(t *testing.T) {
	for _, s := range []string{"plain", "/abs/path-1.2_x", "with space", "it's", "$HOME", "`cmd`", "a\"b", "semi;colon", "", "tab\there", "new\nline", "%s%"} {
		t.Run(s, func(t *testing.T) {
			// The shell must give back exactly s.
			out, err := exec.Command("/bin/sh", "-c", "printf %s "+ShellQuote(s)).Output()
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != s {
				t.Errorf("sh read %q back as %q", s, out)
			}
		})
	}
	if ShellQuote("/abs/path") != "/abs/path" {
		t.Error("a plain path is quoted")
	}
}

func TestInvocationResumeCommand(t *testing.T) {
	abs, err := filepath.Abs("rel/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		inv  Invocation
		want string
	}{
		{"nothing recorded", Invocation{}, "respond --key-id LTAI5tRESUME000000000001 --yes"},
		{"sandbox", Invocation{Sandbox: true, StateDir: "/tmp/s"}, "respond --key-id LTAI5tRESUME000000000001 --yes --sandbox --state-dir /tmp/s"},
		{"everything, paths made absolute, quoted", Invocation{StateDir: "/var/state dir", Config: "rel/config.yaml", Endpoint: "127.0.0.1:8080",
			Region: "cn-shanghai", Profile: "on call", Playbook: "contain-first"},
			"respond --key-id LTAI5tRESUME000000000001 --yes --state-dir '/var/state dir' --config " + abs + " --endpoint 127.0.0.1:8080 --region cn-shanghai --profile 'on call' --playbook contain-first"},
		{"a playbook file is made absolute", Invocation{Playbook: "rel/pb.yaml"}, "respond --key-id LTAI5tRESUME000000000001 --yes --playbook " + strings.TrimSuffix(abs, "config.yaml") + "pb.yaml"},
		{"a percent sign survives the key id's formatting", Invocation{StateDir: "/s/100%"}, "respond --key-id LTAI5tRESUME000000000001 --yes --state-dir /s/100%"},
		{"the run's sinks and search order, without what needs the leaked secret", Invocation{Sinks: []string{"vault", "ci file"}, Strategies: []string{"scan", "caller", "secret-match", "self"}},
			"respond --key-id LTAI5tRESUME000000000001 --yes --sink vault --sink 'ci file' --locate scan,self"},
		{"no search order but what needs the leaked secret", Invocation{Strategies: []string{"caller"}}, "respond --key-id LTAI5tRESUME000000000001 --yes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := &run{d: Deps{ResumeCommand: tc.inv.ResumeCommand()}}
			x.p.KeyID = accesskey.MustParseID("LTAI5tRESUME000000000001")
			if got := x.resume(); got != tc.want {
				t.Errorf("resume command\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

// The command that takes up Security Center records left pending names the state directory and
// configuration they were found with, quoted (a percent sign as is: it is no format).
func TestInvocationPollCommand(t *testing.T) {
	for _, tc := range []struct {
		name string
		inv  Invocation
		want string
	}{
		{"nothing recorded", Invocation{}, "respond --from security-center --since 720h"},
		{"state directory, configuration, target", Invocation{StateDir: "/var/state 100%", Config: "/etc/respond.yaml", Endpoint: "127.0.0.1:8080", Profile: "oncall"},
			"respond --from security-center --state-dir '/var/state 100%' --config /etc/respond.yaml --endpoint 127.0.0.1:8080 --profile oncall --since 720h"},
		{"sandbox", Invocation{Sandbox: true, StateDir: "/tmp/s"}, "respond --from security-center --sandbox --state-dir /tmp/s --since 720h"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.inv.PollCommand("720h"); got != tc.want {
				t.Errorf("poll command\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}
