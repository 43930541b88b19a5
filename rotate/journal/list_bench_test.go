package journal

import (
	"fmt"
	"testing"

	"github.com/respond-dev/respond/ram/accesskey"
)

// BenchmarkList1000: reading every journal of a state directory that kept 1,000 keys (20 records
// each) — what a batch paid at its start before it checked only its own keys' journals (serve opens
// a batch per delivery).
func BenchmarkList1000(b *testing.B) {
	dir := b.TempDir()
	for i := range 1000 {
		id := accesskey.MustParseID(fmt.Sprintf("LTAI5tFAKE%014d", i))
		j, err := Open(dir, id)
		if err != nil {
			b.Fatal(err)
		}
		for range 20 {
			if _, err := j.Append(Record{Kind: KindResult, KeyID: id.String(), Action: "ram:DeleteAccessKey", Outcome: OutcomeDone}); err != nil {
				b.Fatal(err)
			}
		}
		_ = j.Close()
	}
	b.ResetTimer()
	for b.Loop() {
		if ls, err := List(dir); err != nil || len(ls) != 1000 {
			b.Fatal(len(ls), err)
		}
	}
}
