package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/respond-dev/respond/ram/accesskey"
)

// Defaults of the exec sink.
const (
	DefaultExecTimeout = 60 * time.Second
	// DefaultOutputLimit bounds how much of the command's stdout and stderr (each) is kept.
	DefaultOutputLimit = 16 << 10
)

// Exec runs a user's command with the new pair as JSON on its standard input, and only there:
// never in its arguments, never in its environment. The command gets a clean environment of
// PATH, HOME, RESPOND_KEY_ID and RESPOND_USER_NAME. Its output is captured, bounded and redacted.
// It runs in a process group of its own, ended when the command exits or times out.
type Exec struct {
	name    string
	argv    []string
	timeout time.Duration
	limit   int
	env     func(string) string
}

// ExecOption configures an Exec sink.
type ExecOption func(*Exec)

// WithTimeout bounds how long the command may run.
func WithTimeout(d time.Duration) ExecOption { return func(e *Exec) { e.timeout = d } }

// WithOutputLimit bounds how many bytes of stdout and of stderr are kept.
func WithOutputLimit(n int) ExecOption { return func(e *Exec) { e.limit = n } }

// WithGetenv replaces os.Getenv for PATH and HOME (tests).
func WithGetenv(getenv func(string) string) ExecOption { return func(e *Exec) { e.env = getenv } }

// NewExec returns an exec sink running argv (argv[0] is looked up in PATH; no shell).
func NewExec(name string, argv []string, opts ...ExecOption) (*Exec, error) {
	if len(argv) == 0 || argv[0] == "" {
		return nil, fmt.Errorf("exec sink %q: no command", name)
	}
	e := &Exec{name: name, argv: append([]string(nil), argv...), timeout: DefaultExecTimeout, limit: DefaultOutputLimit, env: os.Getenv}
	for _, o := range opts {
		o(e)
	}
	if e.timeout <= 0 {
		e.timeout = DefaultExecTimeout
	}
	if e.limit <= 0 {
		e.limit = DefaultOutputLimit
	}
	return e, nil
}

// Name implements Sink.
func (e *Exec) Name() string { return e.name }

// Kind implements Sink.
func (e *Exec) Kind() string { return "exec" }

// Describe implements Sink.
func (e *Exec) Describe() string {
	return fmt.Sprintf("run %s with the new pair as JSON on stdin (timeout %s)", strings.Join(e.argv, " "), e.timeout)
}

// execInput is what the command reads on stdin.
type execInput struct {
	AccessKeyID     string `json:"AccessKeyId"`
	AccessKeySecret string `json:"AccessKeySecret"`
	UserName        string `json:"UserName,omitempty"`
	AccountID       string `json:"AccountId,omitempty"`
	AccountName     string `json:"AccountName,omitempty"`
	Created         string `json:"Created,omitempty"`
}

// ExecError is a failed command: its exit code and its redacted, bounded output.
type ExecError struct {
	Sink     string
	Command  string
	ExitCode int // -1 when the command did not run or was killed
	Stdout   string
	Stderr   string
	Err      error
}

func (e *ExecError) Error() string {
	s := fmt.Sprintf("exec sink %q: %s", e.Sink, e.Command)
	if e.ExitCode >= 0 {
		s += fmt.Sprintf(": exit status %d", e.ExitCode)
	} else if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *ExecError) Unwrap() error { return e.Err }

// Store implements Sink. The command must be idempotent: a resumed rotation may run it twice.
func (e *Exec) Store(ctx context.Context, c Credential) (Receipt, error) {
	if c.KeyID.IsZero() || c.Secret.IsZero() {
		return Receipt{}, fmt.Errorf("exec sink %q: store key %s: no key id or secret", e.name, c.KeyID)
	}
	in := execInput{
		AccessKeyID:     c.KeyID.String(),
		AccessKeySecret: c.Secret.Reveal(),
		UserName:        c.UserName,
		AccountID:       c.AccountID,
		AccountName:     c.AccountName,
	}
	if !c.Created.IsZero() {
		in.Created = c.Created.UTC().Format(time.RFC3339)
	}
	stdin, err := json.Marshal(in)
	if err != nil {
		return Receipt{}, fmt.Errorf("exec sink %q: encode key %s: %w", e.name, c.KeyID, err)
	}
	stdin = append(stdin, '\n')

	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	// Keep a secret's length more than the limit, so that a secret cut by the limit is still
	// recognised and redacted whole before the output is cut to the limit.
	stdout := &limitedBuffer{limit: e.limit + len(in.AccessKeySecret)}
	stderr := &limitedBuffer{limit: e.limit + len(in.AccessKeySecret)}
	runErr := e.run(ctx, bytes.NewReader(stdin), c, stdout, stderr)
	red := accesskey.NewRedactor(c.Secret)
	outS, errS := clipTo(red.Redact(stdout.String()), e.limit), clipTo(red.Redact(stderr.String()), e.limit)
	command := e.argv[0]
	if runErr != nil {
		xe := &ExecError{Sink: e.name, Command: command, ExitCode: -1, Stdout: outS, Stderr: errS}
		var ee *exec.ExitError
		switch {
		case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
			xe.Err = fmt.Errorf("timed out after %s: %w", e.timeout, context.DeadlineExceeded)
		case ctx.Err() != nil:
			xe.Err = ctx.Err()
		case errors.As(runErr, &ee) && ee.ExitCode() >= 0:
			xe.ExitCode = ee.ExitCode()
			xe.Err = errors.New("command failed")
		default:
			xe.Err = errors.New(red.Redact(runErr.Error()))
		}
		return Receipt{}, xe
	}
	// The command's output is not put in the receipt: a receipt says where, never what, and a
	// command could echo the secret in a form the redactor does not know (base64, say).
	details := map[string]string{"command": command}
	return Receipt{Sink: e.name, Kind: e.Kind(), Where: "stdin of " + command, Details: details}, nil
}

// environ is the command's whole environment: nothing of ours but what it needs to run and the
// non-secret names of the key.
func (e *Exec) environ(c Credential) []string {
	env := []string{}
	for _, k := range []string{"PATH", "HOME"} {
		if v := e.env(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	env = append(env, "RESPOND_KEY_ID="+c.KeyID.String())
	if c.UserName != "" {
		env = append(env, "RESPOND_USER_NAME="+c.UserName)
	}
	return env
}

func clipTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…(truncated)"
}

// limitedBuffer keeps the first limit bytes written and discards the rest.
type limitedBuffer struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	limit     int
	truncated bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	room := b.limit - b.buf.Len()
	if room < len(p) {
		b.truncated = true
		if room > 0 {
			b.buf.Write(p[:room])
		}
		return len(p), nil
	}
	b.buf.Write(p)
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
