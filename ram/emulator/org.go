package emulator

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Org is a seed organisation: accounts, each with users, keys, roles, permission allow-lists,
// seeded ActionTrail events and KMS secrets. The YAML schema is documented in
// testdata/orgs/README.md. A Server copies the Org when it starts; changing it later has no effect.
type Org struct {
	Accounts []Account `yaml:"accounts"`
	// ActionTrail sets the ingestion lag and the region list (trail.go).
	ActionTrail *TrailSettings `yaml:"actiontrail,omitempty"`
}

// Account is one Alibaba Cloud account (a Resource Directory member).
type Account struct {
	ID         string `yaml:"id"`                   // 16 digits
	Name       string `yaml:"name,omitempty"`       // DisplayName in ListAccounts
	Alias      string `yaml:"alias,omitempty"`      // UserPrincipalName domain: <name>@<alias>.onaliyun.com; default the id
	Management bool   `yaml:"management,omitempty"` // the Resource Directory management account (at most one)
	// JoinTime is reported by ListAccounts; zero means the server start time.
	JoinTime time.Time `yaml:"joinTime,omitempty"`
	RootKeys []Key     `yaml:"rootKeys,omitempty"` // the account owner's own keys (UserName "")
	Policies []Policy  `yaml:"policies,omitempty"` // custom RAM policies (iamseed.go)
	Groups   []Group   `yaml:"groups,omitempty"`   // RAM user groups (iamseed.go)
	Users    []User    `yaml:"users,omitempty"`
	Roles    []Role    `yaml:"roles,omitempty"`
	Events   []Event   `yaml:"events,omitempty"`
	Secrets  []Secret  `yaml:"secrets,omitempty"`
	// Leaks are the account's Security Center AccessKey-leak records (sas.go).
	Leaks []Leak `yaml:"leaks,omitempty"`
}

// User is a RAM user.
type User struct {
	Name        string    `yaml:"name"`
	ID          string    `yaml:"id,omitempty"` // 16 digits; generated when empty
	DisplayName string    `yaml:"displayName,omitempty"`
	Comments    string    `yaml:"comments,omitempty"`
	Created     time.Time `yaml:"created,omitempty"`
	// Admin marks the sandbox administrator (Org.Admin); it implies Allow ["*"] when Allow is empty.
	Admin bool `yaml:"admin,omitempty"`
	// Canary marks a honeytoken user. The emulator treats it like any user; it is there for demos.
	Canary bool `yaml:"canary,omitempty"`
	// Allow lists the actions the user may call, as "product:Action" patterns with path.Match
	// wildcards: "*", "ram:*", "ram:List*", "sts:AssumeRole". Products: ram (RAM and IMS actions
	// alike: the cloud authorises IMS's as ram:<Action>; "ims:" is refused) sts actiontrail kms
	// resourcemanager, and Security Center's yundun-aegis (DescribeAccesskeyLeakList) and yundun-sas
	// (DescribeAccessKeyLeakDetail, ModifyAccessKeyLeakDeal). sts:GetCallerIdentity is always allowed.
	Allow []string `yaml:"allow,omitempty"`
	Keys  []Key    `yaml:"keys,omitempty"`
	// RecycleBin holds deleted keys still restorable (at most 3): they cannot sign, ListAccessKeys
	// does not show them, IMS ListAccessKeysInRecycleBin does. Each sets Recycled (default: the
	// server start); it is purged 30 days after.
	RecycleBin []Key `yaml:"recycleBin,omitempty"`
	// Recycled, when set, places the user itself in the account's RAM user recycle bin (deleted at
	// that time, restorable for 30 days), with its RecycleBin keys.
	Recycled time.Time `yaml:"recycled,omitempty"`
	// LastLogin seeds GetUser's LastLoginDate (the last console logon); zero means never.
	LastLogin time.Time `yaml:"lastLogin,omitempty"`
	// Status is the IMS user status: active (default) or freeze.
	Status string `yaml:"status,omitempty"`
	// Policies are the RAM policies attached to the user (a custom policy of the account by
	// name, else a system policy such as AdministratorAccess); Groups the groups it belongs to;
	// LoginProfile enables console logon (iamseed.go).
	Policies     []string      `yaml:"policies,omitempty"`
	Groups       []string      `yaml:"groups,omitempty"`
	LoginProfile *LoginProfile `yaml:"loginProfile,omitempty"`
	// CreatedAgo places Created that long before the server starts (like an event's ago).
	CreatedAgo time.Duration `yaml:"createdAgo,omitempty"`
}

