// Package journal keeps the crash-safe record of a rotation: one JSON-lines file per leaked key,
// an intent written (and fsynced) before every mutation and a result after it, so that running
// respond again can finish or undo what an interrupted run left. It also holds the per-key lock
// (flock, across processes) and the append-only audit log.
//
// A Record holds only strings, times and numbers that describe what was done: it has no field
// that can carry a secret.
package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/respond-dev/respond/ram/accesskey"
)

// Record kinds.
const (
	KindBegin  = "begin"  // a run started working on the key
	KindIntent = "intent" // about to call a mutation
	KindResult = "result" // the mutation's outcome
	KindEnd    = "end"    // the run ended, with the rotation's outcome
)

// Outcome is respond's one outcome vocabulary: of a mutation or a step (done, skipped, failed,
// unknown) and of a rotation (remediated, already-remediated, partial, failed, refused,
// not-found, in-progress). The journal's records carry them, and so do the engine's results.
type Outcome string

// Outcomes of a mutation or a step.
const (
	OutcomeDone    Outcome = "done"
	OutcomeFailed  Outcome = "failed" // also a rotation that failed (exit 1)
	OutcomeSkipped Outcome = "skipped"
	OutcomeUnknown Outcome = "unknown" // the call may or may not have taken effect
)

// Outcomes of a rotation (an end record, rotate.Result; README "Result").
const (
	OutcomeRemediated        Outcome = "remediated"
	OutcomeAlreadyRemediated Outcome = "already-remediated"
	OutcomePartial           Outcome = "partial"     // exit 4: run again to resume
	OutcomeRefused           Outcome = "refused"     // exit 5
	OutcomeNotFound          Outcome = "not-found"   // exit 3
	OutcomeInProgress        Outcome = "in-progress" // another run holds the key's lock
	// OutcomeIDOnly: the finding named the key id without its secret and came from a source not
	// trusted for id-only findings, so nothing was done (exit 5, refused by policy).
	OutcomeIDOnly Outcome = "id-only"
)

// OutcomeCanary is the outcome of a canary key's alert: never rotated, reported as an intrusion
// signal (exit 5, like a refusal; the notification's outcome).
const OutcomeCanary Outcome = "canary"

// OutcomeSecretOnly is the outcome of a secret found without its AccessKey id whose key could not
// be found (secret-match not allowed, or no candidate authenticated): nothing was changed; the id
// must be found where the secret is used (exit 3, like an owner not found).
const OutcomeSecretOnly Outcome = "secret-only"

// Record is one line of a journal. It never holds a secret: every field is an identifier, a
// name, a time, or a description the engine wrote.
type Record struct {
	Seq       int       `json:"seq"`
	Time      time.Time `json:"time"`
	RunID     string    `json:"run_id"`
	Kind      string    `json:"kind"`
	Step      string    `json:"step,omitempty"`
	Action    string    `json:"action,omitempty"` // e.g. ram:CreateAccessKey
	KeyID     string    `json:"key_id"`           // the leaked key
	AccountID string    `json:"account_id,omitempty"`
	UserName  string    `json:"user_name,omitempty"`
	NewKeyID  string    `json:"new_key_id,omitempty"`
	// Before lists the user's key ids just before a CreateAccessKey, so that a key which appeared
	// after an interrupted or ambiguous create can be recognised as ours (an orphan) and never
	// confused with the user's other key.
	Before []string `json:"before,omitempty"`
	// Lost, on a CreateAccessKey result, counts attempts whose answer never came (a timeout, a
	// dropped connection, an interruption) and whose key has not been found yet: the cloud may
	// still carry them out later.
	Lost int `json:"lost,omitempty"`
	// Late, on a DeleteAccessKey of a key respond did not get the secret of, says the key is the
	// late result of such a lost create (found after the create had already been given up on).
	Late      bool     `json:"late,omitempty"`
	Sinks     []string `json:"sinks,omitempty"`
	Sink      string   `json:"sink,omitempty"`
	Where     string   `json:"where,omitempty"` // where a sink wrote (never what)
	Outcome   Outcome  `json:"outcome,omitempty"`
	RequestID string   `json:"request_id,omitempty"`
	Detail    string   `json:"detail,omitempty"`
	Error     string   `json:"error,omitempty"`
	// Command, on a begin record, is the command that resumes the rotation as the run was
	// started (its state directory, configuration, endpoint), for `respond status` to print.
	Command string `json:"command,omitempty"`
	// Target, Policy and Expires describe an incident write (quarantine.go): what it acts on
	// ("user/<name>", "role/<name>", a graph node), the policy respond attached, and when that
	// policy stops applying by itself.
	Target  string    `json:"target,omitempty"`
	Policy  string    `json:"policy,omitempty"`
	Expires time.Time `json:"expires,omitzero"`
}

