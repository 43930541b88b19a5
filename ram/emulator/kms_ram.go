package emulator

// KMS RAM-credentials secrets (alibaba-api.md §13; README "KMS-managed RAM keys"): a secret that
// owns a RAM user's AccessKey. CreateSecret with SecretType=RAMCredentials, ListSecrets with
// Filters, and the RAM flavour of DescribeSecret and GetSecretValue live here; RotateSecret and
// the rotation itself in kms_rotate.go.

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"time"
)

const (
	secretTypeGeneric = "Generic"
	secretTypeRAM     = "RAMCredentials"
	ramSubType        = "RamUserAccessKey"
	ramSecretPrefix   = "acs/ram/user/"
)

// ramSecret is what a RAMCredentials secret holds besides its versions.
type ramSecret struct {
	user         string        // ExtendedConfig.UserName
	extended     string        // ExtendedConfig as given (echoed by DescribeSecret and GetSecretValue)
	interval     time.Duration // automatic rotation interval; 0: disabled
	lastRotation time.Time
	stall        bool         // its rotations never progress (seed stall: true)
	rotation     *kmsRotation // the rotation in progress, nil when none
}

// extendedConfig is a RAM secret's ExtendedConfig JSON text.
type extendedConfig struct {
	SecretSubType string         `json:"SecretSubType"`
	UserName      string         `json:"UserName"`
	CustomData    map[string]any `json:"CustomData,omitempty"`
}

// parseExtendedConfig checks CreateSecret's ExtendedConfig for a RAM secret: a JSON object of at
// most 1,024 bytes [DOC META], SecretSubType RamUserAccessKey, a valid UserName, at most 10
// CustomData entries [DOC].
func parseExtendedConfig(s string) (extendedConfig, error) {
	var ec extendedConfig
	if err := decodeBounded(s, 1024, &ec); err != nil {
		return ec, err
	}
	switch {
	case ec.SecretSubType != ramSubType:
		return ec, errors.New("SecretSubType is not " + ramSubType)
	case !reUserName.MatchString(ec.UserName):
		return ec, errors.New("UserName is empty or invalid")
	case len(ec.CustomData) > 10:
		return ec, errors.New("CustomData has more than 10 entries")
	}
	return ec, nil
}

// decodeBounded decodes the JSON object s, at most limit bytes, into v. Its errors quote nothing of
// s: json's syntax errors quote the offending character, and SecretData holds AccessKey secrets.
func decodeBounded(s string, limit int, v any) error {
	if len(s) > limit {
		return fmt.Errorf("longer than %d bytes", limit)
	}
	if json.Unmarshal([]byte(s), v) != nil {
		return errors.New("not a JSON object")
	}
	return nil
}

// ramSecretData is CreateSecret's SecretData for a RAM secret: every pair of the user.
type ramSecretData struct {
	AccessKeys []struct {
		AccessKeyID     string `json:"AccessKeyId"`
		AccessKeySecret string `json:"AccessKeySecret"`
	} `json:"AccessKeys"`
}

// parseRAMSecretData checks the shape (at most 30,720 bytes [DOC META], one to two pairs, both
// fields present); createRAMSecret checks the pairs against the user's keys.
func parseRAMSecretData(s string) (ramSecretData, error) {
	var d ramSecretData
	if err := decodeBounded(s, 30720, &d); err != nil {
		return d, err
	}
	if len(d.AccessKeys) == 0 || len(d.AccessKeys) > keyLimit {
		return d, errors.New("AccessKeys must list the user's one or two pairs")
	}
	for _, k := range d.AccessKeys {
		if k.AccessKeyID == "" || k.AccessKeySecret == "" {
			return d, errors.New("an AccessKeys entry lacks AccessKeyId or AccessKeySecret")
		}
	}
	return d, nil
}

var reInterval = regexp.MustCompile(`^([0-9]{1,10})([dhms])$`)

// parseRotationInterval reads integer[d|h|m|s] (7d, 604800s), 6 hours to 8,760 hours [DOC META].
func parseRotationInterval(s string) (time.Duration, bool) {
	m := reInterval.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	unit := map[string]time.Duration{"d": 24 * time.Hour, "h": time.Hour, "m": time.Minute, "s": time.Second}[m[2]]
	d := time.Duration(n) * unit
	if n > int64(8760*time.Hour/unit) || d < 6*time.Hour || d > 8760*time.Hour {
		return 0, false
	}
	return d, true
}

