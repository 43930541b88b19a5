package ram

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
)

// handlerTransport serves every request with the emulator's handler in the caller's goroutine:
// no network, so that the whole exchange lives in a synctest bubble.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	r.RemoteAddr = "127.0.0.1:1"
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	if err := r.Context().Err(); err != nil {
		return nil, err // the handler gave up waiting, as a server's connection would be closed
	}
	return rec.Result(), nil
}

// The round trips made one after another by what `respond locate` does in a Resource Directory:
// list the directory while signing in, then search. Every call takes exactly `latency` of the
// bubble's fake clock and nothing else does, so the elapsed fake time divided by the latency
// counts the round trips in series, with no timing in it: with the key in the last account, 4
// suffice (GetCallerIdentity ‖ ListAccounts → AssumeRole into every member at once → IMS GetUser
// → ListAccessKeys). Asking who the management key is before listing, or entering the members 8
// at a time (seen when every account must answer), each adds at least one.
func TestLocate_roundTripsInSeries(t *testing.T) {
	const latency = time.Second
	for _, tc := range []struct {
		name     string
		accounts int
		acct     int // where the key is; -1: nowhere (IMS only: every account answers)
		want     int
	}{
		{"20 accounts, key in the last", 20, 19, 4},
		{"20 accounts, key in the management account", 20, 0, 3}, // no AssumeRole before its GetUser
		{"1 account", 1, 0, 3},
		{"20 accounts, IMS in every one, no owner", 20, -1, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			org := emulator.GenerateOrg(emulator.GenSpec{Accounts: tc.accounts, UsersPerAccount: 20, Seed: 31})
			l := &Locator{}
			var user string
			id := accesskey.MustParseID("LTAI5tNOBODYOWNSTHISKEY0")
			if tc.acct >= 0 {
				user, id = lastUserKey(org, tc.acct)
			} else {
				l.Strategies = []string{StrategyIMS}
			}
			synctest.Test(t, func(t *testing.T) {
				s := emulator.NewUnstartedServer(org, emulator.WithLatency(latency))
				admin := org.Admin()
				c, err := New(t.Context(), Config{
					Endpoint:    "emulator.invalid:80",
					Credentials: StaticCredentials(admin.AccessKeyID, accesskey.NewSecret(admin.AccessKeySecret)),
					ReadTimeout: time.Hour,
					Transport:   handlerTransport{s.Handler()},
				})
				if err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				start := time.Now()
				accts, err := DirectoryAccounts(ctx, c, "")
				if err != nil {
					t.Fatal(err)
				}
				if _, err := c.Identity(ctx); err != nil { // signing in: already answered
					t.Fatal(err)
				}
				l.Accounts = accts
				o, err := l.Locate(ctx, id)
				switch {
				case tc.acct < 0:
					if !errors.Is(err, ErrOwnerNotFound) {
						t.Fatalf("Locate = %+v, %v; want owner not found", o, err)
					}
				case err != nil || o.UserName != user || o.Account.ID != org.Accounts[tc.acct].ID:
					t.Fatalf("Locate = %+v, %v", o, err)
				}
				elapsed := time.Since(start)
				if rounds := int(elapsed / latency); rounds != tc.want || elapsed%latency != 0 {
					t.Errorf("%v of fake time: %d round trips in series, want %d", elapsed, rounds, tc.want)
				}
				if n := calls(s, "GetCallerIdentity"); n != 1 {
					t.Errorf("GetCallerIdentity asked %d times, want once", n)
				}
				s.Close()
			})
		})
	}
}
