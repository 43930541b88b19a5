package ram

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"

	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"

	"github.com/respond-dev/respond/ram/accesskey"
)

// Permission probes (respond doctor): one harmless call per permission, which tells whether the
// signing principal holds it without changing anything.
//
// A read is probed by its cheapest form (MaxItems=1, PageSize=1, or a target that cannot exist).
// A write is probed by a call that must fail: on a target that cannot exist (a user named
// respond-doctor-<random>, a key id LTAIDOCTOR<random>), so that the only answers are "no
// permission" or "no such target". The cloud names the resource a RAM action is authorised on from
// the request's own parameters (acs:ram:*:<account>:user/<UserName>), so it can decide before it
// looks the user up; that it does so — permission first, existence second — is not written in
// Alibaba's documentation: a not-found therefore proves the permission by inference (Inferred).
// Any other answer is GrantUnknown, never taken for a grant.

// Grant is what a probe learned about one permission.
type Grant string

// Grant values.
const (
	// GrantGranted: the call passed authorisation (it succeeded, or failed for lack of its target).
	GrantGranted Grant = "granted"
	// GrantDenied: the cloud refused for lack of permission (NoPermission and its kin).
	GrantDenied Grant = "denied"
	// GrantUnknown: an answer that is neither (a parameter refused, a write that succeeded).
	GrantUnknown Grant = "unknown"
	// GrantError: the probe could not be made (transport, credentials, throttling, 5xx).
	GrantError Grant = "error"
	// GrantNotProbed: no call was made (no harmless one proves the permission: Detail says
	// why), or the endpoint does not know the action (an emulator without it).
	GrantNotProbed Grant = "not-probed"
)

// ProbeKind names one probe: the product and the API action it calls.
type ProbeKind string

// The probes.
const (
	ProbeListUsers                    ProbeKind = "Ram.ListUsers"
	ProbeGetUser                      ProbeKind = "Ram.GetUser"
	ProbeListAccessKeys               ProbeKind = "Ram.ListAccessKeys"
	ProbeGetAccessKeyLastUsed         ProbeKind = "Ram.GetAccessKeyLastUsed"
	ProbeCreateAccessKey              ProbeKind = "Ram.CreateAccessKey"
	ProbeDeleteAccessKey              ProbeKind = "Ram.DeleteAccessKey"
	ProbeAttachPolicyToUser           ProbeKind = "Ram.AttachPolicyToUser"
	ProbeDetachPolicyFromUser         ProbeKind = "Ram.DetachPolicyFromUser"
	ProbeIMSGetUser                   ProbeKind = "Ims.GetUser"
	ProbeGetAccessKeyInfoInRecycleBin ProbeKind = "Ims.GetAccessKeyInfoInRecycleBin"
	ProbeDeleteAccessKeyInRecycleBin  ProbeKind = "Ims.DeleteAccessKeyInRecycleBin"
	ProbeLastUsedInfo                 ProbeKind = "Actiontrail.GetAccessKeyLastUsedInfo"
	ProbeLookupEvents                 ProbeKind = "Actiontrail.LookupEvents"
	ProbeListAccounts                 ProbeKind = "ResourceManager.ListAccounts"
	ProbeDescribeSecret               ProbeKind = "Kms.DescribeSecret"
	ProbeListSecrets                  ProbeKind = "Kms.ListSecrets"
	ProbeGetSecretValue               ProbeKind = "Kms.GetSecretValue"
	ProbeRotateSecret                 ProbeKind = "Kms.RotateSecret"
	ProbePutSecretValue               ProbeKind = "Kms.PutSecretValue"
	ProbeCreateSecret                 ProbeKind = "Kms.CreateSecret"
	ProbeLeakList                     ProbeKind = "Sas.DescribeAccesskeyLeakList"
	ProbeLeakDeal                     ProbeKind = "Sas.ModifyAccessKeyLeakDeal"
)