func intervalText(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}

func (r *ramSecret) automatic() string {
	if r.interval > 0 {
		return "Enabled"
	}
	return "Disabled"
}

func (r *ramSecret) nextRotation(created time.Time) time.Time {
	if r.interval == 0 {
		return time.Time{}
	}
	base := r.lastRotation
	if base.IsZero() {
		base = created
	}
	return base.Add(r.interval)
}

// ramSecretName is what $Auto becomes: acs/ram/user/<display name> [DOC §13], or the user name
// when the display name holds characters a secret name cannot [INF].
func ramSecretName(u *user) string {
	if reSecretNameChars.MatchString(u.displayName) {
		return ramSecretPrefix + u.displayName
	}
	return ramSecretPrefix + u.name
}

var reSecretNameChars = regexp.MustCompile(`^[A-Za-z0-9_/+=.@-]{1,179}$`)

func secretArn(c *call, name string) string {
	return "acs:kms:" + region(c) + ":" + c.acct.id + ":secret/" + name
}

// newestKey is the key a RAM secret serves when nothing says which: the user's latest.
func newestKey(keys []*keyState) *keyState {
	var best *keyState
	for _, k := range keys {
		if best == nil || !k.created.Before(best.created) {
			best = k
		}
	}
	return best
}

func ramVersion(id string, k *keyState, at time.Time) *kmsVersion {
	return &kmsVersion{id: id, keyID: k.id, keySecret: k.secret, keyCreated: k.created, stages: []string{"ACSCurrent"}, created: at}
}

// secretData is a version's value: as stored for a generic secret; for a RAM secret the one
// object Alibaba's consumers read [EXT §13].
func (v *kmsVersion) secretData() string {
	if v.keyID == "" {
		return v.data
	}
	b, _ := json.Marshal(map[string]string{"AccessKeyId": v.keyID, "AccessKeySecret": v.keySecret,
		"GenerateTimestamp": date(v.keyCreated)})
	return string(b)
}

func errBadParam(name, why string) *apiError {
	return errf(400, "InvalidParameter", "The specified parameter %s is not valid: %s.", name, why)
}

// createRAMSecret is CreateSecret with SecretType=RAMCredentials (VersionId and SecretData already present).
func createRAMSecret(s *Server, c *call) (map[string]any, *apiError) {
	if c.p("SecretName") != "$Auto" {
		return nil, errBadParam("SecretName", "a RAMCredentials secret is named by KMS: pass $Auto")
	}
	ec, err := parseExtendedConfig(c.p("ExtendedConfig"))
	if err != nil {
		return nil, errBadParam("ExtendedConfig", err.Error())
	}
	u := c.acct.users[ec.UserName]
	if u == nil {
		return nil, errBadParam("ExtendedConfig", "the RAM user does not exist")
	}
	data, err := parseRAMSecretData(c.p("SecretData"))
	if err != nil {
		return nil, errBadParam("SecretData", err.Error())
	}
	if len(data.AccessKeys) != len(u.keys) {
		return nil, errBadParam("SecretData", "it must list every AccessKey pair of the user")
	}
	for _, p := range data.AccessKeys {
		k := owner{acct: c.acct, u: u}.findKey(p.AccessKeyID)
		if k == nil || k.secret != p.AccessKeySecret {
			return nil, errBadParam("SecretData", "a pair is not one of the user's AccessKeys")
		}
	}
	rs := &ramSecret{user: u.name, extended: c.p("ExtendedConfig")}
	if c.p("EnableAutomaticRotation") == "true" {
		d, ok := parseRotationInterval(c.p("RotationInterval"))
		if !ok {
			return nil, errBadParam("RotationInterval", "integer[d|h|m|s], 6h to 8760h")
		}
		rs.interval = d
	}
	name := ramSecretName(u)
	if c.acct.secrets[name] != nil {
		return nil, errf(409, "Rejected.ResourceExist", "The resource already exists.")
	}
	sec := &kmsSecret{name: name, dataType: "text", created: c.now, description: c.p("Description"), ram: rs,
		versions: []*kmsVersion{ramVersion(c.p("VersionId"), newestKey(u.keys), c.now)}}
	c.acct.secrets[name] = sec
	return map[string]any{"Arn": secretArn(c, name), "SecretName": name, "VersionId": c.p("VersionId"),
		"SecretType": secretTypeRAM, "AutomaticRotation": rs.automatic(), "RotationInterval": intervalText(rs.interval),
		"NextRotationDate": date(rs.nextRotation(c.now)), "ExtendedConfig": rs.extended, "DKMSInstanceId": ""}, nil
}

