package rotate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/assess"
)

// AssessKey summarises what a key did over the window that ends at now, from ActionTrail in the
// key's owner's account (found without a scan; the home account when it is not found), in the
// regions named (empty: every region ActionTrail lists), leaving out respond's own calls
// (ownUserAgent). A window out of bounds is an *InvalidError. When some regions failed or were
// not asked, the assessment of the others comes back with an error wrapping assess.ErrPartial
// (its Coverage names them); when none answered, the error alone.
func (c *Session) AssessKey(ctx context.Context, id accesskey.ID, window time.Duration, now time.Time, ownUserAgent string, regions []string) (assess.Assessment, error) {
	api := c.Home()
	if loc, err := c.Locator(ctx, []string{ram.StrategyIMS, ram.StrategyActionTrail, ram.StrategySelf}, id, accesskey.Secret{}, nil); err == nil {
		if owner, err := loc.Locate(ctx, id); err == nil {
			if a, err := c.Account(ctx, owner.Account.ID); err == nil {
				api = a
			}
		}
	}
	q, err := assess.Query(ram.EventQuery{AccessKeyID: id}, window, now)
	if err != nil {
		return assess.Assessment{}, &InvalidError{Err: err}
	}
	col, err := assess.CollectRegions(ctx, api, q, assess.Scope{Regions: regions})
	if err != nil && !errors.Is(err, assess.ErrPartial) {
		return assess.Assessment{}, fmt.Errorf("assess %s: %w", id, err)
	}
	a := summarizeEvents(col.Events, &col.Coverage, window, now, ownUserAgent)
	if err != nil {
		return a, fmt.Errorf("assess %s: %w", id, err)
	}
	return a, nil
}

// LocateSchema names the JSON document of an owner search (respond locate --output json).
const LocateSchema = "respond.locate/v1"

// LocateReport is an owner search's answer as data: the owner's fields, the schema, and how long
// the search took, in nanoseconds.
type LocateReport struct {
	Schema string `json:"schema"`
	ram.Owner
	Duration time.Duration `json:"duration_ns"`
}

// NewLocateReport is the JSON document of an owner search that found o in took.
func NewLocateReport(o ram.Owner, took time.Duration) LocateReport {
	if o.Tried == nil {
		o.Tried = []ram.StrategyReport{}
	}
	return LocateReport{Schema: LocateSchema, Owner: o, Duration: took}
}

// LocateKey is an owner search (respond locate): the strategies in order, progress told of each
// account searched, the answer with how long the search took.
func (c *Session) LocateKey(ctx context.Context, strategies []string, id accesskey.ID, progress func(ram.Progress)) (LocateReport, error) {
	loc, err := c.Locator(ctx, strategies, id, accesskey.Secret{}, progress)
	if err != nil {
		return LocateReport{}, err
	}
	start := time.Now()
	owner, err := loc.Locate(ctx, id)
	if err != nil {
		return LocateReport{}, fmt.Errorf("locate %s: %w", id, err)
	}
	return NewLocateReport(owner, time.Since(start)), nil
}

// AssessReport is an assessment as data (respond assess --output json); ExitCode is the CLI's.
type AssessReport struct {
	KeyID      string            `json:"key_id"`
	Partial    bool              `json:"partial"`
	ExitCode   int               `json:"exit_code"`
	Assessment assess.Assessment `json:"assessment"`
}

// WriteText renders the assessment for a human (assess.WriteText).
func (r AssessReport) WriteText(w io.Writer) error {
	if _, err := fmt.Fprintf(w, "Activity of %s\n", r.KeyID); err != nil {
		return err
	}
	return assess.WriteText(w, r.Assessment)
}

// WriteText renders the report for a human (WriteOwnerText).
func (r LocateReport) WriteText(w io.Writer) error { return WriteOwnerText(w, r.Owner, r.Duration) }

// WriteOwnerText renders an owner search's answer for a human (respond locate): the owner, its
// account, the key's status, and every strategy tried in every account.
func WriteOwnerText(w io.Writer, o ram.Owner, took time.Duration) error {
	var b strings.Builder
	fmt.Fprintf(&b, "key:       %s\n", o.KeyID)
	if o.Root {
		fmt.Fprintf(&b, "owner:     the root account %s (not a RAM user)\n", o.Account.ID)
		b.WriteString("           RAM cannot rotate a root-account key: delete it in the console (AccessKey Management) and use RAM users instead\n")
	} else {
		fmt.Fprintf(&b, "owner:     RAM user %s (id %s)\n", accesskey.Printable(o.UserName), accesskey.Printable(o.UserID))
	}
	acct := o.Account.ID
	if o.Account.Name != "" {
		acct = o.Account.Name + " (" + o.Account.ID + ")"
	}
	acct = accesskey.Printable(acct)
	fmt.Fprintf(&b, "account:   %s\n", acct)
	if o.Key.Status != "" {
		fmt.Fprintf(&b, "status:    %s, created %s\n", accesskey.Printable(o.Key.Status), o.Key.CreateDate.Format(time.RFC3339))
	}
	if bin := o.RecycleBin; bin != nil {
		fmt.Fprintf(&b, "status:    deleted %s: in the recycle bin of user %s until %s, restorable until then unless purged (respond --key-id %s purges it)\n",
			bin.RecycleDate.UTC().Format(time.RFC3339), o.UserName, bin.DeleteDate.UTC().Format(time.RFC3339), o.KeyID)
	}
	fmt.Fprintf(&b, "found by:  %s in %s\n", o.Strategy, took.Round(time.Millisecond))
	for _, t := range o.Tried {
		fmt.Fprintf(&b, "  tried %-11s account %-18s calls %-4d", t.Strategy, t.AccountID, t.Calls)
		if t.UsersScanned > 0 {
			fmt.Fprintf(&b, " users %d", t.UsersScanned)
		}
		if t.Found {
			b.WriteString(" found")
		}
		if t.Error != "" {
			b.WriteString(" error: " + accesskey.OneLine(t.Error))
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
