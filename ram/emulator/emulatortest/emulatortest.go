// Package emulatortest starts the Alibaba Cloud emulator in tests and builds real SDK clients
// pointed at it (client.Domain = the emulator's host:port, plain HTTP, explicit credentials).
package emulatortest

import (
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/actiontrail"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ims"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/kms"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ram"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/resourcemanager"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/sts"

	"github.com/respond-dev/respond/ram/emulator"
)

// Region is the region every helper client uses.
const Region = "cn-hangzhou"

// Isolate keeps SDK traffic on the machine: it clears the proxy variables and turns off the
// ECS metadata and CLI profile credential sources for the rest of the test (t.Setenv).
func Isolate(t testing.TB) {
	t.Helper()
	for _, v := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"} {
		t.Setenv(v, "")
	}
	t.Setenv("NO_PROXY", "127.0.0.1")
	t.Setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")
	t.Setenv("ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "true")
}

// Start isolates the test, starts an emulator of org and closes it at cleanup.
func Start(t testing.TB, org *emulator.Org, opts ...emulator.Option) *emulator.Server {
	t.Helper()
	Isolate(t)
	s := emulator.NewServer(org, opts...)
	t.Cleanup(s.Close)
	return s
}

// AK is a static AccessKey credential provider for c.
func AK(c emulator.Credential) auth.Credential {
	return credentials.NewStaticAKCredentialsProvider(c.AccessKeyID, c.AccessKeySecret)
}

// STS is a static STS credential provider.
func STS(id, secret, token string) auth.Credential {
	return credentials.NewStaticSTSCredentialsProvider(id, secret, token)
}

func config() *sdk.Config { return sdk.NewConfig().WithScheme("HTTP") }

func fatal(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("new SDK client: %v", err)
	}
}

// RAM is a ram.Client (2015-05-01) pointed at s. Use one client per goroutine.
func RAM(t testing.TB, s *emulator.Server, cred auth.Credential) *ram.Client {
	c, err := ram.NewClientWithOptions(Region, config(), cred)
	fatal(t, err)
	c.Domain = s.Endpoint()
	return c
}

// IMS is an ims.Client (2019-08-15) pointed at s.
func IMS(t testing.TB, s *emulator.Server, cred auth.Credential) *ims.Client {
	c, err := ims.NewClientWithOptions(Region, config(), cred)
	fatal(t, err)
	c.Domain = s.Endpoint()
	return c
}

// STSClient is an sts.Client (2015-04-01) pointed at s.
func STSClient(t testing.TB, s *emulator.Server, cred auth.Credential) *sts.Client {
	c, err := sts.NewClientWithOptions(Region, config(), cred)
	fatal(t, err)
	c.Domain = s.Endpoint()
	return c
}

// ActionTrail is an actiontrail.Client (2020-07-06) pointed at s.
func ActionTrail(t testing.TB, s *emulator.Server, cred auth.Credential) *actiontrail.Client {
	c, err := actiontrail.NewClientWithOptions(Region, config(), cred)
	fatal(t, err)
	c.Domain = s.Endpoint()
	return c
}

// KMS is a kms.Client (2016-01-20) pointed at s.
func KMS(t testing.TB, s *emulator.Server, cred auth.Credential) *kms.Client {
	c, err := kms.NewClientWithOptions(Region, config(), cred)
	fatal(t, err)
	c.Domain = s.Endpoint()
	return c
}

// ResourceManager is a resourcemanager.Client (2020-03-31) pointed at s.
func ResourceManager(t testing.TB, s *emulator.Server, cred auth.Credential) *resourcemanager.Client {
	c, err := resourcemanager.NewClientWithOptions(Region, config(), cred)
	fatal(t, err)
	c.Domain = s.Endpoint()
	return c
}

// Common is a plain sdk.Client for CommonRequest calls (what the aliyun CLI uses).
func Common(t testing.TB, s *emulator.Server, cred auth.Credential) *sdk.Client {
	c, err := sdk.NewClientWithOptions(Region, config(), cred)
	fatal(t, err)
	c.Domain = s.Endpoint()
	return c
}
