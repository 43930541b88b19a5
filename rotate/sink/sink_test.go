package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
)

var update = flag.Bool("update", false, "rewrite golden files")

const (
	testKeyID  = "LTAI5tNewKeyAAAABBBBCCCC"
	testSecret = "NewSecretAAAABBBBCCCCDDDDEEEE1"
)

func testCred() Credential {
	return Credential{
		KeyID:       accesskey.MustParseID(testKeyID),
		Secret:      accesskey.NewSecret(testSecret),
		UserName:    "app-deployer",
		AccountID:   "1234567890123456",
		AccountName: "prod",
		Created:     time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC),
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestFile_golden(t *testing.T) {
	for _, tc := range []struct{ format, golden string }{
		{FormatJSON, "file.json.golden"},
		{FormatDotenv, "file.env.golden"},
	} {
		t.Run(tc.format, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "creds")
			f, err := NewFile("app", path, tc.format)
			if err != nil {
				t.Fatal(err)
			}
			r, err := f.Store(context.Background(), testCred())
			if err != nil {
				t.Fatal(err)
			}
			if r.Where != path || r.Kind != "file" || r.Sink != "app" {
				t.Errorf("receipt = %+v", r)
			}
			rj, _ := json.Marshal(r)
			if strings.Contains(string(rj), testSecret) {
				t.Errorf("receipt carries the secret: %s", rj)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.golden, got)
			if !IsOurs(got) {
				t.Error("written file is not recognised as ours")
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if perm := info.Mode().Perm(); perm != 0o600 {
				t.Errorf("mode = %o, want 600", perm)
			}
			// Idempotent: a second store rewrites the same bytes.
			if _, err := f.Store(context.Background(), testCred()); err != nil {
				t.Fatalf("second store: %v", err)
			}
			again, _ := os.ReadFile(path)
			if !bytes.Equal(again, got) {
				t.Error("second store wrote different content")
			}
			left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*respond-*"))
			if len(left) != 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
}

func TestFile_formatFromName(t *testing.T) {
	for path, want := range map[string]string{"/x/app.env": FormatDotenv, "/x/.env": FormatDotenv, "/x/creds.json": FormatJSON, "/x/creds": FormatJSON} {
		f, err := NewFile("n", path, "")
		if err != nil {
			t.Fatal(err)
		}
		if f.format != want {
			t.Errorf("%s: format %s, want %s", path, f.format, want)
		}
	}
	if _, err := NewFile("n", "/x", "yaml"); err == nil {
		t.Error("format yaml accepted")
	}
	if _, err := NewFile("n", "", ""); err == nil {
		t.Error("empty path accepted")
	}
}

func TestFile_refusesForeignFiles(t *testing.T) {
	cases := map[string]string{
		"plain dotenv":              "ALIBABA_CLOUD_ACCESS_KEY_ID=LTAIold\n",
		"json without marker":       `{"AccessKeyId":"LTAIold"}`,
		"json with other writer":    `{"written_by":"terraform"}`,
		"marker not on line one":    "FOO=1\n# written by respond\n",
		"marker nested in json":     `{"x":{"written_by":"respond"}}`,
		"json marker of wrong type": `{"written_by":["respond"]}`,
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "creds")
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			f, _ := NewFile("app", path, FormatJSON)
			_, err := f.Store(context.Background(), testCred())
			if !errors.Is(err, ErrNotOurs) {
				t.Fatalf("err = %v, want ErrNotOurs", err)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Error("error carries the secret")
			}
			got, _ := os.ReadFile(path)
			if string(got) != content {
				t.Error("foreign file was changed")
			}
		})
	}
	t.Run("directory", func(t *testing.T) {
		path := t.TempDir()
		f, _ := NewFile("app", path, FormatJSON)
		if _, err := f.Store(context.Background(), testCred()); !errors.Is(err, ErrNotOurs) {
			t.Fatalf("err = %v, want ErrNotOurs", err)
		}
	})
}

