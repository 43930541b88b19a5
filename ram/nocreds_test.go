package ram

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestClassifyNoCredentials(t *testing.T) {
	sdk := errors.New("unable to get credentials from any of the providers in the chain: unable to get credentials from enviroment variables, " +
		"Access key ID must be specified via environment variable (ALIBABA_CLOUD_ACCESS_KEY_ID), ERROR: Can not open fileopen /home/x/.alibabacloud/credentials: no such file or directory")
	e := classify(context.Background(), "GetCallerIdentity", "", sdk)
	if !errors.Is(e, ErrNoCredentials) {
		t.Fatalf("class %v, want ErrNoCredentials", e.Class)
	}
	msg := e.Error()
	for _, bad := range []string{"enviroment", "fileopen", "/home/x"} {
		if strings.Contains(msg, bad) {
			t.Errorf("message repeats the SDK's raw text %q: %s", bad, msg)
		}
	}
	for _, want := range []string{"no credentials found; tried:", "ALIBABA_CLOUD_ACCESS_KEY_ID", "--profile"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message does not say %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("not one line: %q", msg)
	}
	if other := classify(context.Background(), "GetCallerIdentity", "", errors.New("unable to get profile with 'x'")); errors.Is(other, ErrNoCredentials) {
		t.Error("a missing named profile is not the empty chain")
	}
}
