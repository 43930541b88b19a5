package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/rotate"
	"github.com/respond-dev/respond/rotate/doctor"
)

func newCmdDoctor(f *Factory) *cobra.Command {
	o := doctor.Options{ServeTokenEnv: DefaultServeTokenEnv}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check that respond can act: credentials, permissions, sinks, channels, state (changes nothing)",
		Long: `Check, before an incident, everything a run would need: every configured account (and every
Resource Directory member respond would enter) signs in, its role can be assumed, and each
permission the playbooks that may answer its keys need is granted; every sink and notification
channel works; the state directory is safe, has room, and holds no unfinished rotation; the
serve: section's tokens and webhook secrets resolve, and its GitHub token can read alerts.

It changes nothing. Reads are probed by their cheapest call; writes by calls that must fail, on a
user, key or KMS key that cannot exist (respond-doctor-<random>): "no permission" means missing,
"no such user" means granted. A file sink's directory gets a probe file written and removed; a
channel gets a connection and no request, unless --send-test sends a message marked as a test.
Security Center's permissions are checked in every account when a poll is configured
(serve.security-center, a playbook, rule or trust naming the source, or an earlier poll's state).

Exit 0 when everything a configured playbook needs is there, 1 otherwise: run it in CI or on a
schedule (--output json, schema respond.doctor/v1).`,
		Example: `  respond doctor --config /etc/respond/config.yaml
  respond doctor --output json --send-test
  respond doctor --sandbox`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return doctorRun(cmd.Context(), f, o)
		},
	}
	cmd.Flags().BoolVar(&o.SendTest, "send-test", false, "send a test message (marked as such) on every notification channel")
	cmd.Flags().BoolVar(&o.SecurityCenter, "security-center", false, "check Security Center's permissions in every account even when no poll is configured")
	return cmd
}

func doctorRun(ctx context.Context, f *Factory, o doctor.Options) error {
	asJSON, err := f.outputJSON()
	if err != nil {
		return err
	}
	if o.Config, err = f.loadConfig(); err != nil {
		return err
	}
	if o.StateDir, err = f.stateDir(); err != nil {
		return err
	}
	o.StateDirFlag, o.Getenv, o.Now = f.Global.StateDir != "", f.getenv, f.Now
	o.Connect = func(ctx context.Context, c *playbooks.Config) (*rotate.Session, error) { return f.connect(ctx, c, nil) }
	rep, write := doctor.Run(ctx, o), doctor.WriteText
	if asJSON {
		write = doctor.WriteJSON
	}
	if err := write(f.Streams.Out, rep); err != nil || rep.OK {
		return err
	}
	return &ExitError{Code: exitFailed}
}
