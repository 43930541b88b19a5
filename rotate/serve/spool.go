package serve

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/journal"
	"github.com/respond-dev/respond/rotate/source"
)

// The spool is the server's durable intake (design §12): every accepted finding is on disk before
// the HTTP answer — a line of the intake log (intake.go: the posts of a burst share one write and
// one sync), or a file in <state>/serve/pending (a GitHub delivery, whose id must be accepted
// once; an entry tried again) — and moves to <state>/serve/done, without its secret, when it
// ends. A restart reads pending/ and the intake log and carries on. Files are created exclusively
// (0600, never through a symbolic link), written, synced and linked into place, so a file is
// either whole or absent, and an id (a GitHub delivery) is accepted once.

// SpoolDir is the state directory's subdirectory of the server.
const SpoolDir = "serve"

// Stages of an entry.
const (
	StageRemediate = ""      // the key is still to be remediated
	StageClose     = "close" // remediated: only the alert's closing is left
)

// Entry is one accepted finding.
type Entry struct {
	ID       string    `json:"id"`
	Received time.Time `json:"received"`
	// Source is where it came from: SourceFindings, SourceGitHub, SourceGitLab,
	// source.SecurityCenterName.
	Source string `json:"source"`
	// Finding is the finding (nil for a GitHub alert not yet read).
	Finding *Finding `json:"finding,omitempty"`
	// GitHub is the alert a webhook named.
	GitHub *source.AlertRef `json:"github,omitempty"`
	// Records are the Security Center records of the key (closed once it is remediated).
	Records []source.Record `json:"records,omitempty"`

	Stage    string    `json:"stage,omitempty"`
	Attempts int       `json:"attempts"`
	NextTry  time.Time `json:"next_try,omitzero"`
	// KeyID is the finding's key once known; RunID, Outcome and Error are the last run's.
	KeyID    string    `json:"key_id,omitempty"`
	RunID    string    `json:"run_id,omitempty"`
	Outcome  string    `json:"outcome,omitempty"`
	Error    string    `json:"error,omitempty"`
	Closed   string    `json:"closed,omitempty"` // what closing the source's alert did
	Finished time.Time `json:"finished,omitzero"`
}

// Finding is a detect.Finding as the spool keeps it: with the secret, which detect.Finding's own
// JSON redacts. It is the one place respond serve writes a secret, in a 0600 file of the state
// directory, removed when the finding ends (the done record has no secret).
type Finding struct {
	KeyID     string            `json:"key_id,omitempty"`
	Kind      detect.Kind       `json:"kind,omitempty"`
	Secret    string            `json:"secret,omitempty"`
	Locations []detect.Location `json:"locations,omitempty"`
	Notes     []string          `json:"notes,omitempty"`
	Evidence  detect.Evidence   `json:"evidence,omitempty"`
	Source    string            `json:"source,omitempty"`
}

// spoolFinding is f as the spool keeps it.
func spoolFinding(f detect.Finding) *Finding {
	s := &Finding{KeyID: f.KeyID.String(), Kind: f.Kind, Locations: f.Locations, Notes: f.Notes, Evidence: f.Evidence, Source: f.Source}
	if !f.Secret.IsZero() {
		s.Secret = f.Secret.Reveal() // written to the spool only (see Finding)
	}
	return s
}

// Detect is the finding back as detect's.
func (f *Finding) Detect() (detect.Finding, error) {
	out := detect.Finding{Kind: f.Kind, Locations: f.Locations, Notes: f.Notes, Evidence: f.Evidence, Source: f.Source}
	if f.KeyID != "" {
		id, err := accesskey.ParseID(f.KeyID)
		if err != nil {
			return out, fmt.Errorf("spooled finding: %w", err)
		}
		out.KeyID = id
	}
	if f.Secret != "" {
		out.Secret = accesskey.NewSecret(f.Secret)
	}
	return out, nil
}

// ErrDuplicate says an entry with the id was already accepted (a redelivery).
var ErrDuplicate = errors.New("already accepted")

// ErrNotFound says no entry has the id.
var ErrNotFound = errors.New("no such finding")

// Spool is the directory of accepted findings.
type Spool struct {
	pending, done string
	log           *intake
}

