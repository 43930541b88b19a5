package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// File formats.
const (
	FormatJSON   = "json"
	FormatDotenv = "dotenv"
)

// Marker is how respond recognises a file it wrote: the "written_by" field of a JSON file, the
// first line of a dotenv file.
const (
	markerValue   = "respond"
	dotenvMarker  = "# written by respond"
	dotenvIDVar   = "ALIBABA_CLOUD_ACCESS_KEY_ID"
	dotenvKeyVar  = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
	fileMode      = 0o600
	maxOwnedBytes = 1 << 20 // a file of ours is small; a larger one is not ours
)

// ErrNotOurs is returned (wrapped) when the target file exists and respond did not write it.
var ErrNotOurs = errors.New("file exists and was not written by respond")

// File writes the pair to a file as JSON or dotenv, atomically and with mode 0600. It refuses to
// overwrite a file that does not carry respond's marker.
type File struct {
	name   string
	path   string
	format string
	// fsyncDir is replaceable in tests; production syncs the directory after the rename.
	fsyncDir func(dir string) error
	// rename is replaceable in tests, to prove that a failed write leaves the old file.
	rename func(oldpath, newpath string) error
}

// NewFile returns a file sink. path is the final path (templating is the caller's job); format is
// "json" or "dotenv" ("" means json, or dotenv when the name ends in .env).
func NewFile(name, path, format string) (*File, error) {
	if path == "" {
		return nil, fmt.Errorf("file sink %q: no path", name)
	}
	if hasDotDot(path) {
		// A template's own text never has "..": one here came out of a substituted value
		// (a user named "." next to a literal "."), and would write outside the template's tree.
		return nil, fmt.Errorf("file sink %q: path %s has a \"..\" element: refusing to write outside its directory", name, strconv.Quote(path))
	}
	if format == "" {
		format = FormatJSON
		if strings.HasSuffix(path, ".env") || filepath.Base(path) == ".env" {
			format = FormatDotenv
		}
	}
	if format != FormatJSON && format != FormatDotenv {
		return nil, fmt.Errorf("file sink %q: format %q: want json or dotenv", name, format)
	}
	return &File{name: name, path: path, format: format, fsyncDir: syncDir, rename: os.Rename}, nil
}

// Name implements Sink.
func (f *File) Name() string { return f.name }

// Kind implements Sink.
func (f *File) Kind() string { return "file" }

// Path is where Store writes.
func (f *File) Path() string { return f.path }

// Describe implements Sink.
func (f *File) Describe() string {
	return fmt.Sprintf("write %s to %s (mode 0600, atomic; refuses a file respond did not write)", f.format, f.path)
}

// fileJSON is the JSON file's shape. AccessKeyId/AccessKeySecret are the names the Alibaba SDKs
// and the aliyun CLI use.
type fileJSON struct {
	AccessKeyID     string `json:"AccessKeyId"`
	AccessKeySecret string `json:"AccessKeySecret"`
	UserName        string `json:"UserName,omitempty"`
	AccountID       string `json:"AccountId,omitempty"`
	Created         string `json:"Created,omitempty"`
	WrittenBy       string `json:"written_by"`
}

// Render returns the file's content for c. It is the one place the secret is put into the file.
func (f *File) Render(c Credential) ([]byte, error) {
	switch f.format {
	case FormatDotenv:
		var b bytes.Buffer
		b.WriteString(dotenvMarker + "\n")
		fmt.Fprintf(&b, "# key %s", c.KeyID)
		if c.UserName != "" {
			fmt.Fprintf(&b, " of RAM user %s", c.UserName)
		}
		if c.AccountID != "" {
			fmt.Fprintf(&b, " in account %s", c.AccountID)
		}
		if !c.Created.IsZero() {
			fmt.Fprintf(&b, ", created %s", c.Created.UTC().Format(time.RFC3339))
		}
		b.WriteString("\n")
		fmt.Fprintf(&b, "%s=%s\n", dotenvIDVar, c.KeyID)
		fmt.Fprintf(&b, "%s=%s\n", dotenvKeyVar, c.Secret.Reveal())
		return b.Bytes(), nil
	default:
		v := fileJSON{
			AccessKeyID:     c.KeyID.String(),
			AccessKeySecret: c.Secret.Reveal(),
			UserName:        c.UserName,
			AccountID:       c.AccountID,
			WrittenBy:       markerValue,
		}
		if !c.Created.IsZero() {
			v.Created = c.Created.UTC().Format(time.RFC3339)
		}
		out, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return nil, err
		}
		return append(out, '\n'), nil
	}
}

