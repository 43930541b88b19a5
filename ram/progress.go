package ram

import (
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"github.com/respond-dev/respond/ram/accesskey"
)

// Remaining estimates how long the scan still takes, at its rate so far; false while the total
// is not known (the user listing goes on) or there is no rate yet.
func (p Progress) Remaining() (time.Duration, bool) {
	if !p.Listed || p.Rate <= 0 {
		return 0, false
	}
	left := float64(max(p.UsersTotal-p.UsersScanned, 0)) / p.Rate
	return time.Duration(math.Ceil(left)) * time.Second, true
}

// String is the progress for a person: "account 1234: 300/1,000 users, 85 users/s, about 9s
// left, 2 throttled" ("300/1,000+ users" while the listing goes on, the total growing).
func (p Progress) String() string {
	total := fmt.Sprint(p.UsersTotal)
	if !p.Listed {
		total += "+"
	}
	s := fmt.Sprintf("account %s: %d/%s users, %.0f users/s", accesskey.Printable(p.Account), p.UsersScanned, total, p.Rate)
	if d, ok := p.Remaining(); ok {
		s += fmt.Sprintf(", about %s left", d)
	}
	if p.Throttles > 0 {
		s += fmt.Sprintf(", %d throttled", p.Throttles)
	}
	return s
}

// PlainEvery is how often a ProgressPrinter that is not live writes a progress line.
const PlainEvery = 10 * time.Second

// ProgressPrinter shows an owner search's progress and the slow calls' notices (Config.Notice)
// on a writer: live, one line redrawn in place (a terminal); else a line every PlainEvery; or,
// off, no progress at all (notices still). It is safe for concurrent use.
type ProgressPrinter struct {
	mu        sync.Mutex
	w         io.Writer
	live, off bool
	now       func() time.Time
	last      time.Time
	shown     bool
	said      map[string]bool // the notices printed
}

// NewProgressPrinter writes to w; now is the clock of the plain lines (nil: time.Now).
func NewProgressPrinter(w io.Writer, live, off bool, now func() time.Time) *ProgressPrinter {
	if now == nil {
		now = time.Now
	}
	return &ProgressPrinter{w: w, live: live, off: off, now: now, last: now()}
}

// Reporter is the function to hand the owner search (Locator.Progress), or nil when off.
func (p *ProgressPrinter) Reporter() func(Progress) {
	if p.off {
		return nil
	}
	return p.print
}

func (p *ProgressPrinter) print(s Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live {
		fmt.Fprintf(p.w, "\r\033[Kscanning %s", s)
		p.shown = true
	} else if t := p.now(); t.Sub(p.last) >= PlainEvery {
		fmt.Fprintf(p.w, "respond: scanning %s\n", s)
		p.last = t
	}
	if fl, ok := p.w.(interface{ Flush() error }); ok {
		_ = fl.Flush() // a redacting writer holds back a line without its newline
	}
}

// Clear clears the live progress line, if one is shown.
func (p *ProgressPrinter) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clearLine()
}

func (p *ProgressPrinter) clearLine() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}

// Notice prints a line about a slow or retried call (Config.Notice), each distinct line once
// (concurrent calls wait alike), below the live progress line if one is shown.
func (p *ProgressPrinter) Notice(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.said[s] {
		return
	}
	if p.said == nil {
		p.said = map[string]bool{}
	}
	p.said[s] = true
	p.clearLine()
	fmt.Fprintln(p.w, "respond: "+s)
}
