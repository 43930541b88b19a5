package emulator

// KMS RotateSecret of a RAM-credentials secret (alibaba-api.md §13; README "KMS-managed RAM
// keys"). A rotation is what KMS does through RAM, in two phases each DefaultKMSRotationDelay
// (WithKMSRotationDelay) after the previous one:
//
//  1. CreateAccessKey for the user; the new pair becomes the secret's ACSCurrent version (named by
//     the RotateSecret's VersionId), the old one ACSPrevious. If RAM refuses (the user already
//     holds two keys, or is gone), the rotation ends there and the secret is left as it was.
//  2. DeleteAccessKey of the old pair, the way RAM's own DeleteAccessKey does it (recycle bin,
//     propagation delay). The rotation is then over.
//
// Both RAM calls are served as by KMS's role AliyunKMSManagedRAMCrendentialsRole: they appear in
// the request log and in ActionTrail. The phases run on the emulator's clock without a goroutine
// or a timer: whatever observes the state (every request, before authentication, and
// RequestLog) first runs the phases that are due, so a test's clock (WithClock) drives them and
// Close has nothing to stop.

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// DefaultKMSRotationDelay is the default time each rotation phase takes (short, but a client
// must poll; the cloud takes minutes to days).
const DefaultKMSRotationDelay = 2 * time.Second

// KMSRotationsPerHour is the documented limit of RotateSecret calls per account and hour.
const KMSRotationsPerHour = 50

// KMSServiceRole is the RAM role KMS manages RAM users' keys with [DOC §13, sic].
const KMSServiceRole = "AliyunKMSManagedRAMCrendentialsRole"

// kmsServiceUserAgent is the User-Agent of the RAM calls a rotation makes [INF].
const kmsServiceUserAgent = "kms.aliyuncs.com"

// WithKMSRotationDelay sets how long each phase of a KMS rotation takes (default
// DefaultKMSRotationDelay; 0: a phase completes at the next request).
func WithKMSRotationDelay(d time.Duration) Option {
	return func(s *Server) { s.kmsDelay.Store(int64(max(d, 0))) }
}

// WithKMSRotationStalled makes every KMS rotation stall: RotateSecret succeeds, the rotation stays
// in progress for ever and changes nothing (the seed's stall: true does it for one secret).
func WithKMSRotationStalled() Option { return func(s *Server) { s.kmsStalled.Store(true) } }

// SetKMSRotationDelay sets the phase delay of rotations started from now on.
func (s *Server) SetKMSRotationDelay(d time.Duration) { s.kmsDelay.Store(int64(max(d, 0))) }

// SetKMSRotationStalled makes rotations started from now on stall (true) or progress (false).
func (s *Server) SetKMSRotationStalled(stalled bool) { s.kmsStalled.Store(stalled) }

// kmsRotation is a rotation in progress.
type kmsRotation struct {
	acct      *account
	sec       *kmsSecret
	versionID string
	region    string
	due       time.Time // when the next phase runs; zero: stalled
	phase     int       // 0: create the new key, 1: delete the old one
	oldKey    string
}

var (
	errRotating = func() *apiError {
		return errf(409, "Rejected.RotationInProgress", "The secret is being rotated. Retry after the rotation completes.")
	}
	errRotationLimit = func() *apiError {
		return errf(400, "Rejected.LimitExceeded", "The secret rotation limit of %d per hour is exceeded.", KMSRotationsPerHour)
	}
	errUnsupportedSecretOp = func() *apiError {
		return errf(400, "Rejected.UnsupportedOperation", "The operation is not supported for this type of secret.")
	}
)

func kmsRotateSecret(s *Server, c *call) (map[string]any, *apiError) {
	for _, n := range []string{"SecretName", "VersionId"} {
		if c.p(n) == "" {
			return nil, missing(n)
		}
	}
	vid := c.p("VersionId")
	if len(vid) > 64 {
		return nil, errBadParam("VersionId", "longer than 64 characters")
	}
	sec := c.acct.secrets[c.p("SecretName")]
	if sec == nil {
		return nil, errNoSecret()
	}
	if sec.ram == nil {
		return nil, errUnsupportedSecretOp()
	}
	out := map[string]any{"Arn": secretArn(c, sec.name), "SecretName": sec.name, "VersionId": vid}
	rot := sec.ram.rotation
	if rot != nil && rot.versionID == vid || slices.ContainsFunc(sec.versions, func(v *kmsVersion) bool { return v.id == vid }) {
		return out, nil // an existing version: ignored, and success [DOC]
	}
	if rot != nil {
		return nil, errRotating()
	}
	a := c.acct
	a.kmsRotations = slices.DeleteFunc(a.kmsRotations, func(t time.Time) bool { return !c.now.Before(t.Add(time.Hour)) })
	if len(a.kmsRotations) >= KMSRotationsPerHour {
		return nil, errRotationLimit()
	}
	a.kmsRotations = append(a.kmsRotations, c.now)
	rot = &kmsRotation{acct: a, sec: sec, versionID: vid, region: region(c)}
	sec.ram.rotation = rot
	if !sec.ram.stall && !s.kmsStalled.Load() {
		rot.due = c.now.Add(time.Duration(s.kmsDelay.Load()))
		s.kmsActive = append(s.kmsActive, rot)
		s.kmsPending.Store(int32(len(s.kmsActive)))
	}
	return out, nil
}

