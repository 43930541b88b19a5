package ram

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
)

// startEmu serves org and returns the server and a client signed by the org's admin.
func startEmu(t testing.TB, org *emulator.Org, opts ...emulator.Option) (*emulator.Server, *Client, *fakeSleep) {
	t.Helper()
	s := emulator.NewServer(org, opts...)
	t.Cleanup(s.Close)
	c, fs := clientFor(t, s, org.Admin(), 5)
	return s, c, fs
}

func clientFor(t testing.TB, s *emulator.Server, cr emulator.Credential, attempts int) (*Client, *fakeSleep) {
	t.Helper()
	fs := &fakeSleep{}
	c, err := New(context.Background(), Config{
		Endpoint:    s.Endpoint(),
		Credentials: StaticCredentials(cr.AccessKeyID, accesskey.NewSecret(cr.AccessKeySecret)),
		UserAgent:   "respond/test",
		Retry:       RetryPolicy{MaxAttempts: attempts, Sleep: fs.Sleep, Jitter: func() float64 { return 0 }},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, fs
}

func calls(s *emulator.Server, action string) int {
	n := 0
	for _, r := range s.RequestLog() {
		if r.Action == action {
			n++
		}
	}
	return n
}

func TestEmu_identityUsersAndPaging(t *testing.T) {
	for _, users := range []int{0, 99, 100, 101, 999, 1000, 1001, 2500} {
		org := emulator.GenerateOrg(emulator.GenSpec{Accounts: 1, UsersPerAccount: users, Seed: 1})
		s, c, _ := startEmu(t, org)
		ctx := context.Background()
		var names []string
		if err := c.ListUsers(ctx, func(u User) error { names = append(names, u.UserName); return nil }); err != nil {
			t.Fatal(err)
		}
		if want := len(org.Accounts[0].Users); len(names) != want {
			t.Errorf("%d users: ListUsers saw %d, want %d (Marker not followed?)", users, len(names), want)
		}
		if got, want := calls(s, "ListUsers"), max(1, (users+1+999)/1000); got != want {
			t.Errorf("%d users: %d ListUsers calls, want %d", users, got, want)
		}
	}
}

func TestEmu_methods(t *testing.T) {
	org := emulator.GenerateOrg(emulator.GenSpec{Accounts: 2, UsersPerAccount: 3, Seed: 7})
	s, c, _ := startEmu(t, org)
	ctx := context.Background()
	admin := org.Admin()

	me, err := c.GetCallerIdentity(ctx)
	if err != nil || me.AccountID != admin.AccountID || me.AccessKeyID != admin.AccessKeyID || me.IdentityType != "RAMUser" {
		t.Fatalf("GetCallerIdentity = %+v, %v", me, err)
	}
	u, err := c.GetUser(ctx, "user-0001")
	if err != nil || u.UserName != "user-0001" || u.UserID == "" {
		t.Fatalf("GetUser = %+v, %v", u, err)
	}
	if _, err := c.GetUser(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetUser(nobody) = %v, want ErrNotFound", err)
	}

	// user-0001 holds 1 or 2 keys; make room, then create, list, delete.
	keys, err := c.ListAccessKeys(ctx, "user-0001")
	if err != nil || len(keys) == 0 {
		t.Fatalf("ListAccessKeys = %v, %v", keys, err)
	}
	for len(keys) >= 2 {
		if err := c.DeleteAccessKey(ctx, "user-0001", keys[1].ID); err != nil {
			t.Fatal(err)
		}
		keys = keys[:1]
	}
	nk, err := createListed(ctx, c, "user-0001")
	if err != nil || nk.Secret.IsZero() || nk.Status != StatusActive || nk.RequestID == "" {
		t.Fatalf("CreateAccessKey = %+v, %v", nk, err)
	}
	if _, err := createListed(ctx, c, "user-0001"); !errors.Is(err, ErrKeyLimit) {
		t.Errorf("third key: %v, want ErrKeyLimit", err)
	}
	owner, err := c.GetUserByAccessKey(ctx, nk.ID)
	if err != nil || owner.UserName != "user-0001" {
		t.Errorf("GetUserByAccessKey = %+v, %v", owner, err)
	}
	lu, err := c.GetAccessKeyLastUsedInfo(ctx, keys[0].ID)
	if err != nil || lu.UserName != "user-0001" || lu.AccountID != admin.AccountID {
		t.Errorf("GetAccessKeyLastUsedInfo = %+v, %v", lu, err)
	}
	if _, err := c.GetAccessKeyLastUsed(ctx, "user-0001", nk.ID); err != nil {
		t.Errorf("GetAccessKeyLastUsed: %v", err)
	}
	if err := c.DeleteAccessKey(ctx, "user-0001", nk.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteAccessKey(ctx, "user-0001", nk.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete = %v, want ErrNotFound", err)
	}

	// Events signed by the admin key exist now.
	var evs []Event
	err = c.LookupEvents(ctx, EventQuery{AccessKeyID: accesskey.MustParseID(admin.AccessKeyID), Start: time.Now().Add(-time.Hour), End: time.Now().Add(time.Minute)},
		func(e Event) error { evs = append(evs, e); return nil })
	if err != nil || len(evs) == 0 || evs[0].AccessKeyID != admin.AccessKeyID {
		t.Errorf("LookupEvents: %d events, %v", len(evs), err)
	}

	// KMS: create, idempotent put, conflicting create.
	data := accesskey.NewSecret(`{"AccessKeyId":"x","AccessKeySecret":"y"}`)
	if v, err := c.CreateSecret(ctx, "app/key", "v1", data); err != nil || v.VersionID != "v1" {
		t.Fatalf("CreateSecret = %+v, %v", v, err)
	}
	if _, err := c.CreateSecret(ctx, "app/key", "v1", data); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("second CreateSecret = %v, want ErrAlreadyExists", err)
	}
	for range 2 {
		if v, err := c.PutSecretValue(ctx, "app/key", "v2", data); err != nil || v.VersionID != "v2" {
			t.Fatalf("PutSecretValue = %+v, %v", v, err)
		}
	}
	if _, err := c.PutSecretValue(ctx, "missing", "v1", data); !errors.Is(err, ErrNotFound) {
		t.Errorf("PutSecretValue(missing) = %v, want ErrNotFound", err)
	}

	accts, err := c.ListAccounts(ctx)
	if err != nil || len(accts) != 2 {
		t.Fatalf("ListAccounts = %+v, %v", accts, err)
	}
	member, err := c.ForAccount(ctx, org.Accounts[1].ID, "")
	if err != nil {
		t.Fatal(err)
	}
	mi, err := member.GetCallerIdentity(ctx)
	if err != nil || mi.AccountID != org.Accounts[1].ID || mi.IdentityType != "AssumedRoleUser" {
		t.Errorf("member identity = %+v, %v", mi, err)
	}
	if v := s.Violations(); len(v) > 0 {
		t.Errorf("protocol violations: %v", v)
	}
	for _, r := range s.RequestLog() {
		if r.AccessKeyID != admin.AccessKeyID && !accesskeyIsSTS(r.AccessKeyID) {
			t.Errorf("%s signed by %s, not the admin", r.Action, r.AccessKeyID)
		}
	}
}

func accesskeyIsSTS(id string) bool { k, err := accesskey.ParseID(id); return err == nil && k.IsSTS() }

func TestEmu_errorClasses(t *testing.T) {
	org := emulator.GenerateOrg(emulator.GenSpec{Accounts: 1, UsersPerAccount: 2, Seed: 3})
	s, _, _ := startEmu(t, org)
	ctx := context.Background()
	user := org.Accounts[0].Users[1] // user-0001: no permissions
	plain, _ := clientFor(t, s, emulator.Credential{AccessKeyID: user.Keys[0].ID, AccessKeySecret: user.Keys[0].Secret}, 1)
	if _, err := plain.ListAccessKeys(ctx, "admin"); !errors.Is(err, ErrNoPermission) {
		t.Errorf("unprivileged ListAccessKeys = %v, want ErrNoPermission", err)
	}
	wrong, _ := clientFor(t, s, emulator.Credential{AccessKeyID: user.Keys[0].ID, AccessKeySecret: "wrongwrongwrongwrongwrongwrong"}, 1)
	if _, err := wrong.GetCallerIdentity(ctx); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("wrong secret = %v, want ErrInvalidCredentials", err)
	}
	unknown, _ := clientFor(t, s, emulator.Credential{AccessKeyID: "LTAI5tUNKNOWNUNKNOWN0000", AccessKeySecret: "x"}, 1)
	if _, err := unknown.GetCallerIdentity(ctx); !errors.Is(err, ErrInvalidCredentials) {
		t.Errorf("unknown key = %v, want ErrInvalidCredentials", err)
	}
}

func TestEmu_faults(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		fault     emulator.Fault
		run       func(c *Client) error
		want      error // nil = success
		wantCalls int
	}{
		{"throttling storm on a read", emulator.Fault{Action: "ListUsers", Kind: emulator.FaultThrottle, Count: 3, RetryAfter: 250 * time.Millisecond},
			func(c *Client) error { return c.ListUsers(ctx, func(User) error { return nil }) }, nil, 4},
		{"endless throttling gives up", emulator.Fault{Action: "ListUsers", Kind: emulator.FaultThrottle},
			func(c *Client) error { return c.ListUsers(ctx, func(User) error { return nil }) }, ErrThrottled, 10}, // MaxThrottled
		{"500 on a read", emulator.Fault{Action: "GetUser", Kind: emulator.FaultServerErrorBefore, Count: 2},
			func(c *Client) error { _, err := c.GetUser(ctx, "user-0001"); return err }, nil, 3},
		{"dropped connection on a read", emulator.Fault{Action: "GetUser", Kind: emulator.FaultDropBefore, Count: 1},
			func(c *Client) error { _, err := c.GetUser(ctx, "user-0001"); return err }, nil, 2},
		{"garbage body on a read", emulator.Fault{Action: "GetUser", Kind: emulator.FaultGarbage, Count: 1},
			func(c *Client) error { _, err := c.GetUser(ctx, "user-0001"); return err }, nil, 2},
		{"delete dropped after commit is done", emulator.Fault{Action: "DeleteAccessKey", Kind: emulator.FaultDropAfter, Count: 1},
			func(c *Client) error { return deleteFirstKey(ctx, c, "user-0002") }, nil, 2},
		{"delete 500 after commit is done", emulator.Fault{Action: "DeleteAccessKey", Kind: emulator.FaultServerErrorAfter, Count: 1},
			func(c *Client) error { return deleteFirstKey(ctx, c, "user-0002") }, nil, 2},
		{"delete answered without a request id is tried again", emulator.Fault{Action: "DeleteAccessKey", Kind: emulator.FaultEmptyAnswer, Count: 1},
			func(c *Client) error { return deleteFirstKey(ctx, c, "user-0002") }, nil, 2},
		{"create throttled is retried", emulator.Fault{Action: "CreateAccessKey", Kind: emulator.FaultThrottle, Count: 2},
			func(c *Client) error { _, err := createListed(ctx, c, "user-0003"); return err }, nil, 3},
		{"create 500 before commit is retried", emulator.Fault{Action: "CreateAccessKey", Kind: emulator.FaultServerErrorBefore, Count: 1},
			func(c *Client) error { _, err := createListed(ctx, c, "user-0003"); return err }, nil, 2},
		{"create dropped before commit is retried", emulator.Fault{Action: "CreateAccessKey", Kind: emulator.FaultDropBefore, Count: 1},
			func(c *Client) error { _, err := createListed(ctx, c, "user-0003"); return err }, nil, 2},
		{"create 500 after commit is ambiguous", emulator.Fault{Action: "CreateAccessKey", Kind: emulator.FaultServerErrorAfter, Count: 1},
			func(c *Client) error { _, err := createListed(ctx, c, "user-0003"); return err }, ErrTransient, 1},
		{"create dropped after commit is ambiguous", emulator.Fault{Action: "CreateAccessKey", Kind: emulator.FaultDropAfter, Count: 1},
			func(c *Client) error { _, err := createListed(ctx, c, "user-0003"); return err }, ErrTransient, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org := emulator.GenerateOrg(emulator.GenSpec{Accounts: 1, UsersPerAccount: 3, Seed: 11})
			// user-0003 gets exactly one key so a create has room.
			org.Accounts[0].Users[3].Keys = org.Accounts[0].Users[3].Keys[:1]
			s, c, _ := startEmu(t, org)
			s.AddFault(tt.fault)
			err := tt.run(c)
			switch {
			case tt.want == nil && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.want != nil && !errors.Is(err, tt.want):
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if got := calls(s, tt.fault.Action); got != tt.wantCalls {
				t.Errorf("%d %s calls, want %d", got, tt.fault.Action, tt.wantCalls)
			}
			if tt.fault.Action == "CreateAccessKey" {
				keys, lerr := c.ListAccessKeys(ctx, "user-0003")
				if lerr != nil || len(keys) != 2 {
					t.Errorf("user-0003 holds %d keys (%v), want exactly 2: one create, no double", len(keys), lerr)
				}
				var amb *AmbiguousCreateError
				if tt.want != nil {
					if !errors.As(err, &amb) || len(amb.NewKeyIDs) != 1 || amb.NewKeyIDs[0] != keys[len(keys)-1].ID {
						t.Errorf("want *AmbiguousCreateError naming the orphan, got %#v", err)
					}
				}
			}
		})
	}
}

