package assess

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
)

var update = flag.Bool("update", false, "rewrite golden files")

const dir = "../../testdata/assess"

type fixture struct {
	Now          time.Time   `json:"now"`
	Window       Duration    `json:"window"`
	OwnUserAgent string      `json:"own_user_agent"`
	Lag          Duration    `json:"lag"`
	Coverage     *Coverage   `json:"coverage"`
	Events       []ram.Event `json:"events"`
}

func (f fixture) options() Options {
	return Options{Window: time.Duration(f.Window), Now: f.Now, OwnUserAgent: f.OwnUserAgent, Lag: time.Duration(f.Lag), Coverage: f.Coverage}
}

func loadFixture(t testing.TB, path string) fixture {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f fixture
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestSummarize_golden(t *testing.T) {
	fixtures, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	var n int
	for _, path := range fixtures {
		if strings.HasSuffix(path, ".golden.json") {
			continue
		}
		n++
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		t.Run(name, func(t *testing.T) {
			f := loadFixture(t, path)
			a := Summarize(f.Events, f.options())
			var text bytes.Buffer
			if err := WriteText(&text, a); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join(dir, name+".golden.txt"), text.Bytes())
			js, err := json.MarshalIndent(a, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join(dir, name+".golden.json"), append(js, '\n'))

			// Deterministic: the order of events does not matter.
			rev := append([]ram.Event(nil), f.Events...)
			for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
				rev[i], rev[j] = rev[j], rev[i]
			}
			b := Summarize(rev, f.options())
			js2, _ := json.MarshalIndent(b, "", "  ")
			if !bytes.Equal(js, js2) {
				t.Error("summary depends on the order of events")
			}
		})
	}
	if n < 3 {
		t.Fatalf("found %d fixtures in %s", n, dir)
	}
}

func TestSummarize_typical(t *testing.T) {
	f := loadFixture(t, filepath.Join(dir, "typical.json"))
	a := Summarize(f.Events, Options{Window: time.Duration(f.Window), Now: f.Now})
	if a.Total != 12 || a.Excluded != 2 || a.Failed != 1 {
		t.Errorf("total %d excluded %d failed %d, want 12 2 1", a.Total, a.Excluded, a.Failed)
	}
	flagged := map[string]bool{}
	for _, fe := range a.Flagged {
		flagged[fe.Action+"@"+fe.Service] = true
	}
	for _, want := range []string{"CreateUser@Ram", "CreateAccessKey@Ram", "AttachPolicyToUser@Ram", "ListUsers@Ram", "RunInstances@Ecs", "DeleteBucket@Oss", "SendSms@Sms", "SendSms@Dysms"} {
		if !flagged[want] {
			t.Errorf("%s not flagged", want)
		}
	}
	for _, not := range []string{"GetObject@Oss", "GetCallerIdentity@Sts"} {
		if flagged[not] {
			t.Errorf("%s flagged", not)
		}
	}
	if a.SourceIPs[0].Name != "198.51.100.23" || a.SourceIPs[0].Count != 7 {
		t.Errorf("top source ip %+v", a.SourceIPs[0])
	}
	if !a.First.Equal(time.Date(2026, 3, 8, 1, 2, 3, 0, time.UTC)) {
		t.Errorf("first %s", a.First)
	}
}

func TestReason(t *testing.T) {
	for _, tc := range []struct {
		svc, name, rw string
		flagged       bool
	}{
		{"Ram", "CreateUser", "Write", true},
		{"Ims", "CreateAccessKey", "Write", true},
		{"Ram", "CreateLoginProfile", "Write", true},
		{"Ram", "AttachPolicyToRole", "Write", true},
		{"Ecs", "RunInstances", "Write", true},
		{"Rds", "CreateInstance", "Write", true},
		{"Oss", "DeleteObject", "Write", true},
		{"ECS", "DescribeRegions", "Read", true}, // high-risk service, any case
		{"alidns", "DescribeDomains", "Read", true},
		{"Oss", "GetObject", "Read", false},
		{"Sts", "GetCallerIdentity", "Read", false},
		{"Actiontrail", "LookupEvents", "Read", false},
	} {
		got := Reason(ram.Event{Service: tc.svc, Name: tc.name, RW: tc.rw})
		if (got != "") != tc.flagged {
			t.Errorf("Reason(%s:%s) = %q, flagged want %v", tc.svc, tc.name, got, tc.flagged)
		}
	}
	if len(HighRiskServices()) != 14 {
		t.Errorf("high-risk services: %d, want the 14 of anchors.md §4", len(HighRiskServices()))
	}
}