// Journal is one key's journal file, open for appending.
type Journal struct {
	mu   sync.Mutex
	f    *os.File
	path string
	seq  int
	key  string
}

// FileName is the journal file name for a key inside a state directory.
func FileName(keyID accesskey.ID) string { return keyID.String() + ".jsonl" }

// Open opens (creating when needed, mode 0600 in a 0700 directory) the journal of keyID in dir.
// The directory must pass CheckStateDir and the journal be a regular file of the current user
// (never a symlink, a FIFO or a second name of another file): otherwise the error is an
// *UnsafeStateError.
func Open(dir string, keyID accesskey.ID) (*Journal, error) {
	if keyID.IsZero() {
		return nil, errors.New("open journal: empty key id")
	}
	if err := ensureDir(dir); err != nil {
		return nil, fmt.Errorf("open journal of %s: %w", keyID, err)
	}
	p := filepath.Join(dir, FileName(keyID))
	f, err := openState(p, os.O_RDWR|os.O_CREATE|os.O_APPEND)
	if err != nil {
		return nil, fmt.Errorf("open journal of %s: %w", keyID, err)
	}
	j := &Journal{f: f, path: p, key: keyID.String()}
	recs, err := j.read()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	for _, r := range recs {
		if r.Seq > j.seq {
			j.seq = r.Seq
		}
	}
	if err := j.repairTail(); err != nil {
		_ = f.Close()
		return nil, err
	}
	return j, nil
}

// repairTail cuts a torn last line (a crash mid-write) off the file, so the next record starts
// on a line of its own and the journal stays parseable. The torn record's mutation, if any, is
// reconciled with the cloud on resume like any interrupted step.
func (j *Journal) repairTail() error {
	b, err := io.ReadAll(io.NewSectionReader(j.f, 0, math.MaxInt64))
	if err != nil {
		return fmt.Errorf("read journal %s: %w", j.path, err)
	}
	if len(b) == 0 {
		return nil
	}
	t := bytes.TrimRight(b, " \t\r\n")
	start := bytes.LastIndexByte(t, '\n') + 1
	last := t[start:]
	if len(last) > 0 && json.Valid(last) {
		if b[len(b)-1] == '\n' {
			return nil
		}
		// a complete record without its newline: keep it, end the line
		if _, err := j.f.Write([]byte("\n")); err != nil {
			return fmt.Errorf("repair journal %s: %w", j.path, err)
		}
		return j.f.Sync()
	}
	keep := start
	if err := j.f.Truncate(int64(keep)); err != nil {
		return fmt.Errorf("repair journal %s: %w", j.path, err)
	}
	return j.f.Sync()
}

// Path is the journal's file path.
func (j *Journal) Path() string { return j.path }

// Append writes r as one line and fsyncs it. Seq and KeyID are filled in; Time too when zero.
func (j *Journal) Append(r Record) (Record, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.seq++
	r.Seq = j.seq
	r.KeyID = j.key
	if r.Time.IsZero() {
		r.Time = time.Now().UTC()
	}
	b, err := json.Marshal(r)
	if err != nil {
		return r, fmt.Errorf("journal %s: encode record: %w", j.key, err)
	}
	b = append(b, '\n')
	if _, err := j.f.Write(b); err != nil {
		return r, fmt.Errorf("journal %s: write: %w", j.key, err)
	}
	if err := j.f.Sync(); err != nil {
		return r, fmt.Errorf("journal %s: fsync: %w", j.key, err)
	}
	return r, nil
}

