package ram

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
)

// The secret-match strategy against the emulator through the real SDK: every candidate id of a
// Resource Directory is tried with the secret until one authenticates; canaries and inactive keys
// are never tried, and only the matching pair's call succeeds.
func TestMatchSecret(t *testing.T) {
	org := emulator.GenerateOrg(emulator.GenSpec{Accounts: 3, UsersPerAccount: 40, Seed: 20})
	inactive := &org.Accounts[1].Users[5].Keys[0]
	inactive.Status = StatusInactive
	canary := org.Accounts[2].Users[7].Keys[0]
	member := org.Accounts[2].Users[30]
	root := org.Accounts[0].RootKeys[0]
	tests := []struct {
		name     string
		secret   string
		asRoot   bool // search account 0 signed in with its root key (its own keys are the root's)
		max      int
		wantID   string
		wantUser string
		wantRoot bool
		limited  bool
	}{
		{name: "a member's user key", secret: member.Keys[0].Secret, wantID: member.Keys[0].ID, wantUser: member.Name},
		{name: "the management account's root key, as its own", secret: root.Secret, asRoot: true, wantID: root.ID, wantRoot: true},
		{name: "no key has the secret", secret: "NoSuchSecret00000000000000000x"},
		{name: "an inactive key is never tried", secret: inactive.Secret},
		{name: "a canary is never tried", secret: canary.Secret},
		{name: "stops at max-candidates", secret: "NoSuchSecret00000000000000000x", max: 5, limited: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, mgmt, _ := startEmu(t, org)
			ctx := context.Background()
			accts, err := DirectoryAccounts(ctx, mgmt, "")
			if err != nil {
				t.Fatal(err)
			}
			if tt.asRoot {
				rc, _ := clientFor(t, s, emulator.Credential{AccessKeyID: root.ID, AccessKeySecret: root.Secret}, 3)
				accts = []LocatorAccount{{Account: Account{Name: "root"}, Entry: Entered(rc)}}
			}
			l := &Locator{Accounts: accts, InitialRate: 1000}
			before := len(s.RequestLog())
			o, rep, err := l.MatchSecret(ctx, SecretMatch{Checker: mgmt.PairCheck(accesskey.NewSecret(tt.secret)),
				Skip: []accesskey.ID{accesskey.MustParseID(canary.ID)}, MaxCandidates: tt.max, Concurrency: 4})
			log := s.RequestLog()[before:]
			if b, _ := json.Marshal(rep); strings.Contains(string(b), tt.secret) || err != nil && strings.Contains(err.Error(), tt.secret) {
				t.Fatal("the secret appears in the report or the error")
			}
			if tt.wantID == "" {
				var nm *NoMatchError
				if !errors.As(err, &nm) || !errors.Is(err, ErrOwnerNotFound) {
					t.Fatalf("err = %v, want a *NoMatchError matching ErrOwnerNotFound", err)
				}
				if rep.Limited != tt.limited || tt.limited && rep.Tried != tt.max || !tt.limited && rep.Tried != rep.Candidates {
					t.Errorf("tried %d of %d candidates, limited %v; want limited %v (max %d)", rep.Tried, rep.Candidates, rep.Limited, tt.limited, tt.max)
				}
				for _, a := range rep.Accounts {
					if !tt.limited && a.Error != "" || a.Found {
						t.Errorf("account %+v: a complete search that found nothing has no error", a)
					}
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if o.KeyID.String() != tt.wantID || rep.Matched.String() != tt.wantID || o.UserName != tt.wantUser || o.Root != tt.wantRoot ||
					o.Strategy != StrategySecretMatch || o.Key.Status != StatusActive || findKey(o.Keys, o.KeyID) == nil {
					t.Errorf("owner %+v (matched %s), want key %s user %q root %v", o, rep.Matched, tt.wantID, tt.wantUser, tt.wantRoot)
				}
				if !tt.asRoot && o.Account.ID != org.Accounts[2].ID {
					t.Errorf("account %s, want %s", o.Account.ID, org.Accounts[2].ID)
				}
				if !anyFound(o.Tried) {
					t.Errorf("no account reports the find: %+v", o.Tried)
				}
			}
			if rep.Tried == 0 || rep.Tried > rep.Candidates || rep.ListCalls == 0 {
				t.Errorf("report %+v", rep)
			}
			if !tt.asRoot && (rep.SkippedCanaries != 1 || rep.SkippedInactive != 1) && !tt.limited && tt.wantID == "" {
				t.Errorf("skipped %d canaries and %d inactive keys, want 1 and 1", rep.SkippedCanaries, rep.SkippedInactive)
			}
			// What the cloud saw: one GetCallerIdentity per id tried, signed by that id; only the
			// match's succeeds; the canary and the inactive key sign nothing.
			signed, ok := map[string]int{}, 0
			for _, r := range log {
				if r.Action != "GetCallerIdentity" {
					continue
				}
				signed[r.AccessKeyID]++
				if r.Code == "" {
					ok++
					if r.AccessKeyID != tt.wantID {
						t.Errorf("GetCallerIdentity signed by %s succeeded, want only %q", r.AccessKeyID, tt.wantID)
					}
				} else if r.Code != "SignatureDoesNotMatch" {
					t.Errorf("a try answered %s", r.Code)
				}
			}
			if want := map[bool]int{true: 1}[tt.wantID != ""]; ok != want {
				t.Errorf("%d successful tries, want %d", ok, want)
			}
			// Tries in flight when the match came may have reached the cloud: they are not counted.
			if n := len(signed); n < rep.Tried || n > rep.Tried+3 || tt.wantID == "" && n != rep.Tried {
				t.Errorf("%d ids signed a try, the report says %d", n, rep.Tried)
			}
			for id, n := range signed {
				if n != 1 || id == canary.ID || id == inactive.ID {
					t.Errorf("%s signed %d tries", id, n)
				}
			}
		})
	}
}

