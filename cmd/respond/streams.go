package main

import (
	"io"
	"os"

	"golang.org/x/term"
)

// Streams are the process's standard streams, injected so the whole binary runs in tests.
type Streams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
	// InTTY, OutTTY and ErrTTY say whether each stream is a terminal.
	InTTY, OutTTY, ErrTTY bool
	// Env looks up an environment variable (os.LookupEnv in production).
	Env func(string) (string, bool)
}

// StdStreams returns the process's real streams.
func StdStreams() Streams {
	return Streams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		InTTY: isTerminal(os.Stdin), OutTTY: isTerminal(os.Stdout), ErrTTY: isTerminal(os.Stderr),
		Env: os.LookupEnv,
	}
}

// isTerminal is a real isatty (a terminal's ioctl answers): /dev/null is a character device but
// no terminal, so cron and `docker run` without -i are refused like a pipe.
func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
