package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/respond-dev/respond/rotate"
)

// pipePlanted are fake keys in the file types gitleaks is usually run over; each 24-character id
// stands where gitleaks' rule matches it.
var pipePlanted = map[string]string{
	".env":               "ALIBABA_CLOUD_ACCESS_KEY_ID=\"LTAI5tFAKEpipeEnv7Hq3Zr9\"\nALIBABA_ACCESS_KEY_SECRET=\"FAKEpipeEnvSecret3Hd6Bz1Wc5Qx9\"\n",
	"app/upload.py":      "import oss2\nauth = oss2.Auth('LTAI5tFAKEpipePy4Gz8Kd2Y', 'FAKEpipePySecret8Rt5Zy3Lk7Pb4M')\n",
	"config/aliyun.yaml": "aliyun:\n  access_key_id: LTAI5tFAKEpipeYm7Tc3Jn9W\n",
	"deploy.sh":          "#!/bin/sh\nexport ALIBABA_CLOUD_ACCESS_KEY_ID=LTAI5tFAKEpipeSh3yQ9mZ7p\n",
	"settings.json":      "{\n  \"accessKeyId\": \"LTAI5tFAKEpipeJs8Rq4Vx6Z\"\n}\n",
	"main.go":            "package main\n\nconst accessKeyID = \"LTAI5tFAKEpipeGo6Bq2Wd8Y\"\n\nfunc main() {}\n",
}

// TestGitleaksPipeIntoRespond is issue 5's acceptance test: the real gitleaks v8.30.1 scans a
// repository with planted fake keys, and its JSON report is piped into
// `respond --from - --dry-run --output json --sandbox`; every planted id must be planned for.
// CI installs gitleaks and sets RESPOND_REQUIRE_GITLEAKS=1, so there the test cannot skip.
func TestGitleaksPipeIntoRespond(t *testing.T) {
	gitleaks, err := exec.LookPath("gitleaks")
	if err != nil {
		if os.Getenv("RESPOND_REQUIRE_GITLEAKS") != "" {
			t.Fatalf("gitleaks is required (RESPOND_REQUIRE_GITLEAKS is set) but not on PATH: %v", err)
		}
		t.Skip("gitleaks is not on PATH: go install github.com/zricethezav/gitleaks/v8@v8.30.1")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not on PATH")
	}
	repo := t.TempDir()
	var want []string
	for name, content := range pipePlanted {
		p := filepath.Join(repo, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, f := range strings.Fields(strings.NewReplacer("\"", " ", "'", " ", "=", " ", ":", " ").Replace(content)) {
			if strings.HasPrefix(f, "LTAI5tFAKEpipe") && len(f) == 24 {
				want = append(want, f)
			}
		}
	}
	sort.Strings(want)
	if len(want) != len(pipePlanted) {
		t.Fatalf("planted ids = %v, want one per file", want)
	}
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
			"GIT_AUTHOR_NAME=Dev", "GIT_AUTHOR_EMAIL=dev@example.com", "GIT_COMMITTER_NAME=Dev", "GIT_COMMITTER_EMAIL=dev@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q", "-b", "main")
	git("add", ".")
	git("commit", "-q", "-m", "add config")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	scan := exec.CommandContext(ctx, gitleaks, "git", ".", "--report-format", "json", "--report-path", "-",
		"--exit-code", "0", "--no-banner", "--log-level", "error")
	scan.Dir = repo
	var scanErr bytes.Buffer
	scan.Stderr = &scanErr
	report, err := scan.Output()
	if err != nil {
		t.Fatalf("gitleaks: %v\n%s", err, scanErr.String())
	}

	s, out, errOut := newTestStreams(string(report))
	s.Env = func(k string) (string, bool) {
		if k == "HOME" {
			return t.TempDir(), true
		}
		return "", false
	}
	code := Main([]string{"--from", "-", "--dry-run", "--output", "json", "--sandbox", "--state-dir", t.TempDir()}, s)
	if code != 0 {
		t.Fatalf("respond exit %d, stderr:\n%s", code, errOut)
	}
	var rep rotate.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("decode the report: %v\n%s", err, out)
	}
	if rep.Schema != rotate.ReportSchema || !rep.DryRun {
		t.Errorf("schema %q dry_run %v", rep.Schema, rep.DryRun)
	}
	var got []string
	for _, r := range rep.Results {
		if r.Plan == nil {
			t.Errorf("%s has no plan: %s", r.KeyID, r.Error)
			continue
		}
		if r.Plan.Decision == "" || len(r.Locations) == 0 || r.Locations[0].Format != "gitleaks-json" {
			t.Errorf("%s: decision %q, locations %+v", r.KeyID, r.Plan.Decision, r.Locations)
		}
		got = append(got, r.KeyID)
	}
	sort.Strings(got)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("planned for %v, planted %v", got, want)
	}
	for _, secret := range []string{"FAKEpipeEnvSecret3Hd6Bz1Wc5Qx9", "FAKEpipePySecret8Rt5Zy3Lk7Pb4M"} {
		if bytes.Contains(out.Bytes(), []byte(secret)) || bytes.Contains(errOut.Bytes(), []byte(secret)) {
			t.Errorf("respond printed the leaked secret %s", secret[:8]+"…")
		}
	}
}