// Records reads every record written so far.
func (j *Journal) Records() ([]Record, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.read()
}

// read parses the open file from its start (through the handle, never the path again).
func (j *Journal) read() ([]Record, error) {
	recs, err := ParseRecords(io.NewSectionReader(j.f, 0, math.MaxInt64))
	if err != nil {
		return recs, fmt.Errorf("read journal %s: %w", j.path, err)
	}
	return recs, nil
}

// State reads the journal and summarises it.
func (j *Journal) State() (State, error) {
	recs, err := j.Records()
	if err != nil {
		return State{}, err
	}
	return Summarize(recs), nil
}

// Close closes the file.
func (j *Journal) Close() error { return j.f.Close() }

// readRecords parses a journal file. A line that does not parse is skipped only when it is the
// last one (a torn write); anywhere else it is an error. The file is opened like every state
// file: not through a symlink, not blocking on a FIFO, only a regular file of the current user.
func readRecords(path string) ([]Record, error) {
	f, err := openState(path, os.O_RDONLY)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("read journal %s: %w", path, err)
	}
	defer f.Close()
	return ParseRecords(f)
}

// ParseRecords parses JSON lines of records, tolerating a torn (unparsable) last line.
func ParseRecords(r io.Reader) ([]Record, error) {
	br := bufio.NewReader(r)
	var out []Record
	var pendingErr error
	line := 0
	for {
		b, err := br.ReadBytes('\n')
		if len(b) > 0 {
			line++
			t := bytes.TrimSpace(b)
			if len(t) > 0 {
				if pendingErr != nil {
					return out, pendingErr
				}
				var rec Record
				if uerr := json.Unmarshal(t, &rec); uerr != nil {
					pendingErr = fmt.Errorf("journal line %d: %w", line, uerr)
				} else {
					out = append(out, rec)
				}
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil // a bad last line is a torn write
			}
			return out, fmt.Errorf("read journal: %w", err)
		}
	}
}

// NewKey is what the journal knows of one replacement key respond created.
type NewKey struct {
	ID      string   `json:"id"`
	Created bool     `json:"created"`
	Stored  []string `json:"stored,omitempty"` // sinks that confirmed the store
	Deleted bool     `json:"deleted"`
	// StoreFailed is set when a sink failed for this key.
	StoreFailed bool `json:"store_failed,omitempty"`
}

