package ram

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
)

// classifyCode maps a cloud error code (never the HTTP status alone: alibaba-api.md §7) to one of
// the Err* sentinels, or nil.
func classifyCode(code string, status int) error {
	switch {
	case code == "":
	case strings.HasPrefix(code, "EntityNotExist."), code == "Forbidden.ResourceNotFound":
		return ErrNotFound
	case code == "LimitExceeded.User.AccessKey":
		return ErrKeyLimit
	case code == "NoPermission", code == "Forbidden.NoPermission", code == "Forbidden.RAM",
		code == "MemberAccountAccessDenied":
		return ErrNoPermission
	case strings.HasPrefix(code, "Throttling"), code == "Rejected.Throttling":
		return ErrThrottled
	case strings.HasPrefix(code, "InvalidAccessKeyId."), code == "InvalidAccessKeyId",
		code == "SignatureDoesNotMatch", code == "IncompleteSignature",
		strings.HasPrefix(code, "InvalidSecurityToken."), code == "MissingSecurityToken":
		return ErrInvalidCredentials
	case code == "Rejected.ResourceExist", strings.HasPrefix(code, "EntityAlreadyExists."):
		return ErrAlreadyExists
	case strings.HasPrefix(code, "DeleteConflict."):
		return ErrConflict
	case code == "ServiceUnavailable", code == "InternalError", code == "InternalFailure":
		return ErrTransient
	}
	switch {
	case status >= 500:
		return ErrTransient
	case status == http.StatusTooManyRequests:
		return ErrThrottled
	}
	return nil
}

// codeNoRequestID is the client-side code of an answer without a request id (noRequestID).
const codeNoRequestID = "AnswerWithoutRequestId"

// noRequestID is the error of a 200 whose body carries no request id: every answer of the cloud
// has one, so this one is not the cloud's (a proxy, a broken gateway, a garbled body that still
// parses as JSON). Classified transient: its empty fields must never read as "no keys" or "this
// pair signs".
func noRequestID() error {
	return sdkerrors.NewClientError(codeNoRequestID, "the answer has no request id: it is not the cloud's", nil)
}

// notFoundNamesTarget says whether a not-found answer to action is about the thing the action
// acts on. DeleteAccessKey answers EntityNotExist.User when the user it names does not exist
// (renamed, deleted, or the wrong owner): that says nothing of the key, which may be alive on
// another user or in a recycle bin, so it must never read as "the key is already gone" — nor, after
// an ambiguous attempt, as "that attempt deleted it" (call).
func notFoundNamesTarget(action, code string) bool {
	if action == actDeleteAccessKey {
		return code != "EntityNotExist.User"
	}
	return true
}

// classify turns whatever the SDK returned into a *Error. ctx errors are kept as the cause so
// errors.Is(err, context.Canceled) works. Nothing that can carry a secret (URLs, response bodies,
// the server's string to sign) is kept.
func classify(ctx context.Context, action, keyID string, err error) *Error {
	e := &Error{Action: action, KeyID: keyID}
	if cerr := ctx.Err(); cerr != nil {
		e.Err = cerr
		return e
	}
	var se *sdkerrors.ServerError
	var ce *sdkerrors.ClientError
	var ue *url.Error
	switch {
	case errors.As(err, &se):
		e.Code = se.ErrorCode()
		e.Status = se.HttpStatus()
		e.RequestID = se.RequestId()
		e.Class = classifyCode(e.Code, e.Status)
		if e.Class == ErrNotFound && !notFoundNamesTarget(action, e.Code) {
			e.Class = nil // the call's other entity is missing: nothing is known of its target
		}
		if k := classifyKMSCode(e.Code); k != nil && action == actRotateSecret {
			e.Class = k
		}
		if flaggedAnswer(e.Code, se.Message()) {
			e.Class = ErrKeyFlagged
		}
		e.Err = errors.New(serverMessage(se))
		e.RetryAfter = retryAfter(se.RespHeaders)
	case errors.As(err, &ce):
		e.Code = ce.ErrorCode()
		switch e.Code {
		case sdkerrors.TimeoutErrorCode, sdkerrors.JsonUnmarshalErrorCode, codeNoRequestID:
			e.Class = ErrTransient
		}
		// The origin error of an unmarshal failure quotes the body, which may hold a new
		// secret: keep only the code.
		e.Err = errors.New(e.Code)
	case errors.As(err, &ue):
		// The URL of a KMS call carries SecretData: keep only the operation and the cause.
		e.Class = ErrTransient
		e.Err = &url.Error{Op: ue.Op, URL: redactURL(ue.URL), Err: ue.Err}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), isNetError(err):
		e.Class = ErrTransient
		e.Err = err
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		e.Err = err
	case chainEmpty(err): // the SDK's raw text lists file errors and typos: say it once, plainly
		e.Class = ErrNoCredentials
	default:
		e.Err = errors.New(scrubURLs(err.Error()))
	}
	return e
}

func isNetError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne)
}

// serverMessage is the cloud's message, cut before anything that echoes the request (the
// SignatureDoesNotMatch message quotes the whole string to sign, query values included).
func serverMessage(se *sdkerrors.ServerError) string {
	m := se.Message()
	if i := strings.Index(strings.ToLower(m), "string to sign"); i >= 0 {
		m = strings.TrimRight(m[:i], " :")
	}
	m = scrubURLs(m)
	if len(m) > 300 {
		m = m[:300] + "…"
	}
	if m == "" {
		m = "HTTP " + strconv.Itoa(se.HttpStatus())
	}
	return m
}

// redactURL keeps scheme, host and path of a URL and drops the query, where the signature and
// every parameter (KMS SecretData too) travel.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "[URL redacted]"
	}
	u.RawQuery = ""
	u.ForceQuery = false
	u.User = nil
	u.Fragment = ""
	if u.Path == "" {
		u.Path = "/"
	}
	return u.String() + "?[redacted]"
}

// scrubURLs redacts the query of every http(s) URL in a message.
func scrubURLs(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "http://")
		if j := strings.Index(s, "https://"); j >= 0 && (i < 0 || j < i) {
			i = j
		}
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		end := strings.IndexAny(s[i:], " \t\n\"'")
		if end < 0 {
			end = len(s) - i
		}
		b.WriteString(redactURL(s[i : i+end]))
		s = s[i+end:]
	}
}

// retryAfter reads x-acs-retry-after (milliseconds), if the cloud sent it.
func retryAfter(h map[string][]string) time.Duration {
	if h == nil {
		return 0
	}
	v := http.Header(h).Get("X-Acs-Retry-After")
	if v == "" {
		for k, vs := range h {
			if strings.EqualFold(k, "x-acs-retry-after") && len(vs) > 0 {
				v = vs[0]
			}
		}
	}
	ms, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || ms < 0 {
		return 0
	}
	return time.Duration(ms) * time.Millisecond
}
