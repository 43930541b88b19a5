package emulator

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ---- STS ----

func stsGetCallerIdentity(s *Server, c *call) (map[string]any, *apiError) {
	a := c.acct.id
	switch {
	case c.sess != nil:
		return map[string]any{"AccountId": a, "IdentityType": "AssumedRoleUser", "RoleId": c.sess.role.id,
			"PrincipalId": c.sess.role.id + ":" + c.sess.name,
			"Arn":         "acs:ram::" + a + ":assumed-role/" + c.sess.role.name + "/" + c.sess.name}, nil
	case c.user != nil:
		return map[string]any{"AccountId": a, "IdentityType": "RAMUser", "UserId": c.user.id, "PrincipalId": c.user.principalID,
			"Arn": "acs:ram::" + a + ":user/" + c.user.name}, nil
	default:
		return map[string]any{"AccountId": a, "IdentityType": "Account", "PrincipalId": a, "Arn": "acs:ram::" + a + ":root"}, nil
	}
}

var (
	reRoleArn = regexp.MustCompile(`^acs:ram::([0-9]{16}):role/([a-zA-Z0-9.@\-_]{1,64})$`)
	// 2-64 characters [DOC META sts AssumeRole; the 2021 docs said 2-32].
	reSessionName = regexp.MustCompile(`^[A-Za-z0-9.@_\-]{2,64}$`)
)

func stsAssumeRole(s *Server, c *call) (map[string]any, *apiError) {
	arn, name := c.p("RoleArn"), c.p("RoleSessionName")
	if arn == "" {
		return nil, missing("RoleArn")
	}
	if name == "" {
		return nil, missing("RoleSessionName")
	}
	m := reRoleArn.FindStringSubmatch(arn)
	if m == nil {
		return nil, violationf(400, "InvalidParameter.RoleArn", "The parameter RoleArn is wrongly formed.")
	}
	if !reSessionName.MatchString(name) {
		return nil, violationf(400, "InvalidParameter.RoleSessionName", "The parameter RoleSessionName is wrongly formed.")
	}
	if p := c.p("Policy"); p != "" {
		// 2,048 since 2022-09-27 [DOC META; STS change set "1024 to 2048"].
		if len(p) > 2048 {
			return nil, violationf(400, "InvalidParameter.PolicySize", "The size of Policy must be smaller than 2048 bytes.")
		}
		if !json.Valid([]byte(p)) {
			return nil, violationf(400, "InvalidParameter.PolicyGrammar", "The parameter Policy has not passed grammar check.")
		}
	}
	acc := s.byID[m[1]]
	var r *role
	if acc != nil {
		r = acc.roles[strings.ToLower(m[2])]
	}
	if r == nil {
		return nil, errf(404, "EntityNotExist.Role", "The specified Role not exists.")
	}
	dur := min(3600, r.maxSession)
	if v := c.p("DurationSeconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 900 || n > r.maxSession {
			return nil, violationf(400, "InvalidParameter.DurationSeconds", "The Min/Max value of DurationSeconds is 15min/1hr.")
		}
		dur = n
	}
	if c.user == nil && c.sess == nil {
		return nil, errRootAssumeRole()
	}
	if r.acct != c.acct && !slices.Contains(r.trust, c.acct.id) && !slices.Contains(r.trust, "*") {
		e := c.noPermission()
		e.Detail["AuthAction"] = "sts:AssumeRole"
		return nil, e
	}
	sess := &session{role: r, name: name, token: tokenPrefix + randString(s.rng, alnum, 120),
		expires: c.now.Add(time.Duration(dur) * time.Second)}
	k := &keyState{id: "STS." + randString(s.rng, alnum, 28), secret: randString(s.rng, alnum, 44), status: "Active",
		created: c.now, acct: r.acct, sess: sess}
	s.keys[k.id] = k
	return map[string]any{
		"AssumedRoleUser": map[string]any{"AssumedRoleId": r.id + ":" + name,
			"Arn": "acs:ram::" + r.acct.id + ":role/" + r.name + "/" + name},
		"Credentials": map[string]any{"AccessKeyId": k.id, "AccessKeySecret": k.secret, "SecurityToken": sess.token,
			"Expiration": date(sess.expires)},
	}, nil
}

// ---- ActionTrail ----

func badParam(name string) *apiError {
	return violationf(400, "InvalidParameter", "The specified parameter %s is invalid.", name)
}

func trailGetAccessKeyLastUsedInfo(s *Server, c *call) (map[string]any, *apiError) {
	id := c.p("AccessKey")
	if id == "" {
		return nil, missing("AccessKey")
	}
	k := s.keys[id]
	if k == nil || k.acct != c.acct || k.sess != nil || !k.goneAt.IsZero() {
		return nil, errf(404, "EntityNotExist.AccessKey", "The specified AccessKey does not exist.")
	}
	out := map[string]any{"AccessKeyId": k.id, "AccountId": k.acct.id, "OwnerId": k.acct.id, "UserName": "",
		"AccountType": "Account", "UsedTimestamp": int64(0), "ServiceName": k.lastService,
		"ServiceNameEn": serviceNames[k.lastService][0], "ServiceNameCn": serviceNames[k.lastService][1],
		"Source": k.lastIP, "Detail": ""}
	if k.user != nil {
		out["UserName"], out["AccountType"] = k.user.name, "RAMUser"
	}
	if !k.lastUsed.IsZero() {
		out["UsedTimestamp"] = k.lastUsed.UnixMilli()
	}
	return out, nil
}

// ---- KMS ----

func errNoSecret() *apiError {
	return errf(404, "Forbidden.ResourceNotFound", "The resource is not found.")
}

func kmsStages(v *kmsVersion) map[string]any {
	return map[string]any{"VersionStage": append([]string{}, v.stages...)}
}

