package emulator_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ram"

	"github.com/respond-dev/respond/ram/emulator"
	et "github.com/respond-dev/respond/ram/emulator/emulatortest"
)

// BenchmarkListAccessKeys measures signed ListAccessKeys calls through real HTTP with the real
// SDK, signature, timestamp and nonce checks on, one client per goroutine.
func BenchmarkListAccessKeys(b *testing.B) {
	org := emulator.GenerateOrg(emulator.GenSpec{Accounts: 1, UsersPerAccount: 100, Seed: 1})
	s := et.Start(b, org, emulator.WithRequestLogLimit(10000))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := et.RAM(b, s, et.AK(org.Admin()))
		req := ram.CreateListAccessKeysRequest()
		req.UserName = "user-0042"
		for pb.Next() {
			if _, err := c.ListAccessKeys(req); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkHandlerListAccessKeys measures the handler alone on pre-signed requests (the SDK
// client's own cost removed); the nonce check is off because the requests repeat.
func BenchmarkHandlerListAccessKeys(b *testing.B) {
	org := emulator.GenerateOrg(emulator.GenSpec{Accounts: 1, UsersPerAccount: 100, Seed: 1})
	s := emulator.NewUnstartedServer(org, emulator.WithoutNonceCheck(), emulator.WithRequestLogLimit(10000))
	admin := org.Admin()
	q := url.Values{"AccessKeyId": {admin.AccessKeyID}, "Action": {"ListAccessKeys"}, "Format": {"JSON"},
		"RegionId": {"cn-hangzhou"}, "SignatureMethod": {"HMAC-SHA1"}, "SignatureNonce": {strconv.Itoa(1)},
		"SignatureType": {""}, "SignatureVersion": {"1.0"}, "Timestamp": {time.Now().UTC().Format("2006-01-02T15:04:05Z")},
		"UserName": {"user-0042"}, "Version": {"2015-05-01"}}
	q.Set("Signature", emulator.Sign(admin.AccessKeySecret, emulator.StringToSign("POST", q)))
	target := "/?" + q.Encode()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := httptest.NewRequest(http.MethodPost, target, nil)
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Errorf("status %d: %s", w.Code, w.Body)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}
