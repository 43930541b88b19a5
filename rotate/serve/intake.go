package serve

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/respond-dev/respond/rotate/journal"
)

// The intake log is how a burst of posts is acknowledged quickly (group commit): the entries of
// every request that arrives while a write is in progress are appended together to one file of
// <state>/serve/intake/ and synced once, and each request is answered only after the write that
// holds its entries was synced. An entry lives in the log until it has a file of its own (a retry
// writes pending/<id>.json) or ends (done/<id>.json); a log file whose entries all have is removed
// (with the secrets it held). A restart reads the log files after pending/: what has no file of
// its own is resumed from its line. A line cut by a crash was never acknowledged and is skipped.

// intakeSegmentMax is the size past which the next write starts a new log file.
const intakeSegmentMax = 4 << 20

type intake struct {
	dir string

	mu      sync.Mutex
	queued  []*commit // requests waiting for the next write
	leading bool      // a request is writing for the others (it owns f, cur and size)
	f       *os.File  // the log file appended to (nil: the next write starts one)
	cur     int       // its number
	size    int64
	next    int            // the number of the next log file
	live    map[int]int    // log file → entries in it with no file of their own
	segOf   map[string]int // entry id → its log file, while it has no file of its own
	lines   map[string][]byte
	writes  int    // writes made (tests)
	hook    func() // called by the leader before it writes (tests)
}

// commit is one request's entries, written by whichever request leads the write.
type commit struct {
	b     []byte
	ids   []string
	lines [][]byte
	err   error
	done  chan struct{}
	lead  chan struct{} // handed the lead when the leader's own write is done and others wait
}

func openIntake(dir string) *intake {
	return &intake{dir: dir, next: 1, live: map[int]int{}, segOf: map[string]int{}, lines: map[string][]byte{}}
}

func (l *intake) path(seg int) string {
	return filepath.Join(l.dir, fmt.Sprintf("%08d.jsonl", seg))
}

// append writes es to the log and returns once they are synced: the first request to arrive
// writes the entries of every request queued by then, in one write and one sync, and hands the
// lead to the first of those that arrived meanwhile.
func (l *intake) append(es []*Entry) error {
	c := &commit{done: make(chan struct{}), lead: make(chan struct{}, 1)}
	for _, e := range es {
		b, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("spool %s: %w", e.ID, err)
		}
		c.b = append(append(c.b, b...), '\n')
		c.ids, c.lines = append(c.ids, e.ID), append(c.lines, b)
	}
	l.mu.Lock()
	l.queued = append(l.queued, c)
	if l.leading {
		l.mu.Unlock()
		select {
		case <-c.done:
			return c.err
		case <-c.lead:
		}
		l.mu.Lock()
	}
	l.leading = true
	group := l.queued
	l.queued = nil
	l.mu.Unlock()

	if l.hook != nil {
		l.hook()
	}
	var data []byte
	for _, g := range group {
		data = append(data, g.b...)
	}
	seg, err := l.write(data)

	l.mu.Lock()
	for _, g := range group {
		g.err = err
		if err == nil {
			l.live[seg] += len(g.ids)
			for i, id := range g.ids {
				l.segOf[id] = seg
				l.lines[id] = g.lines[i]
			}
		}
		close(g.done)
	}
	if len(l.queued) > 0 {
		l.queued[0].lead <- struct{}{}
	} else {
		l.leading = false
	}
	if err != nil {
		l.dropLocked(seg)
	}
	l.mu.Unlock()
	return c.err
}

// write appends data to the current log file (starting one when there is none or it is full) and
// syncs it. A failed write or sync abandons the file: the next write starts another, and the
// entries of this one, answered with the error, are not resumed once it is removed.
func (l *intake) write(data []byte) (int, error) {
	l.mu.Lock()
	f, seg := l.f, l.cur
	if f != nil && l.size > 0 && l.size+int64(len(data)) > intakeSegmentMax {
		_ = f.Close() // full: removed once its entries have files of their own
		l.f, f = nil, nil
		l.dropLocked(seg)
	}
	if f == nil {
		seg = l.next
		l.next++
	}
	l.mu.Unlock()
	if f == nil {
		var err error
		f, err = os.OpenFile(l.path(seg), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND|syscall.O_NOFOLLOW, 0o600)
		if err != nil {
			return seg, fmt.Errorf("spool: start an intake log: %w", err)
		}
		journal.SyncDir(l.dir)
		l.mu.Lock()
		l.f, l.cur, l.size = f, seg, 0
		l.mu.Unlock()
	}
	n, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.size += int64(n)
	l.writes++
	if err != nil {
		_ = f.Close()
		l.f = nil
		return seg, fmt.Errorf("spool: write the intake log: %w", err)
	}
	return seg, nil
}

// release says that an entry has a file of its own now (pending or done): its line is no longer
// needed, and a log file left with none is removed.
func (l *intake) release(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	seg, ok := l.segOf[id]
	if !ok {
		return
	}
	delete(l.segOf, id)
	delete(l.lines, id)
	l.live[seg]--
	l.dropLocked(seg)
}

// dropLocked removes a log file none of whose entries is still needed, unless a write to it may be
// in progress (the leader drops it after). The current file is closed first.
func (l *intake) dropLocked(seg int) {
	if l.live[seg] > 0 {
		return
	}
	if seg == l.cur && l.f != nil {
		if l.leading {
			return
		}
		_ = l.f.Close()
		l.f = nil
	}
	delete(l.live, seg)
	_ = os.Remove(l.path(seg))
}

// line is an entry as logged (GET /v1/findings/{id} of one with no file of its own).
func (l *intake) line(id string) ([]byte, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.lines[id]
	return b, ok
}

// recover reads the log files a previous process left, oldest first, and returns the entries
// has(id) does not know of (no file of their own); they stay needed until released. Files with
// none are removed. It runs before any append.
func (l *intake) recover(has func(id string) bool) ([]*Entry, error) {
	list, err := os.ReadDir(l.dir)
	if err != nil {
		return nil, fmt.Errorf("read the intake log: %w", err)
	}
	var out []*Entry
	var errs []error
	for _, de := range list {
		seg, err := strconv.Atoi(strings.TrimSuffix(de.Name(), ".jsonl"))
		if err != nil || !strings.HasSuffix(de.Name(), ".jsonl") || seg <= 0 {
			continue
		}
		l.next = max(l.next, seg+1)
		es, err := l.readSegment(seg, has)
		if err != nil {
			errs = append(errs, err)
			continue // left as it is: a person can look at it
		}
		out = append(out, es...)
		l.dropLocked(seg)
	}
	return out, errors.Join(errs...)
}

func (l *intake) readSegment(seg int, has func(string) bool) ([]*Entry, error) {
	f, err := openRegular(l.path(seg), "intake log")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, maxEntry+1)
	var out []*Entry
	for sc.Scan() {
		var e Entry
		if json.Unmarshal(sc.Bytes(), &e) != nil || !idRe.MatchString(e.ID) {
			continue // cut by a crash before it was synced, so never acknowledged
		}
		if _, dup := l.segOf[e.ID]; dup || has(e.ID) {
			continue
		}
		l.segOf[e.ID], l.lines[e.ID] = seg, slices.Clone(sc.Bytes())
		l.live[seg]++
		out = append(out, &e)
	}
	if err := sc.Err(); err != nil && !errors.Is(err, fs.ErrClosed) {
		return out, fmt.Errorf("intake log %s: %w", filepath.Base(l.path(seg)), err)
	}
	return out, nil
}