// A try that is throttled is retried (the answer says nothing about the pair), and one that
// never gets an answer is counted, not taken for a miss.
func TestMatchSecret_throttledAndFailedTries(t *testing.T) {
	org := emulator.GenerateOrg(emulator.GenSpec{Accounts: 1, UsersPerAccount: 20, Seed: 21})
	target := org.Accounts[0].Users[12].Keys[0]
	s, mgmt, _ := startEmu(t, org)
	ctx := context.Background()
	accts, err := DirectoryAccounts(ctx, mgmt, "")
	if err != nil {
		t.Fatal(err)
	}
	// Faults apply to authenticated calls: from here on, the matching pair's try alone.
	s.AddFault(emulator.Fault{Action: "GetCallerIdentity", Kind: emulator.FaultThrottle, Count: 2})
	l := &Locator{Accounts: accts}
	o, rep, err := l.MatchSecret(ctx, SecretMatch{Checker: mgmt.PairCheck(accesskey.NewSecret(target.Secret))})
	if err != nil || o.KeyID.String() != target.ID {
		t.Fatalf("MatchSecret = %s, %v; want %s", o.KeyID, err, target.ID)
	}
	if rep.FailedTries != 0 || calls(s, "GetCallerIdentity") < 1+rep.Tried+2 {
		t.Errorf("report %+v; the throttled try was not retried", rep)
		for _, r := range s.RequestLog() {
			if r.Action == "GetCallerIdentity" && r.Code != "SignatureDoesNotMatch" {
				t.Logf("%s %s %d", r.AccessKeyID, r.Code, r.Status)
			}
		}
	}

	// A try that keeps failing: no match, and the report says the search is incomplete.
	s2, mgmt2, _ := startEmu(t, org)
	accts2, err := DirectoryAccounts(ctx, mgmt2, "")
	if err != nil {
		t.Fatal(err)
	}
	s2.AddFault(emulator.Fault{Action: "GetCallerIdentity", Kind: emulator.FaultServerErrorBefore})
	l2 := &Locator{Accounts: accts2}
	_, rep, err = l2.MatchSecret(ctx, SecretMatch{Checker: mgmt2.PairCheck(accesskey.NewSecret(target.Secret))})
	if !errors.Is(err, ErrOwnerNotFound) || rep.FailedTries != 1 || !strings.Contains(err.Error(), "1 tries got no answer") {
		t.Errorf("err = %v, report %+v; want a miss with 1 failed try", err, rep)
	}
}

