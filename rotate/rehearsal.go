package rotate

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/rotate/sink"
)

// RehearsalSink is the Outputs.Fallback of a rehearsal (respond --sandbox): it rehearses the
// whole response, so a replacement with no sink configured goes to a 0600 dotenv file per user
// under dir/sandbox.
func RehearsalSink(dir string) func(playbooks.TemplateValues) (sink.Sink, error) {
	return func(vals playbooks.TemplateValues) (sink.Sink, error) {
		d := filepath.Join(dir, "sandbox")
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("create the sandbox sink's directory: %w", err)
		}
		return sink.NewFile("sandbox-file", filepath.Join(d, vals.UserName+".env"), sink.FormatDotenv)
	}
}
