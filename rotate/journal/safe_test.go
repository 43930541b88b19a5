package journal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func wantUnsafe(t *testing.T, what string, err error, wantIn ...string) {
	t.Helper()
	var ue *UnsafeStateError
	if !errors.As(err, &ue) {
		t.Fatalf("%s: err = %v, want an *UnsafeStateError", what, err)
	}
	for _, w := range wantIn {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s: error %q does not say %q", what, err, w)
		}
	}
}

func TestCheckStateDir(t *testing.T) {
	cases := []struct {
		name string
		mode os.FileMode
		want []string // empty: accepted
	}{
		{"private", 0o700, nil},
		{"readable by all", 0o755, nil},
		{"read-only", 0o500, nil},
		{"group-writable", 0o770, []string{"mode 0770", "chmod go-w"}},
		{"world-writable", 0o777, []string{"mode 0777", "chmod go-w"}},
		{"others-writable only", 0o702, []string{"mode 0702", "chmod go-w"}},
		{"sticky world-writable", 0o777 | os.ModeSticky, []string{"writable by group or others", "chmod go-w"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tc.mode); err != nil {
				t.Fatal(err)
			}
			err := CheckStateDir(dir)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("CheckStateDir(%v) = %v, want nil", tc.mode, err)
				}
				return
			}
			wantUnsafe(t, "CheckStateDir", err, append(tc.want, dir)...)
			// every way into the directory refuses it too
			_, err = Open(dir, leaked)
			wantUnsafe(t, "Open", err)
			_, err = TryLock(dir, leaked)
			wantUnsafe(t, "TryLock", err)
			_, err = OpenAudit(filepath.Join(dir, AuditFile))
			wantUnsafe(t, "OpenAudit", err)
			_, err = List(dir)
			wantUnsafe(t, "List", err)
			ents, _ := os.ReadDir(dir)
			if len(ents) != 0 {
				t.Errorf("files were created in the refused directory: %v", ents)
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		if err := CheckStateDir(filepath.Join(t.TempDir(), "none")); err != nil {
			t.Errorf("a missing directory: %v (respond creates it)", err)
		}
	})
	t.Run("a file", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "f")
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		wantUnsafe(t, "CheckStateDir", CheckStateDir(p), "not a directory")
	})
	t.Run("created private", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "a", "state")
		j, err := Open(dir, leaked)
		if err != nil {
			t.Fatal(err)
		}
		j.Close()
		info, err := os.Stat(dir)
		if err != nil || info.Mode().Perm() != 0o700 {
			t.Errorf("created state directory: %v %v, want mode 0700", info, err)
		}
	})
}

func TestCheckStateDir_otherOwner(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to give a directory to another user")
	}
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Skip("chown:", err)
	}
	wantUnsafe(t, "CheckStateDir", CheckStateDir(dir), "uid 65534", "chown 0 '"+dir+"'")
	_, err := Open(dir, leaked)
	wantUnsafe(t, "Open", err)

	// a journal of another user in our own directory is refused too
	own := t.TempDir()
	p := filepath.Join(own, FileName(leaked))
	if err := os.WriteFile(p, []byte(`{"seq":1,"kind":"begin","key_id":"`+leaked.String()+`","user_name":"auditor"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	_, err = Open(own, leaked)
	wantUnsafe(t, "Open of another user's journal", err, "uid 65534")
	_, err = List(own)
	wantUnsafe(t, "List", err)
}

// plant puts what at the path of a state file: a symlink to a victim file, a dangling symlink,
// a FIFO or a second hard link of a victim file.
func plant(t *testing.T, kind, path, victim string) {
	t.Helper()
	var err error
	switch kind {
	case "symlink", "dangling symlink":
		err = os.Symlink(victim, path)
	case "fifo":
		err = syscall.Mkfifo(path, 0o600)
	case "hard link":
		err = os.Link(victim, path)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestPlantedStateFiles: a state file that is a symlink, a FIFO or a hard link is refused, and
// the file it points at is neither created, truncated nor written; nothing blocks.
func TestPlantedStateFiles(t *testing.T) {
	// A victim with one unterminated line: the journal's torn-line repair would truncate it.
	const victimData = "password_file = /etc/app/secret.txt"
	opens := []struct {
		name string
		file string
		open func(dir string) error
	}{
		{"journal", FileName(leaked), func(dir string) error {
			j, err := Open(dir, leaked)
			if err == nil {
				_, _ = j.Append(Record{Kind: KindBegin, RunID: "r"})
				j.Close()
			}
			return err
		}},
		{"audit", AuditFile, func(dir string) error {
			a, err := OpenAudit(filepath.Join(dir, AuditFile))
			if err == nil {
				_ = a.Write(AuditEntry{Event: "start", KeyID: leaked.String()})
				a.Close()
			}
			return err
		}},
		{"lock", leaked.String() + ".lock", func(dir string) error {
			l, err := TryLock(dir, leaked)
			if err == nil {
				_ = l.Unlock()
			}
			return err
		}},
		{"list", FileName(leaked), func(dir string) error {
			_, err := List(dir)
			return err
		}},
		{"lock then wait", leaked.String() + ".lock", func(dir string) error {
			l, err := Lock(context.Background(), dir, leaked)
			if err == nil {
				_ = l.Unlock()
			}
			return err
		}},
	}
	for _, o := range opens {
		for _, kind := range []string{"symlink", "dangling symlink", "fifo", "hard link"} {
			if o.name == "list" && kind == "dangling symlink" {
				continue // nothing to read
			}
			t.Run(o.name+"/"+kind, func(t *testing.T) {
				root := t.TempDir()
				dir := filepath.Join(root, "state")
				if err := os.Mkdir(dir, 0o700); err != nil {
					t.Fatal(err)
				}
				victim := filepath.Join(root, "app.conf")
				if kind != "dangling symlink" {
					if err := os.WriteFile(victim, []byte(victimData), 0o600); err != nil {
						t.Fatal(err)
					}
				}
				plant(t, kind, filepath.Join(dir, o.file), victim)
				err := o.open(dir)
				want := map[string]string{"symlink": "symbolic link", "dangling symlink": "symbolic link", "fifo": "FIFO", "hard link": "hard links"}[kind]
				wantUnsafe(t, o.name, err, want, "rm '")
				got, rerr := os.ReadFile(victim)
				switch {
				case kind == "dangling symlink" && !errors.Is(rerr, os.ErrNotExist):
					t.Errorf("the symlink's target was created: %q %v", got, rerr)
				case kind != "dangling symlink" && string(got) != victimData:
					t.Errorf("victim file changed: %q (err %v), want %q", got, rerr, victimData)
				}
			})
		}
	}
}