// ProbeTarget is what the probes name: things that cannot exist, fresh for each run. Build it
// with NewProbeTarget; the KMS probes also need SecretName.
type ProbeTarget struct {
	// UserName is respond-doctor-<16 hex digits>: no user of that name exists (64 random bits,
	// never published before the run). It is never empty: an empty UserName means "the caller
	// itself" to CreateAccessKey and DeleteAccessKey.
	UserName string
	// UserID is a random 18-digit number (real user ids have 16): no user has it.
	UserID string
	// KeyID is LTAIDOCTOR plus 14 random letters and digits: no key has it.
	KeyID accesskey.ID
	// PolicyName, RoleName and GroupName are respond-doctor-<hex>: no policy, role or group has
	// them.
	PolicyName, RoleName, GroupName string
	// AccountID is the account probed, for the user principal name of the probe user in its
	// default domain (<account id>.onaliyun.com); "" leaves that probe out.
	AccountID string
	// LeakID is a random Security Center record id above 2^53 (real ones are six digits).
	LeakID int64
	// SecretName is a KMS secret name that does not exist (the sink's template with UserName
	// put in, or the sink's name with respond-doctor-<random> after it): PutSecretValue on it
	// must fail.
	SecretName string
	// KMSKeyID is a random UUID: no KMS key (CMK) has it. CreateSecret encrypting with it must
	// fail, for lack of permission or of the key.
	KMSKeyID string
}

// RAMSecretName is the RAM credentials secret of the probe user, acs/ram/user/respond-doctor-…:
// KMS names such a secret after its user, so none has this name while the user does not exist
// (respond doctor checks that it does not first). The name has the form of a real one, so that a
// policy narrowed to acs:kms:*:*:secret/acs/ram/user/* is probed as it applies. RotateSecret and
// GetSecretValue are only ever probed on it; "" without a probe user.
func (t ProbeTarget) RAMSecretName() string {
	if !strings.HasPrefix(t.UserName, "respond-doctor-") {
		return ""
	}
	return "acs/ram/user/" + t.UserName
}

// NewProbeTarget draws a fresh target.
func NewProbeTarget() (ProbeTarget, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return ProbeTarget{}, fmt.Errorf("draw a probe name: %w", err)
	}
	hx := hex.EncodeToString(b[:])
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	tail := make([]byte, 14)
	for i := range tail {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alnum))))
		if err != nil {
			return ProbeTarget{}, fmt.Errorf("draw a probe key id: %w", err)
		}
		tail[i] = alnum[n.Int64()]
	}
	id, err := accesskey.ParseID("LTAIDOCTOR" + string(tail))
	if err != nil {
		return ProbeTarget{}, fmt.Errorf("draw a probe key id: %w", err)
	}
	uid, err := rand.Int(rand.Reader, new(big.Int).Exp(big.NewInt(10), big.NewInt(17), nil))
	if err != nil {
		return ProbeTarget{}, fmt.Errorf("draw a probe user id: %w", err)
	}
	leak, err := rand.Int(rand.Reader, big.NewInt(1<<61))
	if err != nil {
		return ProbeTarget{}, fmt.Errorf("draw a probe record id: %w", err)
	}
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		return ProbeTarget{}, fmt.Errorf("draw a probe KMS key id: %w", err)
	}
	u[6], u[8] = u[6]&0x0f|0x40, u[8]&0x3f|0x80 // a version 4 UUID, as KMS key ids are
	uh := hex.EncodeToString(u[:])
	return ProbeTarget{
		UserName:   "respond-doctor-" + hx,
		UserID:     "9" + fmt.Sprintf("%017d", uid),
		KeyID:      id,
		PolicyName: "respond-doctor-" + hx,
		RoleName:   "respond-doctor-" + hx,
		GroupName:  "respond-doctor-" + hx,
		LeakID:     1<<53 + leak.Int64(),
		KMSKeyID:   uh[:8] + "-" + uh[8:12] + "-" + uh[12:16] + "-" + uh[16:20] + "-" + uh[20:],
	}, nil
}

