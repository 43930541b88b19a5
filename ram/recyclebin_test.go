package ram

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
)

const (
	demoLeaked = "LTAI5tFAKEBILLING0LEAK01"
	demoKeep   = "LTAI5tFAKEBILLING0KEEP01"
)

func mustID(t testing.TB, s string) accesskey.ID {
	t.Helper()
	id, err := accesskey.ParseID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// The whole life of a deleted key through ram.Client and the real SDK: delete → in the bin →
// cannot sign → restore works → delete, replace → restore refused at the limit → purge → gone.
func TestEmu_recycleBin(t *testing.T) {
	clk := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	org := emulator.DemoOrg()
	s, c, _ := startEmu(t, org, emulator.WithClock(func() time.Time { return clk }), emulator.WithoutTimestampCheck())
	ctx := context.Background()
	leaked := mustID(t, demoLeaked)
	lc, ok := org.Key(demoLeaked)
	if !ok {
		t.Fatal("no leaked key in the demo org")
	}
	signer, _ := clientFor(t, s, lc, 1)
	owner, err := c.GetUserByAccessKey(ctx, leaked)
	if err != nil {
		t.Fatal(err)
	}

	if _, err := c.GetAccessKeyInfoInRecycleBin(ctx, leaked); !errors.Is(err, ErrNotFound) {
		t.Fatalf("live key in the bin? %v", err)
	}
	if err := c.DeleteAccessKey(ctx, "billing-app", leaked); err != nil {
		t.Fatal(err)
	}
	bin, err := c.ListAccessKeysInRecycleBin(ctx, owner.UserID)
	if err != nil || len(bin) != 1 || bin[0].ID != leaked || !bin[0].RecycleDate.Equal(clk) ||
		!bin[0].DeleteDate.Equal(clk.Add(30*24*time.Hour)) || bin[0].CreateDate.IsZero() {
		t.Fatalf("ListAccessKeysInRecycleBin = %+v, %v", bin, err)
	}
	info, err := c.GetAccessKeyInfoInRecycleBin(ctx, leaked)
	if err != nil || info.UserID != owner.UserID || info.UserName != "billing-app" || info.UserRecycled ||
		!info.DeleteDate.Equal(bin[0].DeleteDate) {
		t.Fatalf("GetAccessKeyInfoInRecycleBin = %+v, %v", info, err)
	}
	if _, err := signer.GetCallerIdentity(ctx); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("a binned key signed: %v", err)
	}
	if _, err := c.GetUserByAccessKey(ctx, leaked); !errors.Is(err, ErrNotFound) {
		t.Fatalf("IMS GetUser found a binned key: %v", err)
	}

	// Restore: the danger the purge removes.
	if err := c.RestoreAccessKeyFromRecycleBin(ctx, owner.UserID, leaked); err != nil {
		t.Fatal(err)
	}
	if _, err := signer.GetCallerIdentity(ctx); err != nil {
		t.Fatalf("restored key cannot sign: %v", err)
	}
	if err := c.DeleteAccessKey(ctx, "billing-app", leaked); err != nil {
		t.Fatal(err)
	}
	if _, err := createListed(ctx, c, "billing-app"); err != nil {
		t.Fatal(err)
	}
	if err := c.RestoreAccessKeyFromRecycleBin(ctx, owner.UserID, leaked); !errors.Is(err, ErrKeyLimit) {
		t.Fatalf("restore at the 2-key limit = %v, want ErrKeyLimit", err)
	}

	// Purge, then nothing finds it.
	if err := c.DeleteAccessKeyInRecycleBin(ctx, owner.UserID, leaked); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetAccessKeyInfoInRecycleBin(ctx, leaked); !errors.Is(err, ErrNotFound) {
		t.Fatalf("purged key still in the bin: %v", err)
	}
	if bin, err := c.ListAccessKeysInRecycleBin(ctx, owner.UserID); err != nil || len(bin) != 0 {
		t.Fatalf("bin after purge = %+v, %v", bin, err)
	}
	if err := c.DeleteAccessKeyInRecycleBin(ctx, owner.UserID, leaked); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second purge = %v, want ErrNotFound", err)
	}
	if err := c.RestoreAccessKeyFromRecycleBin(ctx, owner.UserID, leaked); !errors.Is(err, ErrNotFound) {
		t.Fatalf("restore after purge = %v, want ErrNotFound", err)
	}
	if _, err := signer.GetCallerIdentity(ctx); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("purged key signed: %v", err)
	}
	for _, r := range s.RequestLog() {
		if r.Version == "2019-08-15" && r.Action == "DeleteAccessKeyInRecycleBin" && r.Params["UserId"] != owner.UserID {
			t.Fatalf("purge sent %v", r.Params)
		}
	}
	if v := s.Violations(); len(v) != 0 {
		t.Fatalf("violations %q", v)
	}
}