// OpenSpool creates (0700) and checks <stateDir>/serve/{pending,done}: the state directory must be
// the user's and closed to others (journal.CheckStateDir), like every directory respond trusts.
func OpenSpool(stateDir string) (*Spool, error) {
	root := filepath.Join(stateDir, SpoolDir)
	s := &Spool{pending: filepath.Join(root, "pending"), done: filepath.Join(root, "done"), log: openIntake(filepath.Join(root, "intake"))}
	for _, d := range []string{stateDir, root, s.pending, s.done, s.log.dir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("open the spool: %w", err)
		}
		if err := checkDir(d); err != nil {
			return nil, fmt.Errorf("open the spool: %w", err)
		}
	}
	return s, nil
}

// checkDir refuses a symbolic link, and a directory that is another user's or open to others.
func checkDir(d string) error {
	st, err := os.Lstat(d)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return &journal.UnsafeStateError{Path: d, Problem: "is not a directory (a symbolic link is refused)"}
	}
	return journal.CheckStateDir(d)
}

var idRe = regexp.MustCompile(`^[a-z]{1,4}-[A-Za-z0-9-]{1,96}$`)

// NewID is a fresh entry id: prefix, the time (so ids sort by arrival) and 64 random bits.
func NewID(prefix string, now time.Time) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + now.UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}

// DeliveryID is the entry id of a GitHub delivery: the same delivery always gets the same id,
// which the spool accepts once. A delivery id that is not a plain GUID is hashed.
func DeliveryID(delivery string) string {
	if len(delivery) > 0 && len(delivery) <= 64 && strings.Trim(delivery, "abcdefABCDEF0123456789-") == "" {
		return "gh-" + strings.ToLower(delivery)
	}
	h := sha256.Sum256([]byte(delivery))
	return "gh-x" + hex.EncodeToString(h[:16])
}

func (s *Spool) path(dir, id string) (string, error) {
	if !idRe.MatchString(id) {
		return "", ErrNotFound
	}
	return filepath.Join(dir, id+".json"), nil
}

// Add writes a new entry before the finding is acknowledged. It fails with ErrDuplicate when
// the id is pending or done already.
func (s *Spool) Add(e *Entry) error {
	p, err := s.path(s.pending, e.ID)
	if err != nil {
		return fmt.Errorf("spool %s: bad id", e.ID)
	}
	if d, _ := s.path(s.done, e.ID); exists(d) {
		return ErrDuplicate
	}
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("spool %s: %w", e.ID, err)
	}
	if err := journal.WriteFile(p, b, false, true); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return ErrDuplicate
		}
		return fmt.Errorf("spool %s: %w", e.ID, err)
	}
	return nil
}

// Append writes new entries (fresh ids, NewID) to the intake log and returns once they are
// synced, sharing the write and the sync with the requests that arrive meanwhile (group commit).
// On an error none of them is accepted.
func (s *Spool) Append(es []*Entry) error {
	for _, e := range es {
		if !idRe.MatchString(e.ID) {
			return fmt.Errorf("spool %s: bad id", e.ID)
		}
	}
	if len(es) == 0 {
		return nil
	}
	return s.log.append(es)
}

// Update replaces a pending entry (attempts, stage, the next try).
func (s *Spool) Update(e *Entry) error {
	p, err := s.path(s.pending, e.ID)
	if err != nil {
		return fmt.Errorf("spool %s: bad id", e.ID)
	}
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("spool %s: %w", e.ID, err)
	}
	if err := journal.WriteFile(p, b, true, true); err != nil {
		return fmt.Errorf("spool %s: %w", e.ID, err)
	}
	s.log.release(e.ID)
	return nil
}

// Finish records the entry as done, without its secret, and removes the pending file (with the
// secret). A done record outlives the pending one so that a redelivery is still recognised. The
// record is not synced: the work it records is (the engine's journal), and one lost to a crash
// only means the finding runs again and ends already-remediated; the fsyncs it saves are the
// accepts' (they share the disk).
func (s *Spool) Finish(e *Entry) error {
	p, err := s.path(s.pending, e.ID)
	if err != nil {
		return fmt.Errorf("spool %s: bad id", e.ID)
	}
	d, _ := s.path(s.done, e.ID)
	done := *e
	if done.Finding != nil {
		f := *done.Finding
		f.Secret = ""
		done.Finding = &f
	}
	b, err := json.Marshal(&done)
	if err != nil {
		return fmt.Errorf("spool %s: %w", e.ID, err)
	}
	if err := journal.WriteFile(d, b, true, false); err != nil {
		return fmt.Errorf("spool %s: %w", e.ID, err)
	}
	s.log.release(e.ID)
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("spool %s: %w", e.ID, err)
	}
	return nil
}