// ProbeResult is one probe's answer.
type ProbeResult struct {
	Kind ProbeKind `json:"kind"`
	// Permission is the RAM action the cloud's policies name, e.g. ram:DeleteAccessKey.
	Permission string `json:"permission"`
	// AuthAction is the action the cloud said it checked (AccessDeniedDetail), when it sent one.
	AuthAction string `json:"auth_action,omitempty"`
	// Call is the call made, e.g. DeleteAccessKey(UserName=respond-doctor-…, UserAccessKeyId=LTAI…).
	Call  string `json:"call"`
	Grant Grant  `json:"grant"`
	// Code is the cloud's error code ("" for success); RequestID its request id.
	Code      string `json:"code,omitempty"`
	RequestID string `json:"request_id,omitempty"`
	// Inferred: GrantGranted was concluded from a not-found answer, which relies on the cloud
	// checking permission before existence (not documented).
	Inferred bool `json:"inferred,omitempty"`
	// Detail says why, in words (never a secret).
	Detail string `json:"detail,omitempty"`
	// Total is a list probe's TotalCount (ListSecrets: how many RAM credentials secrets the
	// account has), when the call succeeded and the answer had one.
	Total *int `json:"total,omitempty"`
}

// Missing names the permission to grant: the cloud's own AuthAction when it sent one.
func (r ProbeResult) Missing() string {
	if r.AuthAction != "" {
		return r.AuthAction
	}
	return r.Permission
}

// ProbeInfo documents one probe (ProbeCatalog).
type ProbeInfo struct {
	Kind       ProbeKind
	Permission string
	Write      bool
	// Safe says why the call changes nothing.
	Safe string
	// NamesPolicy: the call names the made-up custom policy (respond-doctor-<random>).
	NamesPolicy bool
	// Unprobed says why no call is made for this permission ("" when one is).
	Unprobed string
}

type probeDef struct {
	product, sdkProduct, version, api string
	permission                        string
	write                             bool
	// okGranted: a write whose success proves the permission and changes nothing (an unknown
	// record id that the service accepts and ignores).
	okGranted bool
	// notFound are answer codes, besides ErrNotFound's, that say the target is missing.
	notFound []string
	// ownAuth: a refusal that names another action (AuthAction) says nothing of this one (the
	// probe's made-up target needs a permission a run does not).
	ownAuth bool
	// total: the answer's TotalCount is reported (ProbeResult.Total).
	total bool
	// unprobed: no harmless call proves this permission, and why; Probe answers GrantNotProbed
	// without calling.
	unprobed string
	params   func(t ProbeTarget) (map[string]string, error)
	safe     string
}

func userParams(t ProbeTarget) (map[string]string, error) {
	if t.UserName == "" {
		return nil, errors.New("no probe user name (an empty UserName means the caller itself)")
	}
	return map[string]string{"UserName": t.UserName}, nil
}

func userKeyParams(t ProbeTarget) (map[string]string, error) {
	p, err := userParams(t)
	if err != nil {
		return nil, err
	}
	if t.KeyID.IsZero() {
		return nil, errors.New("no probe key id")
	}
	p["UserAccessKeyId"] = t.KeyID.String()
	return p, nil
}

func keyParams(name string) func(t ProbeTarget) (map[string]string, error) {
	return func(t ProbeTarget) (map[string]string, error) {
		if t.KeyID.IsZero() {
			return nil, errors.New("no probe key id")
		}
		return map[string]string{name: t.KeyID.String()}, nil
	}
}

func fixed(p map[string]string) func(ProbeTarget) (map[string]string, error) {
	return func(ProbeTarget) (map[string]string, error) { return p, nil }
}

