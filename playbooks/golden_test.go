package playbooks

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden .err files under testdata")

const (
	playbookData = "../testdata/playbooks"
	configData   = "../testdata/config"
)

func yamlFiles(t testing.TB, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no fixtures in %s", dir)
	}
	return files
}

// checkGolden compares err (which must be non-nil and made of *Error with positions) to file.err.
func checkGolden(t *testing.T, file string, err error) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: parsed without error, want one", file)
	}
	errs := Errors(err)
	if len(errs) == 0 {
		t.Fatalf("%s: error %q carries no *playbooks.Error", file, err)
	}
	for _, e := range errs {
		if e.Line <= 0 {
			t.Errorf("%s: error %q has no line", file, e)
		}
	}
	got := err.Error() + "\n"
	golden := strings.TrimSuffix(file, ".yaml") + ".err"
	if *update {
		if werr := os.WriteFile(golden, []byte(got), 0o644); werr != nil {
			t.Fatal(werr)
		}
		return
	}
	want, rerr := os.ReadFile(golden)
	if rerr != nil {
		t.Fatalf("%v (run go test ./playbooks -update to create it)", rerr)
	}
	if got != string(want) {
		t.Errorf("%s:\ngot:\n%s\nwant:\n%s", file, got, want)
	}
}

func TestParse_valid(t *testing.T) {
	for _, file := range yamlFiles(t, filepath.Join(playbookData, "valid")) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			p, err := Load(file)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if p.Source != file {
				t.Errorf("Source = %q, want %q", p.Source, file)
			}
			if err := p.Validate(); err != nil {
				t.Errorf("a parsed playbook does not re-validate: %v", err)
			}
			if !p.Has(StepDelete) {
				t.Errorf("valid playbook without delete: %v", p.StepIDs())
			}
		})
	}
}

func TestParse_invalid(t *testing.T) {
	for _, file := range yamlFiles(t, filepath.Join(playbookData, "invalid")) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			_, perr := Parse(filepath.Base(file), data)
			checkGolden(t, file, perr)
		})
	}
}

func TestParseConfig_valid(t *testing.T) {
	for _, file := range yamlFiles(t, filepath.Join(configData, "valid")) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			c, err := LoadConfig(file)
			if err != nil {
				t.Fatalf("LoadConfig: %v", err)
			}
			if err := c.Validate(); err != nil {
				t.Errorf("a parsed configuration does not re-validate: %v", err)
			}
		})
	}
}

func TestParseConfig_invalid(t *testing.T) {
	for _, file := range yamlFiles(t, filepath.Join(configData, "invalid")) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			_, perr := ParseConfig(filepath.Base(file), data)
			checkGolden(t, file, perr)
		})
	}
}

// Secrets in a refused file must not reach the error message. Every file picked must be refused
// by its own parser, and every secret listed must stand in one of them, so that the check bites.
func TestErrorsNeverQuoteSecrets(t *testing.T) {
	secrets := []string{"5tMYCr1pxcx4vz2o7riEabcdefghij", "hunter2", "swordfish", "LTAI5tMYCr1pxcx4vz2o7riE", "access_token=abc123",
		"Xq7Lm2Np9Rt4Vw8Yz3Bc6Df1Gh5Jk0", "qwertyuiopasdfghjklzxcvbnmqwer"}
	inFiles := map[string]bool{}
	for _, dir := range []string{filepath.Join(configData, "invalid"), filepath.Join(playbookData, "invalid")} {
		for _, file := range yamlFiles(t, dir) {
			if !strings.Contains(file, "secret") && !strings.Contains(file, "url") && !strings.Contains(file, "password") && !strings.Contains(file, "ltai") {
				continue
			}
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range secrets {
				if strings.Contains(string(data), s) {
					inFiles[s] = true
				}
			}
			_, e1 := ParseConfig(file, data)
			_, e2 := Parse(file, data)
			own := e2
			if dir == filepath.Join(configData, "invalid") {
				own = e1
			}
			if own == nil {
				t.Errorf("%s: not refused by its own parser", file)
			}
			for _, e := range []error{e1, e2} {
				if e == nil {
					continue
				}
				for _, s := range secrets {
					if strings.Contains(e.Error(), s) {
						t.Errorf("%s: error quotes a secret-looking value: %v", file, e)
					}
				}
			}
		}
	}
	for _, s := range secrets {
		if !inFiles[s] {
			t.Errorf("no fixture picked holds %q: the check cannot fail for it", s)
		}
	}
}
