package rotate

import (
	"context"
	"strings"
	"testing"

	"github.com/respond-dev/respond/detect"
	"github.com/respond-dev/respond/playbooks"
	"github.com/respond-dev/respond/ram"
	"github.com/respond-dev/respond/ram/accesskey"
)

type declining struct{ asked int }

func (d *declining) Confirm(context.Context, []*Item) (bool, error) { d.asked++; return false, nil }

// TestBatchRespond: the connection is made only when there is work; a named key and a report's
// finding of it are one item whose secret the redactor knows; a Confirmer's no is the report's
// Declined; every exit code is mapped.
func TestBatchRespond(t *testing.T) {
	e := newIncidentEnv(t)
	leaked, _ := e.org.Key(incLeaked)
	id := accesskey.MustParseID(incLeaked)
	read := detect.Result{Warnings: []string{"line 3: not JSON"}, Findings: []detect.Finding{{KeyID: id, Kind: detect.KindAccessKey,
		Secret: accesskey.NewSecret(leaked.AccessKeySecret), Locations: []detect.Location{{Source: "gitleaks-json"}}}}}
	exitCode := func(s Severity) int { return 10 + int(s) }
	for _, tc := range []struct {
		name      string
		in        Input
		dryRun    bool
		connects  bool
		items     int
		declined  bool
		wantWarns int
	}{
		{"nothing to do", Input{}, false, false, 0, false, 0},
		{"a named key found in a report too", Input{Named: []accesskey.ID{id}, Read: read}, true, true, 1, false, 1},
		{"declined", Input{Named: []accesskey.ID{id}}, false, true, 1, true, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pb, err := playbooks.Builtin("standard")
			if err != nil {
				t.Fatal(err)
			}
			conf := &declining{}
			b := &Batch{Playbook: pb, StateDir: t.TempDir(), DryRun: tc.dryRun, Redactor: accesskey.NewRedactor(), Confirmer: conf,
				Outputs: Outputs{Now: e.clock.Now}}
			connected := 0
			connect := func(ctx context.Context) (*Session, error) {
				connected++
				return Connect(ctx, nil, SessionOptions{Base: ram.Config{Endpoint: e.cfg.Endpoint, Scheme: "HTTP", UserAgent: "respond/test", LookupEventsQPS: -1},
					Home: e.cfg.Credentials, FixedEndpoint: true})
			}
			rep, items, err := b.Respond(context.Background(), tc.in, connect, exitCode)
			if err != nil {
				t.Fatal(err)
			}
			if (connected == 1) != tc.connects || (rep.Caller != nil) != tc.connects {
				t.Errorf("connected %d times, caller %v; want a connection: %v", connected, rep.Caller, tc.connects)
			}
			if len(items) != tc.items || len(rep.Results) != tc.items || rep.Declined != tc.declined || len(rep.Warnings) != tc.wantWarns {
				t.Errorf("%d items, %d results, declined %v, warnings %q; want %d, declined %v, %d warnings", len(items), len(rep.Results), rep.Declined, rep.Warnings, tc.items, tc.declined, tc.wantWarns)
			}
			if rep.ExitCode != exitCode(Worst(items)) {
				t.Errorf("exit code %d, want %d", rep.ExitCode, exitCode(Worst(items)))
			}
			if tc.in.Read.Findings != nil && strings.Contains(b.Redactor.Redact(leaked.AccessKeySecret), leaked.AccessKeySecret) {
				t.Error("the redactor does not know the report's secret")
			}
			if tc.declined && (conf.asked != 1 || items[0].Result != nil) {
				t.Errorf("asked %d times, result %v: want one question and nothing run", conf.asked, items[0].Result)
			}
		})
	}
}
