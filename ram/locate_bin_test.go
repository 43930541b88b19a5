package ram

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
)

// binClock is "now" for testdata/orgs/recycle-bin.yaml: deploy-bot's key deleted 10 days ago is
// restorable, the one deleted 40 days ago is purged.
var binClock = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

func binOrg(t testing.TB) (*emulator.Server, *Client, *emulator.Org) {
	t.Helper()
	org, err := emulator.LoadOrg("../testdata/orgs/recycle-bin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, c, _ := startEmu(t, org, emulator.WithClock(func() time.Time { return binClock }), emulator.WithoutTimestampCheck())
	return s, c, org
}

// A key deleted by hand is found in its user's recycle bin, through the real SDK, by the default
// order (after every other strategy missed), in every configured account.
func TestLocate_recycleBin(t *testing.T) {
	s, c, org := binOrg(t)
	ctx := context.Background()
	accts := []LocatorAccount{{Account: Account{ID: org.Accounts[0].ID}, Entry: Entered(c)}}
	tests := []struct {
		name, key, user, userID string
		recycled                bool
		created, deleteDate     time.Time
		live                    []string
	}{
		{"deleted by hand", "LTAI5tFAKEBINDEPLOYDEL01", "deploy-bot", "2444000000000002", false,
			time.Date(2025, 1, 10, 9, 0, 0, 0, time.UTC), time.Date(2026, 12, 20, 9, 0, 0, 0, time.UTC), []string{"LTAI5tFAKEBINDEPLOYLIVE1"}},
		{"user deleted too", "LTAI5tFAKEBINCONTRACT001", "old-contractor", "2444000000000003", true,
			time.Time{}, time.Date(2026, 12, 27, 8, 59, 0, 0, time.UTC), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &Locator{Accounts: accts, InitialRate: 1000}
			o, err := l.Locate(ctx, accesskey.MustParseID(tt.key))
			if err != nil {
				t.Fatal(err)
			}
			if o.Strategy != StrategyRecycleBin || o.UserName != tt.user || o.UserID != tt.userID || o.Account.ID != org.Accounts[0].ID {
				t.Fatalf("owner %+v, want %s (%s) by %s", o, tt.user, tt.userID, StrategyRecycleBin)
			}
			b := o.RecycleBin
			if b == nil || b.ID.String() != tt.key || b.UserRecycled != tt.recycled || !b.DeleteDate.Equal(tt.deleteDate) {
				t.Fatalf("RecycleBin %+v, want %s until %s (user recycled %v)", b, tt.key, tt.deleteDate, tt.recycled)
			}
			if !tt.created.IsZero() && !o.Key.CreateDate.Equal(tt.created) {
				t.Errorf("Key %+v, want created %s", o.Key, tt.created)
			}
			var live []string
			for _, k := range o.Keys {
				live = append(live, k.ID.String())
			}
			if !slices.Equal(live, tt.live) || o.Keys == nil {
				t.Errorf("Keys %v, want the user's live keys %v", live, tt.live)
			}
			var order []string
			for _, r := range o.Tried {
				order = append(order, r.Strategy)
			}
			if !slices.Equal(order, DefaultStrategies) || !o.Tried[len(o.Tried)-1].Found {
				t.Errorf("tried %v, want every default strategy, the bin last and finding it", order)
			}
			js, _ := json.Marshal(o)
			if !strings.Contains(string(js), `"recycle_bin":{"id":"`+tt.key+`"`) {
				t.Errorf("JSON %s has no recycle_bin", js)
			}
		})
	}
	// Purged (deleted 40 days ago): nowhere, and the bin's miss is a clean one.
	l := &Locator{Accounts: accts, Strategies: []string{StrategyRecycleBin}}
	_, err := l.Locate(ctx, accesskey.MustParseID("LTAI5tFAKEBINDEPLOYOLD01"))
	if !errors.Is(err, ErrOwnerNotFound) {
		t.Fatalf("purged key: %v, want owner not found", err)
	}
	if n := calls(s, "GetAccessKeyInfoInRecycleBin"); n != 3 {
		t.Errorf("GetAccessKeyInfoInRecycleBin called %d times, want once per search", n)
	}
}

// The caller strategy and restrictive protection: STS still answers for a flagged key (the
// emulator's reading of spec §14), so the owner is found; were STS to refuse it as leaked, the
// key is valid (never "not found", never "no longer authenticates") and the search says why.
func TestLocate_callerFlagged(t *testing.T) {
	s, c, org := binOrg(t)
	ctx := context.Background()
	const exposed = "LTAI5tFAKEBINEXPOSED0001"
	cr, _ := org.Key(exposed)
	leaked, _ := clientFor(t, s, cr, 1)
	if _, err := leaked.ListAccessKeys(ctx, ""); !errors.Is(err, ErrKeyFlagged) {
		t.Fatalf("a flagged key's RAM call: %v, want ErrKeyFlagged", err)
	}
	accts := []LocatorAccount{{Account: Account{ID: org.Accounts[0].ID}, Entry: Entered(c)}}
	l := &Locator{Accounts: accts, Strategies: []string{StrategyCaller}, Leaked: leaked}
	o, err := l.Locate(ctx, accesskey.MustParseID(exposed))
	if err != nil || o.UserName != "exposed-app" || o.Key.Status != StatusActive {
		t.Fatalf("caller strategy on a flagged key: %+v, %v", o, err)
	}

	l.Leaked = flaggedCaller{}
	_, err = l.Locate(ctx, accesskey.MustParseID(exposed))
	if err == nil || errors.Is(err, ErrOwnerNotFound) || !errors.Is(err, ErrKeyFlagged) ||
		!strings.Contains(err.Error(), "valid and flagged") {
		t.Fatalf("caller strategy, STS refusing the flagged key: %v", err)
	}
}

// flaggedCaller answers GetCallerIdentity as a cloud that refuses STS to a flagged key would.
type flaggedCaller struct{ API }

func (flaggedCaller) GetCallerIdentity(context.Context) (Identity, error) {
	return Identity{}, &Error{Action: actGetCallerIdentity, Code: "Forbidden", Status: 403, Class: ErrKeyFlagged,
		Err: errors.New("There is a risk of leakage of this AccessKey.")}
}
