package ram

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/respond-dev/respond/ram/accesskey"
)

// ErrSDKDebug is returned by CheckEnv when DEBUG would make the SDK print secrets.
var ErrSDKDebug = errors.New("DEBUG contains \"sdk\": the Alibaba Cloud SDK would print request URLs and response bodies, new AccessKey secrets included; unset DEBUG (or remove \"sdk\" from it) and run again")

// CheckEnv fails when the environment would make the SDK leak secrets. The SDK reads DEBUG when
// its package initialises, so unsetting it at run time is too late: refuse to start instead.
// getenv is os.LookupEnv in production.
func CheckEnv(getenv func(string) (string, bool)) error {
	v, ok := getenv("DEBUG")
	if !ok {
		return nil
	}
	for _, part := range strings.Split(v, ",") {
		if strings.Contains(strings.ToLower(strings.TrimSpace(part)), "sdk") {
			return ErrSDKDebug
		}
	}
	return nil
}

// EnvConfig is the Config the environment asks for: RESPOND_READ_TIMEOUT (a Go duration, the
// read timeout of one call), ALIBABA_CLOUD_REGION_ID (the region) and RESPOND_ENDPOINT (the
// endpoint). A bad RESPOND_READ_TIMEOUT is an error that names it.
func EnvConfig(getenv func(string) string) (Config, error) {
	cfg := Config{Region: getenv("ALIBABA_CLOUD_REGION_ID"), Endpoint: getenv("RESPOND_ENDPOINT")}
	if v := getenv("RESPOND_READ_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Config{}, fmt.Errorf("RESPOND_READ_TIMEOUT=%q is not a positive duration (e.g. 10s or 500ms)", accesskey.Printable(v))
		}
		cfg.ReadTimeout = d
	}
	return cfg, nil
}

// UserAgentPrefix starts the User-Agent of respond's own calls ("respond/1.2.3"), so that
// ActionTrail shows them as respond's.
const UserAgentPrefix = "respond/"

// NewRunMarker is a random marker for one run's User-Agent ("respond-run/" and 12 hex digits):
// the impact assessment leaves out the calls that carry it, and an attacker cannot guess it (the
// public "respond/" prefix alone could be copied to hide from the assessment).
func NewRunMarker() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "respond-run/" + hex.EncodeToString(b[:])
}
