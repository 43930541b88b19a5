package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/rotate"
	"github.com/respond-dev/respond/rotate/doctor"
	"github.com/respond-dev/respond/rotate/serve"
)

func newCmdDoctor(f *Factory) *cobra.Command {
	o := doctor.Options{ServeTokenEnv: serve.DefaultTokenEnv} // the token variable serve reads when its configuration names none
	var playbook string
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check that respond can act: credentials, permissions, sinks, channels, state (changes nothing)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return doctorRun(cmd.Context(), f, o, playbook)
		},
	}
	cmd.Flags().StringVar(&playbook, "playbook", "", "check what runs with this --playbook NAME|FILE need (default: every playbook the configuration's rules may choose)")
	cmd.Flags().BoolVar(&o.SendTest, "send-test", false, "send a test message (marked as such) on every notification channel")
	cmd.Flags().BoolVar(&o.SecurityCenter, "security-center", false, "check Security Center's permissions in every account even when no poll is configured")
	return cmd
}

func doctorRun(ctx context.Context, f *Factory, o doctor.Options, playbook string) error {
	var err error
	if o.Config, err = f.loadConfig(); err != nil {
		return err
	}
	if o.Playbook, err = forcedPlaybook(playbook, o.Config); err != nil {
		return err
	}
	if o.StateDir, err = f.stateDirFor(o.Config); err != nil {
		return err
	}
	o.Getenv, o.Now = f.getenv, f.Now
	o.RehearsalSink = f.Global.Sandbox // newBatch's fallback sink
	o.Connect = func(ctx context.Context, c *playbooks.Config) (*rotate.Session, error) { return f.connect(ctx, c, nil) }
	rep := doctor.Run(ctx, o)
	if err := f.print(rep); err != nil || rep.OK {
		return err
	}
	return &ExitError{Code: exitFailed}
}
