package source_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/respond-dev/respond/ram/emulator"
	"github.com/respond-dev/respond/rotate/source"
)

// BenchmarkPoll polls 1,000 pending leaks across 3 accounts (334 + 333 + 333) with 20 ms of
// latency on every call: every page of the list, one detail per record, and, with member
// credentials, the AssumeRole into each member. It reports the calls one poll makes.
//
//	go test -run '^$' -bench Poll -benchtime 3x ./rotate/source/
func BenchmarkPoll(b *testing.B) {
	org := emulator.GenerateOrg(emulator.GenSpec{Accounts: 3, UsersPerAccount: 1, Seed: 5})
	for i := range 1000 {
		a := &org.Accounts[i%3]
		a.Leaks = append(a.Leaks, emulator.Leak{AccessKeyID: fmt.Sprintf("LTAI5tBENCH%013d", i), TokenValid: 1,
			URL: fmt.Sprintf("https://github.com/o/r/blob/c/f%d.env", i), Code: fmt.Sprintf("AK=LTAI5tBENCH%013d", i),
			Ago: time.Duration(i) * time.Second})
	}
	e := start(b, org, emulator.WithLatency(20*time.Millisecond))
	for _, tc := range []struct {
		name        string
		management  bool
		concurrency int
	}{
		{"management/concurrency=8", true, 8},
		{"management/concurrency=16", true, 16},
		{"members/concurrency=8", false, 8},
		{"management/concurrency=1", true, 1},
	} {
		b.Run(tc.name, func(b *testing.B) {
			before := len(e.s.RequestLog())
			findings := 0
			for b.Loop() {
				acct := &accounts{admin: e.acct.admin, mgmt: e.acct.mgmt} // a cold poll: members entered again
				opts := source.Options{Concurrency: tc.concurrency}
				if tc.management {
					opts.Management = e.acct.mgmt
				}
				res, err := source.NewSecurityCenter(acct, opts).List(context.Background(), e.ids, time.Time{})
				if err != nil {
					b.Fatal(err)
				}
				findings = len(res.Findings)
			}
			if findings != 1000 {
				b.Fatalf("%d findings", findings)
			}
			b.ReportMetric(float64(len(e.s.RequestLog())-before)/float64(b.N), "calls/op")
		})
	}
}
