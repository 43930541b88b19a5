package detect

import (
	"context"
	"errors"
	"go/parser"
	"go/token"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps detect pure: the standard library and ram/accesskey only, no logging.
func TestImports(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), e.Name(), nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			std := !strings.Contains(strings.Split(p, "/")[0], ".")
			if p == "github.com/respond-dev/respond/ram/accesskey" || (std && p != "log" && p != "log/slog" && p != "testing" && p != "net/http") {
				continue
			}
			t.Errorf("%s imports %s: detect may import only the standard library (no logging, no network) and ram/accesskey", e.Name(), p)
		}
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, f := range Formats() {
		if _, err := Read(ctx, strings.NewReader(id24), Options{Format: f}); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: %v, want context.Canceled", f, err)
		}
	}
	r := &repeatReader{block: []byte(id24 + "\n"), remaining: 8 << 20}
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	if _, err := Read(ctx2, r, Options{Format: FormatText}); !errors.Is(err, context.Canceled) {
		t.Errorf("text: %v", err)
	}
}