// ---- ListSecrets ----

// secretFilter is one ListSecrets filter: the secret matches when its Key property equals one of
// Values (values ORed [DOC]; filters ANDed [INF]).
type secretFilter struct {
	Key    string   `json:"Key"`
	Values []string `json:"Values"`
}

var filterKeys = []string{"SecretName", "Description", "TagKey", "TagValue", "DKMSInstanceId", "SecretType", "Creator"}

// parseSecretFilters reads ListSecrets' Filters: a JSON array of at most 10 {Key, Values} with at
// most 10 values each and a documented Key [DOC META]; "" is no filter.
func parseSecretFilters(s string) ([]secretFilter, error) {
	if s == "" {
		return nil, nil
	}
	var fs []secretFilter
	if err := json.Unmarshal([]byte(s), &fs); err != nil {
		return nil, fmt.Errorf("not a JSON array of {Key, Values}: %w", err)
	}
	if len(fs) > 10 {
		return nil, errors.New("more than 10 filters")
	}
	for _, f := range fs {
		if !slices.Contains(filterKeys, f.Key) {
			return nil, fmt.Errorf("unknown Key %q", f.Key)
		}
		if len(f.Values) > 10 {
			return nil, fmt.Errorf("more than 10 values for %s", f.Key)
		}
	}
	return fs, nil
}

func (sec *kmsSecret) secretType() string {
	if sec.ram != nil {
		return secretTypeRAM
	}
	return secretTypeGeneric
}

// property is what a filter Key compares: the emulator has no tags and no KMS instances, so
// TagKey, TagValue and DKMSInstanceId match nothing; Creator is the account id [INF].
func (sec *kmsSecret) property(key, account string) (string, bool) {
	switch key {
	case "SecretName":
		return sec.name, true
	case "Description":
		return sec.description, true
	case "SecretType":
		return sec.secretType(), true
	case "Creator":
		return account, true
	}
	return "", false
}

func (sec *kmsSecret) matches(fs []secretFilter, account string) bool {
	for _, f := range fs {
		if len(f.Values) == 0 {
			continue // no values: no constraint [INF]
		}
		v, ok := sec.property(f.Key, account)
		if !ok || !slices.Contains(f.Values, v) {
			return false
		}
	}
	return true
}

func (sec *kmsSecret) updated() time.Time {
	t := sec.created
	for _, v := range sec.versions {
		if v.created.After(t) {
			t = v.created
		}
	}
	return t
}

// pageArgs reads PageNumber (default 1, at most 2^31-1: page*size cannot overflow) and PageSize
// (default 10, 1-100).
func pageArgs(c *call) (page, size int, e *apiError) {
	p, e := intParam(c, "PageNumber", 1, 1, 1<<31-1)
	if e != nil {
		return 0, 0, e
	}
	n, e := intParam(c, "PageSize", 10, 1, 100)
	if e != nil {
		return 0, 0, e
	}
	return int(p), int(n), nil
}

