package rotate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/rotate/journal"
)

// verify checks the end state: the leaked key is gone from the user's keys, the replacement is
// listed and authenticates (retried every VerifyInterval within VerifyTimeout while it
// propagates), the leaked secret, when known, is rejected; and it settles the creates whose
// answer never came (watchLate). A failure does not stop the run (notify still runs); the run
// ends partial.
func (x *run) verify(ctx context.Context) {
	started := x.d.now()
	if x.storeFailed && x.p.OnStoreFailure == playbooks.OnStoreFailureHold {
		return
	}
	var problems, checks []string
	keys, err := x.api.ListAccessKeys(ctx, x.user)
	listed := err == nil
	if err != nil {
		problems = append(problems, "list access keys: "+err.Error())
	} else {
		x.keys.set(keys)
		if x.keys.has(x.p.KeyID.String()) {
			problems = append(problems, "the leaked key is still listed")
		} else {
			checks = append(checks, "leaked key gone from ListAccessKeys")
		}
		if x.replacement != "" {
			if x.keys.has(x.replacement) {
				checks = append(checks, "replacement "+x.replacement+" listed")
			} else {
				problems = append(problems, "replacement "+x.replacement+" is not listed")
			}
		}
	}
	deadline := started.Add(x.p.VerifyTimeout)
	if c, p := x.verifyBin(ctx, deadline); p != "" {
		problems = append(problems, p)
	} else {
		checks = append(checks, c)
	}
	if x.newKey != nil && x.replacement == x.newKey.ID.String() && x.d.Verifier != nil {
		if err := x.retry(ctx, deadline, func() error {
			_, err := x.d.Verifier.Authenticates(ctx, x.newKey.ID, x.newKey.Secret)
			return err
		}); err != nil {
			problems = append(problems, "the new key does not authenticate: "+err.Error())
		} else {
			checks = append(checks, "new key authenticates")
		}
	} else if x.replacement != "" {
		checks = append(checks, "authentication of replacement "+x.replacement+" NOT checked: its secret is no longer in memory "+
			"(an earlier run created and stored it) and respond never reads it back from the sinks; check that the application "+
			"reading "+strings.Join(x.sinkNames(), ", ")+" signs in with it")
	}
	if x.p.CheckLeakedSecret && !x.p.secret.IsZero() && x.d.Verifier != nil {
		if err := x.retry(ctx, deadline, func() error {
			_, err := x.d.Verifier.Authenticates(ctx, x.p.KeyID, x.p.secret)
			if ram.KeyUnknown(err) {
				return nil // the cloud knows no such id: the only proof the key no longer signs
			}
			if err == nil {
				return errors.New("the leaked pair still authenticates")
			}
			if errors.Is(err, ram.ErrKeyFlagged) {
				// refused as leaked, so valid: restrictive protection blocks only some calls
				return fmt.Errorf("the leaked pair still authenticates (Alibaba flagged it as leaked and refuses some of its calls, not all): %w", err)
			}
			if errors.Is(err, ram.ErrInvalidCredentials) {
				// SignatureDoesNotMatch, InvalidAccessKeyId.Inactive: the cloud still knows the id
				return fmt.Errorf("the cloud still knows the leaked key's id (it refused the pair for another reason than an unknown id): %w", err)
			}
			return err
		}); err != nil {
			problems = append(problems, "leaked secret not rejected: "+err.Error())
		} else {
			checks = append(checks, "leaked secret rejected")
		}
	}
	if listed {
		c, p := x.watchLate(ctx, deadline)
		checks, problems = append(checks, c...), append(problems, p...)
	}
	if len(problems) > 0 {
		err := errors.New(strings.Join(problems, "; "))
		x.report(StepResult{Step: playbooks.StepVerify, Outcome: journal.OutcomeFailed, Started: started, Duration: x.d.now().Sub(started), Detail: err.Error()})
		if ctx.Err() != nil {
			x.interrupt(playbooks.StepVerify, err)
		} else {
			x.setback(playbooks.StepVerify, err)
		}
		return
	}
	x.report(StepResult{Step: playbooks.StepVerify, Outcome: journal.OutcomeDone, Started: started, Duration: x.d.now().Sub(started), Detail: strings.Join(checks, "; ")})
}

// verifyBin checks that no recycle bin holds the leaked key (a deleted key stays restorable for
// 30 days), retried while it propagates. It returns the check passed, or the problem.
func (x *run) verifyBin(ctx context.Context, deadline time.Time) (check, problem string) {
	err := x.retry(ctx, deadline, func() error {
		b, err := x.api.GetAccessKeyInfoInRecycleBin(ctx, x.p.KeyID)
		switch {
		case errors.Is(err, ram.ErrNotFound):
			return nil
		case err != nil:
			return err
		}
		return fmt.Errorf("the leaked key is in the recycle bin of user id %s, restorable until %s (run `%s` again to purge it)",
			b.UserID, b.DeleteDate.UTC().Format(time.RFC3339), x.resume())
	})
	if err != nil {
		return "", "recycle bin: " + err.Error()
	}
	return "leaked key in no recycle bin (GetAccessKeyInfoInRecycleBin)", ""
}

// retry calls fn until it succeeds or the deadline passes, sleeping VerifyInterval in between.
func (x *run) retry(ctx context.Context, deadline time.Time, fn func() error) error {
	for {
		err := fn()
		if err == nil {
			return nil
		}
		if !x.d.now().Add(x.p.VerifyInterval).Before(deadline) || ctx.Err() != nil {
			return err
		}
		if serr := x.d.sleep(ctx, x.p.VerifyInterval); serr != nil {
			return errors.Join(err, serr)
		}
	}
}
