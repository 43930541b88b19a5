package ram

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
)

const (
	kmsPaymentsSecret = "acs/ram/user/payments-app"
	kmsPaymentsKey    = "LTAI5tFAKEPAYMENTSKMS001"
	kmsPaymentsPlain  = "FakePaymentsKmsSecret000000001"
)

// The KMS calls through the real SDK against the emulator: the RAM secret is found with its
// user, its value is read into an accesskey.Secret, RotateSecret rotates through RAM and is
// idempotent by VersionId, and the documented refusals have their classes.
func TestEmu_KMSRAMSecrets(t *testing.T) {
	ctx := context.Background()
	s, c, _ := startEmu(t, emulator.DemoOrg(), emulator.WithKMSRotationDelay(0))
	secrets, err := c.ListRAMSecrets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var found *RAMSecret
	for i := range secrets {
		if secrets[i].Name == "billing-app/credentials" {
			t.Errorf("a generic secret was listed as RAM credentials: %+v", secrets[i])
		}
		if secrets[i].Name == kmsPaymentsSecret {
			found = &secrets[i]
		}
	}
	if found == nil || found.UserName != "payments-app" || found.SubType != SecretSubTypeRAMUserAccessKey {
		t.Fatalf("ListRAMSecrets = %+v", secrets)
	}
	if n := calls(s, "ListSecrets"); n != 1 {
		t.Errorf("%d ListSecrets calls, want 1", n)
	}
	v, err := c.GetRAMSecretValue(ctx, kmsPaymentsSecret, "")
	if err != nil {
		t.Fatal(err)
	}
	if v.AccessKeyID.String() != kmsPaymentsKey || v.Secret.Reveal() != kmsPaymentsPlain {
		t.Fatalf("ACSCurrent = %s", v.AccessKeyID)
	}
	if got := fmt.Sprintf("%v %+v", v, v); strings.Contains(got, kmsPaymentsPlain) {
		t.Fatalf("a secret value prints its secret: %s", got)
	}
	if _, err := c.GetRAMSecretValue(ctx, "acs/ram/user/nobody", StageCurrent); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown secret: %v, want ErrNotFound", err)
	}

	r, err := c.RotateSecret(ctx, kmsPaymentsSecret, "respond-run-1")
	if err != nil || r.VersionID != "respond-run-1" {
		t.Fatalf("RotateSecret = %+v, %v", r, err)
	}
	for range 3 { // the rotation's two phases run at the next requests
		if v, err = c.GetRAMSecretValue(ctx, kmsPaymentsSecret, StageCurrent); err != nil {
			t.Fatal(err)
		}
	}
	if v.AccessKeyID.String() == kmsPaymentsKey {
		t.Fatalf("ACSCurrent still holds the old key after the rotation")
	}
	prev, err := c.GetRAMSecretValue(ctx, kmsPaymentsSecret, StagePrevious)
	if err != nil || prev.AccessKeyID.String() != kmsPaymentsKey {
		t.Fatalf("ACSPrevious = %s, %v", prev.AccessKeyID, err)
	}
	keys, err := c.ListAccessKeys(ctx, "payments-app")
	if err != nil || len(keys) != 1 || keys[0].ID != v.AccessKeyID {
		t.Fatalf("payments-app's keys after the rotation: %+v, %v", keys, err)
	}
	creates := calls(s, "CreateAccessKey")
	if _, err := c.RotateSecret(ctx, kmsPaymentsSecret, "respond-run-1"); err != nil {
		t.Fatalf("the same VersionId again: %v", err)
	}
	c.GetRAMSecretValue(ctx, kmsPaymentsSecret, StageCurrent)
	if calls(s, "CreateAccessKey") != creates {
		t.Error("the same VersionId rotated again")
	}
}