// kmsListSecrets lists the account's secrets by name [INF order], a page at a time.
func kmsListSecrets(s *Server, c *call) (map[string]any, *apiError) {
	page, size, e := pageArgs(c)
	if e != nil {
		return nil, e
	}
	fs, err := parseSecretFilters(c.p("Filters"))
	if err != nil {
		return nil, errBadParam("Filters", err.Error())
	}
	names := make([]string, 0, len(c.acct.secrets))
	for n, sec := range c.acct.secrets {
		if sec.matches(fs, c.acct.id) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	tags := c.p("FetchTags") == "true"
	list := []map[string]any{}
	for i := (page - 1) * size; i < len(names) && len(list) < size; i++ {
		sec := c.acct.secrets[names[i]]
		m := map[string]any{"SecretName": sec.name, "SecretType": sec.secretType(), "CreateTime": date(sec.created),
			"UpdateTime": date(sec.updated()), "PlannedDeleteTime": ""}
		if tags {
			m["Tags"] = map[string]any{"Tag": []any{}}
		}
		list = append(list, m)
	}
	return map[string]any{"PageNumber": page, "PageSize": size, "TotalCount": len(names),
		"SecretList": map[string]any{"Secret": list}}, nil
}

// ---- GetSecretValue of a RAM secret ----

// getRAMSecretValue answers ACSCurrent (default) or ACSPrevious; VersionId is ignored [DOC META].
func getRAMSecretValue(c *call, sec *kmsSecret) (map[string]any, *apiError) {
	stage := c.p("VersionStage")
	if stage == "" {
		stage = "ACSCurrent"
	}
	if stage != "ACSCurrent" && stage != "ACSPrevious" {
		return nil, errBadParam("VersionStage", "a RAMCredentials secret has only ACSCurrent and ACSPrevious")
	}
	for _, v := range sec.versions {
		if !slices.Contains(v.stages, stage) {
			continue
		}
		rs := sec.ram
		out := map[string]any{"SecretName": sec.name, "VersionId": v.id, "SecretData": v.secretData(), "SecretType": secretTypeRAM,
			"SecretDataType": "text", "VersionStages": kmsStages(v), "CreateTime": date(v.created),
			"AutomaticRotation": rs.automatic(), "RotationInterval": intervalText(rs.interval),
			"NextRotationDate": date(rs.nextRotation(sec.created)), "LastRotationDate": date(rs.lastRotation), "ExtendedConfig": ""}
		if c.p("FetchExtendedConfig") == "true" {
			out["ExtendedConfig"] = rs.extended
		}
		return out, nil
	}
	return nil, errNoSecret()
}

// ---- seeding ----

// seedRAMSecret builds a seeded RAMCredentials secret (validated by ParseOrg: the user exists
// and has a key). Its one version, "v1", serves Key (default the user's newest key).
func seedRAMSecret(acc *account, sec Secret, now time.Time) *kmsSecret {
	u := acc.users[sec.User]
	if u == nil {
		return nil
	}
	k := newestKey(u.keys)
	for _, x := range u.keys {
		if x.id == sec.Key {
			k = x
		}
	}
	if k == nil {
		return nil
	}
	ec, _ := json.Marshal(extendedConfig{SecretSubType: ramSubType, UserName: u.name})
	rs := &ramSecret{user: u.name, extended: string(ec), stall: sec.Stall}
	if sec.RotationInterval != "" {
		rs.interval, _ = parseRotationInterval(sec.RotationInterval)
	}
	return &kmsSecret{name: sec.Name, dataType: "text", created: now, ram: rs,
		versions: []*kmsVersion{ramVersion("v1", k, now)}}
}

// validateRAMSecret checks a seeded RAMCredentials secret against its account.
func validateRAMSecret(a Account, s Secret, bad func(msg string, p ...any)) {
	if len(s.Versions) > 0 {
		bad(fmt.Sprintf("secret %s: a RAMCredentials secret's version comes from the user's key, not versions", s.Name), "versions")
	}
	if s.RotationInterval != "" {
		if _, ok := parseRotationInterval(s.RotationInterval); !ok {
			bad(fmt.Sprintf("secret %s: rotationInterval %q is not integer[d|h|m|s] between 6h and 8760h", s.Name, s.RotationInterval), "rotationInterval")
		}
	}
	for _, u := range a.Users {
		if u.Name != s.User || !u.Recycled.IsZero() {
			continue
		}
		if len(u.Keys) == 0 {
			bad(fmt.Sprintf("secret %s: user %s has no key", s.Name, s.User), "user")
		}
		if s.Key != "" && !slices.ContainsFunc(u.Keys, func(k Key) bool { return k.ID == s.Key }) {
			bad(fmt.Sprintf("secret %s: key %s is not one of user %s's keys", s.Name, s.Key, s.User), "key")
		}
		return
	}
	bad(fmt.Sprintf("secret %s: user %q is not a user of the account", s.Name, s.User), "user")
}

// validateSecretKind checks the fields that depend on a seeded secret's type.
func validateSecretKind(a Account, s Secret, bad func(msg string, p ...any)) {
	switch s.Type {
	case secretTypeRAM:
		validateRAMSecret(a, s, bad)
	case "", secretTypeGeneric:
		if s.User != "" || s.Key != "" || s.Stall || s.RotationInterval != "" {
			bad(fmt.Sprintf("secret %s: user, key, stall and rotationInterval are for type RAMCredentials", s.Name))
		}
		if len(s.Versions) == 0 {
			bad(fmt.Sprintf("secret %s has no versions", s.Name))
		}
	default:
		bad(fmt.Sprintf("secret %s: type %q is not Generic or RAMCredentials", s.Name, s.Type), "type")
	}
}
