package ram

import (
	"errors"
	"strings"
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

// A notice is printed once however many calls wait alike, and below a live progress line, which
// it clears first. (The modes are tested through respond's --progress, cmd/respond TestProgress.)
func TestProgressPrinterNotice(t *testing.T) {
	var buf strings.Builder
	p := NewProgressPrinter(&buf, true, false, nil)
	p.Reporter()(Progress{Account: "1001", UsersTotal: 1, Listed: true})
	p.Notice("GetUser at ram.example (cn-hangzhou)… no answer yet")
	p.Notice("GetUser at ram.example (cn-hangzhou)… no answer yet")
	p.Clear()
	want := "\r\033[Kscanning account 1001: 0/1 users, 0 users/s" + "\r\033[K" + "respond: GetUser at ram.example (cn-hangzhou)… no answer yet\n"
	if buf.String() != want {
		t.Errorf("wrote %q, want %q", buf.String(), want)
	}
}

// A retry's notice is one line, the cloud's words escaped: a message with a line break or a
// terminal escape cannot forge or clear the lines around it.
func TestNoticeRetryEscapes(t *testing.T) {
	var got []string
	c := &Client{cfg: Config{Notice: func(s string) { got = append(got, s) }}}
	c.noticeRetry(&Error{Action: "GetUser", Class: ErrTransient, Err: errors.New("bad\ngateway \x1b[2J")}, 1500*time.Millisecond)
	c.noticeRetry(&Error{Action: "ListUsers", Class: ErrTransient}, time.Second)
	c.noticeRetry(&Error{Action: "ListUsers", Class: ErrThrottled}, time.Second) // throttling: the search shows it
	want := []string{`GetUser failed (bad gateway \x1b[2J); retrying in 1.5s`, "ListUsers failed (transient failure); retrying in 1s"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("notices %q, want %q", got, want)
	}
}
