package playbooks

import (
	"os"
	"path/filepath"
	"testing"
)

func seed(f *testing.F, dirs ...string) {
	for _, dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
}

func checkFuzzErr(t *testing.T, err error) {
	t.Helper()
	errs := Errors(err)
	if len(errs) == 0 {
		t.Fatalf("error without *Error: %v", err)
	}
	for _, e := range errs {
		if e.Line < 0 || e.Col < 0 || e.Msg == "" {
			t.Fatalf("bad error position or message: %+v", e)
		}
	}
}

func FuzzParse(f *testing.F) {
	seed(f, filepath.Join(playbookData, "valid"), filepath.Join(playbookData, "invalid"), "builtin")
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("fuzz.yaml", data)
		if err != nil {
			if p != nil {
				t.Fatal("playbook and error both returned")
			}
			checkFuzzErr(t, err)
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("parsed playbook does not re-validate: %v", err)
		}
		if !p.Has(StepDelete) {
			t.Fatal("accepted a playbook without delete")
		}
	})
}

func FuzzParseConfig(f *testing.F) {
	seed(f, filepath.Join(configData, "valid"), filepath.Join(configData, "invalid"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig("fuzz.yaml", data)
		if err != nil {
			if c != nil {
				t.Fatal("configuration and error both returned")
			}
			checkFuzzErr(t, err)
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed configuration does not re-validate: %v", err)
		}
		_, _, _ = c.Select(PlaybookInput{AccountName: "a", UserName: "u", KeyID: "LTAI5tMYCr1pxcx4vz2o7riE", Source: "gitleaks"})
	})
}

func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(playbookData, "valid", "full-options.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Parse("b.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseConfig(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(configData, "valid", "two-accounts.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := ParseConfig("b.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSelect(b *testing.B) {
	c, err := LoadConfig(filepath.Join(configData, "valid", "two-accounts.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	in := PlaybookInput{AccountName: "prod", UserName: "app", Source: "flag"}
	for b.Loop() {
		if _, _, err := c.Select(in); err != nil {
			b.Fatal(err)
		}
	}
}