// Key is an AccessKey pair.
type Key struct {
	ID      string    `yaml:"id"`               // LTAI + 12 or 20 letters and digits
	Secret  string    `yaml:"secret"`           // 30 letters and digits
	Status  string    `yaml:"status,omitempty"` // Active (default) or Inactive
	Created time.Time `yaml:"created,omitempty"`
	// LastUsed seeds GetAccessKeyLastUsed; zero means never used (seeded events may move it later).
	LastUsed        time.Time `yaml:"lastUsed,omitempty"`
	LastUsedService string    `yaml:"lastUsedService,omitempty"`
	// Recycled is when a key of a user's RecycleBin was deleted (only there).
	Recycled time.Time `yaml:"recycled,omitempty"`
	// Flagged marks a key Alibaba has flagged as exposed ("restrictive protection"): every RAM
	// and IMS call signed with it answers 403 Forbidden, "There is a risk of leakage of this AccessKey."
	Flagged bool `yaml:"flagged,omitempty"`
	// SourceIP is where the calls this key signs come from (policies' acs:SourceIp, network
	// policies, ActionTrail), unless a test sets SourceIPHeader.
	SourceIP string `yaml:"sourceIp,omitempty"`
	// CreatedAgo places Created that long before the server starts (like an event's ago).
	CreatedAgo time.Duration `yaml:"createdAgo,omitempty"`
}

// Role is a RAM role that principals of trusted accounts may assume with STS AssumeRole.
type Role struct {
	Name string `yaml:"name"`
	ID   string `yaml:"id,omitempty"`
	// Trust lists the account ids whose principals may assume the role; the role's own account
	// is always trusted. "*" trusts everyone.
	Trust              []string `yaml:"trust,omitempty"`
	Allow              []string `yaml:"allow,omitempty"`
	MaxSessionDuration int      `yaml:"maxSessionDuration,omitempty"` // seconds; default 3600
	// Policies are the RAM policies attached to the role, as for User.Policies.
	Policies []string `yaml:"policies,omitempty"`
}

// Event is one seeded ActionTrail event. Either Time or Ago (before the server's start) places it.
type Event struct {
	Time         time.Time         `yaml:"time,omitempty"`
	Ago          time.Duration     `yaml:"ago,omitempty"`
	ID           string            `yaml:"id,omitempty"` // eventId; generated when empty
	Name         string            `yaml:"name"`         // eventName, e.g. CreateUser
	Service      string            `yaml:"service,omitempty"`
	AccessKeyID  string            `yaml:"accessKeyId,omitempty"`
	UserName     string            `yaml:"userName,omitempty"`
	IdentityType string            `yaml:"identityType,omitempty"` // ram-user (default with userName), root-account, assumed-role
	SourceIP     string            `yaml:"sourceIp,omitempty"`
	UserAgent    string            `yaml:"userAgent,omitempty"`
	Region       string            `yaml:"region,omitempty"`
	RW           string            `yaml:"rw,omitempty"` // Read or Write; inferred from Name when empty
	ErrorCode    string            `yaml:"errorCode,omitempty"`
	ErrorMessage string            `yaml:"errorMessage,omitempty"`
	ResourceType string            `yaml:"resourceType,omitempty"`
	ResourceName string            `yaml:"resourceName,omitempty"`
	Params       map[string]string `yaml:"params,omitempty"` // requestParameters
	// Response is the event's responseElements (for example a created key's AccessKeyId).
	Response map[string]any `yaml:"response,omitempty"`
	// Repeat > 1 seeds Repeat copies, each Every earlier than the previous one.
	Repeat int           `yaml:"repeat,omitempty"`
	Every  time.Duration `yaml:"every,omitempty"`
}

// Secret is a KMS Secrets Manager secret with its versions (the last one is ACSCurrent unless
// stages say otherwise), or, with Type RAMCredentials, a secret that owns User's AccessKey: its one
// version ("v1") serves Key (default the user's newest key), and KMS rotates it (kms_rotate.go).
type Secret struct {
	Name     string          `yaml:"name"`
	Versions []SecretVersion `yaml:"versions,omitempty"`
	Type     string          `yaml:"type,omitempty"` // Generic (default) or RAMCredentials
	User     string          `yaml:"user,omitempty"` // RAMCredentials: the RAM user of the account
	Key      string          `yaml:"key,omitempty"`  // RAMCredentials: the current version's AccessKeyId
	// Stall makes this secret's rotations stay in progress for ever (RAMCredentials).
	Stall bool `yaml:"stall,omitempty"`
	// RotationInterval enables automatic rotation, as integer[d|h|m|s] between 6h and 8760h
	// (reported only: the emulator never rotates on its own).
	RotationInterval string `yaml:"rotationInterval,omitempty"`
}

