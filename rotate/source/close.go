package source

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/respond-dev/respond/ram"
)

// CloseOutcome says what Close did to a record.
type CloseOutcome string

const (
	// Closed: respond marked the record handled and the cloud confirmed it.
	Closed CloseOutcome = "closed"
	// AlreadyClosed: the record was handled already (by respond earlier, or by a person); no
	// write was made.
	AlreadyClosed CloseOutcome = "already-closed"
)

// CloseResult is what Close did to one record.
type CloseResult struct {
	Record  Record       `json:"record"`
	Outcome CloseOutcome `json:"outcome"`
	// RequestID is the ModifyAccessKeyLeakDeal request id ("" when nothing was written).
	RequestID string `json:"request_id,omitempty"`
	Remark    string `json:"remark,omitempty"`
}

var (
	// ErrRootRecord: the record is a root-account (master) key. respond never marks it: the key
	// must be deleted by the account owner in the console, then the record closed there.
	ErrRootRecord = errors.New("root-account key record")
	// ErrNotConfirmed: the cloud accepted the mark, but the record still reads pending.
	ErrNotConfirmed = errors.New("Security Center did not confirm the record handled")
	// ErrRecordGone: the record is not listed any more.
	ErrRecordGone = errors.New("Security Center no longer lists the record")
)

// RootRecordError refuses to close a root-account record; the record stays pending.
type RootRecordError struct{ Record Record }

func (e *RootRecordError) Error() string {
	return fmt.Sprintf("Security Center record %d (key %s, account %s) is a root-account key: respond does not rotate root keys "+
		"and leaves the record pending; sign in as the account owner, delete the key in the console (AccessKey management), "+
		"use RAM users' keys instead, then mark the record handled in Security Center", e.Record.ID, e.Record.KeyID, e.Record.AccountID)
}

func (e *RootRecordError) Unwrap() error { return ErrRootRecord }

// NotConfirmedError says a mark was accepted (RequestID) but the record still read Status after
// every confirmation attempt.
type NotConfirmedError struct {
	Record    Record
	RequestID string
	Status    string
}

func (e *NotConfirmedError) Error() string {
	return fmt.Sprintf("Security Center record %d (key %s, account %s): marked handled (request id %s) but it still reads %q; re-run to mark it again",
		e.Record.ID, e.Record.KeyID, e.Record.AccountID, e.RequestID, e.Status)
}

func (e *NotConfirmedError) Unwrap() error { return ErrNotConfirmed }

// maxRemark bounds the remark respond writes (the API documents no limit) [INF].
const maxRemark = 200

// Remark is the text Close leaves on a record: respond's run id and what was done.
func Remark(runID, done string) string {
	s := "respond run " + runID + ": " + done
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	if utf8.RuneCountInString(s) > maxRemark {
		s = string([]rune(s)[:maxRemark-1]) + "…"
	}
	return s
}

// CloseCall describes the write Close would make, for plans and --dry-run.
func CloseCall(r Record, runID, done string) string {
	if r.Root() {
		return fmt.Sprintf("none: Security Center record %d is a root-account key (left pending)", r.ID)
	}
	return fmt.Sprintf("ModifyAccessKeyLeakDeal Id=%d Type=%s Remark=%s in account %s, then DescribeAccesskeyLeakList Query=%s to confirm",
		r.ID, ram.LeakDealManual, strconv.Quote(Remark(runID, done)), r.AccountID, r.KeyID)
}

// Close marks a record handled once its key is remediated (done says how, e.g. "key deleted and
// purged; replacement LTAI… stored"): ModifyAccessKeyLeakDeal Type=manual with Remark(runID,
// done), signed in the record's own account, then re-lists the record until it reads dealed
// (a 200 only means "accepted"). A record already handled is left alone (AlreadyClosed, no
// write): Close is idempotent. A root-account record is refused (*RootRecordError) without a call.
// Call it only for a key respond remediated, found remediated, or found purged: a record whose
// key was not remediated must stay pending.
func (s *SecurityCenter) Close(ctx context.Context, r Record, runID, done string) (CloseResult, error) {
	res := CloseResult{Record: r}
	if r.Root() {
		return res, &RootRecordError{Record: r}
	}
	c, err := s.accounts.Client(ctx, r.AccountID)
	if err != nil {
		return res, fmt.Errorf("close Security Center record %d of account %s: %w", r.ID, r.AccountID, err)
	}
	cur, err := current(ctx, c, r)
	if err != nil {
		return res, err
	}
	if cur.Root() { // the list is the authority, not the caller's copy
		res.Record.UserType = cur.UserType
		return res, &RootRecordError{Record: res.Record}
	}
	switch cur.Status {
	case ram.LeakDealed:
		res.Record.Status, res.Record.DealType = cur.Status, cur.DealType
		res.Outcome = AlreadyClosed
		return res, nil
	case ram.LeakPending:
	default:
		// neither pending nor handled (an answer without the field, a status Alibaba added):
		// not taken for handled, nor marked blind
		return res, fmt.Errorf("Security Center record %d of account %s reads status %q, neither %q nor %q: left as it is",
			r.ID, r.AccountID, cur.Status, ram.LeakPending, ram.LeakDealed)
	}
	res.Remark = Remark(runID, done)
	res.RequestID, err = c.MarkLeaksHandled(ctx, []int64{r.ID}, res.Remark)
	if err != nil {
		return res, fmt.Errorf("close Security Center record %d of account %s: %w", r.ID, r.AccountID, err)
	}
	for attempt := 1; ; attempt++ {
		cur, err = current(ctx, c, r)
		if err != nil {
			return res, err
		}
		if cur.Status == ram.LeakDealed { // only the handled status confirms the mark
			res.Record.Status, res.Record.DealType = cur.Status, cur.DealType
			res.Outcome = Closed
			return res, nil
		}
		if attempt >= s.opts.ConfirmAttempts {
			return res, &NotConfirmedError{Record: r, RequestID: res.RequestID, Status: cur.Status}
		}
		if err := s.wait(ctx, s.opts.ConfirmWait); err != nil {
			return res, err
		}
	}
}

// CloseAll closes every record of a finding (see Close). The results come back for every
// record, in order; the error joins the refusals and failures.
func (s *SecurityCenter) CloseAll(ctx context.Context, f Finding, runID, done string) ([]CloseResult, error) {
	out := make([]CloseResult, 0, len(f.Records))
	var errs []error
	for _, r := range f.Records {
		res, err := s.Close(ctx, r, runID, done)
		out = append(out, res)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

// current reads a record as the cloud lists it now (the key's records, any status).
func current(ctx context.Context, c LeakAPI, r Record) (ram.Leak, error) {
	var found *ram.Leak
	err := c.ListLeaks(ctx, ram.LeakQuery{KeyID: r.KeyID.String()}, func(l ram.Leak) error {
		if l.ID == r.ID {
			found = &l
		}
		return nil
	})
	if err != nil {
		return ram.Leak{}, fmt.Errorf("read Security Center record %d of account %s: %w", r.ID, r.AccountID, err)
	}
	if found == nil {
		return ram.Leak{}, fmt.Errorf("Security Center record %d of account %s (key %s): %w", r.ID, r.AccountID, r.KeyID, ErrRecordGone)
	}
	return *found, nil
}
