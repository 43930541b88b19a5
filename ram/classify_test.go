package ram

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/respond-dev/respond/ram/accesskey"
)

// Every error class, through the real SDK against canned Alibaba error bodies.
func TestClassify_throughSDK(t *testing.T) {
	tests := []struct {
		name   string
		answer canned
		want   error // nil: unclassified
		code   string
	}{
		{"user not found", canned{status: 404, body: errBody("EntityNotExist.User", "The user does not exist.")}, ErrNotFound, "EntityNotExist.User"},
		{"key not found", canned{status: 404, body: errBody("EntityNotExist.User.AccessKey", "The user access key does not exist.")}, ErrNotFound, "EntityNotExist.User.AccessKey"},
		{"kms not found", canned{status: 404, body: errBody("Forbidden.ResourceNotFound", "The resource is not found.")}, ErrNotFound, "Forbidden.ResourceNotFound"},
		{"key limit", canned{status: 409, body: errBody("LimitExceeded.User.AccessKey", "The access key count of the user access keys beyond the current limits.")}, ErrKeyLimit, "LimitExceeded.User.AccessKey"},
		{"no permission", canned{status: 403, body: errBody("NoPermission", "You are not authorized to do this action.")}, ErrNoPermission, "NoPermission"},
		{"kms no permission", canned{status: 403, body: errBody("Forbidden.NoPermission", "denied")}, ErrNoPermission, "Forbidden.NoPermission"},
		{"throttling user", canned{status: 400, body: errBody("Throttling.User", "Request was denied due to user flow control.")}, ErrThrottled, "Throttling.User"},
		{"throttling plain", canned{status: 400, body: errBody("Throttling", "Request was denied due to request throttling.")}, ErrThrottled, "Throttling"},
		{"kms throttling", canned{status: 429, body: errBody("Rejected.Throttling", "The QPS upper limit is exceeded.")}, ErrThrottled, "Rejected.Throttling"},
		{"unknown key", canned{status: 404, body: errBody("InvalidAccessKeyId.NotFound", "Specified access key is not found.")}, ErrInvalidCredentials, "InvalidAccessKeyId.NotFound"},
		{"inactive key", canned{status: 400, body: errBody("InvalidAccessKeyId.Inactive", "Specified access key is disabled.")}, ErrInvalidCredentials, "InvalidAccessKeyId.Inactive"},
		{"bad signature", canned{status: 400, body: errBody("SignatureDoesNotMatch", "Specified signature is not matched with our calculation. server string to sign is:POST&%2F&AccessKeyId")}, ErrInvalidCredentials, "SignatureDoesNotMatch"},
		{"expired token", canned{status: 400, body: errBody("InvalidSecurityToken.Expired", "Specified SecurityToken is expired.")}, ErrInvalidCredentials, "InvalidSecurityToken.Expired"},
		{"internal error", canned{status: 500, body: errBody("InternalError", "An internal error occurred.")}, ErrTransient, "InternalError"},
		{"unavailable", canned{status: 503, body: errBody("ServiceUnavailable", "The request has failed due to a temporary failure of the server.")}, ErrTransient, "ServiceUnavailable"},
		{"502 html", canned{status: 502, body: "<html>Bad Gateway</html>"}, ErrTransient, ""},
		{"200 garbage", canned{status: 200, body: "<<<not json"}, ErrTransient, "SDK.JsonUnmarshalError"},
		{"dropped connection", canned{drop: true}, ErrTransient, ""},
		{"resource exists", canned{status: 409, body: errBody("Rejected.ResourceExist", "The resource already exists.")}, ErrAlreadyExists, "Rejected.ResourceExist"},
		{"invalid parameter", canned{status: 400, body: errBody("InvalidParameter.UserName.InvalidChars", "bad")}, nil, "InvalidParameter.UserName.InvalidChars"},
		{"flagged key", canned{status: 403, body: errBody("Forbidden", "There is a risk of leakage of this AccessKey.")}, ErrKeyFlagged, "Forbidden"},
		{"other forbidden", canned{status: 403, body: errBody("Forbidden", "User not authorized to operate on the specified resource.")}, nil, "Forbidden"},
		{"member account", canned{status: 403, body: errBody("MemberAccountAccessDenied", "The member account is not allowed to perform the operation.")}, ErrNoPermission, "MemberAccountAccessDenied"},
		{"bin key not found", canned{status: 404, body: errBody("EntityNotExist.User.AccessKey", "The user access key does not exist.")}, ErrNotFound, "EntityNotExist.User.AccessKey"},
	}
	all := []error{ErrNotFound, ErrKeyLimit, ErrNoPermission, ErrThrottled, ErrInvalidCredentials, ErrTransient, ErrAlreadyExists, ErrKeyFlagged}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ep := newScript(t, map[string][]canned{"GetUser": {tt.answer}})
			c, _ := newClient(t, ep, 1)
			_, err := c.GetUser(context.Background(), "alice")
			if err == nil {
				t.Fatal("want an error")
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not a *ram.Error", err, err)
			}
			if e.Action != "GetUser" || e.Code != tt.code {
				t.Errorf("action %q code %q, want GetUser %q", e.Action, e.Code, tt.code)
			}
			for _, s := range all {
				if got, want := errors.Is(err, s), s == tt.want; got != want {
					t.Errorf("errors.Is(%v) = %v, want %v (err: %v)", s, got, want, err)
				}
			}
			if strings.Contains(err.Error(), "string to sign") || strings.Contains(err.Error(), "%2F") {
				t.Errorf("error echoes the request: %v", err)
			}
			if e.Code != "" && e.Code != "SDK.JsonUnmarshalError" && e.RequestID != "REQ-1" {
				t.Errorf("request id %q, want REQ-1", e.RequestID)
			}
		})
	}
}

