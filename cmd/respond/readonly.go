package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram/accesskey"
)

// keyCommand makes cmd a read-only command on one key (respond locate, assess): --key-id
// (described by usage) is required; check, when set, sees the other flags; run gets the key on a context SIGINT and SIGTERM cancel (Factory.interruptible: doing is what it was
// doing when interrupted).
func keyCommand(f *Factory, cmd *cobra.Command, usage, doing string, check func() error, run func(context.Context, accesskey.ID) error) *cobra.Command {
	var raw string
	cmd.Flags().StringVar(&raw, "key-id", "", usage)
	cmd.Args = cobra.NoArgs
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if raw == "" {
			return flagErrorf("--key-id is required")
		}
		if check != nil {
			if err := check(); err != nil {
				return err
			}
		}
		return f.interruptible(cmd.Context(), doing+" "+raw, func(ctx context.Context) error {
			id, err := parseKeyID(raw)
			if err != nil {
				return err
			}
			return run(ctx, id)
		})
	}
	return cmd
}

func newCmdLocate(f *Factory) *cobra.Command {
	var locate string
	cmd := keyCommand(f, &cobra.Command{Use: "locate --key-id ID", Short: "Find the owner of an AccessKey (read-only)"},
		"the AccessKey id to look up", "locating the owner of", nil,
		func(ctx context.Context, id accesskey.ID) error {
			if id.IsSTS() {
				return &ExitError{Code: exitRefused, Err: fmt.Errorf("%s is a temporary STS id: it has no RAM owner to find and expires on its own; find the role session that issued it in ActionTrail and restrict or delete that role", id)}
			}
			conf, strategies, err := f.configAndOrder(locate)
			if err != nil {
				return err
			}
			p := f.newProgress(f.Streams.ErrOut)
			cl, err := f.connect(ctx, conf, p)
			if err != nil {
				return err
			}
			rep, err := cl.LocateKey(ctx, strategies, id, p.Reporter())
			p.Clear()
			if err != nil {
				return err
			}
			return f.print(rep)
		})
	cmd.Flags().StringVar(&locate, "locate", "", "strategies in order (default ims,actiontrail,scan,self,recycle-bin)")
	return cmd
}

func newCmdAssess(f *Factory) *cobra.Command {
	var window time.Duration
	// Regions are the ActionTrail regions to ask (--region, repeatable or comma-separated);
	// allRegions (--all-regions, the default) asks every region ActionTrail lists, whatever the
	// configuration's assess.regions say.
	var regions []string
	var allRegions bool
	var locate string
	check := func() (err error) {
		if err := playbooks.CheckAssessWindow(window); err != nil {
			return flagErrorf("--window: %v", err)
		}
		if regions, err = playbooks.ParseRegions(regions); err != nil {
			return flagErrorf("--region: %v", err)
		}
		if allRegions && len(regions) > 0 {
			return flagErrorf("--all-regions and --region are exclusive: every region, or the ones named")
		}
		return nil
	}
	cmd := keyCommand(f, &cobra.Command{Use: "assess --key-id ID", Short: "Summarise what a key did lately, from ActionTrail (read-only)"},
		"the AccessKey id to assess", "assessing", check, func(ctx context.Context, id accesskey.ID) error {
			conf, strategies, err := f.configAndOrder(locate)
			if err != nil {
				return err
			}
			cl, err := f.connect(ctx, conf, nil)
			if err != nil {
				return err
			}
			if !allRegions {
				regions = conf.AssessRegions(regions)
			}
			rep, err := cl.AssessKey(ctx, id, strategies, window, f.Now().UTC(), f.ownMarker, regions, exitOf)
			if err != nil {
				return err
			}
			if err := f.print(rep); err != nil || rep.ExitCode == 0 {
				return err
			}
			// The assessment is printed; the exit code and one line say what it is not.
			return &ExitError{Code: exitCode(rep.ExitCode), Err: rep.Incomplete()}
		})
	cmd.Flags().DurationVar(&window, "window", playbooks.DefaultAssessWindow, "how far back to look (at most 2160h = 90 days)")
	// On this command --region names the ActionTrail regions to ask (it shadows the global flag).
	cmd.Flags().StringArrayVar(&regions, "region", nil, "ActionTrail region to ask (repeatable or comma-separated; default: every region ActionTrail lists, or the configuration's assess.regions)")
	cmd.Flags().StringVar(&locate, "locate", "", "owner search strategies in order, to find whose ActionTrail to read (default: the configuration's locate:, else ims,actiontrail,scan,self,recycle-bin)")
	cmd.Flags().BoolVar(&allRegions, "all-regions", false, "ask every region ActionTrail lists, whatever the configuration's assess.regions (the default without a configuration)")
	return cmd
}
