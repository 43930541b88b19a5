package playbooks

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Error is one problem in a playbook or configuration file, with where it is and what was
// expected. Line and Col are 1-based; 0 means unknown. Parse and ParseConfig join several with
// errors.Join; use Errors to get them all back.
type Error struct {
	File string
	Line int
	Col  int
	Msg  string
	// Err, when set, is the sentinel the problem matches (e.g. ErrAssessWindow).
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
		if e.Col > 0 {
			b.WriteString(":" + strconv.Itoa(e.Col))
		}
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// Errors returns every *Error in err (which may be a join of several), in order.
func Errors(err error) []*Error {
	var out []*Error
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if e, ok := err.(*Error); ok {
			out = append(out, e)
			return
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		walk(errors.Unwrap(err))
	}
	walk(err)
	return out
}

// errList collects errors for one file.
type errList struct {
	file string
	errs []*Error
}

func (l *errList) add(line, col int, format string, a ...any) {
	if line < 0 {
		line = 0
	}
	if col < 0 {
		col = 0
	}
	l.errs = append(l.errs, &Error{File: l.file, Line: line, Col: col, Msg: fmt.Sprintf(format, a...)})
}

func (l *errList) addAt(p pos, format string, a ...any) { l.add(p.line, p.col, format, a...) }

// addErrAt is addAt for a problem that matches the sentinel err.
func (l *errList) addErrAt(p pos, err error, format string, a ...any) {
	l.addAt(p, format, a...)
	l.errs[len(l.errs)-1].Err = err
}

func (l *errList) ok() bool { return len(l.errs) == 0 }

// addUnlessDecoded adds v's problems (found validating what l's decoding made) except those of a
// place where l already has one, or that encloses such a place (accounts[0] when
// accounts[0].name could not be decoded): the decoder said it, more precisely.
func (l *errList) addUnlessDecoded(v *errList) {
	decoded := l.errs
	for _, e := range v.errs {
		place, _, _ := strings.Cut(e.Msg, ": ")
		covered := false
		for _, d := range decoded {
			dp, _, _ := strings.Cut(d.Msg, ": ")
			covered = covered || dp == place || strings.HasPrefix(dp, place+".") || strings.HasPrefix(dp, place+"[")
		}
		if !covered {
			l.errs = append(l.errs, e)
		}
	}
}

// err returns the collected errors sorted by position, de-duplicated, joined; nil if none.
func (l *errList) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	sort.SliceStable(l.errs, func(i, j int) bool {
		a, b := l.errs[i], l.errs[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	var errs []error
	var prev *Error
	for _, e := range l.errs {
		if prev != nil && *prev == *e {
			continue
		}
		errs = append(errs, e)
		prev = e
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}

// pos is where a value was in its file.
type pos struct{ line, col int }