func secretParams(withKey bool) func(t ProbeTarget) (map[string]string, error) {
	return func(t ProbeTarget) (map[string]string, error) {
		if t.SecretName == "" {
			return nil, errors.New("no secret name to probe")
		}
		p := map[string]string{"SecretName": t.SecretName, "VersionId": "respond-doctor-probe",
			"SecretData": "respond doctor probe: not a credential", "SecretDataType": "text"}
		if withKey {
			if t.KMSKeyID == "" {
				return nil, errors.New("no probe KMS key id (without it CreateSecret would create the secret)")
			}
			p["EncryptionKeyId"] = t.KMSKeyID
		}
		return p, nil
	}
}

// ramSecretParams names the probe user's RAM credentials secret (never the target's SecretName:
// a RotateSecret on a real secret would rotate it), with extra parameters.
func ramSecretParams(extra map[string]string) func(t ProbeTarget) (map[string]string, error) {
	return func(t ProbeTarget) (map[string]string, error) {
		name := t.RAMSecretName()
		if name == "" {
			return nil, errors.New("no probe user name (respond-doctor-…) to name a secret that cannot exist")
		}
		p := map[string]string{"SecretName": name}
		for k, v := range extra {
			p[k] = strings.ReplaceAll(v, "{user}", t.UserName)
		}
		return p, nil
	}
}

const (
	ramVersion  = "2015-05-01"
	imsVersion  = "2019-08-15"
	kmsVersion  = "2016-01-20"
	rmVersion   = "2020-03-31"
	atVersion   = "2020-07-06"
	safeNoUser  = "names a user that cannot exist (respond-doctor-<random>): the cloud can only refuse it, for lack of permission or of the user"
	safeNoKey   = "names a key id that cannot exist (LTAIDOCTOR<random>)"
	safeRead    = "a read, of one item at most"
	safeNoOwner = safeNoUser + ", and a key id that cannot exist"
	// safeNoRAMSecret: KMS names a RAM credentials secret acs/ram/user/<its user's display name>.
	safeNoRAMSecret = "names the RAM credentials secret of a user that cannot exist (acs/ram/user/respond-doctor-<random>)"
)

