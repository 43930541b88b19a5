package emulatortest

import (
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sas"

	"github.com/respond-dev/respond/ram/emulator"
)

// SAS is a sas.Client (Security Center, 2018-12-03) pointed at s: the SDK's own typed client, for
// tests that check leak records independently of respond's code. Its typed requests lack
// ResourceDirectoryAccountId; set req.QueryParams["ResourceDirectoryAccountId"] for it.
func SAS(t testing.TB, s *emulator.Server, cred auth.Credential) *sas.Client {
	c, err := sas.NewClientWithOptions(Region, config(), cred)
	fatal(t, err)
	c.Domain = s.Endpoint()
	return c
}