// KMS SecretData travels in the URL; a transport error must not carry it.
func TestClassify_redactsSecretFromTransportErrors(t *testing.T) {
	secret := "SECRETvalueSECRETvalue00000001"
	_, ep := newScript(t, map[string][]canned{"PutSecretValue": {{drop: true}}})
	c, _ := newClient(t, ep, 2)
	_, err := c.PutSecretValue(context.Background(), "app/key", "v1", accesskey.NewSecret(secret))
	if !errors.Is(err, ErrTransient) {
		t.Fatalf("want ErrTransient, got %v", err)
	}
	for _, s := range []string{secret, "SecretData", "Signature="} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error carries %q: %v", s, err)
		}
	}
}

func TestClassify_signatureMessageCut(t *testing.T) {
	msg := "Specified signature is not matched with our calculation. server string to sign is:POST&%2F&SecretData%3DSECRET"
	_, ep := newScript(t, map[string][]canned{"PutSecretValue": {{status: 400, body: errBody("SignatureDoesNotMatch", msg)}}})
	c, _ := newClient(t, ep, 1)
	_, err := c.PutSecretValue(context.Background(), "n", "v1", accesskey.NewSecret("SECRET"))
	if !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("want ErrInvalidCredentials, got %v", err)
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error carries the string to sign: %v", err)
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://127.0.0.1:80/?SecretData=abc&Signature=x", "http://127.0.0.1:80/?[redacted]"},
		{"https://kms.cn-hangzhou.aliyuncs.com/?a=b", "https://kms.cn-hangzhou.aliyuncs.com/?[redacted]"},
		{"https://u:p@h/", "https://h/?[redacted]"},
	}
	for _, tt := range tests {
		if got := redactURL(tt.in); got != tt.want {
			t.Errorf("redactURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := scrubURLs(`Post "http://h/?SecretData=s": EOF`); strings.Contains(got, "SecretData") {
		t.Errorf("scrubURLs left the query: %q", got)
	}
}

func TestRetry_throttledThenOK_honoursRetryAfter(t *testing.T) {
	s, ep := newScript(t, map[string][]canned{"GetUser": {
		{status: 400, body: errBody("Throttling.User", "slow down"), header: map[string]string{"x-acs-retry-after": "1500"}},
		{status: 503, body: errBody("ServiceUnavailable", "try later")},
		{status: 200, body: `{"RequestId":"R","User":{"UserId":"1","UserName":"alice"}}`},
	}})
	c, fs := newClient(t, ep, 5)
	u, err := c.GetUser(context.Background(), "alice")
	if err != nil || u.UserName != "alice" {
		t.Fatalf("GetUser = %+v, %v", u, err)
	}
	if got := s.Hits("GetUser"); got != 3 {
		t.Errorf("%d calls, want 3", got)
	}
	w := fs.Waits()
	if len(w) != 2 || w[0] != 1500*time.Millisecond {
		t.Errorf("waits %v, want [1.5s, backoff]", w)
	}
	// Jitter 0.5 and base 200ms: attempt 2 waits 400ms/2 + 400ms/2*0.5 = 300ms.
	if len(w) == 2 && w[1] != 300*time.Millisecond {
		t.Errorf("second wait %v, want 300ms", w[1])
	}
}

func TestRetry_givesUpAfterMaxAttempts(t *testing.T) {
	s, ep := newScript(t, map[string][]canned{"GetUser": {{status: 500, body: errBody("InternalError", "x")}}})
	c, fs := newClient(t, ep, 3)
	_, err := c.GetUser(context.Background(), "alice")
	if !errors.Is(err, ErrTransient) {
		t.Fatalf("want ErrTransient, got %v", err)
	}
	if s.Hits("GetUser") != 3 || len(fs.Waits()) != 2 {
		t.Errorf("%d calls, %d waits; want 3 and 2", s.Hits("GetUser"), len(fs.Waits()))
	}
}

func TestRetry_notFoundIsNotRetried(t *testing.T) {
	s, ep := newScript(t, map[string][]canned{"GetUser": {{status: 404, body: errBody("EntityNotExist.User", "x")}}})
	c, _ := newClient(t, ep, 5)
	if _, err := c.GetUser(context.Background(), "bob"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
	if s.Hits("GetUser") != 1 {
		t.Errorf("%d calls, want 1", s.Hits("GetUser"))
	}
}

func TestBackoff_growsAndCaps(t *testing.T) {
	c, _ := newClient(t, "127.0.0.1:1", 5)
	c.cfg.Retry.MaxDelay = time.Second
	var prev time.Duration
	for n := 1; n <= 10; n++ {
		d := c.backoff(n, 0)
		if d < prev && d != 750*time.Millisecond {
			t.Errorf("backoff(%d) = %v shrank from %v", n, d, prev)
		}
		if d > time.Second {
			t.Errorf("backoff(%d) = %v over the cap", n, d)
		}
		prev = d
	}
	if d := c.backoff(1, 5*time.Second); d != 5*time.Second {
		t.Errorf("retry-after not honoured: %v", d)
	}
}

func TestCheckEnv(t *testing.T) {
	tests := []struct {
		env     map[string]string
		wantErr bool
	}{
		{map[string]string{}, false},
		{map[string]string{"DEBUG": ""}, false},
		{map[string]string{"DEBUG": "tea"}, false},
		{map[string]string{"DEBUG": "sdk"}, true},
		{map[string]string{"DEBUG": "tea,sdk"}, true},
		{map[string]string{"DEBUG": "SDK"}, true},
	}
	for _, tt := range tests {
		err := CheckEnv(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
		if (err != nil) != tt.wantErr {
			t.Errorf("CheckEnv(%v) = %v, want error %v", tt.env, err, tt.wantErr)
		}
	}
}
