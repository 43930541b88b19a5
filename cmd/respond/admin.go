package main

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/rotate"
)

func newCmdStatus(f *Factory) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "List unfinished rotations, the deny policies left in place and the Security Center records left pending",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return statusRun(cmd.Context(), f, all)
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "list finished rotations too")
	return cmd
}

func statusRun(_ context.Context, f *Factory, all bool) error {
	conf, err := f.loadConfig()
	if err != nil {
		return err
	}
	dir, err := f.checkedStateDir(conf) // where a run with this configuration keeps its journals
	if err != nil {
		return err
	}
	st, err := rotate.ReadStatus(dir, all)
	if err != nil {
		return &FlagError{Err: err} // a journal that cannot be read is bad input: exit 2
	}
	if len(st.SecurityCenterPending) > 0 { // found with this state directory and configuration
		inv, err := f.target().Invocation(dir, f.recordedConfig(conf), "")
		if err != nil {
			return err
		}
		st.SecurityCenterPoll = inv.PollCommand(rotate.PendingSince)
	}
	return f.print(st)
}

func newCmdPlaybook(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "playbook",
		Short: "List, show and validate playbooks",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the built-in playbooks and those the configuration names",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			conf, err := f.loadConfig()
			if err != nil {
				return err
			}
			return conf.WriteList(f.Streams.Out)
		},
	}, &cobra.Command{
		Use:       "show NAME",
		Short:     "Print a built-in playbook's YAML",
		Args:      cobra.ExactArgs(1),
		ValidArgs: playbooks.BuiltinNames(), // for shell completion
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := playbooks.BuiltinYAML(args[0])
			if err != nil {
				return &FlagError{Err: err} // it names the built-in ones
			}
			_, err = f.Streams.Out.Write(b)
			return err
		},
	}, &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a playbook file (and its references against the configuration, if any)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pb, err := playbooks.Load(args[0])
			if err != nil {
				return validationError(f, err)
			}
			conf, err := f.loadConfig()
			if err != nil {
				return err
			}
			if conf != nil {
				if err := conf.CheckPlaybook(pb); err != nil {
					return validationError(f, err)
				}
			}
			fmt.Fprintf(f.Streams.Out, "%s: playbook %s is valid: %s\n", args[0], pb.Name, strings.Join(pb.StepIDs(), " → "))
			return nil
		},
	})
	return cmd
}

// validationError prints every positioned error on its own line and exits 2.
func validationError(f *Factory, err error) error {
	errs := playbooks.Errors(err)
	if len(errs) <= 1 {
		return &FlagError{Err: err}
	}
	for _, e := range errs {
		fmt.Fprintln(f.Streams.ErrOut, e.Error())
	}
	return &ExitError{Code: exitUsage, Err: fmt.Errorf("%d problems (listed above)", len(errs))}
}

func newCmdConfig(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check the configuration file",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "validate",
		Short: "Validate --config (or the default configuration file)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := f.configPath()
			if path == "" || err != nil {
				return cmp.Or(err, flagErrorf("no configuration file: pass --config FILE (default location: $XDG_CONFIG_HOME/respond/config.yaml, or $RESPOND_CONFIG)"))
			}
			conf, err := playbooks.LoadConfig(path)
			if err != nil {
				return validationError(f, err)
			}
			_, err = fmt.Fprintf(f.Streams.Out, "%s: valid: %s\n", path, conf.Summary())
			return err
		},
	})
	return cmd
}
