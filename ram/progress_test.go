package ram

import (
	"testing"
	"time"
)

func TestProgressString(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Progress
		want string
		left time.Duration
		ok   bool
	}{
		{"listing goes on: no estimate", Progress{Account: "1001", UsersScanned: 300, UsersTotal: 1000, Rate: 100},
			"account 1001: 300/1000+ users, 100 users/s", 0, false},
		{"listed: an estimate", Progress{Account: "1001", UsersScanned: 300, UsersTotal: 1000, Listed: true, Rate: 100, Throttles: 2},
			"account 1001: 300/1000 users, 100 users/s, about 7s left, 2 throttled", 7 * time.Second, true},
		{"listed, no rate yet", Progress{Account: "a", UsersTotal: 10, Listed: true}, "account a: 0/10 users, 0 users/s", 0, false},
		{"a hostile account label is escaped", Progress{Account: "a\x1b[2Jb", UsersTotal: 1, Listed: true, UsersScanned: 1, Rate: 1},
			`account a\x1b[2Jb: 1/1 users, 1 users/s, about 0s left`, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.p.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
			if left, ok := tc.p.Remaining(); left != tc.left || ok != tc.ok {
				t.Errorf("Remaining() = %v, %v; want %v, %v", left, ok, tc.left, tc.ok)
			}
		})
	}
}
