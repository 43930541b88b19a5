package ram

import (
	"errors"
	"strings"
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
