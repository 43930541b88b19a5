package ram

import (
	"errors"
	"strings"
)

// ErrNoCredentials is the class of an error where the SDK's default chain found nothing to sign
// with. Its text says, in one line, what was tried and how to provide credentials.
var ErrNoCredentials = errors.New("no credentials found; tried: the environment (ALIBABA_CLOUD_ACCESS_KEY_ID and " +
	"ALIBABA_CLOUD_ACCESS_KEY_SECRET), OIDC (ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN, ALIBABA_CLOUD_OIDC_TOKEN_FILE), " +
	"the aliyun CLI's ~/.aliyun/config.json, ~/.alibabacloud/credentials, the ECS instance's RAM role; " +
	"provide one: export ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET, or pass --profile NAME " +
	"(an aliyun CLI profile), or rehearse with --sandbox")

// chainEmpty recognises the SDK default chain's error when every provider failed.
func chainEmpty(err error) bool {
	return strings.Contains(err.Error(), "unable to get credentials from any of the providers in the chain")
}