func kmsCreateSecret(s *Server, c *call) (map[string]any, *apiError) {
	for _, n := range []string{"SecretName", "SecretData", "VersionId"} {
		if c.p(n) == "" {
			return nil, missing(n)
		}
	}
	switch c.p("SecretType") {
	case "", secretTypeGeneric:
	case secretTypeRAM:
		return createRAMSecret(s, c)
	default:
		return nil, errBadParam("SecretType", "the emulator serves Generic and RAMCredentials secrets")
	}
	name := c.p("SecretName")
	if c.p("EncryptionKeyId") != "" { // no KMS key (CMK) is served: every one named is unknown
		return nil, errNoSecret()
	}
	if c.acct.secrets[name] != nil {
		return nil, errf(409, "Rejected.ResourceExist", "The resource already exists.")
	}
	dt := c.p("SecretDataType")
	if dt == "" {
		dt = "text"
	}
	if dt != "text" && dt != "binary" {
		return nil, badParam("SecretDataType")
	}
	c.acct.secrets[name] = &kmsSecret{name: name, dataType: dt, created: c.now, description: c.p("Description"), versions: []*kmsVersion{
		{id: c.p("VersionId"), data: c.p("SecretData"), stages: []string{"ACSCurrent"}, created: c.now}}}
	return map[string]any{"Arn": secretArn(c, name), "SecretName": name,
		"VersionId": c.p("VersionId"), "SecretType": "Generic"}, nil
}

func region(c *call) string {
	if r := c.p("RegionId"); r != "" {
		return r
	}
	return "cn-hangzhou"
}

func kmsPutSecretValue(s *Server, c *call) (map[string]any, *apiError) {
	for _, n := range []string{"SecretName", "SecretData", "VersionId"} {
		if c.p(n) == "" {
			return nil, missing(n)
		}
	}
	sec := c.acct.secrets[c.p("SecretName")]
	if sec == nil {
		return nil, errNoSecret()
	}
	if sec.ram != nil {
		return nil, errUnsupportedSecretOp() // KMS writes a RAM secret's versions itself [INF]
	}
	vid, data := c.p("VersionId"), c.p("SecretData")
	for _, v := range sec.versions {
		if v.id == vid {
			if v.data != data {
				return nil, errf(409, "Rejected.ResourceExist", "The resource already exists.")
			}
			return map[string]any{"SecretName": sec.name, "VersionId": vid, "VersionStages": kmsStages(v)}, nil
		}
	}
	stages := []string{"ACSCurrent"}
	if v := c.p("VersionStages"); v != "" {
		var st []string
		if err := json.Unmarshal([]byte(v), &st); err != nil || len(st) == 0 {
			return nil, badParam("VersionStages")
		}
		stages = st
	}
	moveCurrent := slices.Contains(stages, "ACSCurrent")
	for _, v := range sec.versions {
		wasCurrent := slices.Contains(v.stages, "ACSCurrent")
		v.stages = slices.DeleteFunc(v.stages, func(st string) bool {
			return slices.Contains(stages, st) || (moveCurrent && st == "ACSPrevious")
		})
		if moveCurrent && wasCurrent {
			v.stages = append(v.stages, "ACSPrevious")
		}
	}
	nv := &kmsVersion{id: vid, data: data, stages: stages, created: c.now}
	sec.versions = append(sec.versions, nv)
	return map[string]any{"SecretName": sec.name, "VersionId": vid, "VersionStages": kmsStages(nv)}, nil
}

func kmsGetSecretValue(s *Server, c *call) (map[string]any, *apiError) {
	if c.p("SecretName") == "" {
		return nil, missing("SecretName")
	}
	sec := c.acct.secrets[c.p("SecretName")]
	if sec == nil {
		return nil, errNoSecret()
	}
	if sec.ram != nil {
		return getRAMSecretValue(c, sec)
	}
	vid, stage := c.p("VersionId"), c.p("VersionStage")
	if vid == "" && stage == "" {
		stage = "ACSCurrent"
	}
	for _, v := range sec.versions {
		if (vid == "" || v.id == vid) && (stage == "" || slices.Contains(v.stages, stage)) {
			return map[string]any{"SecretName": sec.name, "VersionId": v.id, "SecretData": v.data, "SecretType": "Generic",
				"SecretDataType": sec.dataType, "VersionStages": kmsStages(v), "CreateTime": date(v.created)}, nil
		}
	}
	return nil, errNoSecret()
}

// ---- ResourceManager ----

func rmListAccounts(s *Server, c *call) (map[string]any, *apiError) {
	if !c.acct.management {
		return nil, errMemberAccount()
	}
	page, size, e := pageArgs(c)
	if e != nil {
		return nil, e
	}
	list := []map[string]any{}
	for i := (page - 1) * size; i < len(s.accounts) && len(list) < size; i++ {
		a := s.accounts[i]
		typ, join := "ResourceAccount", "created"
		if a.management {
			typ, join = "CloudAccount", "invited"
		}
		ms := a.joinTime.UTC().Format("2006-01-02T15:04:05.000Z")
		list = append(list, map[string]any{"AccountId": a.id, "DisplayName": a.name, "Type": typ, "Status": "CreateSuccess",
			"JoinMethod": join, "JoinTime": ms, "ModifyTime": ms, "FolderId": "fd-emu000001", "ResourceDirectoryId": "rd-emu001",
			"ResourceDirectoryPath": "rd-emu001/r-emu001/fd-emu000001/" + a.id, "Tags": map[string]any{"Tag": []any{}}})
	}
	return map[string]any{"PageNumber": page, "PageSize": size, "TotalCount": len(s.accounts),
		"Accounts": map[string]any{"Account": list}}, nil
}