var probeDefs = map[ProbeKind]probeDef{
	ProbeListUsers: {product: prodRAM, sdkProduct: "Ram", version: ramVersion, api: "ListUsers", permission: "ram:ListUsers",
		params: fixed(map[string]string{"MaxItems": "1"}), safe: safeRead + " (MaxItems=1)"},
	ProbeGetUser: {product: prodRAM, sdkProduct: "Ram", version: ramVersion, api: "GetUser", permission: "ram:GetUser",
		params: userParams, safe: safeRead + "; " + safeNoUser},
	ProbeListAccessKeys: {product: prodRAM, sdkProduct: "Ram", version: ramVersion, api: "ListAccessKeys", permission: "ram:ListAccessKeys",
		params: userParams, safe: safeRead + "; " + safeNoUser},
	ProbeGetAccessKeyLastUsed: {product: prodRAM, sdkProduct: "Ram", version: ramVersion, api: "GetAccessKeyLastUsed",
		permission: "ram:GetAccessKeyLastUsed", params: userKeyParams, safe: safeRead + "; " + safeNoOwner},
	ProbeCreateAccessKey: {product: prodRAM, sdkProduct: "Ram", version: ramVersion, api: "CreateAccessKey", permission: "ram:CreateAccessKey",
		write: true, params: userParams, safe: safeNoUser + "; UserName is never empty (empty means the caller itself)"},
	ProbeDeleteAccessKey: {product: prodRAM, sdkProduct: "Ram", version: ramVersion, api: "DeleteAccessKey", permission: "ram:DeleteAccessKey",
		write: true, params: userKeyParams, safe: safeNoOwner},
	ProbeAttachPolicyToUser: {product: prodRAM, sdkProduct: "Ram", version: ramVersion, api: "AttachPolicyToUser",
		permission: "ram:AttachPolicyToUser", write: true, params: named("UserName", "PolicyName"),
		safe: safeNoUser + ", and a custom policy that cannot exist (respond-doctor-<random>)"},
	ProbeDetachPolicyFromUser: {product: prodRAM, sdkProduct: "Ram", version: ramVersion, api: "DetachPolicyFromUser",
		permission: "ram:DetachPolicyFromUser", write: true, params: named("UserName", "PolicyName"),
		safe: safeNoUser + ", and a custom policy that cannot exist (respond-doctor-<random>)"},
	ProbeIMSGetUser: {product: prodIMS, sdkProduct: "Ims", version: imsVersion, api: "GetUser", permission: "ram:GetUser",
		params: keyParams("UserAccessKeyId"), safe: safeRead + "; " + safeNoKey},
	ProbeGetAccessKeyInfoInRecycleBin: {product: prodIMS, sdkProduct: "Ims", version: imsVersion, api: "GetAccessKeyInfoInRecycleBin",
		permission: "ram:GetAccessKeyInfoInRecycleBin", params: keyParams("UserAccessKeyId"), safe: safeRead + "; " + safeNoKey},
	ProbeDeleteAccessKeyInRecycleBin: {product: prodIMS, sdkProduct: "Ims", version: imsVersion, api: "DeleteAccessKeyInRecycleBin",
		permission: "ram:DeleteAccessKeyInRecycleBin", write: true,
		params: func(t ProbeTarget) (map[string]string, error) {
			if t.UserID == "" || t.KeyID.IsZero() {
				return nil, errors.New("no probe user id or key id (an empty UserId means the caller itself)")
			}
			return map[string]string{"UserId": t.UserID, "UserAccessKeyId": t.KeyID.String()}, nil
		}, safe: "names a user id that cannot exist (18 random digits; real ones have 16) and a key id that cannot exist"},
	ProbeLastUsedInfo: {product: prodActionTrail, sdkProduct: "Actiontrail", version: atVersion, api: "GetAccessKeyLastUsedInfo",
		permission: "actiontrail:GetAccessKeyLastUsedInfo", params: keyParams("AccessKey"), safe: safeRead + "; " + safeNoKey},
	ProbeLookupEvents: {product: prodActionTrail, sdkProduct: "Actiontrail", version: atVersion, api: "LookupEvents",
		permission: "actiontrail:LookupEvents", params: func(t ProbeTarget) (map[string]string, error) {
			if t.KeyID.IsZero() {
				return nil, errors.New("no probe key id")
			}
			return map[string]string{"MaxResults": "1", "LookupAttribute.1.Key": "EventAccessKeyId",
				"LookupAttribute.1.Value": t.KeyID.String()}, nil
		}, safe: safeRead + " (MaxResults=1, the events of a key id that cannot exist)"},
	ProbeListAccounts: {product: prodRM, sdkProduct: "ResourceManager", version: rmVersion, api: "ListAccounts",
		permission: "resourcemanager:ListAccounts", params: fixed(map[string]string{"PageSize": "1"}), safe: safeRead + " (PageSize=1)"},
	ProbeDescribeSecret: {product: prodKMS, sdkProduct: "Kms", version: kmsVersion, api: "DescribeSecret", permission: "kms:DescribeSecret",
		params: func(t ProbeTarget) (map[string]string, error) {
			if t.SecretName == "" {
				return nil, errors.New("no secret name to describe")
			}
			return map[string]string{"SecretName": t.SecretName}, nil
		}, safe: "a read of the secret's metadata, never its value"},
	ProbeListSecrets: {product: prodKMS, sdkProduct: "Kms", version: kmsVersion, api: actListSecrets, permission: "kms:ListSecrets",
		total: true, params: fixed(map[string]string{"Filters": ramSecretFilter, "PageSize": "1", "PageNumber": "1"}),
		safe: safeRead + " (PageSize=1, RAM credentials secrets only: names, never values); its TotalCount says whether KMS manages keys in the account"},
	ProbeGetSecretValue: {product: prodKMS, sdkProduct: "Kms", version: kmsVersion, api: actGetSecretValue, permission: "kms:GetSecretValue",
		params: ramSecretParams(map[string]string{"VersionStage": StageCurrent}), safe: safeRead + "; " + safeNoRAMSecret},
	ProbeRotateSecret: {product: prodKMS, sdkProduct: "Kms", version: kmsVersion, api: actRotateSecret, permission: "kms:RotateSecret",
		write: true, params: ramSecretParams(map[string]string{"VersionId": "{user}"}),
		safe: safeNoRAMSecret + ": there is nothing to rotate (KMS refuses RotateSecret for lack of permission or of the secret)"},
	ProbePutSecretValue: {product: prodKMS, sdkProduct: "Kms", version: kmsVersion, api: "PutSecretValue", permission: "kms:PutSecretValue",
		write: true, params: secretParams(false),
		safe: "names a secret that cannot exist (the sink's name with respond-doctor-<random> for the user): there is nothing to add a version to"},
	ProbeCreateSecret: {product: prodKMS, sdkProduct: "Kms", version: kmsVersion, api: "CreateSecret", permission: "kms:CreateSecret",
		write: true, notFound: []string{"Forbidden.KeyNotFound"}, ownAuth: true, params: secretParams(true),
		safe: "names a secret that does not exist (like PutSecretValue's) to be encrypted with a KMS key that cannot exist (a random UUID): the cloud can only refuse it, for lack of permission or of the key"},
	ProbeLeakList: {product: prodSAS, sdkProduct: "Sas", version: sasVersion, api: actDescribeAccesskeyLeakList,
		permission: "yundun-aegis:DescribeAccesskeyLeakList", params: fixed(map[string]string{"PageSize": "1", "CurrentPage": "1"}),
		safe: safeRead + " (PageSize=1)"},
	ProbeLeakDeal: {product: prodSAS, sdkProduct: "Sas", version: sasVersion, api: actModifyAccessKeyLeakDeal,
		permission: "yundun-sas:ModifyAccessKeyLeakDeal", write: true, okGranted: true,
		params: func(t ProbeTarget) (map[string]string, error) {
			if t.LeakID <= 0 {
				return nil, errors.New("no probe record id")
			}
			return map[string]string{"Id": strconv.FormatInt(t.LeakID, 10), "Type": LeakDealManual,
				"Remark": "respond doctor probe"}, nil
		}, safe: "names a record id that cannot exist (above 2^53; real ids are six digits): the service accepts and ignores it, or refuses it"},
}

