package main

import (
	"io"

	"github.com/respond-dev/respond/ram"
)

// newProgress is the owner search's progress on w as --progress says (ram.ProgressPrinter): auto
// is live on a terminal, else a line every 10 s; plain is the lines; none shows nothing.
func (f *Factory) newProgress(w io.Writer) *ram.ProgressPrinter {
	live := f.Global.Progress == "auto" && f.Streams.ErrTTY
	return ram.NewProgressPrinter(w, live, f.Global.Progress == "none", f.Now)
}