// Store implements Sink. A second Store of the same credential rewrites the same content.
func (f *File) Store(ctx context.Context, c Credential) (Receipt, error) {
	if err := ctx.Err(); err != nil {
		return Receipt{}, err
	}
	if c.KeyID.IsZero() || c.Secret.IsZero() {
		return Receipt{}, fmt.Errorf("file sink %q: store key %s: no key id or secret", f.name, c.KeyID)
	}
	// A write that a killed respond left half done holds a secret: remove it first.
	if _, err := RemoveStaleTemps(ctx, f.path); err != nil {
		return Receipt{}, fmt.Errorf("file sink %q: %w", f.name, err)
	}
	if err := f.checkOurs(); err != nil {
		return Receipt{}, err
	}
	data, err := f.Render(c)
	if err != nil {
		return Receipt{}, fmt.Errorf("file sink %q: render key %s: %w", f.name, c.KeyID, err)
	}
	if err := f.writeAtomic(data); err != nil {
		return Receipt{}, fmt.Errorf("file sink %q: write key %s to %s: %w", f.name, c.KeyID, f.path, err)
	}
	return Receipt{
		Sink:    f.name,
		Kind:    f.Kind(),
		Where:   f.path,
		Details: map[string]string{"format": f.format, "mode": "0600"},
	}, nil
}

// checkOurs refuses an existing file without our marker. A missing file is fine. The file is
// opened once, without following a symlink and without blocking on a FIFO, and it is that handle
// which is checked (a regular file) and read (at most maxOwnedBytes+1): a name checked and then
// read again could be swapped in between.
func (f *File) checkOurs() error {
	fd, err := os.OpenFile(f.path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if errors.Is(err, syscall.ELOOP) {
		return fmt.Errorf("file sink %q: %s is a symbolic link, not a regular file: %w", f.name, f.path, ErrNotOurs)
	}
	if err != nil {
		return fmt.Errorf("file sink %q: open %s: %w", f.name, f.path, err)
	}
	defer fd.Close()
	info, err := fd.Stat()
	if err != nil {
		return fmt.Errorf("file sink %q: inspect %s: %w", f.name, f.path, err)
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("file sink %q: %s is not a regular file: %w", f.name, f.path, ErrNotOurs)
	}
	if info.Size() > maxOwnedBytes {
		return fmt.Errorf("file sink %q: %s: %w", f.name, f.path, ErrNotOurs)
	}
	data, err := io.ReadAll(io.LimitReader(fd, maxOwnedBytes+1))
	if err != nil {
		return fmt.Errorf("file sink %q: read %s: %w", f.name, f.path, err)
	}
	if len(data) > maxOwnedBytes || !IsOurs(data) {
		return fmt.Errorf("file sink %q: %s: %w; move it away or choose another path", f.name, f.path, ErrNotOurs)
	}
	return nil
}

// hasDotDot reports a ".." element in p.
func hasDotDot(p string) bool {
	for _, el := range strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == os.PathSeparator }) {
		if el == ".." {
			return true
		}
	}
	return false
}

// IsOurs reports whether a file's content carries respond's marker: a JSON object whose
// "written_by" is "respond", or a first line "# written by respond".
func IsOurs(data []byte) bool {
	first, _, _ := bytes.Cut(data, []byte("\n"))
	if string(bytes.TrimRight(first, "\r")) == dotenvMarker {
		return true
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return false
	}
	// A map, not a struct: encoding/json matches struct fields case-insensitively, and only the
	// exact key respond writes marks a file as respond's ("wriTten_BY" is someone else's).
	var v map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &v); err != nil {
		return false
	}
	var by string
	return json.Unmarshal(v["written_by"], &by) == nil && by == markerValue
}

// writeAtomic writes data to a temporary file in the target's directory (mode 0600), syncs it,
// renames it over the target and syncs the directory. On any failure the old file is untouched
// and the temporary file is removed. The temporary file is flocked until after the rename, so
// that RemoveStaleTemps run by another respond never removes a write in progress, while the one
// a killed respond left (its lock released by the kernel) is removed.
func (f *File) writeAtomic(data []byte) (err error) {
	dir := filepath.Dir(f.path)
	tmp, err := os.CreateTemp(dir, tempPrefix(f.path)+"*")
	if err != nil {
		return err
	}
	tmpName := tmp.Name()
	defer func() {
		if err != nil {
			_ = os.Remove(tmpName)
		}
		_ = tmp.Close()
	}()
	if err = syscall.Flock(int(tmp.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("lock temporary file: %w", err)
	}
	if err = tmp.Chmod(fileMode); err != nil {
		return err
	}
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = f.rename(tmpName, f.path); err != nil {
		return err
	}
	if err = f.fsyncDir(dir); err != nil {
		// The file is in place; only its durability is in doubt.
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}