func TestFile_overwritesOurOwn(t *testing.T) {
	for name, content := range map[string]string{
		"dotenv": "# written by respond\nALIBABA_CLOUD_ACCESS_KEY_ID=LTAIold\n",
		"crlf":   "# written by respond\r\nX=1\r\n",
		"json":   `{"AccessKeyId":"LTAIold","written_by":"respond"}`,
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "creds")
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			f, _ := NewFile("app", path, FormatDotenv)
			if _, err := f.Store(context.Background(), testCred()); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(path)
			if !strings.Contains(string(got), testKeyID) {
				t.Error("file not rewritten")
			}
			info, _ := os.Stat(path)
			if info.Mode().Perm() != 0o600 {
				t.Errorf("mode = %o after overwrite, want 600", info.Mode().Perm())
			}
		})
	}
}

func TestFile_failedWriteLeavesOldFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "creds.json")
	old := []byte(`{"AccessKeyId":"LTAIold","written_by":"respond"}`)
	if err := os.WriteFile(path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	f, _ := NewFile("app", path, "")
	f.rename = func(string, string) error { return errors.New("disk on fire") }
	_, err := f.Store(context.Background(), testCred())
	if err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("err = %v", err)
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, old) {
		t.Error("old file changed by a failed write")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary file left behind: %v", entries)
	}

	t.Run("unwritable directory", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root ignores directory permissions")
		}
		dir := t.TempDir()
		path := filepath.Join(dir, "creds.json")
		if err := os.WriteFile(path, old, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
		f, _ := NewFile("app", path, "")
		if _, err := f.Store(context.Background(), testCred()); err == nil {
			t.Fatal("store into a read-only directory succeeded")
		}
		got, _ := os.ReadFile(path)
		if !bytes.Equal(got, old) {
			t.Error("old file changed")
		}
	})
}

