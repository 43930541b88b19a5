package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
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
	asJSON, id, err := f.keyArg(opts.KeyID)
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
	loc, err := cl.Locator(ctx, strategies, id, accesskey.Secret{}, p.reporter())
	if err != nil {
		return err
	}
	start := time.Now()
	owner, err := loc.Locate(ctx, id)
	p.clear()
	if err != nil {
		return fmt.Errorf("locate %s: %w", id, err)
	}
	if asJSON {
		return writeJSON(f.Streams.Out, rotate.NewLocateReport(owner, time.Since(start)))
	}
	return rotate.WriteOwnerText(f.Streams.Out, owner, time.Since(start))
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
			if opts.Window <= 0 || opts.Window > playbooks.MaxAssessWindow {
				return flagErrorf("--window must be between 1s and 2160h (90 days), not %s", opts.Window)
			}
			regions, err := assessRegions(opts.Regions, opts.AllRegions)
			if err != nil {
				return err
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
	asJSON, id, err := f.keyArg(opts.KeyID)
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
	partial := errors.Is(err, assess.ErrPartial)
	if err != nil && !partial {
		return err
	}
	if asJSON {
		err = writeJSON(f.Streams.Out, struct {
			KeyID      string            `json:"key_id"`
			Partial    bool              `json:"partial"`
			ExitCode   int               `json:"exit_code"`
			Assessment assess.Assessment `json:"assessment"`
		}{id.String(), partial, int(assessExit(partial)), a})
	} else {
		fmt.Fprintf(f.Streams.Out, "Activity of %s\n", id)
		err = assess.WriteText(f.Streams.Out, a)
	}
	if err != nil || !partial {
		return err
	}
	// The assessment of the regions that answered is printed; the exit code says it is not all.
	return &ExitError{Code: assessExit(partial), Err: errors.New("partial assessment: some ActionTrail regions were not looked at (named above); run it again to look there")}
}

// keyArg checks --output and parses --key-id for the read-only commands.
func (f *Factory) keyArg(raw string) (asJSON bool, id accesskey.ID, err error) {
	if asJSON, err = f.outputJSON(); err != nil {
		return false, id, err
	}
	if id, err = parseKeyID(raw); err != nil {
		return false, id, err
	}
	return asJSON, id, nil
}

// assessExit is respond assess's exit code: a partial assessment is 4, like any partly done
// work that running the command again completes.
func assessExit(partial bool) exitCode {
	if partial {
		return exitPartial
	}
	return exitOK
}

// assessRegions checks --region (repeatable, comma-separated) against --all-regions: region ids,
// each once.
func assessRegions(raw []string, all bool) ([]string, error) {
	var out []string
	for _, r := range raw {
		for _, s := range strings.Split(r, ",") {
			s = strings.TrimSpace(s)
			switch {
			case s == "":
			case !playbooks.ValidRegion(s):
				return nil, flagErrorf("--region: %q is not a region id (such as cn-hangzhou or ap-southeast-1)", accesskey.Printable(s))
			case !slices.Contains(out, s):
				out = append(out, s)
			}
		}
	}
	if all && len(out) > 0 {
		return nil, flagErrorf("--all-regions and --region are exclusive: every region, or the ones named")
	}
	return out, nil
}
