package doctor

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/rotate"
	"github.com/respond-dev/respond/rotate/journal"
	"github.com/respond-dev/respond/rotate/sink"
)

// sinks checks that a playbook that creates a replacement has a sink to store it in, and the
// file and exec sinks (the KMS ones are checked in their accounts).
func (r *runner) sinks() []Check {
	var out []Check
	if len(r.use.noSink) > 0 && !r.o.RehearsalSink {
		// A run refuses a key such a playbook answers (exit 2: the new secret would reach no
		// one) unless KMS manages it, or --reveal shows the pair on a terminal: respond serve
		// cannot, so with a serve: section it is required.
		c := Check{Kind: KindSink, Component: "sinks", Item: "a sink for the replacement", Status: StatusMissing,
			Required: r.o.Config != nil && r.o.Config.Serve != nil, NeededBy: r.use.noSink,
			Detail: "no sink is configured: a run refuses every key these playbooks would give a replacement (unless KMS manages it)",
			Fix:    "add a sink to the configuration (README \"Sinks\"), answer these keys with a playbook that creates none (contain-only), or, on a terminal only, pass --reveal"}
		out = append(out, c)
	}
	conf := r.o.Config
	if conf == nil {
		return out
	}
	for _, name := range slices.Sorted(maps.Keys(conf.Sinks)) {
		sc := conf.Sinks[name]
		switch sc.Type {
		case playbooks.SinkFile:
			out = append(out, r.fileSink(sc)...)
		case playbooks.SinkExec:
			out = append(out, r.execSink(sc))
		}
	}
	return out
}

func (r *runner) sinkCheck(sc playbooks.SinkConfig, item string) Check {
	used := r.use.sinks[sc.Name]
	return Check{Kind: KindSink, Component: "sink " + sc.Name + " (" + sc.Type + ")", Item: item, Required: len(used) > 0,
		NeededBy: used}
}

// fileSink checks the directory a file sink writes in, and the target when its name does not
// depend on the key: per configured account when the path names the account (each directory
// once).
func (r *runner) fileSink(sc playbooks.SinkConfig) []Check {
	conf := r.o.Config
	dirFields, fileFields := templateParts(sc.Target)
	perAccount := slices.ContainsFunc(slices.Concat(dirFields, fileFields), func(f string) bool { return f == "AccountID" || f == "AccountName" })
	perKeyDir := slices.ContainsFunc(dirFields, perKeyField)
	var accts []playbooks.AccountConfig
	if perAccount {
		accts = conf.Accounts
	}
	if len(accts) == 0 {
		accts = []playbooks.AccountConfig{{ID: "000000000000000", Name: "account"}}
	}
	var out []Check
	seenDir := map[string]bool{}
	for _, a := range accts {
		vals := playbooks.TemplateValues{AccountID: cmp.Or(a.ID, a.Name), AccountName: a.Name, UserName: r.target.UserName,
			KeyID: r.target.KeyID.String(), Date: r.o.Now().UTC()}
		path, err := sc.ExpandTarget(vals)
		var f *sink.File
		if err == nil && !perKeyDir {
			f, err = sink.NewFile(sc.Name, path, sc.Format)
		}
		if err != nil {
			c := r.sinkCheck(sc, "path")
			c.Status, c.Detail = StatusError, err.Error()
			out = append(out, c)
			continue
		}
		dir := filepath.Dir(path)
		if !seenDir[dir] {
			seenDir[dir] = true
			if perKeyDir {
				c := r.sinkCheck(sc, "directory")
				c.Status = StatusNotChecked
				c.Detail = "the directory of " + sc.Target.String() + " depends on the user or key: each must exist; checked: " + existingAncestor(dir)
				out = append(out, c)
			} else {
				out = append(out, r.sinkDir(sc, f, dir))
			}
		}
		if perKeyDir || slices.ContainsFunc(fileFields, perKeyField) || slices.Contains(fileFields, "Date") {
			continue // one file per key: none to look at now
		}
		t := r.sinkCheck(sc, "target "+path)
		exists, err := f.CheckTarget()
		switch {
		case err != nil:
			t.Status, t.Detail = StatusError, err.Error()
			t.Fix = "move the file away, or point the sink at another path"
		case exists:
			t.Status, t.Detail = StatusOK, "a file respond wrote: it will be replaced"
		default:
			t.Status, t.Detail = StatusOK, "does not exist yet"
		}
		out = append(out, t)
	}
	return out
}

// sinkDir checks that a file sink can write in dir.
func (r *runner) sinkDir(sc playbooks.SinkConfig, f *sink.File, dir string) Check {
	c := r.sinkCheck(sc, "directory "+dir)
	if err := f.CheckDir(); err != nil {
		c.Status, c.Detail = StatusError, err.Error()
		c.Fix = "create the directory, writable by the user respond runs as"
		if errors.Is(err, fs.ErrPermission) {
			c.Fix = "let the user respond runs as write in " + dir
		}
	} else {
		c.Status, c.Detail = StatusOK, "exists; respond wrote and removed a probe file there"
	}
	return c
}