func FuzzIsOurs(f *testing.F) {
	for _, name := range []string{"file.json.golden", "file.env.golden"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"written_by":"respond"}`))
	f.Add([]byte("# written by respond"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		ours := IsOurs(data)
		if ours && !bytes.HasPrefix(data, []byte(dotenvMarker)) && !bytes.Contains(data, []byte(`"written_by"`)) && !bytes.Contains(data, []byte(`written_by`)) {
			// JSON may escape the key; only accept when the decoded marker is there.
			var v map[string]any
			if json.Unmarshal(bytes.TrimSpace(data), &v) != nil || v["written_by"] != "respond" {
				t.Fatalf("IsOurs(%q) = true without a marker", data)
			}
		}
	})
}

// fakeStore is a KMS Secrets Manager with PutSecretValue's idempotency rule.
type fakeStore struct {
	secrets map[string]map[string]string // name -> version -> data
	calls   []string
}

func (s *fakeStore) CreateSecret(_ context.Context, name, version string, data accesskey.Secret) (ram.SecretVersion, error) {
	s.calls = append(s.calls, "CreateSecret "+name+" "+version)
	if _, ok := s.secrets[name]; ok {
		return ram.SecretVersion{}, &ram.Error{Action: "CreateSecret", Code: "Rejected.ResourceExist", Class: ram.ErrAlreadyExists}
	}
	s.secrets[name] = map[string]string{version: data.Reveal()}
	return ram.SecretVersion{Name: name, VersionID: version, Arn: "acs:kms:cn-hangzhou:123:secret/" + name}, nil
}

func (s *fakeStore) PutSecretValue(_ context.Context, name, version string, data accesskey.Secret) (ram.SecretVersion, error) {
	s.calls = append(s.calls, "PutSecretValue "+name+" "+version)
	vs, ok := s.secrets[name]
	if !ok {
		return ram.SecretVersion{}, &ram.Error{Action: "PutSecretValue", Code: "Forbidden.ResourceNotFound", Class: ram.ErrNotFound}
	}
	if old, ok := vs[version]; ok && old != data.Reveal() {
		return ram.SecretVersion{}, &ram.Error{Action: "PutSecretValue", Code: "Rejected.ResourceExist", Class: ram.ErrAlreadyExists}
	}
	vs[version] = data.Reveal()
	return ram.SecretVersion{Name: name, VersionID: version, RequestID: "req-1"}, nil
}

func TestKMS(t *testing.T) {
	ctx := context.Background()
	t.Run("existing secret, twice", func(t *testing.T) {
		fs := &fakeStore{secrets: map[string]map[string]string{"app/ak": {}}}
		k, err := NewKMS("vault", "app/ak", false, fs)
		if err != nil {
			t.Fatal(err)
		}
		r1, err := k.Store(ctx, testCred())
		if err != nil {
			t.Fatal(err)
		}
		r2, err := k.Store(ctx, testCred())
		if err != nil {
			t.Fatalf("second store not idempotent: %v", err)
		}
		if r1.Details["version_id"] != r2.Details["version_id"] || r1.Details["version_id"] != VersionID(testCred().KeyID) {
			t.Errorf("version ids %q %q", r1.Details["version_id"], r2.Details["version_id"])
		}
		if len(fs.secrets["app/ak"]) != 1 {
			t.Errorf("versions = %d, want 1", len(fs.secrets["app/ak"]))
		}
		var got map[string]string
		for _, v := range fs.secrets["app/ak"] {
			if err := json.Unmarshal([]byte(v), &got); err != nil {
				t.Fatal(err)
			}
		}
		if got["AccessKeyId"] != testKeyID || got["AccessKeySecret"] != testSecret {
			t.Errorf("stored %v", got)
		}
		rj, _ := json.Marshal(r1)
		if strings.Contains(string(rj), testSecret) {
			t.Error("receipt carries the secret")
		}
	})
	t.Run("missing secret without create", func(t *testing.T) {
		fs := &fakeStore{secrets: map[string]map[string]string{}}
		k, _ := NewKMS("vault", "app/ak", false, fs)
		_, err := k.Store(ctx, testCred())
		if !errors.Is(err, ram.ErrNotFound) || !strings.Contains(err.Error(), "create: true") {
			t.Fatalf("err = %v", err)
		}
		if len(fs.calls) != 1 {
			t.Errorf("calls = %v, want PutSecretValue only", fs.calls)
		}
	})
	t.Run("missing secret with create", func(t *testing.T) {
		fs := &fakeStore{secrets: map[string]map[string]string{}}
		k, _ := NewKMS("vault", "app/ak", true, fs)
		r, err := k.Store(ctx, testCred())
		if err != nil {
			t.Fatal(err)
		}
		if r.Details["action"] != "CreateSecret" || !strings.HasPrefix(r.Where, "acs:kms:") {
			t.Errorf("receipt %+v", r)
		}
		// The retry finds the secret and puts the same version: no error, no new version.
		if _, err := k.Store(ctx, testCred()); err != nil {
			t.Fatal(err)
		}
		if len(fs.secrets["app/ak"]) != 1 {
			t.Errorf("versions = %d", len(fs.secrets["app/ak"]))
		}
	})
	t.Run("version id depends on the key only", func(t *testing.T) {
		a := VersionID(accesskey.MustParseID(testKeyID))
		b := VersionID(accesskey.MustParseID("LTAI5tOtherKeyAAAABBBBCC"))
		if a == b || a != VersionID(accesskey.MustParseID(testKeyID)) {
			t.Errorf("VersionID not a function of the key id: %s %s", a, b)
		}
	})
}

func TestTerminal(t *testing.T) {
	var b bytes.Buffer
	term, err := NewTerminal("", &b)
	if err != nil {
		t.Fatal(err)
	}
	r, err := term.Store(context.Background(), testCred())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), testSecret) || !strings.Contains(b.String(), testKeyID) {
		t.Errorf("terminal got %q", b.String())
	}
	if r.Where != "terminal" {
		t.Errorf("receipt %+v", r)
	}
}

func TestSinks_refuseEmptyCredential(t *testing.T) {
	f, _ := NewFile("f", filepath.Join(t.TempDir(), "x"), "")
	k, _ := NewKMS("k", "s", true, &fakeStore{secrets: map[string]map[string]string{}})
	e, _ := NewExec("e", []string{"true"})
	term, _ := NewTerminal("t", &bytes.Buffer{})
	for _, s := range []Sink{f, k, e, term} {
		if _, err := s.Store(context.Background(), Credential{KeyID: accesskey.MustParseID(testKeyID)}); err == nil {
			t.Errorf("%s stored an empty secret", s.Kind())
		}
		if s.Describe() == "" {
			t.Errorf("%s has no description", s.Kind())
		}
	}
}