// ProbeCatalog lists every probe, sorted by kind: what it checks and why it is safe.
func ProbeCatalog() []ProbeInfo {
	out := make([]ProbeInfo, 0, len(probeDefs)+len(incidentProbeDefs))
	for _, defs := range []map[ProbeKind]probeDef{probeDefs, incidentProbeDefs} {
		for k, d := range defs {
			out = append(out, ProbeInfo{Kind: k, Permission: d.permission, Write: d.write, Safe: d.safe,
				NamesPolicy: d.namesPolicy(), Unprobed: d.unprobed})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out
}

// Probe makes one probe, signed by c, and classifies its answer. It is retried like any safe
// call (throttling, 5xx): every probe is harmless to repeat.
func (c *Client) Probe(ctx context.Context, kind ProbeKind, t ProbeTarget) ProbeResult {
	d, ok := lookupProbe(kind)
	if !ok {
		return ProbeResult{Kind: kind, Grant: GrantError, Detail: "unknown probe"}
	}
	res := ProbeResult{Kind: kind, Permission: d.permission}
	if d.unprobed != "" {
		res.Grant, res.Detail = GrantNotProbed, d.unprobed
		return res
	}
	params, err := d.params(t)
	if err != nil {
		res.Grant, res.Detail = GrantError, err.Error()
		res.Call = d.api + "(…)"
		return res
	}
	res.Call = probeCall(d.api, params)
	var raw error
	var rid string
	var total *int
	cerr := c.call(ctx, "probe "+d.api, "", func(ctx context.Context) error {
		var body []byte
		body, raw = c.commonBody(ctx, d.product, d.sdkProduct, d.version, d.api, params)
		if raw == nil {
			rid, total = answerHead(body)
		}
		return raw
	})
	classifyProbe(ctx, d, &res, cerr, raw)
	if res.RequestID == "" {
		res.RequestID = rid
	}
	if d.total && cerr == nil {
		res.Total = total
	}
	return res
}

// classifyProbe turns the answer into a Grant. cerr is the classified error of the last attempt,
// raw the SDK's (for AccessDeniedDetail).
func classifyProbe(ctx context.Context, d probeDef, res *ProbeResult, cerr, raw error) {
	if cerr == nil {
		switch {
		case !d.write || d.okGranted:
			res.Grant, res.Detail = GrantGranted, "the call succeeded"
		default:
			res.Grant = GrantUnknown
			res.Detail = "the cloud accepted a change on a target that cannot exist: cannot tell"
		}
		return
	}
	var e *Error
	if !errors.As(cerr, &e) {
		res.Grant, res.Detail = GrantError, cerr.Error()
		return
	}
	res.Code, res.RequestID = e.Code, e.RequestID
	var se *sdkerrors.ServerError
	if errors.As(raw, &se) {
		if v, ok := se.AccessDeniedDetail()["AuthAction"].(string); ok {
			res.AuthAction = accesskey.Printable(v)
		}
	}
	switch {
	case ctx.Err() != nil:
		res.Grant, res.Detail = GrantError, ctx.Err().Error()
	case e.Code == "InvalidApi.NotFound" || e.Code == "InvalidAction.NotFound":
		res.Grant, res.Detail = GrantNotProbed, "the endpoint does not know "+d.api+" (an emulator without it)"
	case errors.Is(e, ErrNoPermission) && d.ownAuth && res.AuthAction != "" && res.AuthAction != d.permission:
		res.Grant = GrantUnknown
		res.Detail = "refused for " + res.AuthAction + ", which the probe's made-up target needs and a run does not: cannot tell"
	case errors.Is(e, ErrNoPermission):
		res.Grant, res.Detail = GrantDenied, "refused for lack of permission ("+e.Code+")"
	case errors.Is(e, ErrNotFound), slices.Contains(d.notFound, e.Code):
		res.Grant, res.Inferred = GrantGranted, true
		res.Detail = "refused for lack of the target (" + e.Code + "): authorised, if the cloud checks permission before existence"
	case errors.Is(e, ErrInvalidCredentials), errors.Is(e, ErrKeyFlagged), errors.Is(e, ErrTransient), errors.Is(e, ErrThrottled):
		res.Grant, res.Detail = GrantError, e.Error()
	default:
		res.Grant, res.Detail = GrantUnknown, "an answer that says neither (HTTP "+strconv.Itoa(e.Status)+" "+e.Code+")"
	}
}

// probeCall writes the call as a plan line: API(Name=value, …), names sorted, SecretData left out.
func probeCall(api string, params map[string]string) string {
	names := make([]string, 0, len(params))
	for k := range params {
		if k == "SecretData" || k == "SecretDataType" {
			continue
		}
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = k + "=" + params[k]
	}
	return api + "(" + strings.Join(parts, ", ") + ")"
}

// answerHead reads RequestId and TotalCount (nil when absent or not a count) from an answer
// without keeping anything else of it (a GetSecretValue answer holds a secret).
func answerHead(body []byte) (string, *int) {
	var head struct {
		RequestID  string          `json:"RequestId"`
		TotalCount json.RawMessage `json:"TotalCount"`
	}
	if json.Unmarshal(body, &head) != nil {
		return "", nil
	}
	var total *int
	if n, err := strconv.Atoi(strings.Trim(string(head.TotalCount), `"`)); err == nil && n >= 0 {
		total = &n
	}
	return accesskey.Printable(head.RequestID), total
}
