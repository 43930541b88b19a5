package journal

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFile(t *testing.T) {
	for _, tc := range []struct {
		name             string
		existing         string // "" = no file before
		replace, durable bool
		wantErr          error
		want             string
	}{
		{"create", "", false, true, nil, "new"},
		{"create over an existing file refused", "old", false, true, fs.ErrExist, "old"},
		{"replace", "old", true, true, nil, "new"},
		{"replace, not durable", "old", true, false, nil, "new"},
		{"replace a missing file", "", true, false, nil, "new"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "f.json")
			if tc.existing != "" {
				if err := os.WriteFile(p, []byte(tc.existing), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := WriteFile(p, []byte("new"), tc.replace, tc.durable)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if b, _ := os.ReadFile(p); string(b) != tc.want {
				t.Errorf("file holds %q, want %q", b, tc.want)
			}
			if info, err := os.Stat(p); err != nil {
				t.Error(err)
			} else if tc.existing == "" && info.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600", info.Mode().Perm())
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				t.Errorf("%d entries in the directory, want the file alone (no temporary file left)", len(ents))
			}
		})
	}
	// A directory that does not exist: an error, nothing written.
	if err := WriteFile(filepath.Join(t.TempDir(), "missing", "f.json"), []byte("x"), true, true); err == nil {
		t.Error("a write into a directory that does not exist succeeded")
	}
}
