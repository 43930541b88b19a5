package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate"
	"github.com/respond-dev/respond/rotate/assess"
)

// LocateOptions are the flags of `respond locate`.
type LocateOptions struct {
	Factory *Factory
	KeyID   string
	Locate  string
}

func newCmdLocate(f *Factory) *cobra.Command {
	opts := &LocateOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "locate --key-id ID",
		Short: "Find the owner of an AccessKey (read-only)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.KeyID == "" {
				return flagErrorf("--key-id is required")
			}
			return f.interruptible(cmd.Context(), "locating the owner of "+opts.KeyID, func(ctx context.Context) error { return locateRun(ctx, opts) })
		},
	}
	cmd.Flags().StringVar(&opts.KeyID, "key-id", "", "the AccessKey id to look up")
	cmd.Flags().StringVar(&opts.Locate, "locate", "", "strategies in order (default ims,actiontrail,scan,self,recycle-bin)")
	return cmd
}

func locateRun(ctx context.Context, opts *LocateOptions) error {
	f := opts.Factory
	id, err := f.keyArg(opts.KeyID)
	if err != nil {
		return err
	}
	if id.IsSTS() {
		return &ExitError{Code: exitRefused, Err: fmt.Errorf("%s is a temporary STS id: it has no RAM owner to find and expires on its own; find the role session that issued it in ActionTrail and restrict or delete that role", id)}
	}
	conf, strategies, err := f.configAndStrategies(opts.Locate)
	if err != nil {
		return err
	}
	p, err := f.newProgress(f.Streams.ErrOut)
	if err != nil {
		return err
	}
	cl, err := f.connect(ctx, conf, p)
	if err != nil {
		return err
	}
	rep, err := cl.LocateKey(ctx, strategies, id, p.Reporter())
	p.Clear()
	if err != nil {
		return err
	}
	return f.print(rep, rep.WriteText)
}

// AssessOptions are the flags of `respond assess`.
type AssessOptions struct {
	Factory *Factory
	KeyID   string
	Window  time.Duration
	// Regions are the ActionTrail regions to ask (--region, repeatable or comma-separated);
	// AllRegions (--all-regions, the default) asks every region ActionTrail lists, whatever the
	// configuration's assess.regions say.
	Regions    []string
	AllRegions bool
}

func newCmdAssess(f *Factory) *cobra.Command {
	opts := &AssessOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "assess --key-id ID",
		Short: "Summarise what a key did lately, from ActionTrail (read-only)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.KeyID == "" {
				return flagErrorf("--key-id is required")
			}
			if err := playbooks.CheckAssessWindow(opts.Window); err != nil {
				return flagErrorf("--window: %v", err)
			}
			regions, err := playbooks.ParseRegions(opts.Regions)
			if err != nil {
				return flagErrorf("--region: %v", err)
			}
			if opts.AllRegions && len(regions) > 0 {
				return flagErrorf("--all-regions and --region are exclusive: every region, or the ones named")
			}
			opts.Regions = regions
			return f.interruptible(cmd.Context(), "assessing "+opts.KeyID, func(ctx context.Context) error { return assessRun(ctx, opts) })
		},
	}
	cmd.Flags().StringVar(&opts.KeyID, "key-id", "", "the AccessKey id to assess")
	cmd.Flags().DurationVar(&opts.Window, "window", playbooks.DefaultAssessWindow, "how far back to look (at most 2160h = 90 days)")
	// On this command --region names the ActionTrail regions to ask (it shadows the global flag).
	cmd.Flags().StringArrayVar(&opts.Regions, "region", nil, "ActionTrail region to ask (repeatable or comma-separated; default: every region ActionTrail lists, or the configuration's assess.regions)")
	cmd.Flags().BoolVar(&opts.AllRegions, "all-regions", false, "ask every region ActionTrail lists, whatever the configuration's assess.regions (the default without a configuration)")
	return cmd
}

func assessRun(ctx context.Context, opts *AssessOptions) error {
	f := opts.Factory
	id, err := f.keyArg(opts.KeyID)
	if err != nil {
		return err
	}
	conf, err := f.loadConfig()
	if err != nil {
		return err
	}
	cl, err := f.connect(ctx, conf, nil)
	if err != nil {
		return err
	}
	regions := opts.Regions
	if len(regions) == 0 && !opts.AllRegions && conf != nil {
		regions = conf.Assess.Regions
	}
	a, err := cl.AssessKey(ctx, id, opts.Window, f.Now().UTC(), f.ownMarker, regions)
	rep := rotate.AssessReport{KeyID: id.String(), Partial: errors.Is(err, assess.ErrPartial), Assessment: a}
	if err != nil && !rep.Partial {
		return err
	}
	if rep.Partial { // a partly done work that running the command again completes: exit 4
		rep.ExitCode = int(exitPartial)
	}
	if err := f.print(rep, rep.WriteText); err != nil || !rep.Partial {
		return err
	}
	// The assessment of the regions that answered is printed; the exit code says it is not all.
	return &ExitError{Code: exitPartial, Err: errors.New("partial assessment: some ActionTrail regions were not looked at (named above); run it again to look there")}
}

// keyArg checks --output and parses --key-id for the read-only commands.
func (f *Factory) keyArg(raw string) (accesskey.ID, error) {
	if _, err := f.outputJSON(); err != nil {
		return accesskey.ID{}, err
	}
	return parseKeyID(raw)
}
