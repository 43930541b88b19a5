package ram

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
)

func lastUserKey(org *emulator.Org, acct int) (string, accesskey.ID) {
	us := org.Accounts[acct].Users
	u := us[len(us)-1]
	return u.Name, accesskey.MustParseID(u.Keys[0].ID)
}

func TestLocate_strategies(t *testing.T) {
	org := emulator.GenerateOrg(emulator.GenSpec{Accounts: 3, UsersPerAccount: 150, Seed: 9})
	root := accesskey.MustParseID(org.Accounts[0].RootKeys[0].ID)
	tests := []struct {
		name       string
		strategies []string
		acct       int
		root       bool
		want       string
	}{
		{"ims", []string{StrategyIMS}, 2, false, StrategyIMS},
		{"actiontrail", []string{StrategyActionTrail}, 1, false, StrategyActionTrail},
		{"scan past 100 users", []string{StrategyScan}, 2, false, StrategyScan},
		{"default order stops at ims", nil, 2, false, StrategyIMS},
		{"self finds the root key", []string{StrategyScan, StrategySelf}, 0, true, StrategySelf},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, mgmt, _ := startEmu(t, org)
			ctx := context.Background()
			user, id := lastUserKey(org, tt.acct)
			if tt.root {
				user, id = "", root
			}
			accts, err := DirectoryAccounts(ctx, mgmt, "")
			if err != nil || len(accts) != 3 {
				t.Fatalf("DirectoryAccounts = %d, %v", len(accts), err)
			}
			var mu sync.Mutex
			var progress []Progress
			l := &Locator{Accounts: accts, Strategies: tt.strategies, InitialRate: 1000, Progress: func(p Progress) {
				mu.Lock()
				progress = append(progress, p)
				mu.Unlock()
			}}
			// The self strategy lists the caller's own keys: sign in as the root of account 0.
			if tt.root {
				rc, _ := clientFor(t, s, emulator.Credential{AccessKeyID: root.String(), AccessKeySecret: org.Accounts[0].RootKeys[0].Secret}, 3)
				l.Accounts = []LocatorAccount{{Account: Account{Name: "root"}, Entry: Entered(rc)}}
			}
			o, err := l.Locate(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if o.Strategy != tt.want {
				t.Errorf("strategy %q, want %q", o.Strategy, tt.want)
			}
			if o.UserName != user || o.Root != tt.root || o.Account.ID != org.Accounts[tt.acct].ID {
				t.Errorf("owner %+v, want user %q root %v account %s", o, user, tt.root, org.Accounts[tt.acct].ID)
			}
			if o.Key.ID != id || o.Key.Status != StatusActive {
				t.Errorf("key %+v, want %s Active", o.Key, id)
			}
			if findKey(o.Keys, id) == nil {
				t.Errorf("Keys %+v do not carry the located key %s: the caller would have to list them again", o.Keys, id)
			}
			if b, _ := json.Marshal(o); strings.Contains(string(b), `"keys"`) {
				t.Errorf("Keys is in the owner's JSON: %s", b)
			}
			if len(o.Tried) == 0 || !o.Tried[len(o.Tried)-1].Found && !anyFound(o.Tried) {
				t.Errorf("no report marks the hit: %+v", o.Tried)
			}
			if tt.want == StrategyScan && len(progress) == 0 {
				t.Errorf("the scan reported no progress")
			}
			if _, err := json.Marshal(o); err != nil {
				t.Error(err)
			}
		})
	}
}

func anyFound(rs []StrategyReport) bool {
	for _, r := range rs {
		if r.Found {
			return true
		}
	}
	return false
}

func TestLocate_miss(t *testing.T) {
	org := emulator.GenerateOrg(emulator.GenSpec{Accounts: 2, UsersPerAccount: 120, Seed: 4})
	_, mgmt, _ := startEmu(t, org)
	ctx := context.Background()
	accts, err := DirectoryAccounts(ctx, mgmt, "")
	if err != nil {
		t.Fatal(err)
	}
	l := &Locator{Accounts: accts, InitialRate: 1000}
	_, err = l.Locate(ctx, accesskey.MustParseID("LTAI5tNOBODYOWNSTHISKEY0"))
	var nf *NotFoundError
	if !errors.As(err, &nf) || !errors.Is(err, ErrOwnerNotFound) {
		t.Fatalf("error %v, want *NotFoundError", err)
	}
	// admin + 120 users in account 0, 120 in account 1.
	if nf.UsersScanned != 241 || len(nf.AccountIDs) != 2 {
		t.Errorf("scanned %d users in %v, want 241 in 2 accounts", nf.UsersScanned, nf.AccountIDs)
	}
	if !strings.Contains(err.Error(), "owned by no RAM user in accounts "+org.Accounts[0].ID+", "+org.Accounts[1].ID) {
		t.Errorf("message %q", err)
	}
}

