package main

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDependencyArrows enforces design §4: which of our packages each package may import.
func TestDependencyArrows(t *testing.T) {
	out, err := exec.Command("go", "list", "-json=ImportPath,Deps,Imports", "github.com/respond-dev/respond/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/respond-dev/respond"
	type pkg struct {
		ImportPath string
		Deps       []string
		Imports    []string
	}
	// For each package prefix (relative to the module): the module packages it may depend on,
	// directly or not. A rule applies to the longest matching prefix.
	allowed := map[string][]string{
		"ram/accesskey": {},
		"ram/emulator":  {"ram/emulator"},
		// Test helpers for the emulator: may build SDK clients and import testing; never shipped.
		"ram/emulator/emulatortest": {"ram/emulator"},
		"detect":                    {"ram/accesskey"},
		"playbooks":                 {"ram/accesskey"},
		"ram":                       {"ram/accesskey"},
		"rotate":                    {"ram", "ram/accesskey", "rotate", "detect", "playbooks"},
		"cmd":                       {""},
	}
	third := map[string][]string{ // third-party modules each may use
		"ram/accesskey": {},
		"detect":        {},
		"playbooks":     {"gopkg.in/yaml.v3"},
		"ram/emulator":  {"gopkg.in/yaml.v3"},
	}
	// The third-party modules each may import itself (whatever its dependencies bring): only ram
	// calls Alibaba Cloud over the SDK (its test helpers build SDK clients); cmd never does.
	direct := map[string][]string{
		"ram/accesskey":             {},
		"detect":                    {},
		"playbooks":                 {"gopkg.in/yaml.v3"},
		"ram/emulator":              {"gopkg.in/yaml.v3"},
		"ram/emulator/emulatortest": {"github.com/aliyun/alibaba-cloud-sdk-go"},
		"ram":                       {"github.com/aliyun/alibaba-cloud-sdk-go"},
		"rotate":                    {"github.com/hashicorp/go-retryablehttp"},
		"cmd":                       {"github.com/spf13/cobra", "github.com/spf13/pflag", "golang.org/x/term"},
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	seen := 0
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		seen++
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, mod), "/")
		rule, ruleName := []string(nil), ""
		for prefix, r := range allowed {
			if (rel == prefix || strings.HasPrefix(rel, prefix+"/")) && len(prefix) > len(ruleName) {
				rule, ruleName = r, prefix
			}
		}
		if ruleName == "" {
			t.Errorf("package %s has no rule in design §4: add one", rel)
			continue
		}
		for _, d := range p.Deps {
			if strings.HasPrefix(d, mod) {
				drel := strings.TrimPrefix(strings.TrimPrefix(d, mod), "/")
				if strings.HasPrefix(drel, "cmd") {
					t.Errorf("%s imports %s: nothing may import cmd", rel, drel)
				}
				ok := false
				for _, a := range rule {
					if a == "" || drel == a || strings.HasPrefix(drel, a+"/") {
						ok = true
					}
				}
				if !ok {
					t.Errorf("%s depends on %s, which design §4 forbids", rel, drel)
				}
				continue
			}
			if mods, ok := third[ruleName]; ok && strings.Contains(strings.SplitN(d, "/", 2)[0], ".") {
				good := false
				for _, m := range mods {
					if d == m || strings.HasPrefix(d, m+"/") {
						good = true
					}
				}
				if !good {
					t.Errorf("%s depends on third-party %s; it may use only %v", rel, d, mods)
				}
			}
		}
		for _, imp := range p.Imports {
			if strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") && !strings.HasPrefix(imp, mod) {
				good := false
				for _, m := range direct[ruleName] {
					good = good || imp == m || strings.HasPrefix(imp, m+"/")
				}
				if !good {
					t.Errorf("%s imports third-party %s; design §4 lets it import only %v", rel, imp, direct[ruleName])
				}
			}
			if imp == "testing" && ruleName != "ram/emulator/emulatortest" {
				t.Errorf("%s (non-test code) imports testing", rel)
			}
		}
	}
	if seen < 3 {
		t.Fatalf("go list returned only %d packages", seen)
	}
}

// TestNoLongFiles keeps every non-test Go file of the module under 600 lines (issue 11): a file
// that grows past it holds more than one concern.
func TestNoLongFiles(t *testing.T) {
	const limit = 600
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if n := bytes.Count(b, []byte("\n")); n > limit {
			t.Errorf("%s has %d lines, more than %d: split it by concern", path, n, limit)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCmdOnlyWires holds cmd/respond to design §4 (commands, flags, terminal I/O, rendering, exit
// codes; no business logic) by the two measures issue 11 set: its non-test code stays under 1,300
// lines (lines holding code: blank and comment-only lines are not code, as cloc counts), and every
// function fits on one screen (70 lines). Engine logic that creeps back into cmd shows as growth
// here first.
func TestCmdOnlyWires(t *testing.T) {
	const maxCode, maxFunc = 1300, 70
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, ".", func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, pkg := range pkgs {
		for name, file := range pkg.Files {
			src, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			n := codeLines(t, src)
			total += n
			for _, d := range file.Decls {
				if fd, ok := d.(*ast.FuncDecl); ok {
					from, to := fset.Position(fd.Pos()).Line, fset.Position(fd.End()).Line
					if to-from+1 > maxFunc {
						t.Errorf("%s: %s is %d lines, more than %d: move its logic below cmd or split it", name, fd.Name.Name, to-from+1, maxFunc)
					}
				}
			}
		}
	}
	t.Logf("cmd/respond: %d lines of code", total)
	if total == 0 || total >= maxCode {
		t.Errorf("cmd/respond holds %d lines of code, want fewer than %d: what is not a command, a flag, terminal I/O or rendering belongs in rotate, playbooks, detect or ram", total, maxCode)
	}
}

// codeLines counts the lines of src that hold a token other than a comment (a raw string spanning
// lines counts each of its lines).
func codeLines(t *testing.T, src []byte) int {
	fset := token.NewFileSet()
	f := fset.AddFile("", fset.Base(), len(src))
	var s scanner.Scanner
	s.Init(f, src, func(pos token.Position, msg string) { t.Errorf("scan: %s: %s", pos, msg) }, 0)
	lines := map[int]bool{}
	for {
		pos, tok, lit := s.Scan()
		if tok == token.EOF {
			break
		}
		if tok == token.SEMICOLON && lit == "\n" {
			continue // inserted at a line's end
		}
		first := fset.Position(pos).Line
		for l := first; l <= first+strings.Count(lit, "\n"); l++ {
			lines[l] = true
		}
	}
	return len(lines)
}
