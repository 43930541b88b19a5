package rotate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
	"github.com/respond-dev/respond/rotate/notify"
	"github.com/respond-dev/respond/rotate/sink"
)

// fakeAPI is a hand-written Cloud with the two-key limit, a call log and injectable faults.
type fakeAPI struct {
	mu      sync.Mutex
	keys    map[string][]ram.AccessKey // user -> keys
	secrets map[string]string          // key id -> secret
	calls   []string
	n       int
	// fault returns an error for an action before (commit=false) or after (commit=true) it
	// takes effect; nil for none.
	fault func(action string, nth int) (err error, commit bool)
	count map[string]int
	hook  func(action string) // called before each action
	// events are the ActionTrail history LookupEvents serves (filtered by key and time);
	// eventsErr, when set, is its error (e.g. no ActionTrail permission).
	events    []ram.Event
	eventsErr error
	// stale counts the creates whose before list was not the user's keys at the time.
	stale int
	// bin is the AccessKey recycle bin: a deleted key goes there (key id -> its user), until
	// DeleteAccessKeyInRecycleBin purges it.
	bin map[string]string
	// kms is the fake's KMS Secrets Manager (kms_test.go); nil: no RAM credentials secret
	kms *fakeKMS
}

// fakeUserID is the user id the fake gives a user.
func fakeUserID(user string) string { return "uid-" + user }

func newFake(user string, ids ...string) *fakeAPI {
	f := &fakeAPI{keys: map[string][]ram.AccessKey{}, secrets: map[string]string{}, count: map[string]int{}}
	for _, id := range ids {
		f.keys[user] = append(f.keys[user], ram.AccessKey{ID: accesskey.MustParseID(id), Status: ram.StatusActive})
		f.secrets[id] = "S" + id[4:] + "xxxxxxxxx"
	}
	return f
}

func (f *fakeAPI) begin(action string) (error, bool) {
	if f.hook != nil {
		f.hook(action)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, action)
	f.count[action]++
	if f.fault != nil {
		return f.fault(action, f.count[action])
	}
	return nil, false
}

func (f *fakeAPI) ListAccessKeys(ctx context.Context, user string) ([]ram.AccessKey, error) {
	if err, _ := f.begin("ListAccessKeys"); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ram.AccessKey(nil), f.keys[user]...), nil
}