// SecretVersion is one version of a KMS secret.
type SecretVersion struct {
	ID     string   `yaml:"id"`
	Data   string   `yaml:"data"`
	Stages []string `yaml:"stages,omitempty"`
}

// Credential is an AccessKey pair and whom it belongs to. UserName "" is the account's root key.
type Credential struct {
	AccountID, UserName, AccessKeyID, AccessKeySecret string
}

// GenSpec describes a generated organisation.
type GenSpec struct {
	Accounts, UsersPerAccount int
	Seed                      int64
}

//go:embed demo.yaml
var demoYAML []byte

// DemoOrg returns the embedded demo organisation (see README.md for the "leaked" key).
func DemoOrg() *Org {
	o, err := ParseOrg(demoYAML)
	if err != nil {
		panic("emulator: embedded demo.yaml is invalid: " + err.Error())
	}
	return o
}

// LoadOrg reads and parses a seed file.
func LoadOrg(p string) (*Org, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("load seed org: %w", err)
	}
	o, err := ParseOrg(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return o, nil
}

// ParseOrg decodes a seed organisation strictly (unknown fields are errors) and validates it.
// Errors carry the YAML line.
func ParseOrg(data []byte) (*Org, error) {
	var o Org
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&o); err != nil {
		return nil, fmt.Errorf("parse seed org: %w", err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("parse seed org: %w", err)
	}
	if err := o.validate(&root); err != nil {
		return nil, fmt.Errorf("parse seed org: %w", err)
	}
	return &o, nil
}

var (
	reDigits16 = regexp.MustCompile(`^[0-9]{16}$`)
	reUserName = regexp.MustCompile(`^[a-zA-Z0-9.@\-_]{1,64}$`)
	reKeyID    = regexp.MustCompile(`^LTAI([A-Za-z0-9]{12}|[A-Za-z0-9]{20})$`)
	reSecret   = regexp.MustCompile(`^[A-Za-z0-9]{30}$`)
)

// nodeAt walks a document node along map keys (string) and sequence indexes (int) and returns the
// deepest node reached, for error line numbers.
func nodeAt(root *yaml.Node, p ...any) *yaml.Node {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, step := range p {
		switch s := step.(type) {
		case string:
			if n.Kind != yaml.MappingNode {
				return n
			}
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == s {
					n, found = n.Content[i+1], true
					break
				}
			}
			if !found {
				return n
			}
		case int:
			if n.Kind != yaml.SequenceNode || s >= len(n.Content) {
				return n
			}
			n = n.Content[s]
		}
	}
	return n
}