func deleteFirstKey(ctx context.Context, c *Client, user string) error {
	keys, err := c.ListAccessKeys(ctx, user)
	if err != nil {
		return err
	}
	return c.DeleteAccessKey(ctx, user, keys[0].ID)
}

func TestEmu_contextCancellation(t *testing.T) {
	org := emulator.GenerateOrg(emulator.GenSpec{Accounts: 1, UsersPerAccount: 1, Seed: 1})
	s, c, _ := startEmu(t, org)
	s.AddFault(emulator.Fault{Action: "GetUser", Kind: emulator.FaultLatency, Delay: 30 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	_, err := c.GetUser(ctx, "user-0001")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if errors.Is(err, ErrTransient) {
		t.Errorf("a cancelled call must not look transient (it would be retried): %v", err)
	}
	// Cancelled before the call: nothing is sent.
	before := len(s.RequestLog())
	if _, err := c.GetUser(ctx, "user-0001"); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if len(s.RequestLog()) != before {
		t.Errorf("a call went out after cancellation")
	}
}

// One SDK client per goroutine: 16 goroutines share one Client under -race.
func TestEmu_concurrentUseIsRaceFree(t *testing.T) {
	org := emulator.GenerateOrg(emulator.GenSpec{Accounts: 1, UsersPerAccount: 20, Seed: 5})
	_, c, _ := startEmu(t, org)
	ctx := context.Background()
	errs := make(chan error, 16*10)
	done := make(chan struct{})
	for g := range 16 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 10 {
				_, err := c.ListAccessKeys(ctx, org.Accounts[0].Users[1+(g+i)%20].Name)
				errs <- err
			}
		}()
	}
	for range 16 {
		<-done
	}
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// createListed lists the user's keys and creates one against that list.
func createListed(ctx context.Context, c *Client, user string) (NewAccessKey, error) {
	before, err := c.ListAccessKeys(ctx, user)
	if err != nil {
		return NewAccessKey{}, err
	}
	return c.CreateAccessKey(ctx, user, before)
}
