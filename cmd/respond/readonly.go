package main

import (
	"context"
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
		Long: `Find who owns an AccessKey, across every configured account, cheapest strategy first:
IMS GetUser by key id, ActionTrail's last-use record, a full scan of every user's keys (all
pages, concurrent, slowing down when throttled), and the caller's own keys (root account).
It changes nothing and never signs a call with the leaked key unless --locate includes caller.`,
		Example: `  respond locate --key-id LTAI5tFAKEBILLING0LEAK01 --sandbox
  respond locate --key-id LTAI5tMYCr1pxcx4vz2o7riE --locate scan --output json`,
		Args: cobra.NoArgs,
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
}

func newCmdAssess(f *Factory) *cobra.Command {
	opts := &AssessOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "assess --key-id ID",
		Short: "Summarise what a key did lately, from ActionTrail (read-only)",
		Long: `Summarise a key's recent API activity from ActionTrail (LookupEvents by EventAccessKeyId, every
page): counts by service and action, source IPs, first and last event, and the actions that
matter most (users, keys, roles, policies, instances, deletions, high-risk services). respond's
own calls are left out. It changes nothing.`,
		Example: `  respond assess --key-id LTAI5tFAKEBILLING0LEAK01 --sandbox
  respond assess --key-id LTAI5tMYCr1pxcx4vz2o7riE --window 720h --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.KeyID == "" {
				return flagErrorf("--key-id is required")
			}
			if opts.Window <= 0 || opts.Window > playbooks.MaxAssessWindow {
				return flagErrorf("--window must be between 1s and 2160h (90 days), not %s", opts.Window)
			}
			return f.interruptible(cmd.Context(), "assessing "+opts.KeyID, func(ctx context.Context) error { return assessRun(ctx, opts) })
		},
	}
	cmd.Flags().StringVar(&opts.KeyID, "key-id", "", "the AccessKey id to assess")
	cmd.Flags().DurationVar(&opts.Window, "window", playbooks.DefaultAssessWindow, "how far back to look (at most 2160h = 90 days)")
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
	a, err := cl.AssessKey(ctx, id, opts.Window, f.Now().UTC(), f.ownMarker)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(f.Streams.Out, struct {
			KeyID      string            `json:"key_id"`
			Assessment assess.Assessment `json:"assessment"`
		}{id.String(), a})
	}
	fmt.Fprintf(f.Streams.Out, "Activity of %s\n", id)
	return assess.WriteText(f.Streams.Out, a)
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
