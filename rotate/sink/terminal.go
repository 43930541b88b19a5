package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Terminal writes the pair to a writer (the user's terminal). The CLI constructs it only when the
// user passed --reveal; it is the one place a secret is shown on screen.
type Terminal struct {
	name string
	w    io.Writer
}

// NewTerminal returns a terminal sink writing to w. Call it only for an explicit --reveal.
func NewTerminal(name string, w io.Writer) (*Terminal, error) {
	if w == nil {
		return nil, errors.New("terminal sink: no writer")
	}
	if name == "" {
		name = "terminal"
	}
	return &Terminal{name: name, w: w}, nil
}

// Name implements Sink.
func (t *Terminal) Name() string { return t.name }

// Kind implements Sink.
func (t *Terminal) Kind() string { return "terminal" }

// Describe implements Sink.
func (t *Terminal) Describe() string { return "show the new pair on the terminal (--reveal)" }

// Store implements Sink. Showing the pair twice is harmless.
func (t *Terminal) Store(ctx context.Context, c Credential) (Receipt, error) {
	if err := ctx.Err(); err != nil {
		return Receipt{}, err
	}
	if c.KeyID.IsZero() || c.Secret.IsZero() {
		return Receipt{}, fmt.Errorf("terminal sink: show key %s: no key id or secret", c.KeyID)
	}
	if _, err := fmt.Fprintf(t.w, "AccessKeyId:     %s\nAccessKeySecret: %s\n", c.KeyID, c.Secret.Reveal()); err != nil {
		return Receipt{}, fmt.Errorf("terminal sink: show key %s: %w", c.KeyID, err)
	}
	return Receipt{Sink: t.name, Kind: t.Kind(), Where: "terminal"}, nil
}

// Compile-time proof that every sink satisfies the contract.
var (
	_ Sink = (*File)(nil)
	_ Sink = (*KMS)(nil)
	_ Sink = (*Exec)(nil)
	_ Sink = (*Terminal)(nil)
)
