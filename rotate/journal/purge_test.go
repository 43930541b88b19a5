package journal

import "testing"

// The purge of the leaked key from the recycle bin is its own intent and result: a crash between
// the delete and the purge leaves a journal that says deleted, not purged; one during the purge
// leaves the purge in flight; a replacement's purge (NewKeyID set) is not the leaked key's.
func TestSummarizePurge(t *testing.T) {
	del := []Record{
		{Seq: 1, Kind: KindBegin},
		{Seq: 2, Kind: KindIntent, Step: "delete", Action: "ram:DeleteAccessKey"},
		{Seq: 3, Kind: KindResult, Step: "delete", Action: "ram:DeleteAccessKey", Outcome: OutcomeDone},
	}
	purge := Record{Seq: 4, Kind: KindIntent, Step: "delete", Action: "ram:DeleteAccessKeyInRecycleBin"}
	tests := []struct {
		name            string
		recs            []Record
		deleted, purged bool
		inFlight        string
	}{
		{"crash between delete and purge", del, true, false, ""},
		{"crash during the purge", append(del[:3:3], purge), true, false, "ram:DeleteAccessKeyInRecycleBin"},
		{"purge failed", append(del[:3:3], purge, Record{Seq: 5, Kind: KindResult, Step: "delete", Action: "ram:DeleteAccessKeyInRecycleBin", Outcome: OutcomeFailed}), true, false, ""},
		{"purged", append(del[:3:3], purge, Record{Seq: 5, Kind: KindResult, Step: "delete", Action: "ram:DeleteAccessKeyInRecycleBin", Outcome: OutcomeDone}), true, true, ""},
		{"a replacement's purge", append(del[:3:3], Record{Seq: 4, Kind: KindResult, Step: "create", Action: "ram:DeleteAccessKeyInRecycleBin", NewKeyID: "LTAI5tNEW000000000000001", Outcome: OutcomeDone}), true, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Summarize(tt.recs)
			var inFlight string
			if s.InFlight != nil {
				inFlight = s.InFlight.Action
			}
			if s.LeakedDeleted != tt.deleted || s.LeakedPurged != tt.purged || inFlight != tt.inFlight {
				t.Errorf("deleted %v purged %v in flight %q, want %v %v %q", s.LeakedDeleted, s.LeakedPurged, inFlight, tt.deleted, tt.purged, tt.inFlight)
			}
		})
	}
}
