package detect

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// plantedFiles are fake credentials in the file types gitleaks is usually run over. Every
// 24-character id stands where gitleaks' rule matches it (followed by a quote, white space or the
// end of the line); the legacy 16-character id and the id followed by "," are there to show what
// gitleaks misses and the text scanner does not.
var plantedFiles = map[string]string{
	".env": "ALIBABA_CLOUD_ACCESS_KEY_ID=\"LTAI5tFAKEe2eEnv7Hq3Zr9W\"\nALIBABA_ACCESS_KEY_SECRET=\"FAKEe2eEnvSecret3Hd6Bz1Wc5Qx9m\"\n",
	"app/upload.py": "import oss2\n\n# upload reports\nauth = oss2.Auth('LTAI5tFAKEe2ePy4Gz8Kd2Ym', 'FAKEe2ePySecret8Rt5Zy3Lk7Pb4Mn')\n" +
		"LEGACY = 'LTAIFAKEe2eLg9Xz'\n",
	"config/aliyun.yaml": "aliyun:\n  region: cn-hangzhou\n  access_key_id: LTAI5tFAKEe2eYm7Tc3Jn9Ws\n  access_key_secret: FAKEe2eYmlSecret2Np6Dm9Sg3Lb7T\n",
	"deploy.sh":          "#!/bin/sh\nset -eu\nexport ALIBABA_CLOUD_ACCESS_KEY_ID=LTAI5tFAKEe2eSh3yQ9mZ7pR\naliyun oss cp dist/ oss://bucket/ --access-key-id LTAI5tFAKEe2eSh3yQ9mZ7pR\n",
	"settings.json":      "{\n  \"accessKeyId\": \"LTAI5tFAKEe2eJs8Rq4Vx6Zc\",\n  \"csv\": \"LTAI5tFAKEe2eCv1Ui5Op9Qa,FAKEe2eCsvSecret5Ds9Aq3Wp7Zx1k\"\n}\n",
	"main.go":            "package main\n\nconst accessKeyID = \"LTAI5tFAKEe2eGo6Bq2Wd8Yt\"\n\nfunc main() {}\n",
}

// gitleaksFinds are the ids gitleaks v8.30.1 reports on plantedFiles.
var gitleaksFinds = []string{
	"LTAI5tFAKEe2eEnv7Hq3Zr9W", "LTAI5tFAKEe2ePy4Gz8Kd2Ym", "LTAI5tFAKEe2eYm7Tc3Jn9Ws",
	"LTAI5tFAKEe2eSh3yQ9mZ7pR", "LTAI5tFAKEe2eJs8Rq4Vx6Zc", "LTAI5tFAKEe2eGo6Bq2Wd8Yt",
}

// gitleaksMisses are planted ids gitleaks does not report: the legacy id and an id followed by ",".
var gitleaksMisses = []string{"LTAIFAKEe2eLg9Xz", "LTAI5tFAKEe2eCv1Ui5Op9Qa"}

func gitleaksBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("GITLEAKS"); p != "" {
		return p
	}
	p, err := exec.LookPath("gitleaks")
	if err != nil {
		t.Skip("gitleaks is not on PATH: install it with `go install github.com/zricethezav/gitleaks/v8@v8.30.1` (or set GITLEAKS) to run this test")
	}
	return p
}

func run(t *testing.T, dir string, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Dev Example", "GIT_AUTHOR_EMAIL=dev@example.com", "GIT_COMMITTER_NAME=Dev Example",
		"GIT_COMMITTER_EMAIL=dev@example.com", "GIT_AUTHOR_DATE=2025-03-04T11:02:00Z", "GIT_COMMITTER_DATE=2025-03-04T11:02:00Z")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// TestGitleaksEndToEnd builds a git repository with planted fake keys, runs the real gitleaks on
// it and checks detect.Read finds every id gitleaks reported, and pairs the secret it reported.
func TestGitleaksEndToEnd(t *testing.T) {
	gitleaks := gitleaksBinary(t)
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not on PATH")
	}
	repo := t.TempDir()
	for name, content := range plantedFiles {
		p := filepath.Join(repo, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run(t, repo, "git", "init", "-q")
	run(t, repo, "git", "add", ".")
	run(t, repo, "git", "commit", "-q", "-m", "planted fake keys")

	for _, mode := range []struct {
		name string
		args []string
	}{
		{"git", []string{"git", repo}},
		{"dir", []string{"dir", repo}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			args := append(mode.args, "--report-format", "json", "--report-path", "-", "--exit-code", "0", "--no-banner", "--log-level", "error")
			out := run(t, repo, gitleaks, args...)
			res, err := Read(context.Background(), bytes.NewReader(out), Options{Source: "gitleaks " + mode.name})
			if err != nil {
				t.Fatalf("Read gitleaks output: %v\n%s", err, out)
			}
			if res.Format != FormatGitleaksJSON {
				t.Errorf("detected %s, want gitleaks-json", res.Format)
			}
			got := map[string]Finding{}
			for _, f := range res.Findings {
				got[f.KeyID.String()] = f
			}
			for _, id := range gitleaksFinds {
				f, ok := got[id]
				if !ok {
					t.Errorf("planted id %s not found in gitleaks output", id)
					continue
				}
				if f.Locations[0].File == "" || f.Locations[0].Line == 0 {
					t.Errorf("%s: location without file or line: %+v", id, f.Locations[0])
				}
				if mode.name == "git" && f.Locations[0].Commit == "" {
					t.Errorf("%s: no commit in a git scan", id)
				}
			}
			for _, id := range gitleaksMisses {
				if _, ok := got[id]; ok {
					t.Logf("gitleaks now reports %s, which v8.30.1 missed", id)
				}
			}
			// gitleaks' secret rule fires on ALIBABA_ACCESS_KEY_SECRET in .env: paired by file.
			if f := got["LTAI5tFAKEe2eEnv7Hq3Zr9W"]; f.Secret.Reveal() != "FAKEe2eEnvSecret3Hd6Bz1Wc5Qx9m" {
				t.Errorf(".env secret not paired with its id")
			}
			if len(got) != len(gitleaksFinds) {
				keys := make([]string, 0, len(got))
				for k := range got {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				t.Errorf("found %v, want exactly %v", keys, gitleaksFinds)
			}
		})
	}

	// The same files read as text: detect also finds what gitleaks misses.
	var all bytes.Buffer
	for _, name := range []string{".env", "app/upload.py", "config/aliyun.yaml", "deploy.sh", "settings.json", "main.go"} {
		all.WriteString(plantedFiles[name])
	}
	res, err := Read(context.Background(), &all, Options{Format: FormatText})
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, f := range res.Findings {
		found[f.KeyID.String()] = true
	}
	for _, id := range append(append([]string{}, gitleaksFinds...), gitleaksMisses...) {
		if !found[id] {
			t.Errorf("text scan missed planted id %s", id)
		}
	}
}
