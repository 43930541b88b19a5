package ram

import (
	"context"
	"errors"
	"testing"

	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
)

// A key reported gone must be gone: DeleteAccessKey's not-found counts only when it is about the
// key, never when the user it names does not exist (the key may be alive on another user), not
// even after an ambiguous attempt.
func TestEmu_deleteNotFoundIsAboutTheKey(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name         string
		user         string
		fault        *emulator.Fault
		wantNotFound bool
	}{
		{"unknown key of a known user", "user-0001", nil, true},
		{"the user does not exist", "nobody", nil, false},
		{"the user does not exist, after a 500", "nobody", &emulator.Fault{Action: "DeleteAccessKey", Kind: emulator.FaultServerErrorBefore, Count: 1}, false},
		{"the user does not exist, after a drop", "nobody", &emulator.Fault{Action: "DeleteAccessKey", Kind: emulator.FaultDropBefore, Count: 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org := emulator.GenerateOrg(emulator.GenSpec{Accounts: 1, UsersPerAccount: 3, Seed: 5})
			s, c, _ := startEmu(t, org)
			if tt.fault != nil {
				s.AddFault(*tt.fault)
			}
			id := org.Accounts[0].Users[2].Keys[0].ID // alive, on user-0002
			if tt.wantNotFound {
				id = "LTAI5tNOSUCHKEY000000000"
			}
			err := c.DeleteAccessKey(ctx, tt.user, mustID(t, id))
			switch {
			case err == nil:
				t.Fatalf("DeleteAccessKey(%s, %s) = nil: reported deleted", tt.user, id)
			case errors.Is(err, ErrNotFound) != tt.wantNotFound:
				t.Fatalf("DeleteAccessKey(%s, %s) = %v: ErrNotFound is %v, want %v", tt.user, id, err, !tt.wantNotFound, tt.wantNotFound)
			}
			keys, err := c.ListAccessKeys(ctx, "user-0002")
			if err != nil || len(keys) != len(org.Accounts[0].Users[2].Keys) {
				t.Errorf("user-0002 keys = %v, %v: the key must be untouched", keys, err)
			}
		})
	}
}

// Only an unknown id proves a leaked pair no longer signs: a wrong secret, a disabled key, a 5xx
// or a throttled answer does not.
func TestEmu_keyUnknown(t *testing.T) {
	org := emulator.GenerateOrg(emulator.GenSpec{Accounts: 1, UsersPerAccount: 3, Seed: 5})
	u := &org.Accounts[0].Users[2]
	u.Keys[0].Status = "Inactive"
	s, _, _ := startEmu(t, org)
	ctx := context.Background()
	alive := org.Accounts[0].Users[1].Keys[0]
	tests := []struct {
		name   string
		cred   emulator.Credential
		fault  *emulator.Fault
		gone   bool
		anyErr bool
	}{
		{"unknown id", emulator.Credential{AccessKeyID: "LTAI5tNOSUCHKEY000000000", AccessKeySecret: alive.Secret}, nil, true, true},
		{"wrong secret", emulator.Credential{AccessKeyID: alive.ID, AccessKeySecret: "wrongwrongwrongwrongwrongwrong"}, nil, false, true},
		{"disabled key", emulator.Credential{AccessKeyID: u.Keys[0].ID, AccessKeySecret: u.Keys[0].Secret}, nil, false, true},
		{"5xx", emulator.Credential{AccessKeyID: alive.ID, AccessKeySecret: alive.Secret}, &emulator.Fault{Action: "GetCallerIdentity", Kind: emulator.FaultServerErrorBefore}, false, true},
		{"throttled", emulator.Credential{AccessKeyID: alive.ID, AccessKeySecret: alive.Secret}, &emulator.Fault{Action: "GetCallerIdentity", Kind: emulator.FaultThrottle}, false, true},
		{"garbage", emulator.Credential{AccessKeyID: alive.ID, AccessKeySecret: alive.Secret}, &emulator.Fault{Action: "GetCallerIdentity", Kind: emulator.FaultGarbage, Status: 502}, false, true},
		{"alive", emulator.Credential{AccessKeyID: alive.ID, AccessKeySecret: alive.Secret}, nil, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.fault != nil {
				defer s.AddFault(*tt.fault)()
			}
			c, _ := clientFor(t, s, tt.cred, 1)
			_, err := c.GetCallerIdentity(ctx)
			if (err != nil) != tt.anyErr {
				t.Fatalf("GetCallerIdentity = %v", err)
			}
			if got := KeyUnknown(err); got != tt.gone {
				t.Errorf("KeyUnknown(%v) = %v, want %v", err, got, tt.gone)
			}
		})
	}
}

// A 200 whose body parses but is not the cloud's (no request id) proves nothing: not that the
// user holds no key (the leaked one would read as gone), nor that a pair signs (secret-match
// would take the key for the leaked secret's and delete it; verify would call a new key working),
// nor that a KMS sink stored the new secret (the leaked key is deleted next).
func TestEmu_answerWithoutRequestID(t *testing.T) {
	ctx := context.Background()
	org := emulator.GenerateOrg(emulator.GenSpec{Accounts: 1, UsersPerAccount: 3, Seed: 5})
	s, _, _ := startEmu(t, org)
	c, _ := clientFor(t, s, org.Admin(), 1)
	key := org.Accounts[0].Users[2].Keys[0]
	tests := []struct {
		action string
		call   func() error
	}{
		{"ListAccessKeys", func() error { _, err := c.ListAccessKeys(ctx, "user-0002"); return err }},
		{"GetCallerIdentity", func() error { _, err := c.GetCallerIdentity(ctx); return err }},
		{"GetCallerIdentity", func() error {
			_, err := c.PairCheck(accesskey.NewSecret(key.Secret)).CheckPair(ctx, mustID(t, key.ID))
			return err
		}},
		{"DeleteAccessKey", func() error { return c.DeleteAccessKey(ctx, "user-0002", mustID(t, key.ID)) }},
		{"PutSecretValue", func() error {
			_, err := c.PutSecretValue(ctx, "app/credentials", "v1", accesskey.NewSecret("new-secret"))
			return err
		}},
		{"CreateSecret", func() error {
			_, err := c.CreateSecret(ctx, "app/credentials", "v1", accesskey.NewSecret("new-secret"))
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			defer s.AddFault(emulator.Fault{Action: tt.action, Kind: emulator.FaultEmptyAnswer, Count: 1})()
			if err := tt.call(); !errors.Is(err, ErrTransient) {
				t.Errorf("%s answered {}: %v, want a transient error", tt.action, err)
			}
		})
	}
}
