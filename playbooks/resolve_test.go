package playbooks

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	pbFile := filepath.Join(dir, "ci-fast.yaml")
	if err := os.WriteFile(pbFile, []byte("name: ci-fast\nsteps: [locate, delete]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// names a notification channel the configuration does not define
	teamFile := filepath.Join("..", "testdata", "playbooks", "valid", "ci-fast.yaml")
	confFile := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(confFile, []byte("playbooks:\n  - path: ci-fast.yaml\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf, err := LoadConfig(confFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, value string
		conf        *Config
		want        string // the playbook's name; "" with wantErr empty: nil
		wantErr     string
	}{
		{"empty: the rules choose", "", conf, "", ""},
		{"a built-in, no configuration", "contain-only", nil, "contain-only", ""},
		{"a built-in, with a configuration", "standard", conf, "standard", ""},
		{"a playbook the configuration loads", "ci-fast", conf, "ci-fast", ""},
		{"the same name without the configuration", "ci-fast", nil, "", "no built-in playbook"},
		{"a file by path", pbFile, nil, "ci-fast", ""},
		{"a file is checked against the configuration", teamFile, conf, "", "notification channel \"platform\""},
		{"a file without a configuration is not", teamFile, nil, "ci-fast", ""},
		{"a file by its .yaml name", "missing.yaml", nil, "", "read playbook"},
		{"unknown name", "nope", conf, "", "no built-in playbook \"nope\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pb, err := Resolve(tc.value, tc.conf)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := ""; pb != nil {
				got = pb.Name
				if got != tc.want {
					t.Errorf("playbook %q, want %q", got, tc.want)
				}
			} else if tc.want != "" {
				t.Errorf("nil, want %q", tc.want)
			}
		})
	}
	if got := conf.Names(); !slices.Equal(got, append(BuiltinNames(), "ci-fast")) {
		t.Errorf("Names() = %v", got)
	}
	if got := (*Config)(nil).Names(); !slices.Equal(got, BuiltinNames()) {
		t.Errorf("nil Names() = %v", got)
	}
}

func TestSinkNames(t *testing.T) {
	conf, err := ParseConfig("c.yaml", []byte("sinks:\n  vault: {type: file, path: /tmp/v.json}\n  ci: {type: file, path: /tmp/c.json}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := conf.SinkNames(); !slices.Equal(got, []string{"ci", "vault"}) {
		t.Errorf("SinkNames() = %v, want [ci vault]", got)
	}
	if got := (*Config)(nil).SinkNames(); got != nil {
		t.Errorf("nil SinkNames() = %v", got)
	}
}

func TestFindConfig(t *testing.T) {
	home := t.TempDir()
	xdg := filepath.Join(home, "xdg")
	for _, d := range []string{filepath.Join(home, ".config", "respond"), filepath.Join(xdg, "respond")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "config.yaml"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"RESPOND_CONFIG wins, existing or not", map[string]string{"RESPOND_CONFIG": "/x/c.yaml", "HOME": home}, "/x/c.yaml"},
		{"XDG_CONFIG_HOME", map[string]string{"XDG_CONFIG_HOME": xdg, "HOME": home}, filepath.Join(xdg, "respond", "config.yaml")},
		{"~/.config", map[string]string{"HOME": home}, filepath.Join(home, ".config", "respond", "config.yaml")},
		{"no file there: none", map[string]string{"XDG_CONFIG_HOME": filepath.Join(home, "empty")}, ""},
		{"no environment: none", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FindConfig(func(k string) string { return tc.env[k] })
			if err != nil || got != tc.want {
				t.Errorf("FindConfig = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