// StoredIn reports whether every one of sinks confirmed storing the key.
func (k NewKey) StoredIn(sinks []string) bool {
	for _, s := range sinks {
		found := false
		for _, t := range k.Stored {
			if s == t {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// State summarises a key's journal.
type State struct {
	KeyID     string    `json:"key_id"`
	AccountID string    `json:"account_id,omitempty"`
	UserName  string    `json:"user_name,omitempty"`
	Started   time.Time `json:"started,omitzero"`
	Updated   time.Time `json:"updated,omitzero"`
	Runs      int       `json:"runs"`
	// NewKeys are the replacement keys respond created, in creation order.
	NewKeys []NewKey `json:"new_keys,omitempty"`
	// Appeared are keys that appeared after a create whose answer was lost (ambiguous create).
	// PendingCreate is set when the last create intent has no result; PendingBefore is its key list.
	PendingCreate bool     `json:"pending_create,omitempty"`
	PendingBefore []string `json:"pending_before,omitempty"`
	// Before is the union of the user's key ids seen before any create: the user's own keys.
	Before []string `json:"before,omitempty"`
	// FirstCreate is the time of the first CreateAccessKey intent of the rotation.
	FirstCreate time.Time `json:"first_create,omitzero"`
	// LostCreates counts create attempts whose answer never came (Record.Lost, and a create
	// intent left without any result by a crash); LastLost is when the last of them was given
	// up on. LateFound counts the keys found and deleted as their late result (Record.Late).
	LostCreates int       `json:"lost_creates,omitempty"`
	LastLost    time.Time `json:"last_lost,omitzero"`
	LateFound   int       `json:"late_found,omitempty"`
	Sinks       []string  `json:"sinks,omitempty"`
	// FileTargets are the paths file sinks were about to write (the Where of sink:Store
	// intents): a resume removes the temporary files a killed write left next to them.
	FileTargets   []string `json:"file_targets,omitempty"`
	LeakedDeleted bool     `json:"leaked_deleted"`
	// LeakedPurged: the leaked key was purged from its user's recycle bin
	// (ram:DeleteAccessKeyInRecycleBin), where DeleteAccessKey had left it restorable.
	LeakedPurged bool `json:"leaked_purged"`
	// LeakedPurgeTried: respond sent the leaked key's purge (its answer may have been lost).
	LeakedPurgeTried bool `json:"leaked_purge_tried,omitempty"`
	// Done is true when the last run ended with the rotation finished.
	Done bool `json:"done"`
	// LastOutcome is the outcome of the last end record.
	LastOutcome Outcome `json:"last_outcome,omitempty"`
	// InFlight is the last intent that has no result (the step a crash interrupted).
	InFlight *Record `json:"in_flight,omitempty"`
	// Suspect lists the signs that respond did not write the journal as it stands (planted or
	// edited; suspect.go): a resume does not trust such a journal.
	Suspect []string `json:"suspect,omitempty"`
	// Resume is the last run's command that resumes the rotation (Record.Command), if it wrote one.
	Resume string `json:"-"`
	// RunID is the first run's id: the rotation's deny policies are named after it, so that a
	// resumed run finds its own (quarantine.go).
	RunID string `json:"run_id,omitempty"`
	// Quarantines are the deny policies respond attached for this rotation (quarantine.go).
	Quarantines []Quarantine `json:"quarantines,omitempty"`
}

// LostPending is how many lost creates have not been matched by a late key yet (0 or more).
func (s State) LostPending() int { return max(0, s.LostCreates-s.LateFound) }

// Unfinished reports whether a rotation was started and has not ended done.
func (s State) Unfinished() bool { return s.Runs > 0 && !s.Done }

// Key returns the journal's entry for a new key id.
func (s *State) Key(id string) (*NewKey, bool) {
	for i := range s.NewKeys {
		if s.NewKeys[i].ID == id {
			return &s.NewKeys[i], true
		}
	}
	return nil, false
}

// Summarize folds records into a State.
func Summarize(recs []Record) State {
	var s State
	var open map[string]Record = map[string]Record{}
	var openCreate *Record // a create intent with no result yet
	lostAt := func(t time.Time) {
		s.LostCreates++
		if t.After(s.LastLost) {
			s.LastLost = t
		}
	}
	for _, r := range recs {
		if s.KeyID == "" {
			s.KeyID = r.KeyID
		}
		if s.Started.IsZero() {
			s.Started = r.Time
		}
		if s.RunID == "" {
			s.RunID = r.RunID
		}
		s.quarantine(r)
		s.Updated = r.Time
		if r.AccountID != "" {
			s.AccountID = r.AccountID
		}
		if r.UserName != "" {
			s.UserName = r.UserName
		}
		if len(r.Sinks) > 0 {
			s.Sinks = append([]string(nil), r.Sinks...)
		}
		key := r.Step + "|" + r.Action + "|" + r.NewKeyID + "|" + r.Sink + "|" + r.Target
		switch r.Kind {
		case KindBegin:
			s.Runs++
			s.Done = false
			if r.Command != "" {
				s.Resume = r.Command
			}
		case KindIntent:
			open[key] = r
			if r.Action == "ram:DeleteAccessKeyInRecycleBin" && r.NewKeyID == "" {
				s.LeakedPurgeTried = true
			}
			if r.Action == "sink:Store" && r.Where != "" && !slices.Contains(s.FileTargets, r.Where) {
				s.FileTargets = append(s.FileTargets, r.Where)
			}
			if r.Action == "ram:CreateAccessKey" {
				if openCreate != nil {
					lostAt(openCreate.Time) // a crash left it without a result
				}
				rr := r
				openCreate = &rr
				if s.FirstCreate.IsZero() {
					s.FirstCreate = r.Time
				}
				s.PendingCreate = true
				s.PendingBefore = append([]string(nil), r.Before...)
				for _, b := range r.Before {
					if !slices.Contains(s.Before, b) && !s.isNew(b) {
						s.Before = append(s.Before, b)
					}
				}
			}
		case KindResult:
			// a create result carries the new key id its intent could not know
			if r.Action == "ram:CreateAccessKey" {
				openCreate = nil
				for range r.Lost {
					lostAt(r.Time)
				}
				delete(open, r.Step+"|"+r.Action+"||"+r.Sink+"|")
				if r.Outcome == OutcomeDone || r.Outcome == OutcomeFailed || r.Outcome == OutcomeSkipped {
					s.PendingCreate = false
				}
			}
			delete(open, key)
			s.apply(r)
		case KindEnd:
			s.LastOutcome = r.Outcome
			s.Done = r.Outcome == OutcomeRemediated || r.Outcome == OutcomeAlreadyRemediated
		}
	}
	if openCreate != nil {
		lostAt(openCreate.Time)
	}
	var last *Record
	for _, r := range open {
		if last == nil || r.Seq > last.Seq {
			rr := r
			last = &rr
		}
	}
	s.InFlight = last
	s.Suspect = suspect(recs)
	return s
}

func (s *State) isNew(id string) bool {
	_, ok := s.Key(id)
	return ok
}

func (s *State) apply(r Record) {
	switch r.Action {
	case "ram:CreateAccessKey":
		if r.Outcome == OutcomeDone && r.NewKeyID != "" {
			if _, ok := s.Key(r.NewKeyID); !ok {
				s.NewKeys = append(s.NewKeys, NewKey{ID: r.NewKeyID, Created: true})
			}
		}
	case "sink:Store":
		if k, ok := s.Key(r.NewKeyID); ok {
			switch r.Outcome {
			case OutcomeDone:
				if !slices.Contains(k.Stored, r.Sink) {
					k.Stored = append(k.Stored, r.Sink)
				}
			case OutcomeFailed:
				k.StoreFailed = true
			}
		}
	case "ram:DeleteAccessKeyInRecycleBin":
		if r.Outcome == OutcomeDone && r.NewKeyID == "" {
			s.LeakedPurged = true
		}
		if r.Outcome == OutcomeFailed && r.NewKeyID == "" {
			s.LeakedPurgeTried = false // refused by the cloud: certainly not purged
		}
	case "ram:DeleteAccessKey":
		if r.Outcome != OutcomeDone {
			return
		}
		if r.NewKeyID == "" { // the leaked key
			s.LeakedDeleted = true
			return
		}
		if r.Late {
			s.LateFound++
		}
		if k, ok := s.Key(r.NewKeyID); ok {
			k.Deleted = true
		}
	}
}

// List reads every journal in dir (for `respond status`), sorted by key id. A directory that
// does not exist holds no journals; one that fails CheckStateDir, or a journal that is not a
// regular file of the current user, is an *UnsafeStateError.
func List(dir string) ([]State, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("list journals in %s: %w", dir, err)
	}
	if err := CheckStateDir(dir); err != nil {
		return nil, fmt.Errorf("list journals: %w", err)
	}
	var out []State
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".jsonl") || strings.HasPrefix(name, ".") {
			continue
		}
		if _, err := accesskey.ParseID(strings.TrimSuffix(name, ".jsonl")); err != nil {
			continue // not a journal (the audit log, a stray file)
		}
		recs, err := readRecords(filepath.Join(dir, name))
		if err != nil {
			return out, err
		}
		if len(recs) == 0 {
			continue
		}
		st := Summarize(recs)
		if id := strings.TrimSuffix(name, ".jsonl"); st.KeyID != id {
			// the file is the key's journal, whatever its records say
			st.Suspect = append(st.Suspect, "its records name key "+accesskey.Printable(st.KeyID)+", not "+id)
			st.KeyID = id
		}
		out = append(out, st)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].KeyID < out[k].KeyID })
	return out, nil
}
