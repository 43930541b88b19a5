package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/rotate"
	"github.com/respond-dev/respond/rotate/doctor"
)

// DoctorOptions are the flags of `respond doctor`.
type DoctorOptions struct {
	Factory        *Factory
	SendTest       bool
	SecurityCenter bool
}

func newCmdDoctor(f *Factory) *cobra.Command {
	opts := &DoctorOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check that respond can act: credentials, permissions, sinks, channels, state (changes nothing)",
		Long: `Check, before an incident, everything a run would need: every configured account (and every
Resource Directory member respond would enter) signs in, its role can be assumed, and each
permission the playbooks that may answer its keys need is granted; every sink and notification
channel works; the state directory is safe, has room, and holds no unfinished rotation.

It changes nothing. Reads are probed by their cheapest call; writes by calls that must fail, on a
user and key that cannot exist (respond-doctor-<random>): "no permission" means missing, "no such
user" means granted. A file sink's directory gets a probe file written and removed; a channel gets
a connection and no request, unless --send-test sends a message marked as a test.

Exit 0 when everything a configured playbook needs is there, 1 otherwise: run it in CI or on a
schedule (--output json, schema respond.doctor/v1).`,
		Example: `  respond doctor --config /etc/respond/config.yaml
  respond doctor --output json --send-test
  respond doctor --sandbox`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return doctorRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.SendTest, "send-test", false, "send a test message (marked as such) on every notification channel")
	cmd.Flags().BoolVar(&opts.SecurityCenter, "security-center", false, "also check the Security Center permissions respond's poll needs, in every account")
	return cmd
}

func doctorRun(ctx context.Context, opts *DoctorOptions) error {
	f := opts.Factory
	asJSON, err := f.outputJSON()
	if err != nil {
		return err
	}
	conf, err := f.loadConfig()
	if err != nil {
		return err
	}
	dir, err := f.stateDir()
	if err != nil {
		return err
	}
	if conf != nil && conf.StateDir != "" && f.Global.StateDir == "" {
		dir = conf.StateDir
	}
	rep := doctor.Run(ctx, doctor.Options{
		Config: conf,
		Connect: func(ctx context.Context, c *playbooks.Config) (*rotate.Session, error) {
			return f.connect(ctx, c, nil)
		},
		StateDir:       dir,
		Getenv:         f.getenv,
		SendTest:       opts.SendTest,
		SecurityCenter: opts.SecurityCenter,
		Now:            f.Now,
	})
	if asJSON {
		err = writeJSON(f.Streams.Out, rep)
	} else {
		err = doctor.WriteText(f.Streams.Out, rep)
	}
	if err != nil {
		return err
	}
	if !rep.OK {
		return &ExitError{Code: exitFailed}
	}
	return nil
}
