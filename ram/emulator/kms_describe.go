package emulator

// KMS DescribeSecret (alibaba-api.md §13): a secret's metadata, never its value. respond doctor
// reads it to learn whether a kms sink's secret exists without reading the secret.
//
// Documented: the parameters (SecretName, FetchTags) and the answer's fields (SDK struct
// DescribeSecretResponse: Arn, SecretName, SecretType, Description, CreateTime, UpdateTime,
// AutomaticRotation, …). Inferred: an unknown name answers 404 Forbidden.ResourceNotFound, like
// the other secret actions here.

func kmsDescribeSecret(s *Server, c *call) (map[string]any, *apiError) {
	name := c.p("SecretName")
	if name == "" {
		return nil, missing("SecretName")
	}
	sec := c.acct.secrets[name]
	if sec == nil {
		return nil, errNoSecret()
	}
	updated := sec.created
	for _, v := range sec.versions {
		if v.created.After(updated) {
			updated = v.created
		}
	}
	return map[string]any{"Arn": "acs:kms:" + region(c) + ":" + c.acct.id + ":secret/" + sec.name, "SecretName": sec.name,
		"SecretType": "Generic", "Description": "", "EncryptionKeyId": "", "CreateTime": date(sec.created),
		"UpdateTime": date(updated), "AutomaticRotation": "Disabled", "RotationInterval": "", "NextRotationDate": "",
		"LastRotationDate": "", "PlannedDeleteTime": "", "ExtendedConfig": "", "DKMSInstanceId": ""}, nil
}