func TestEmu_KMSRotationRefusals(t *testing.T) {
	ctx := context.Background()
	t.Run("in progress", func(t *testing.T) {
		_, c, _ := startEmu(t, emulator.DemoOrg(), emulator.WithKMSRotationStalled())
		if _, err := c.RotateSecret(ctx, kmsPaymentsSecret, "respond-a"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.RotateSecret(ctx, kmsPaymentsSecret, "respond-a"); err != nil {
			t.Fatalf("the rotation in progress's own VersionId: %v", err)
		}
		_, err := c.RotateSecret(ctx, kmsPaymentsSecret, "respond-b")
		if !errors.Is(err, ErrRotationInProgress) || errors.Is(err, ErrThrottled) {
			t.Fatalf("another VersionId while one runs: %v, want ErrRotationInProgress", err)
		}
	})
	t.Run("hourly limit", func(t *testing.T) {
		s, c, _ := startEmu(t, emulator.DemoOrg(), emulator.WithKMSRotationDelay(0))
		var err error
		for i := 0; i < 60 && err == nil; i++ {
			_, err = c.RotateSecret(ctx, kmsPaymentsSecret, fmt.Sprintf("respond-%d", i))
			for range 2 {
				c.ListAccessKeys(ctx, "payments-app") // let the rotation's phases run
			}
		}
		if !errors.Is(err, ErrRotationLimit) {
			t.Fatalf("after %d rotations: %v, want ErrRotationLimit", calls(s, "RotateSecret"), err)
		}
		if n := calls(s, "RotateSecret"); n != 51 {
			t.Errorf("refused at RotateSecret %d, want the 51st (no retry of the limit)", n)
		}
	})
	t.Run("never a secret in an error", func(t *testing.T) {
		_, c, _ := startEmu(t, emulator.DemoOrg())
		_, err := c.GetRAMSecretValue(ctx, "billing-app/credentials", StageCurrent) // a generic secret: not a pair
		if err == nil || strings.Contains(err.Error(), "FakeBilling") {
			t.Fatalf("reading a generic secret as a pair: %v", err)
		}
	})
}

func TestParseRAMSecretData(t *testing.T) {
	tests := []struct {
		raw    string
		wantID string
		ok     bool
	}{
		{`{"AccessKeyId":"LTAI5tFAKEPAYMENTSKMS001","AccessKeySecret":"s3cr3t","GenerateTimestamp":"2026-01-02T03:04:05Z"}`, kmsPaymentsKey, true},
		{`{"AccessKeys":[{"AccessKeyId":"LTAI5tFAKEPAYMENTSKMS001","AccessKeySecret":"s3cr3t"}]}`, "", false},
		{`not json s3cr3t`, "", false},
		{`{"AccessKeyId":"s3cr3t"}`, "", false},
	}
	for _, tt := range tests {
		id, sec, _, err := parseRAMSecretData(tt.raw)
		if (err == nil) != tt.ok || id.String() != tt.wantID {
			t.Errorf("parse %d bytes: %s, %v", len(tt.raw), id, err)
		}
		if err != nil && strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("the error quotes the data: %v", err)
		}
		if tt.ok && sec.Reveal() != "s3cr3t" {
			t.Error("secret lost")
		}
	}
}

func FuzzParseRAMSecretData(f *testing.F) {
	f.Add(`{"AccessKeyId":"LTAI5tFAKEPAYMENTSKMS001","AccessKeySecret":"s3cr3t"}`)
	f.Add(`{"UserName":"x"}`)
	f.Fuzz(func(t *testing.T, raw string) {
		id, sec, _, err := parseRAMSecretData(raw)
		if err != nil {
			return
		}
		if _, perr := accesskey.ParseID(id.String()); perr != nil {
			t.Fatalf("accepted an invalid id %q", id)
		}
		_ = sec
	})
}

func FuzzParseExtendedConfig(f *testing.F) {
	f.Add(`{"SecretSubType":"RamUserAccessKey","UserName":"payments-app"}`)
	f.Add(``)
	f.Fuzz(func(t *testing.T, raw string) {
		// the error is one fixed text: it never quotes the input
		if _, err := parseExtendedConfig(raw); err != nil && err.Error() != "ExtendedConfig is not a JSON object" {
			t.Fatalf("error %q", err)
		}
	})
}