func TestLocate_unknownStrategy(t *testing.T) {
	l := &Locator{Accounts: []LocatorAccount{{}}, Strategies: []string{"guess"}}
	if _, err := l.Locate(context.Background(), accesskey.MustParseID("LTAI5tNOBODYOWNSTHISKEY0")); err == nil || !strings.Contains(err.Error(), "guess") {
		t.Errorf("error %v", err)
	}
}

func TestLocate_callerNeedsTheSecret(t *testing.T) {
	org := emulator.GenerateOrg(emulator.GenSpec{Accounts: 1, UsersPerAccount: 2, Seed: 2})
	s, mgmt, _ := startEmu(t, org)
	ctx := context.Background()
	l := &Locator{Accounts: []LocatorAccount{{Account: Account{ID: org.Accounts[0].ID}, Entry: Entered(mgmt)}}, Strategies: []string{StrategyCaller}}
	user, id := lastUserKey(org, 0)
	if _, err := l.Locate(ctx, id); err == nil || !strings.Contains(err.Error(), "leaked secret") {
		t.Fatalf("without the secret: %v", err)
	}
	l.Leaked, _ = clientFor(t, s, emulator.Credential{AccessKeyID: id.String(), AccessKeySecret: org.Accounts[0].Users[2].Keys[0].Secret}, 1)
	o, err := l.Locate(ctx, id)
	if err != nil || o.UserName != user {
		t.Fatalf("caller strategy: %+v, %v", o, err)
	}
}

// The concurrent scan under throttling: -race clean, every user covered, throttles seen.
func TestLocate_scanUnderThrottling(t *testing.T) {
	org := emulator.GenerateOrg(emulator.GenSpec{Accounts: 1, UsersPerAccount: 300, Seed: 8})
	s, mgmt, _ := startEmu(t, org)
	s.AddFault(emulator.Fault{Action: "ListAccessKeys", Kind: emulator.FaultThrottle, Probability: 0.03})
	user, id := lastUserKey(org, 0)
	var mu sync.Mutex
	var last Progress
	l := &Locator{Accounts: []LocatorAccount{{Account: Account{ID: org.Accounts[0].ID}, Entry: Entered(mgmt)}},
		Strategies: []string{StrategyScan}, Concurrency: 16, InitialRate: 2000, MaxRate: 5000,
		Progress: func(p Progress) { mu.Lock(); last = p; mu.Unlock() }}
	o, err := l.Locate(context.Background(), id)
	if err != nil || o.UserName != user {
		t.Fatalf("Locate = %+v, %v", o, err)
	}
	if last.Throttles == 0 {
		t.Errorf("progress saw no throttles: %+v", last)
	}
}

// Member accounts whose role cannot be assumed: each is entered once (the failure is kept, not
// retried by every strategy), reported once as "enter", and the search goes on in the others.
func TestLocate_memberThatCannotBeEntered(t *testing.T) {
	org := emulator.GenerateOrg(emulator.GenSpec{Accounts: 3, UsersPerAccount: 20, Seed: 5})
	s, mgmt, _ := startEmu(t, org)
	ctx := context.Background()
	accts, err := DirectoryAccounts(ctx, mgmt, "NoSuchRole")
	if err != nil || len(accts) != 3 {
		t.Fatalf("DirectoryAccounts = %d, %v", len(accts), err)
	}
	_, id := lastUserKey(org, 2)
	_, err = (&Locator{Accounts: accts, InitialRate: 1000}).Locate(ctx, id)
	var nf *NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("error %v, want *NotFoundError (the management account was searched cleanly)", err)
	}
	if nf.UsersScanned != 21 {
		t.Errorf("scanned %d users, want the management account's 21", nf.UsersScanned)
	}
	entered := map[string]int{}
	for _, r := range nf.Tried {
		if r.Strategy == "enter" {
			entered[r.AccountID]++
			if !strings.Contains(r.Error, "EntityNotExist.Role") {
				t.Errorf("enter report %+v does not say why", r)
			}
		} else if r.AccountID != org.Accounts[0].ID && r.Error != "account not entered" {
			t.Errorf("report %+v of an account never entered", r)
		}
	}
	if len(entered) != 2 || entered[org.Accounts[1].ID] != 1 || entered[org.Accounts[2].ID] != 1 {
		t.Errorf("enter reports %v, want one for each member", entered)
	}
	if n := calls(s, "AssumeRole"); n != 2 {
		t.Errorf("AssumeRole called %d times, want once per member across all strategies", n)
	}
}
