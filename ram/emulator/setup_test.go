package emulator_test

import (
	"context"
	"errors"
	"io"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sts"

	"github.com/respond-dev/respond/ram/emulator"
	et "github.com/respond-dev/respond/ram/emulator/emulatortest"
)

func TestSetupCheck(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup emulator.Setup
		want  []string // substrings of the error; none: valid
	}{
		{"zero value", emulator.Setup{}, nil},
		{"every probability at its bounds", emulator.Setup{ThrottleRate: 1, ErrorRate: 0, DropRate: 1, GarbageRate: 0.5}, nil},
		{"file and generated", emulator.Setup{OrgFile: "x.yaml", Users: 3}, []string{"exclusive"}},
		{"every bad value at once", emulator.Setup{ThrottleRate: 1.5, GarbageRate: -0.1},
			[]string{"throttle rate is a probability between 0 and 1, not 1.5", "garbage rate", "-0.1"}},
		{"not a number", emulator.Setup{ErrorRate: math.NaN()}, []string{"error rate is a probability between 0 and 1, not NaN"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.setup.Check()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Check: no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if _, _, err := tc.setup.NewServer(); err == nil {
				t.Error("NewServer accepted what Check refuses")
			}
		})
	}
}

func TestSetupOrg(t *testing.T) {
	for _, tc := range []struct {
		name     string
		setup    emulator.Setup
		accounts int
	}{
		{"demo", emulator.Setup{}, len(emulator.DemoOrg().Accounts)},
		{"generated", emulator.Setup{Users: 2, Accounts: 3, Seed: 7}, 3},
		{"generated, accounts defaults to one", emulator.Setup{Users: 2}, 1},
		{"seed file", emulator.Setup{OrgFile: filepath.Join("..", "..", "testdata", "orgs", "multi-account.yaml")}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			org, err := tc.setup.Org()
			if err != nil {
				t.Fatal(err)
			}
			if tc.accounts >= 0 && len(org.Accounts) != tc.accounts {
				t.Errorf("%d accounts, want %d", len(org.Accounts), tc.accounts)
			}
			if tc.accounts < 0 && len(org.Accounts) < 2 {
				t.Errorf("multi-account.yaml gave %d account(s)", len(org.Accounts))
			}
		})
	}
	if _, err := (emulator.Setup{OrgFile: "/nonexistent/org.yaml"}).Org(); err == nil {
		t.Error("a missing seed file loaded")
	}
}

// TestSetupServes checks through the SDK that the setup's faults and pause are served.
func TestSetupServes(t *testing.T) {
	t.Run("throttle rate 1: every call throttled", func(t *testing.T) {
		s, org, err := emulator.Setup{ThrottleRate: 1}.NewServer()
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		t.Cleanup(s.Close)
		_, err = et.STSClient(t, s, et.AK(org.Admin())).GetCallerIdentity(sts.CreateGetCallerIdentityRequest())
		var se *sdkerrors.ServerError
		if !errors.As(err, &se) || !strings.HasPrefix(se.ErrorCode(), "Throttling") {
			t.Fatalf("want Throttling, got %v", err)
		}
	})
	t.Run("pause at an action holds its first call for the pause", func(t *testing.T) {
		s, org, err := emulator.Setup{PauseAt: "GetCallerIdentity", PauseFor: 50 * time.Millisecond}.NewServer()
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		t.Cleanup(s.Close)
		c := et.STSClient(t, s, et.AK(org.Admin()))
		if _, err := c.GetCallerIdentity(sts.CreateGetCallerIdentityRequest()); err != nil {
			t.Fatalf("the paused call failed instead of being released: %v", err)
		}
		if n := len(s.RequestLog()); n != 1 {
			t.Errorf("request log holds %d calls, want 1", n)
		}
	})
}

// Serve prints the variables that point a client at it, and those variables work (SDK).
func TestSetupServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r, w := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- emulator.Setup{}.Serve(ctx, "127.0.0.1:0", w, func(endpoint string, accounts int) {
			if endpoint == "" || accounts != len(emulator.DemoOrg().Accounts) {
				t.Errorf("ready(%q, %d)", endpoint, accounts)
			}
			w.Close()
		})
	}()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		vars[k] = v
	}
	c, err := sts.NewClientWithAccessKey(et.Region, vars["ALIBABA_CLOUD_ACCESS_KEY_ID"], vars["ALIBABA_CLOUD_ACCESS_KEY_SECRET"])
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = vars["RESPOND_ENDPOINT"]
	req := sts.CreateGetCallerIdentityRequest()
	req.Scheme = "http"
	if _, err := c.GetCallerIdentity(req); err != nil {
		t.Errorf("the printed credentials and endpoint do not work: %v (%q)", err, b)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if err := (emulator.Setup{Users: 1, OrgFile: "x.yaml"}).Serve(context.Background(), "127.0.0.1:0", io.Discard, func(string, int) { t.Error("ready called") }); err == nil {
		t.Error("a bad setup served")
	}
}
