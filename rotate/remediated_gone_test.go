package rotate

import (
	"context"
	"testing"

	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/ram/emulator"
	"github.com/respond-dev/respond/ram/emulator/emulatortest"
)

// A key reported again to serve (RemediatedBefore) ends already-remediated without the engine (and its alert closed) only
// when the cloud says it is gone for good: off its user's keys AND in no recycle bin. A key
// deleted again since it was back sits restorable in the bin; a bin or a list that cannot be
// read proves nothing.
func TestKeyGoneNeedsAnEmptyBin(t *testing.T) {
	const leaked, user = "LTAI5tFAKECIDEPLOY000001", "ci-deploy"
	tests := []struct {
		name    string
		deleted bool // deleted into the bin
		purged  bool
		fault   string // action answering 500
		gone    bool
		err     bool
	}{
		{"listed", false, false, "", false, false},
		{"in the bin", true, false, "", false, false},
		{"purged", true, true, "", true, false},
		{"purged, bin unreadable", true, true, "GetAccessKeyInfoInRecycleBin", false, true},
		{"purged, list unreadable", true, true, "ListAccessKeys", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			org := emulator.DemoOrg()
			emu := emulatortest.Start(t, org)
			admin := org.Admin()
			ctx := context.Background()
			c, err := ram.New(ctx, ram.Config{Endpoint: emu.Endpoint(), Scheme: "HTTP", Retry: ram.RetryPolicy{MaxAttempts: 1},
				Credentials: ram.StaticCredentials(admin.AccessKeyID, accesskey.NewSecret(admin.AccessKeySecret))})
			if err != nil {
				t.Fatal(err)
			}
			id := accesskey.MustParseID(leaked)
			if tt.deleted {
				if err := c.DeleteAccessKey(ctx, user, id); err != nil {
					t.Fatal(err)
				}
			}
			if tt.purged {
				u, err := c.GetUser(ctx, user)
				if err != nil {
					t.Fatal(err)
				}
				if err := c.DeleteAccessKeyInRecycleBin(ctx, u.UserID, id); err != nil {
					t.Fatal(err)
				}
			}
			if tt.fault != "" {
				emu.AddFault(emulator.Fault{Action: tt.fault, Kind: emulator.FaultServerErrorBefore})
			}
			gone, err := keyGone(ctx, c, user, id)
			if gone != tt.gone || (err != nil) != tt.err {
				t.Errorf("keyGone = %v, %v; want %v, error %v", gone, err, tt.gone, tt.err)
			}
		})
	}
}