func (o *Org) validate(root *yaml.Node) error {
	var errs []error
	bad := func(msg string, p ...any) {
		line := 0
		if root != nil {
			line = nodeAt(root, p...).Line
		}
		errs = append(errs, fmt.Errorf("line %d: %s", line, msg))
	}
	if len(o.Accounts) == 0 {
		bad("no accounts")
	}
	accounts := map[string]bool{}
	keys := map[string]bool{}
	leakIDs := map[int64]bool{}
	mgmt := 0
	checkKey := func(k Key, p ...any) {
		switch {
		case !reKeyID.MatchString(k.ID):
			bad(fmt.Sprintf("key id %q is not LTAI plus 12 or 20 letters and digits", k.ID), append(p, "id")...)
		case keys[k.ID]:
			bad(fmt.Sprintf("duplicate key id %s", k.ID), append(p, "id")...)
		}
		keys[k.ID] = true
		if !reSecret.MatchString(k.Secret) {
			bad(fmt.Sprintf("secret of key %s is not 30 letters and digits", k.ID), append(p, "secret")...)
		}
		if k.Status != "" && k.Status != "Active" && k.Status != "Inactive" {
			bad(fmt.Sprintf("key %s: status %q is not Active or Inactive", k.ID, k.Status), append(p, "status")...)
		}
	}
	checkAllow := func(allow []string, p ...any) {
		for i, a := range allow {
			if _, err := path.Match(a, "ram:ListUsers"); err != nil || (a != "*" && !strings.Contains(a, ":")) {
				bad(fmt.Sprintf("allow pattern %q is not \"*\" or product:Action", a), append(p, "allow", i)...)
			} else if strings.HasPrefix(a, "ims:") {
				bad(fmt.Sprintf("allow pattern %q: IMS actions are authorised as ram:<Action>, as in the cloud's policies", a), append(p, "allow", i)...)
			}
		}
	}
	for ai, a := range o.Accounts {
		ap := []any{"accounts", ai}
		if !reDigits16.MatchString(a.ID) {
			bad(fmt.Sprintf("account id %q is not 16 digits", a.ID), append(ap, "id")...)
		} else if accounts[a.ID] {
			bad(fmt.Sprintf("duplicate account id %s", a.ID), append(ap, "id")...)
		}
		accounts[a.ID] = true
		if a.Management {
			mgmt++
			if mgmt > 1 {
				bad("more than one management account", append(ap, "management")...)
			}
		}
		for ki, k := range a.RootKeys {
			checkKey(k, append(ap, "rootKeys", ki)...)
			if !k.Recycled.IsZero() {
				bad(fmt.Sprintf("key %s: recycled is for recycleBin keys only", k.ID), append(ap, "rootKeys", ki, "recycled")...)
			}
		}
		users := map[string]bool{}
		for ui, u := range a.Users {
			up := append(append([]any{}, ap...), "users", ui)
			if !reUserName.MatchString(u.Name) {
				bad(fmt.Sprintf("user name %q is not 1-64 of [a-zA-Z0-9.@-_]", u.Name), append(up, "name")...)
			} else if users[u.Name] {
				bad(fmt.Sprintf("duplicate user %s in account %s", u.Name, a.ID), append(up, "name")...)
			}
			users[u.Name] = true
			if u.ID != "" && !reDigits16.MatchString(u.ID) {
				bad(fmt.Sprintf("user id %q is not 16 digits", u.ID), append(up, "id")...)
			}
			if len(u.Keys) > 2 {
				bad(fmt.Sprintf("user %s has %d keys; a RAM user holds at most 2", u.Name, len(u.Keys)), append(up, "keys")...)
			}
			for ki, k := range u.Keys {
				checkKey(k, append(up, "keys", ki)...)
				if !k.Recycled.IsZero() {
					bad(fmt.Sprintf("key %s: recycled is for recycleBin keys only", k.ID), append(up, "keys", ki, "recycled")...)
				}
			}
			if len(u.RecycleBin) > binCapacity {
				bad(fmt.Sprintf("user %s has %d keys in the recycle bin; it holds at most %d", u.Name, len(u.RecycleBin), binCapacity), append(up, "recycleBin")...)
			}
			for ki, k := range u.RecycleBin {
				checkKey(k, append(up, "recycleBin", ki)...)
			}
			if u.Status != "" && u.Status != "active" && u.Status != "freeze" {
				bad(fmt.Sprintf("user %s: status %q is not active or freeze", u.Name, u.Status), append(up, "status")...)
			}
			checkAllow(u.Allow, up...)
		}
		roles := map[string]bool{}
		for ri, r := range a.Roles {
			rp := append(append([]any{}, ap...), "roles", ri)
			if !reUserName.MatchString(r.Name) || roles[r.Name] {
				bad(fmt.Sprintf("role name %q is invalid or duplicate", r.Name), append(rp, "name")...)
			}
			roles[r.Name] = true
			if r.MaxSessionDuration != 0 && (r.MaxSessionDuration < 900 || r.MaxSessionDuration > 43200) {
				bad("maxSessionDuration must be 900-43200 seconds", append(rp, "maxSessionDuration")...)
			}
			checkAllow(r.Allow, rp...)
		}
		for ei, e := range a.Events {
			ep := append(append([]any{}, ap...), "events", ei)
			if e.Name == "" {
				bad("event without name", ep...)
			}
			if !e.Time.IsZero() && e.Ago != 0 {
				bad("event has both time and ago", ep...)
			}
			if e.Repeat < 0 || e.Repeat > 10000 || e.Every < 0 {
				bad("event repeat must be 0-10000 and every positive", ep...)
			}
			if e.RW != "" && e.RW != "Read" && e.RW != "Write" {
				bad(fmt.Sprintf("event rw %q is not Read or Write", e.RW), append(ep, "rw")...)
			}
		}
		secrets := map[string]bool{}
		for si, s := range a.Secrets {
			sp := append(append([]any{}, ap...), "secrets", si)
			if s.Name == "" || secrets[s.Name] {
				bad(fmt.Sprintf("secret name %q is empty or duplicate", s.Name), append(sp, "name")...)
			}
			secrets[s.Name] = true
			validateSecretKind(a, s, func(msg string, p ...any) { bad(msg, append(sp, p...)...) })
			for vi, v := range s.Versions {
				if v.ID == "" {
					bad("secret version without id", append(sp, "versions", vi)...)
				}
			}
		}
		for li, l := range a.Leaks {
			lp := append(append([]any{}, ap...), "leaks", li)
			validateLeak(l, func(msg string, p ...any) { bad(msg, append(lp, p...)...) })
			if l.ID != 0 && leakIDs[l.ID] {
				bad(fmt.Sprintf("duplicate leak id %d", l.ID), append(lp, "id")...)
			}
			leakIDs[l.ID] = true
		}
	}
	for ai, a := range o.Accounts {
		for ri, r := range a.Roles {
			for ti, t := range r.Trust {
				if t != "*" && !accounts[t] {
					bad(fmt.Sprintf("role %s trusts unknown account %q", r.Name, t), "accounts", ai, "roles", ri, "trust", ti)
				}
			}
		}
	}
	o.validateTrail(bad)
	o.validateIAM(bad)
	return errors.Join(errs...)
}