func TestSummarize_ownUserAgentDefault(t *testing.T) {
	events := []ram.Event{{Name: "GetCallerIdentity", Service: "Sts", UserAgent: "respond/1.0", Time: time.Unix(10, 0)}, {Name: "X", Service: "Oss", UserAgent: "curl", Time: time.Unix(20, 0)}}
	a := Summarize(events, Options{})
	if a.Total != 1 || a.Excluded != 1 {
		t.Errorf("total %d excluded %d", a.Total, a.Excluded)
	}
	if time.Duration(a.Window) != playbooks.DefaultAssessWindow {
		t.Errorf("window %s", time.Duration(a.Window))
	}
}

func TestQuery(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.FixedZone("x", 3600))
	id := accesskey.MustParseID("LTAI5tLeakedKeyAAAABBBBC")
	for _, tc := range []struct {
		window time.Duration
		ok     bool
		start  time.Time
	}{
		{0, true, now.UTC().Add(-7 * 24 * time.Hour)},
		{90 * 24 * time.Hour, true, now.UTC().Add(-90 * 24 * time.Hour)},
		{91 * 24 * time.Hour, false, time.Time{}},
		{-time.Hour, false, time.Time{}},
	} {
		q, err := Query(ram.EventQuery{AccessKeyID: id}, tc.window, now)
		if (err == nil) != tc.ok {
			t.Errorf("window %s: err %v", tc.window, err)
			continue
		}
		if !tc.ok {
			if !errors.Is(err, playbooks.ErrAssessWindow) {
				t.Errorf("err %v not ErrWindow", err)
			}
			continue
		}
		if !q.Start.Equal(tc.start) || !q.End.Equal(now) || q.AccessKeyID != id {
			t.Errorf("window %s: %+v", tc.window, q)
		}
	}
}

type fakeLister struct {
	pages [][]ram.Event
	err   error
	got   ram.EventQuery
}

func (f *fakeLister) LookupEvents(ctx context.Context, q ram.EventQuery, fn func(ram.Event) error) error {
	f.got = q
	for _, p := range f.pages {
		for _, e := range p {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return f.err
}

func TestCollect(t *testing.T) {
	id := accesskey.MustParseID("LTAI5tLeakedKeyAAAABBBBC")
	f := &fakeLister{pages: [][]ram.Event{{{ID: "1"}, {ID: "2"}}, {{ID: "3"}}}}
	got, err := Collect(context.Background(), f, ram.EventQuery{AccessKeyID: id})
	if err != nil || len(got) != 3 || f.got.AccessKeyID != id {
		t.Fatalf("got %d events, err %v", len(got), err)
	}
	f.err = ram.ErrThrottled
	_, err = Collect(context.Background(), f, ram.EventQuery{AccessKeyID: id})
	if !errors.Is(err, ram.ErrThrottled) || !strings.Contains(err.Error(), id.String()) {
		t.Errorf("err %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f.err = nil
	if _, err := Collect(ctx, f, ram.EventQuery{AccessKeyID: id}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled collect: %v", err)
	}
}

func BenchmarkSummarize(b *testing.B) {
	f := loadFixture(b, filepath.Join(dir, "typical.json"))
	var events []ram.Event
	for i := 0; i < 10000/len(f.Events)+1; i++ {
		events = append(events, f.Events...)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Summarize(events, Options{Window: time.Duration(f.Window), Now: f.Now})
	}
}
