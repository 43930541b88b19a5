package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/respond-dev/respond/ram"
)

// progress shows the owner search's progress on stderr: on a terminal one line redrawn in place,
// else (or with --progress plain) a line every 10 s; --progress none shows nothing.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	live  bool
	off   bool
	now   func() time.Time
	last  time.Time
	shown bool
	said  map[string]bool // the notices printed
}

// plainEvery is how often a plain progress line is written.
const plainEvery = 10 * time.Second

func (f *Factory) newProgress(w io.Writer) (*progress, error) {
	p := &progress{w: w, now: f.Now, last: f.Now()}
	switch f.Global.Progress {
	case "auto":
		p.live = f.Streams.ErrTTY
	case "plain":
	case "none":
		p.off = true
	default:
		return nil, flagErrorf("--progress must be auto, plain or none, not %q", f.Global.Progress)
	}
	return p, nil
}

// reporter is print, or nil when nothing is shown.
func (p *progress) reporter() func(ram.Progress) {
	if p.off {
		return nil
	}
	return p.print
}

func (p *progress) print(s ram.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.live {
		fmt.Fprintf(p.w, "\r\033[Kscanning %s", s)
		p.shown = true
	} else if t := p.now(); t.Sub(p.last) >= plainEvery {
		fmt.Fprintf(p.w, "respond: scanning %s\n", s)
		p.last = t
	}
	if fl, ok := p.w.(interface{ Flush() error }); ok {
		_ = fl.Flush() // a redacting writer holds back a line without its newline
	}
}

// clear clears the live progress line, if one was shown.
func (p *progress) clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}

// notice prints a line about a slow or retried call (each distinct line once: concurrent calls
// wait alike), below the live progress line if one is shown.
func (p *progress) notice(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.said[s] {
		return
	}
	if p.said == nil {
		p.said = map[string]bool{}
	}
	p.said[s] = true
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
	fmt.Fprintln(p.w, "respond: "+s)
}
