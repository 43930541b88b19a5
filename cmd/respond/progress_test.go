package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/respond-dev/respond/ram"
)

// The owner search's progress: redrawn in place on a terminal, a line every 10 s otherwise (or
// with --progress plain), nothing with none.
func TestProgress(t *testing.T) {
	step := ram.Progress{Account: "1001", UsersScanned: 300, UsersTotal: 1000, Listed: true, Rate: 100}
	for _, tc := range []struct {
		name, mode string
		tty        bool
		at         []time.Duration // when each report comes, after the start
		want       []string        // the lines written (live: the redraws)
	}{
		{"terminal: every report redrawn", "auto", true, []time.Duration{0, time.Second}, []string{
			"\r\033[Kscanning account 1001: 300/1000 users, 100 users/s, about 7s left",
			"\r\033[Kscanning account 1001: 300/1000 users, 100 users/s, about 7s left"}},
		{"no terminal: a line every 10s", "auto", false, []time.Duration{time.Second, 9 * time.Second, 10 * time.Second, 15 * time.Second, 21 * time.Second}, []string{
			"respond: scanning account 1001: 300/1000 users, 100 users/s, about 7s left\n",
			"respond: scanning account 1001: 300/1000 users, 100 users/s, about 7s left\n"}},
		{"plain on a terminal", "plain", true, []time.Duration{time.Second, 11 * time.Second}, []string{
			"respond: scanning account 1001: 300/1000 users, 100 users/s, about 7s left\n"}},
		{"none", "none", true, []time.Duration{0, 20 * time.Second}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			now := start
			var buf bytes.Buffer
			f := &Factory{Now: func() time.Time { return now }, Global: GlobalOptions{Progress: tc.mode}, Streams: Streams{ErrTTY: tc.tty}}
			p := f.newProgress(&buf)
			for _, d := range tc.at {
				now = start.Add(d)
				if r := p.Reporter(); r != nil {
					r(step)
				}
			}
			if got, want := buf.String(), strings.Join(tc.want, ""); got != want {
				t.Errorf("wrote %q, want %q", got, want)
			}
		})
	}
	if err := (&GlobalOptions{Output: "text", Progress: "sometimes"}).check(); err == nil {
		t.Error("--progress sometimes accepted")
	}
}