// A purge whose answer is lost (5xx after commit, dropped connection) is retried and the
// not-found that follows counts as done; a purge refused before commit is retried until it works.
func TestEmu_recycleBinPurgeIdempotent(t *testing.T) {
	for _, kind := range []emulator.FaultKind{emulator.FaultServerErrorAfter, emulator.FaultDropAfter, emulator.FaultServerErrorBefore} {
		org := emulator.DemoOrg()
		s, c, _ := startEmu(t, org)
		ctx := context.Background()
		leaked := mustID(t, demoLeaked)
		if err := c.DeleteAccessKey(ctx, "billing-app", leaked); err != nil {
			t.Fatal(err)
		}
		info, err := c.GetAccessKeyInfoInRecycleBin(ctx, leaked)
		if err != nil {
			t.Fatal(err)
		}
		s.AddFault(emulator.Fault{Action: "DeleteAccessKeyInRecycleBin", Kind: kind, Nth: 1})
		if err := c.DeleteAccessKeyInRecycleBin(ctx, info.UserID, leaked); err != nil {
			t.Fatalf("fault %d: purge = %v", kind, err)
		}
		if _, err := c.GetAccessKeyInfoInRecycleBin(ctx, leaked); !errors.Is(err, ErrNotFound) {
			t.Fatalf("fault %d: key still in the bin: %v", kind, err)
		}
		if n := calls(s, "DeleteAccessKeyInRecycleBin"); n != 2 {
			t.Fatalf("fault %d: %d purge calls, want 2", kind, n)
		}
	}
}

// A RAM user lists and purges its own bin without naming itself; an account owner must.
func TestEmu_recycleBinSelf(t *testing.T) {
	org := emulator.DemoOrg()
	s, c, _ := startEmu(t, org)
	ctx := context.Background()
	nk, err := createListed(ctx, c, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteAccessKey(ctx, "", nk.ID); err != nil {
		t.Fatal(err)
	}
	bin, err := c.ListAccessKeysInRecycleBin(ctx, "")
	if err != nil || len(bin) != 1 || bin[0].ID != nk.ID {
		t.Fatalf("own bin = %+v, %v", bin, err)
	}
	if err := c.DeleteAccessKeyInRecycleBin(ctx, "", nk.ID); err != nil {
		t.Fatal(err)
	}
	root, _ := clientFor(t, s, emulator.Credential{AccessKeyID: "LTAI5tFAKEROOTACME000001", AccessKeySecret: "FakeRootSecretAcme000000000001"}, 1)
	if _, err := root.ListAccessKeysInRecycleBin(ctx, ""); err == nil {
		t.Fatal("an account owner listed a bin without naming the user")
	}
}

// A flagged key answers ErrKeyFlagged on RAM and IMS (valid, but blocked), never
// ErrInvalidCredentials or ErrNoPermission; STS still answers for it.
func TestEmu_flaggedKey(t *testing.T) {
	org, err := emulator.LoadOrg("../testdata/orgs/recycle-bin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, c, _ := startEmu(t, org)
	ctx := context.Background()
	fc, ok := org.Key("LTAI5tFAKEBINEXPOSED0001")
	if !ok {
		t.Fatal("no flagged key in the seed")
	}
	flagged, _ := clientFor(t, s, fc, 1)
	_, err = flagged.ListAccessKeys(ctx, "")
	if !errors.Is(err, ErrKeyFlagged) || errors.Is(err, ErrNoPermission) || errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("ListAccessKeys with a flagged key = %v, want ErrKeyFlagged only", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Code != "Forbidden" || e.Status != 403 {
		t.Fatalf("error %#v", err)
	}
	if _, err := flagged.GetUserByAccessKey(ctx, mustID(t, fc.AccessKeyID)); !errors.Is(err, ErrKeyFlagged) {
		t.Fatalf("IMS with a flagged key = %v", err)
	}
	if id, err := flagged.GetCallerIdentity(ctx); err != nil || id.AccessKeyID != fc.AccessKeyID {
		t.Fatalf("GetCallerIdentity with a flagged key = %+v, %v", id, err)
	}
	// Its owner is found by another principal, which can delete it.
	u, err := c.GetUserByAccessKey(ctx, mustID(t, fc.AccessKeyID))
	if err != nil || u.UserName != "exposed-app" {
		t.Fatalf("owner = %+v, %v", u, err)
	}
	if err := c.DeleteAccessKey(ctx, u.UserName, mustID(t, fc.AccessKeyID)); err != nil {
		t.Fatal(err)
	}
	if _, err := flagged.GetCallerIdentity(ctx); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("deleted flagged key = %v", err)
	}
}
