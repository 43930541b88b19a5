package ram

import (
	"errors"
	"fmt"
	"net"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"

	"github.com/respond-dev/respond/ram/accesskey"
)

// NoticeAfter is how long a call waits for its answer before Config.Notice is told.
const NoticeAfter = time.Second

// noticeSlow tells Config.Notice, once the call has waited NoticeAfter, what it waits for; the
// returned stop is called when the answer (or an error) came.
func (c *Client) noticeSlow(action, host string) (stop func()) {
	if c.cfg.Notice == nil {
		return func() {}
	}
	what := "waiting for " + action
	if action == actGetCallerIdentity {
		what = "signing in"
	}
	t := time.AfterFunc(NoticeAfter, func() {
		c.cfg.Notice(fmt.Sprintf("%s at %s (%s)… no answer yet; each call waits up to %s (RESPOND_READ_TIMEOUT)", what, host, c.cfg.Region, c.cfg.ReadTimeout))
	})
	return func() { t.Stop() }
}

// noticeRetry tells Config.Notice that a call is retried after wait, and why: on one line, the
// cloud's (or a proxy's) words escaped, like every other error respond prints.
func (c *Client) noticeRetry(e *Error, wait time.Duration) {
	if c.cfg.Notice == nil || errors.Is(e, ErrThrottled) {
		return
	}
	var why error = e.Class
	if e.Err != nil {
		why = e.Err
	}
	c.cfg.Notice(fmt.Sprintf("%s failed (%s); retrying in %s", e.Action, accesskey.OneLine(fmt.Sprint(why)), wait.Round(time.Millisecond)))
}

// timedOut names the read timeout and its knob in the error of a call that got no answer in
// time (cause is what the SDK returned).
func (c *Client) timedOut(e *Error, cause error) *Error {
	var ne net.Error
	if (errors.As(cause, &ne) && ne.Timeout() || e.Code == sdkerrors.TimeoutErrorCode) && e.Err != nil {
		e.Err = fmt.Errorf("%w: no answer within the read timeout of %s (RESPOND_READ_TIMEOUT sets it)", e.Err, c.cfg.ReadTimeout)
	}
	return e
}
