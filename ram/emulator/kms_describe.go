package emulator

// KMS DescribeSecret (alibaba-api.md §13): a secret's metadata, never its value. respond doctor
// reads it to learn whether a kms sink's secret exists without reading the secret.
//
// Documented: the parameters (SecretName, FetchTags) and the answer's fields (SDK struct
// DescribeSecretResponse: Arn, SecretName, SecretType, Description, CreateTime, UpdateTime,
// AutomaticRotation, …). Inferred: an unknown name answers 404 Forbidden.ResourceNotFound, like
// the other secret actions here. A RAMCredentials secret (kms_ram.go) also reports its rotation
// (AutomaticRotation, RotationInterval as seconds "604800s", LastRotationDate, NextRotationDate)
// and echoes its ExtendedConfig as given [INF: the exact echo].

func kmsDescribeSecret(s *Server, c *call) (map[string]any, *apiError) {
	name := c.p("SecretName")
	if name == "" {
		return nil, missing("SecretName")
	}
	sec := c.acct.secrets[name]
	if sec == nil {
		return nil, errNoSecret()
	}
	out := map[string]any{"Arn": secretArn(c, sec.name), "SecretName": sec.name,
		"SecretType": sec.secretType(), "Description": sec.description, "EncryptionKeyId": "", "CreateTime": date(sec.created),
		"UpdateTime": date(sec.updated()), "AutomaticRotation": "Disabled", "RotationInterval": "", "NextRotationDate": "",
		"LastRotationDate": "", "PlannedDeleteTime": "", "ExtendedConfig": "", "DKMSInstanceId": ""}
	if rs := sec.ram; rs != nil {
		out["AutomaticRotation"], out["RotationInterval"] = rs.automatic(), intervalText(rs.interval)
		out["NextRotationDate"], out["LastRotationDate"] = date(rs.nextRotation(sec.created)), date(rs.lastRotation)
		out["ExtendedConfig"] = rs.extended
	}
	if c.p("FetchTags") == "true" {
		out["Tags"] = map[string]any{"Tag": []any{}}
	}
	return out, nil
}
