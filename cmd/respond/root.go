package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes (design §10).
type exitCode int

const (
	exitOK       exitCode = 0 // done, already remediated, or plan printed
	exitFailed   exitCode = 1 // failed
	exitUsage    exitCode = 2 // bad usage or input
	exitNotFound exitCode = 3 // owner not found
	exitPartial  exitCode = 4 // partially done, re-run to resume
	exitRefused  exitCode = 5 // refused by policy (canary, own key)
)

// FlagError is bad usage: Main prints it with a hint and exits 2.
type FlagError struct{ Err error }

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

func flagErrorf(format string, a ...any) error { return &FlagError{Err: fmt.Errorf(format, a...)} }

// Main runs respond with args and streams and returns the process exit code. It is the one place
// that maps errors to exit codes.
func Main(args []string, s Streams) int {
	if v, ok := s.Env("DEBUG"); ok && strings.Contains(strings.ToLower(v), "sdk") {
		fmt.Fprintln(s.ErrOut, "respond: refusing to start: DEBUG contains \"sdk\", which makes the Alibaba SDK print response bodies, new secrets included; unset DEBUG and run again")
		return int(exitUsage)
	}
	ctx := context.Background()
	root := newRootCmd(s)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return int(exitOK)
	}
	code := codeFor(err)
	fmt.Fprintln(s.ErrOut, "respond: "+err.Error())
	return int(code)
}

func codeFor(err error) exitCode {
	var fe *FlagError
	switch {
	case errors.As(err, &fe):
		return exitUsage
	}
	return exitFailed
}

func newRootCmd(s Streams) *cobra.Command {
	root := &cobra.Command{
		Use:           "respond",
		Short:         "Respond to a leaked Alibaba Cloud AccessKey: find its owner, replace it, delete it",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.ErrOut)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &FlagError{Err: err} })
	return root
}