// Pending reads every pending entry (pending/, then the intake log's entries with no file of their
// own), oldest first. An entry that cannot be read is skipped and named in the error (the others
// still come back). It is called once, before anything is appended.
func (s *Spool) Pending() ([]*Entry, error) {
	list, err := os.ReadDir(s.pending)
	if err != nil {
		return nil, fmt.Errorf("read the spool: %w", err)
	}
	var out []*Entry
	var errs []error
	for _, de := range list {
		name := de.Name()
		if strings.HasPrefix(name, ".") {
			_ = os.Remove(filepath.Join(s.pending, name)) // a temporary file a crash left behind
			continue
		}
		if d, _ := s.path(s.done, strings.TrimSuffix(name, ".json")); exists(d) {
			_ = os.Remove(filepath.Join(s.pending, name)) // finished; the crash came before the removal
			continue
		}
		e, err := readEntry(filepath.Join(s.pending, name))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, e)
	}
	logged, err := s.log.recover(func(id string) bool {
		p, _ := s.path(s.pending, id)
		d, _ := s.path(s.done, id)
		return exists(p) || exists(d)
	})
	out = append(out, logged...)
	errs = append(errs, err)
	slices.SortStableFunc(out, func(a, b *Entry) int {
		if c := a.Received.Compare(b.Received); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, errors.Join(errs...)
}

// Get reads an entry, pending or done. A pending entry's secret is left out.
func (s *Spool) Get(id string) (*Entry, error) {
	// The log first: an entry leaves it only once its own file is written.
	if b, ok := s.log.line(id); ok {
		var e Entry
		if json.Unmarshal(b, &e) == nil {
			if e.Finding != nil {
				e.Finding.Secret = ""
			}
			return &e, nil
		}
	}
	for _, dir := range []string{s.done, s.pending} {
		p, err := s.path(dir, id)
		if err != nil {
			return nil, err
		}
		e, err := readEntry(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if e.Finding != nil {
			e.Finding.Secret = ""
		}
		return e, nil
	}
	return nil, ErrNotFound
}

// Prune removes the done records finished before t.
func (s *Spool) Prune(t time.Time) {
	list, err := os.ReadDir(s.done)
	if err != nil {
		return
	}
	for _, de := range list {
		if info, err := de.Info(); err == nil && info.ModTime().Before(t) {
			_ = os.Remove(filepath.Join(s.done, de.Name()))
		}
	}
}

// Writable checks that a file can be written to the spool and removed again (GET /readyz).
func (s *Spool) Writable() error {
	f, err := os.CreateTemp(s.pending, ".probe-*")
	if err != nil {
		return fmt.Errorf("the state directory is not writable: %w", err)
	}
	name := f.Name()
	_, err = f.Write([]byte("ok"))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if rerr := os.Remove(name); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("the state directory is not writable: %w", err)
	}
	return nil
}

// maxEntry bounds what readEntry reads.
const maxEntry = 16 << 20

// openRegular opens a file of the spool for reading: never through a symbolic link, never blocking
// on a FIFO, and only a regular file (its errors name it: what and the file's name).
func openRegular(p, what string) (*os.File, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, filepath.Base(p), err)
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		_ = f.Close()
		return nil, fmt.Errorf("%s %s: not a regular file", what, filepath.Base(p))
	}
	return f, nil
}

func readEntry(p string) (*Entry, error) {
	f, err := openRegular(p, "spool entry")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxEntry+1))
	if err != nil {
		return nil, fmt.Errorf("spool entry %s: %w", filepath.Base(p), err)
	}
	var e Entry
	dec := json.NewDecoder(bytes.NewReader(b))
	if len(b) > maxEntry || dec.Decode(&e) != nil || e.ID+".json" != filepath.Base(p) {
		// The decoder's message could quote the file (and its secret): name the file only.
		return nil, fmt.Errorf("spool entry %s: not an entry respond wrote", filepath.Base(p))
	}
	return &e, nil
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
