package main

import "bytes"

// newTestStreams returns buffers for in, out and errOut and an empty environment.
func newTestStreams(in string) (Streams, *bytes.Buffer, *bytes.Buffer) {
	out, errOut := &bytes.Buffer{}, &bytes.Buffer{}
	return Streams{
		In: bytes.NewBufferString(in), Out: out, ErrOut: errOut,
		Env: func(string) (string, bool) { return "", false },
	}, out, errOut
}
