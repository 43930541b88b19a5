package journal

import (
	"os"
	"path/filepath"
)

// WriteFile puts b at path through a new temporary file in its directory (mode 0600, created
// exclusively, so never through a link), then renamed over path when replace, else linked to it,
// which fails with fs.ErrExist when path exists (a new entry). When durable, the file is synced
// before and the directory after (SyncDir). On an error the temporary file is gone and path is as
// it was.
func WriteFile(path string, b []byte, replace, durable bool) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // gone after a rename; the extra name after a link
	_, err = tmp.Write(b)
	if err == nil && durable {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if replace {
		err = os.Rename(tmpName, path)
	} else {
		err = os.Link(tmpName, path)
	}
	if err == nil && durable {
		SyncDir(dir)
	}
	return err
}

// SyncDir makes a rename, link or new file in dir durable (best effort: the entry is in place
// either way; only its surviving a power cut is in doubt).
func SyncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
