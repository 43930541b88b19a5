package sink

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestFileCheckDir(t *testing.T) {
	dir := t.TempDir()
	f, err := NewFile("f", filepath.Join(dir, "app.env"), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.CheckDir(); err != nil {
		t.Fatalf("writable directory: %v", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("the probe left %v", ents)
	}
	missing, _ := NewFile("f", filepath.Join(dir, "nope", "app.env"), "")
	if err := missing.CheckDir(); err == nil {
		t.Error("a missing directory passed")
	}
	if os.Getuid() != 0 {
		ro := filepath.Join(dir, "ro")
		if err := os.Mkdir(ro, 0o500); err != nil {
			t.Fatal(err)
		}
		f, _ := NewFile("f", filepath.Join(ro, "app.env"), "")
		if err := f.CheckDir(); err == nil {
			t.Error("a read-only directory passed")
		}
	}
}

func TestFileCheckTarget(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ours := write("ours.env", dotenvMarker+"\nX=1\n")
	theirs := write("theirs.env", "DATABASE_URL=x\n")
	link := filepath.Join(dir, "link.env")
	if err := os.Symlink(ours, link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path   string
		exists bool
		ok     bool
	}{
		{filepath.Join(dir, "absent.env"), false, true},
		{ours, true, true},
		{theirs, true, false},
		{link, true, false},
	} {
		f, _ := NewFile("f", tc.path, "")
		exists, err := f.CheckTarget()
		if exists != tc.exists || (err == nil) != tc.ok {
			t.Errorf("%s: exists=%v err=%v", filepath.Base(tc.path), exists, err)
		}
		if err != nil && !errors.Is(err, ErrNotOurs) {
			t.Errorf("%s: %v does not wrap ErrNotOurs", filepath.Base(tc.path), err)
		}
	}
	if b, _ := os.ReadFile(theirs); string(b) != "DATABASE_URL=x\n" {
		t.Error("the check changed the target")
	}
}

func TestExecCheckProgram(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		argv0 string
		ok    bool
	}{{"sh", true}, {filepath.Join(dir, "absent"), false}, {plain, false}, {dir, false}} {
		e, err := NewExec("x", []string{tc.argv0})
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.CheckProgram()
		if (err == nil) != tc.ok || (tc.ok && p == "") {
			t.Errorf("%s: %q, %v", tc.argv0, p, err)
		}
	}
}
