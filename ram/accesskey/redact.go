package accesskey

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"sync"
)

// Redactor replaces the plain values of a run's secrets with [REDACTED] in text that is about to
// be shown: a sink command's output, an error from outside, a log line. It is the second net
// behind the Secret type. Secrets learnt during the run (the new key's secret) are added with
// Add. A run has one: the engine (rotate.Deps.Redactor) teaches it every secret it learns, and
// everything the run prints or sends passes through it. A Redactor is safe for concurrent use;
// the zero value redacts nothing until Add.
type Redactor struct {
	mu      sync.RWMutex
	secrets []string // plain values, longest first, no empty ones
}

// NewRedactor returns a redactor that knows the given secrets (empty ones are ignored).
func NewRedactor(secrets ...Secret) *Redactor {
	r := &Redactor{}
	r.Add(secrets...)
	return r
}

// Add teaches the redactor more secrets.
func (r *Redactor) Add(secrets ...Secret) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range secrets {
		if s.IsZero() {
			continue
		}
		if v := s.Reveal(); !slices.Contains(r.secrets, v) {
			r.secrets = append(r.secrets, v)
		}
	}
	// Longest first, so that a secret that contains another is replaced whole.
	slices.SortStableFunc(r.secrets, func(a, b string) int { return len(b) - len(a) })
}

// Redact returns s with every known secret replaced by [REDACTED].
func (r *Redactor) Redact(s string) string {
	if r == nil {
		return s
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, v := range r.secrets {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, Redacted)
		}
	}
	return s
}

// RedactBytes is Redact for bytes.
func (r *Redactor) RedactBytes(b []byte) []byte {
	if r == nil {
		return b
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, v := range r.secrets {
		if bytes.Contains(b, []byte(v)) {
			b = bytes.ReplaceAll(b, []byte(v), []byte(Redacted))
		}
	}
	return b
}

// holdBack is how many trailing bytes of a write may be the start of a secret, and whether a
// line break ends any possible secret (true when no known secret contains one).
func (r *Redactor) holdBack() (maxLen int, breaksEnd bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	breaksEnd = true
	for _, v := range r.secrets {
		if len(v) > maxLen {
			maxLen = len(v)
		}
		if strings.ContainsAny(v, "\r\n") {
			breaksEnd = false
		}
	}
	return maxLen, breaksEnd
}

// Writer returns a writer that redacts everything written through it before passing it to w. A
// secret split across two writes is still caught: the writer holds back the unfinished end of a
// line that could be the start of a secret until the next write or Flush. Call Flush (or Close)
// when done.
func (r *Redactor) Writer(w io.Writer) *RedactingWriter {
	return &RedactingWriter{r: r, w: w}
}

// RedactingWriter is the writer returned by Redactor.Writer.
type RedactingWriter struct {
	mu      sync.Mutex
	r       *Redactor
	w       io.Writer
	pending []byte
}

// Write redacts p and writes what is safe to write now. It reports len(p) on success.
func (rw *RedactingWriter) Write(p []byte) (int, error) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	buf := append(rw.pending, p...)
	buf = rw.r.RedactBytes(buf)
	maxLen, breaksEnd := rw.r.holdBack()
	keep := 0
	if maxLen > 1 {
		keep = maxLen - 1
		if breaksEnd {
			if i := bytes.LastIndexAny(buf, "\r\n"); i >= 0 && len(buf)-i-1 < keep {
				keep = len(buf) - i - 1
			}
		}
		if keep > len(buf) {
			keep = len(buf)
		}
	}
	out := buf[:len(buf)-keep]
	rw.pending = append([]byte(nil), buf[len(buf)-keep:]...)
	if len(out) > 0 {
		if _, err := rw.w.Write(out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// Flush writes what was held back.
func (rw *RedactingWriter) Flush() error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if len(rw.pending) == 0 {
		return nil
	}
	out := rw.r.RedactBytes(rw.pending)
	rw.pending = nil
	_, err := rw.w.Write(out)
	return err
}

// Close flushes. It does not close the underlying writer.
func (rw *RedactingWriter) Close() error { return rw.Flush() }