// managementIndex is the index of the management account, or 0.
func (o *Org) managementIndex() int {
	for i, a := range o.Accounts {
		if a.Management {
			return i
		}
	}
	return 0
}

// Admin is the sandbox administrator: the first active key of the admin user of the management
// account (or, failing that, of any account; or the management account's first root key).
func (o *Org) Admin() Credential {
	if len(o.Accounts) == 0 {
		return Credential{}
	}
	order := []int{o.managementIndex()}
	for i := range o.Accounts {
		if i != order[0] {
			order = append(order, i)
		}
	}
	for _, i := range order {
		a := o.Accounts[i]
		for _, u := range a.Users {
			if !u.Admin {
				continue
			}
			for _, k := range u.Keys {
				if k.Status == "" || k.Status == "Active" {
					return Credential{AccountID: a.ID, UserName: u.Name, AccessKeyID: k.ID, AccessKeySecret: k.Secret}
				}
			}
		}
	}
	a := o.Accounts[order[0]]
	for _, k := range a.RootKeys {
		return Credential{AccountID: a.ID, AccessKeyID: k.ID, AccessKeySecret: k.Secret}
	}
	return Credential{}
}

// Key finds any seeded key by id (keys in a recycle bin too: they exist, but cannot sign).
func (o *Org) Key(id string) (Credential, bool) {
	for _, a := range o.Accounts {
		for _, k := range a.RootKeys {
			if k.ID == id {
				return Credential{AccountID: a.ID, AccessKeyID: k.ID, AccessKeySecret: k.Secret}, true
			}
		}
		for _, u := range a.Users {
			for _, k := range append(u.Keys[:len(u.Keys):len(u.Keys)], u.RecycleBin...) {
				if k.ID == id {
					return Credential{AccountID: a.ID, UserName: u.Name, AccessKeyID: k.ID, AccessKeySecret: k.Secret}, true
				}
			}
		}
	}
	return Credential{}, false
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randString(r *rand.Rand, alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

func randKey(r *rand.Rand, created time.Time) Key {
	return Key{ID: "LTAI5t" + randString(r, alnum, 18), Secret: randString(r, alnum, 30), Status: "Active", Created: created}
}

// GenerateOrg builds a deterministic organisation: spec.Accounts accounts (at least 1) of
// spec.UsersPerAccount users named user-0001…, each with 1 or 2 keys. Account 0 is the Resource
// Directory management account; it also holds the "admin" user (full permissions) and a root key.
// Every other account has a root key and the role ResourceDirectoryAccountAccessRole that the
// management account may assume.
func GenerateOrg(spec GenSpec) *Org {
	r := rand.New(rand.NewPCG(uint64(spec.Seed), 0x5eed))
	n := max(spec.Accounts, 1)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	o := &Org{}
	for ai := range n {
		a := Account{ID: fmt.Sprintf("1%015d", 100000000000000+int64(ai)*7919), Name: fmt.Sprintf("account-%d", ai)}
		a.RootKeys = []Key{randKey(r, base)}
		if ai == 0 {
			a.Management = true
			a.Name = "management"
			a.Users = append(a.Users, User{Name: "admin", Admin: true, Allow: []string{"*"}, Created: base, Keys: []Key{randKey(r, base)}})
		} else {
			a.Roles = []Role{{Name: "ResourceDirectoryAccountAccessRole", Trust: []string{o.Accounts[0].ID}, Allow: []string{"*"}}}
		}
		for ui := range spec.UsersPerAccount {
			created := base.Add(time.Duration(ui) * time.Minute)
			u := User{Name: fmt.Sprintf("user-%04d", ui+1), Created: created}
			for range 1 + r.IntN(2) {
				u.Keys = append(u.Keys, randKey(r, created))
			}
			a.Users = append(a.Users, u)
		}
		o.Accounts = append(o.Accounts, a)
	}
	return o
}