// advanceKMS runs the rotation phases due by now. Call with s.mu held.
func (s *Server) advanceKMS(now time.Time) {
	if s.kmsPending.Load() == 0 {
		return
	}
	kept := s.kmsActive[:0]
	for _, r := range s.kmsActive {
		for !r.due.After(now) && s.rotationStep(r) {
		}
		if r.sec.ram.rotation == r {
			kept = append(kept, r)
		}
	}
	clear(s.kmsActive[len(kept):])
	s.kmsActive = kept
	s.kmsPending.Store(int32(len(kept)))
}

// rotationStep runs r's next phase at r.due and reports whether another phase follows.
func (s *Server) rotationStep(r *kmsRotation) bool {
	sec, at := r.sec, r.due
	delay := time.Duration(s.kmsDelay.Load())
	switch r.phase {
	case 0:
		var cur *kmsVersion
		for _, v := range sec.versions {
			if slices.Contains(v.stages, "ACSCurrent") {
				cur = v
			}
		}
		body, e := s.kmsServiceCall(r, "CreateAccessKey", at, "UserName", sec.ram.user)
		if e != nil {
			sec.ram.rotation = nil // failed: the secret keeps its versions [INF]
			return false
		}
		nk := s.keys[fieldString(body["AccessKey"].(object), "AccessKeyId")]
		for _, v := range sec.versions {
			v.stages = slices.DeleteFunc(v.stages, func(st string) bool { return st == "ACSPrevious" })
		}
		if cur != nil {
			cur.stages = []string{"ACSPrevious"}
			r.oldKey = cur.keyID
		}
		sec.versions = append(sec.versions, ramVersion(r.versionID, nk, at))
		sec.ram.lastRotation = at
		r.phase, r.due = 1, at.Add(delay)
		return true
	default:
		if r.oldKey != "" {
			// An old key already gone (deleted by someone else) answers an error, recorded; the
			// rotation completes all the same [INF].
			_, _ = s.kmsServiceCall(r, "DeleteAccessKey", at, "UserName", sec.ram.user, "UserAccessKeyId", r.oldKey)
		}
		sec.ram.rotation = nil
		return false
	}
}

func fieldString(o object, k string) string {
	for _, f := range o {
		if f.k == k {
			return f.s
		}
	}
	return ""
}

// kmsServiceCall serves a RAM call made by KMS's service role in r's account at time at, as
// RAM serves a client's (the same handler, so a deleted key lands in the recycle bin), and
// records it in the request log and ActionTrail. Call with s.mu held.
func (s *Server) kmsServiceCall(r *kmsRotation, action string, at time.Time, args ...string) (map[string]any, *apiError) {
	k := s.kmsRoleKey(r.acct)
	list := []param{{"Action", action}, {"Version", "2015-05-01"}, {"Format", "JSON"}, {"AccessKeyId", k.id}, {"RegionId", r.region}}
	for i := 0; i+1 < len(args); i += 2 {
		list = append(list, param{args[i], args[i+1]})
	}
	c := &call{r: &http.Request{Header: http.Header{"User-Agent": {kmsServiceUserAgent}}}, params: params{list: list, body: len(list)},
		version: "2015-05-01", action: action, prod: products["2015-05-01"], rid: s.requestID(false), now: at,
		key: k, acct: r.acct, sess: k.sess, src: kmsServiceUserAgent}
	c.scratch = s.getScratch()
	defer s.putScratch(c.scratch)
	body, e := c.prod.actions[action](s, c)
	status, code := 200, ""
	if e != nil {
		status, code = e.Status, e.Code
	} else {
		body["RequestId"] = c.rid
		c.resp = body
	}
	s.recordEvent(c, e)
	s.record(c, status, code)
	return body, e
}

// kmsRoleKey is the credential KMS's role session signs with in acc: never in the key table, so
// nobody can sign with it.
func (s *Server) kmsRoleKey(acc *account) *keyState {
	if acc.kmsKey != nil {
		return acc.kmsKey
	}
	ro := acc.roles[strings.ToLower(KMSServiceRole)]
	if ro == nil {
		ro = &role{acct: acc, name: KMSServiceRole, id: s.numericID(), maxSession: 3600}
	}
	sess := &session{role: ro, name: "kms-secrets-manager", expires: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}
	acc.kmsKey = &keyState{id: "STS.KMS" + randString(s.rng, alnum, 21), status: "Active", acct: acc, sess: sess}
	return acc.kmsKey
}