func (f *fakeAPI) LookupEvents(ctx context.Context, q ram.EventQuery, fn func(ram.Event) error) error {
	if err, _ := f.begin("LookupEvents"); err != nil {
		return err
	}
	f.mu.Lock()
	evs, ferr := append([]ram.Event(nil), f.events...), f.eventsErr
	f.mu.Unlock()
	if ferr != nil {
		return ferr
	}
	for _, e := range evs {
		if e.AccessKeyID != q.AccessKeyID.String() || e.Time.Before(q.Start) || e.Time.After(q.End) {
			continue
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeAPI) GetAccessKeyLastUsed(ctx context.Context, user string, id accesskey.ID) (time.Time, error) {
	f.begin("GetAccessKeyLastUsed")
	return time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), nil
}

func (f *fakeAPI) CreateAccessKey(ctx context.Context, user string, before []ram.AccessKey) (ram.NewAccessKey, error) {
	err, commit := f.begin("CreateAccessKey")
	if err != nil && !commit {
		return ram.NewAccessKey{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.EqualFunc(before, f.keys[user], func(a, b ram.AccessKey) bool { return a.ID == b.ID }) {
		f.stale++
	}
	if len(f.keys[user]) >= 2 {
		return ram.NewAccessKey{}, &ram.Error{Action: "CreateAccessKey", Code: "LimitExceeded.User.AccessKey", Class: ram.ErrKeyLimit}
	}
	f.n++
	id := fmt.Sprintf("LTAI5tNEW%015d", f.n)
	sec := fmt.Sprintf("NEWSECRET%021d", f.n)
	f.keys[user] = append(f.keys[user], ram.AccessKey{ID: accesskey.MustParseID(id), Status: ram.StatusActive, CreateDate: time.Now().UTC()})
	f.secrets[id] = sec
	if err != nil {
		return ram.NewAccessKey{}, err
	}
	return ram.NewAccessKey{ID: accesskey.MustParseID(id), Secret: accesskey.NewSecret(sec), Status: ram.StatusActive, RequestID: "req-create-" + id}, nil
}

func (f *fakeAPI) DeleteAccessKey(ctx context.Context, user string, id accesskey.ID) error {
	err, commit := f.begin("DeleteAccessKey " + id.String())
	if err != nil && !commit {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ks := f.keys[user]
	for i, k := range ks {
		if k.ID == id {
			f.keys[user] = append(ks[:i:i], ks[i+1:]...)
			delete(f.secrets, id.String())
			if f.bin == nil {
				f.bin = map[string]string{}
			}
			f.bin[id.String()] = user
			return err
		}
	}
	if err != nil {
		return err
	}
	return &ram.Error{Action: "DeleteAccessKey", KeyID: id.String(), Code: "EntityNotExist.User.AccessKey", Class: ram.ErrNotFound}
}

func (f *fakeAPI) GetAccessKeyInfoInRecycleBin(ctx context.Context, id accesskey.ID) (ram.BinnedKey, error) {
	if err, _ := f.begin("GetAccessKeyInfoInRecycleBin " + id.String()); err != nil {
		return ram.BinnedKey{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	user, ok := f.bin[id.String()]
	if !ok {
		return ram.BinnedKey{}, &ram.Error{Action: "GetAccessKeyInfoInRecycleBin", KeyID: id.String(), Code: "EntityNotExist.User.AccessKey", Class: ram.ErrNotFound}
	}
	rec := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	return ram.BinnedKey{ID: id, UserID: fakeUserID(user), UserName: user, UserPrincipalName: user + "@acme.onaliyun.com",
		RecycleDate: rec, DeleteDate: rec.Add(30 * 24 * time.Hour)}, nil
}

func (f *fakeAPI) DeleteAccessKeyInRecycleBin(ctx context.Context, userID string, id accesskey.ID) error {
	err, commit := f.begin("DeleteAccessKeyInRecycleBin " + id.String())
	if err != nil && !commit {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if user, ok := f.bin[id.String()]; ok && fakeUserID(user) == userID {
		delete(f.bin, id.String())
		return err
	}
	if err != nil {
		return err
	}
	return &ram.Error{Action: "DeleteAccessKeyInRecycleBin", KeyID: id.String(), Code: "EntityNotExist.User.AccessKey", Class: ram.ErrNotFound}
}

// binned lists the ids in the recycle bin.
func (f *fakeAPI) binned() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for id := range f.bin {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

func (f *fakeAPI) ids(user string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, k := range f.keys[user] {
		out = append(out, k.ID.String())
	}
	return out
}

// Authenticates is the fake Verifier: a pair authenticates while the key exists with that secret.
func (f *fakeAPI) Authenticates(ctx context.Context, id accesskey.ID, s accesskey.Secret) (ram.Identity, error) {
	if err, _ := f.begin("GetCallerIdentity"); err != nil {
		return ram.Identity{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if sec, ok := f.secrets[id.String()]; ok && sec == s.Reveal() {
		return ram.Identity{Arn: "acs:ram::1:user/x"}, nil
	}
	return ram.Identity{}, &ram.Error{Action: "GetCallerIdentity", Code: "InvalidAccessKeyId.NotFound", Class: ram.ErrInvalidCredentials}
}

type fakeAccounts struct{ api Cloud }

func (a fakeAccounts) API(ctx context.Context, id string) (Cloud, error) { return a.api, nil }

type fakeLocator struct {
	f     *fakeAPI
	owner ram.Owner
}

func (l fakeLocator) Locate(ctx context.Context, id accesskey.ID) (ram.Owner, error) {
	for _, k := range l.f.ids(l.owner.UserName) {
		if k == id.String() {
			o := l.owner
			o.KeyID = id
			return o, nil
		}
	}
	return ram.Owner{}, &ram.NotFoundError{KeyID: id}
}

// memSink stores secrets in memory.
type memSink struct {
	name string
	mu   sync.Mutex
	got  map[string]string
	fail error
	hook func()
}

func (m *memSink) Name() string     { return m.name }
func (m *memSink) Kind() string     { return "memory" }
func (m *memSink) Describe() string { return "memory slot " + m.name }
func (m *memSink) Store(ctx context.Context, c sink.Credential) (sink.Receipt, error) {
	if m.hook != nil {
		m.hook()
	}
	if m.fail != nil {
		return sink.Receipt{}, m.fail
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.got == nil {
		m.got = map[string]string{}
	}
	m.got[c.KeyID.String()] = c.Secret.Reveal()
	return sink.Receipt{Sink: m.name, Kind: "memory", Where: "memory:" + m.name}, nil
}

type memNotifier struct {
	mu   sync.Mutex
	msgs []notify.Message
}

func (n *memNotifier) Name() string { return "mem" }
func (n *memNotifier) Notify(ctx context.Context, m notify.Message) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.msgs = append(n.msgs, m)
	return nil
}

var errBoom = errors.New("boom")

// builtinSteps is the step order of a built-in playbook.
func builtinSteps(name string) []playbooks.StepID {
	pb, err := playbooks.Builtin(name)
	if err != nil {
		panic(err)
	}
	var out []playbooks.StepID
	for _, st := range pb.Steps {
		out = append(out, st.ID)
	}
	return out
}