// perKeyField reports whether a target's field differs from one key to the next.
func perKeyField(f string) bool { return f == "UserName" || f == "KeyID" }

// templateParts splits a template's fields into those of its directory and those of its file
// name.
func templateParts(t *playbooks.Template) (dir, file []string) {
	if t == nil {
		return nil, nil
	}
	raw := t.String()
	slash := strings.LastIndex(raw, "/")
	for at := 0; ; {
		i := strings.Index(raw[at:], "{{")
		if i < 0 {
			return dir, file
		}
		i += at
		j := strings.Index(raw[i:], "}}")
		if j < 0 {
			return dir, file
		}
		field := strings.TrimPrefix(strings.TrimSpace(raw[i+2:i+j]), ".")
		if i < slash {
			dir = append(dir, field)
		} else {
			file = append(file, field)
		}
		at = i + j + 2
	}
}

// existingAncestor names the deepest existing directory above p.
func existingAncestor(p string) string {
	if d, ok := existingDir(p); ok {
		return d + " exists"
	}
	return "no ancestor exists"
}

// existingDir is p, or its deepest ancestor, that is an existing directory; ok is false when none
// is (d is then the root).
func existingDir(p string) (d string, ok bool) {
	for d = p; ; d = filepath.Dir(d) {
		if info, err := os.Stat(d); err == nil && info.IsDir() {
			return d, true
		}
		if d == filepath.Dir(d) {
			return d, false
		}
	}
}

func (r *runner) execSink(sc playbooks.SinkConfig) Check {
	c := r.sinkCheck(sc, "program")
	e, err := sink.NewExec(sc.Name, sc.Command)
	if err != nil {
		c.Status, c.Detail = StatusError, err.Error()
		return c
	}
	c.Item = "program " + sc.Command[0]
	p, err := e.CheckProgram()
	if err != nil {
		c.Status, c.Detail, c.Fix = StatusError, err.Error(), "install it, make it executable, or fix the command"
		return c
	}
	c.Status, c.Detail = StatusOK, "found: "+p+" (not run)"
	return c
}

// minFree is the free space below which the state directory fails: a journal is a few KB, but
// a full disk stops a rotation between two steps.
const minFree = 16 << 20

// state checks the state directory: safe to trust, room left, no rotation left unfinished.
func (r *runner) state() []Check {
	dir := r.o.StateDir
	if dir == "" {
		return nil
	}
	comp := "state directory " + dir
	chk := func(item string) Check { return Check{Kind: KindState, Component: comp, Item: item, Required: true} }
	var out []Check
	c := chk("owner and mode")
	_, statErr := os.Stat(dir)
	err := journal.CheckStateDir(dir)
	var unsafe *journal.UnsafeStateError
	switch {
	case errors.As(err, &unsafe):
		c.Status, c.Detail, c.Fix = StatusError, unsafe.Problem, unsafe.Fix
	case err != nil:
		c.Status, c.Detail = StatusError, err.Error()
	case errors.Is(statErr, fs.ErrNotExist):
		c.Status, c.Detail = StatusOK, "does not exist yet: respond creates it (mode 0700)"
	default:
		c.Status, c.Detail = StatusOK, "yours, not writable by group or others"
	}
	out = append(out, c)
	f := chk("free space")
	at, _ := existingDir(dir)
	switch free, err := freeBytes(at); {
	case errors.Is(err, errNoStatfs):
		f.Status, f.Detail, f.Required = StatusNotChecked, err.Error(), false
	case err != nil:
		f.Status, f.Detail = StatusError, err.Error()
	case free < minFree:
		f.Status, f.Detail = StatusError, fmt.Sprintf("%d KiB free on %s", free>>10, at)
		f.Fix = "free some space: a rotation writes its journal before each step"
	default:
		f.Status, f.Detail = StatusOK, fmt.Sprintf("%d MiB free", free>>20)
	}
	out = append(out, f)
	if errors.Is(statErr, fs.ErrNotExist) || err != nil {
		return out
	}
	st, serr := rotate.ReadStatus(dir, false)
	if serr != nil {
		u := chk("unfinished rotations")
		u.Status, u.Detail = StatusError, serr.Error()
		return append(out, u)
	}
	if len(st.Rotations) == 0 {
		u := chk("unfinished rotations")
		u.Status, u.Detail = StatusOK, "none"
		return append(out, u)
	}
	for _, rot := range st.Rotations {
		u := chk("unfinished rotation of " + rot.KeyID)
		u.Status = StatusError
		u.Detail = fmt.Sprintf("user %s in account %s, last %s, updated %s", rot.UserName, rot.AccountID,
			cmp.Or(rot.LastOutcome, "-"), rot.Updated.UTC().Format("2006-01-02T15:04:05Z"))
		u.Fix = "resume it: " + rot.Resume
		if rot.Resume == "" {
			u.Fix = "look at it with respond status: its journal offers no resume command"
		}
		out = append(out, u)
	}
	return out
}