// The candidates waiting are tried newest key first.
func TestCandHeap_newestFirst(t *testing.T) {
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	q := newCandQueue(10, 1, nil)
	ids := []string{"LTAI5tCANDIDATE000000001", "LTAI5tCANDIDATE000000002", "LTAI5tCANDIDATE000000003", "LTAI5tCANDIDATE000000004"}
	for i, d := range []int{2, 5, 1, 5} {
		q.add(candidate{key: AccessKey{ID: accesskey.MustParseID(ids[i]), Status: StatusActive, CreateDate: base.AddDate(0, 0, d)}})
	}
	q.add(candidate{key: AccessKey{ID: accesskey.MustParseID(ids[0]), Status: StatusActive}}) // listed twice: once
	q.listed()
	var got []string
	for {
		c, ok := q.next(context.Background())
		if !ok {
			break
		}
		got = append(got, c.key.ID.String())
	}
	want := []string{ids[1], ids[3], ids[0], ids[2]}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("order %v, want %v", got, want)
	}
}

// fakeKeysAPI lists users and their keys; ListUsers waits for wait (when set) or the end of ctx.
type fakeKeysAPI struct {
	API  // nil: only the calls below are made
	keys map[string][]AccessKey
	wait <-chan time.Time
}

func (f *fakeKeysAPI) ListUsers(ctx context.Context, fn func(User) error) error {
	if f.wait != nil {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-f.wait:
		}
	}
	for name := range f.keys {
		if err := fn(User{UserName: name}); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeKeysAPI) ListAccessKeys(ctx context.Context, user string) ([]AccessKey, error) {
	return f.keys[user], ctx.Err()
}

// pairFunc is a PairChecker in a function.
type pairFunc func(ctx context.Context, id accesskey.ID) (Identity, error)

func (f pairFunc) CheckPair(ctx context.Context, id accesskey.ID) (Identity, error) {
	return f(ctx, id)
}

// The tries do not wait for the listing: a key found in one account stops the listing of another
// that has not even begun.
func TestMatchSecret_triesAsTheListingGoes(t *testing.T) {
	key := AccessKey{ID: accesskey.MustParseID("LTAI5tFAKEFASTACCOUNT001"), Status: StatusActive}
	fast := &fakeKeysAPI{keys: map[string][]AccessKey{"app": {key}}}
	slow := &fakeKeysAPI{keys: map[string][]AccessKey{"other": {{ID: accesskey.MustParseID("LTAI5tFAKESLOWACCOUNT001"), Status: StatusActive}}},
		wait: time.After(30 * time.Second)} // a safety: a search that waits for it fails below, late
	check := pairFunc(func(ctx context.Context, id accesskey.ID) (Identity, error) {
		if id == key.ID {
			return Identity{AccountID: "1", IdentityType: "RAMUser", Arn: "acs:ram::1:user/app"}, nil
		}
		return Identity{}, &Error{Class: ErrInvalidCredentials, Code: "SignatureDoesNotMatch"}
	})
	l := &Locator{Accounts: []LocatorAccount{{Account: Account{ID: "1"}, API: fast}, {Account: Account{ID: "2"}, API: slow}}}
	o, rep, err := l.MatchSecret(context.Background(), SecretMatch{Checker: check})
	if err != nil || o.KeyID != key.ID || o.UserName != "app" || o.Account.ID != "1" {
		t.Fatalf("MatchSecret = %+v, %v", o, err)
	}
	if rep.Accounts[1].Error != "stopped: the key was found" || rep.Tried != 1 {
		t.Errorf("report %+v: the slow account's listing was waited for", rep)
	}
}
