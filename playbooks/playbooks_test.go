package playbooks

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestBuiltins(t *testing.T) {
	want := map[string][]string{
		"standard":      {"locate", "assess", "hunt", "create", "store", "delete", "verify", "close", "notify"},
		"contain-first": {"locate", "assess", "hunt", "contain", "delete", "create", "store", "eradicate", "verify", "close", "notify"},
		"contain-only":  {"locate", "assess", "delete", "verify", "close", "notify"},
	}
	if got := BuiltinNames(); !reflect.DeepEqual(got, []string{"contain-first", "contain-only", "standard"}) {
		t.Fatalf("BuiltinNames() = %v", got)
	}
	for name, steps := range want {
		t.Run(name, func(t *testing.T) {
			p, err := Builtin(name)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.StepIDs(); !reflect.DeepEqual(got, steps) {
				t.Errorf("steps = %v, want %v", got, steps)
			}
			if p.Source != SourceBuiltin || p.Name != name || p.OnStoreFailure != OnStoreFailureContain {
				t.Errorf("Source=%q Name=%q OnStoreFailure=%q", p.Source, p.Name, p.OnStoreFailure)
			}
			v, _ := p.Step(StepVerify)
			if v.Options.VerifyTimeout != DefaultVerifyTimeout || v.Options.VerifyInterval != DefaultVerifyInterval || !v.Options.CheckLeakedSecret {
				t.Errorf("verify defaults = %+v", v.Options)
			}
			a, _ := p.Step(StepAssess)
			if a.Options.AssessWindow != DefaultAssessWindow {
				t.Errorf("assess window = %v", a.Options.AssessWindow)
			}
			l, _ := p.Step(StepLocate)
			if !reflect.DeepEqual(l.Options.Strategies, Strategies()) || l.Options.UseLeakedSecret {
				t.Errorf("locate defaults = %+v", l.Options)
			}
			if err := p.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
			// A fresh copy each time: changing one does not change the next.
			p.Steps[0].ID = "changed"
			q, _ := Builtin(name)
			if q.Steps[0].ID != StepLocate {
				t.Error("Builtin returned shared state")
			}
			if _, err := BuiltinYAML(name); err != nil {
				t.Error(err)
			}
		})
	}
	if _, err := Builtin("nope"); err == nil || !strings.Contains(err.Error(), "contain-first, contain-only, standard") {
		t.Errorf("Builtin(nope) = %v", err)
	}
}

func TestParse_options(t *testing.T) {
	p, err := Load(filepath.Join(playbookData, "valid", "full-options.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := &Playbook{
		Name:        "prod-app",
		Description: "Production application keys; the replacement goes to KMS before the leaked key is deleted.",
		Steps: []Step{
			{ID: StepLocate, Options: StepOptions{Strategies: []string{"ims", "actiontrail", "scan"}, strategiesSet: true}},
			{ID: StepAssess, Options: StepOptions{AssessWindow: 168 * time.Hour}},
			{ID: StepCreate},
			{ID: StepStore},
			{ID: StepDelete, Options: StepOptions{KMSOptions: KMSOptions{KMSWait: DefaultKMSWait}}},
			{ID: StepVerify, Options: StepOptions{VerifyTimeout: 45 * time.Second, VerifyInterval: 3 * time.Second, CheckLeakedSecret: true}},
			{ID: StepNotify},
		},
		OnStoreFailure: OnStoreFailureHold,
		Sinks:          []string{"prod-kms"},
		Notify:         []string{"oncall"},
		Match: Match{
			Accounts: []string{"prod", "1234567890123456"},
			Users:    []string{"app-*", "svc-?-web"},
			Sources:  []string{"gitleaks", "trufflehog"},
			KeyIDs:   []string{"LTAI5tMYCr1pxcx4vz2o7riE"},
		},
		Source: filepath.Join(playbookData, "valid", "full-options.yaml"),
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got  %+v\nwant %+v", p, want)
	}
	d, err := Load(filepath.Join(playbookData, "valid", "days-and-options-map-empty.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := d.Step(StepAssess); a.Options.AssessWindow != 90*24*time.Hour {
		t.Errorf("90d = %v", a.Options.AssessWindow)
	}
	if v, _ := d.Step(StepVerify); v.Options.CheckLeakedSecret || v.Options.VerifyTimeout != DefaultVerifyTimeout {
		t.Errorf("verify options = %+v", v.Options)
	}
}

func TestValidate_inCode(t *testing.T) {
	ok := func() *Playbook {
		return &Playbook{Name: "x", OnStoreFailure: OnStoreFailureContain, Steps: []Step{{ID: StepCreate}, {ID: StepStore}, {ID: StepDelete}}}
	}
	tests := []struct {
		name   string
		modify func(p *Playbook)
		want   string // substring; "" = valid
	}{
		{"valid", func(*Playbook) {}, ""},
		{"no delete", func(p *Playbook) { p.Steps = p.Steps[:2] }, "never deletes the leaked key"},
		{"empty policy", func(p *Playbook) { p.OnStoreFailure = "" }, "is not a policy"},
		{"bad verify", func(p *Playbook) { p.Steps = append(p.Steps, Step{ID: StepVerify}) }, "verify.timeout"},
		{"bad name", func(p *Playbook) { p.Name = "" }, "not a valid playbook name"},
		{"unknown step", func(p *Playbook) { p.Steps = append(p.Steps, Step{ID: "disable"}) }, `unknown step "disable"`},
		{"zero window", func(p *Playbook) { p.Steps = append([]Step{{ID: StepAssess}}, p.Steps...) }, "assess.window"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok()
			tt.modify(p)
			err := p.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want %q", err, tt.want)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Errorf("not a *Error: %T", err)
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "a.yaml", Line: 3, Col: 7, Msg: "m"}, "a.yaml:3:7: m"},
		{Error{File: "a.yaml", Line: 3, Msg: "m"}, "a.yaml:3: m"},
		{Error{File: "a.yaml", Msg: "m"}, "a.yaml: m"},
		{Error{Msg: "m"}, "m"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.e, got, tt.want)
		}
	}
	_, err := Parse("m.yaml", []byte("name: x\nsteps: [bogus, delete]\nfoo: 1\n"))
	errs := Errors(err)
	if len(errs) != 2 || errs[0].Line != 2 || errs[0].Col != 9 || errs[1].Line != 3 || errs[1].Col != 1 {
		t.Errorf("Errors = %v", errs)
	}
}

func TestTemplate(t *testing.T) {
	date := time.Date(2026, 3, 4, 23, 0, 0, 0, time.FixedZone("x", 8*3600))
	v := TemplateValues{UserName: "app.web@corp", AccountID: "1234567890123456", AccountName: "prod", KeyID: "LTAI5tNEWxxxxxxxxxxxxxxx", Date: date}
	tests := []struct {
		tmpl     string
		kind     TargetKind
		vals     TemplateValues
		want     string
		parseErr string
		expErr   string
	}{
		{"respond/{{.AccountName}}/{{ .UserName }}", TargetKMSSecretName, v, "respond/prod/app.web@corp", "", ""},
		{"/etc/{{.AccountID}}-{{.Date}}.env", TargetFilePath, v, "/etc/1234567890123456-2026-03-04.env", "", ""},
		{"plain/name", TargetKMSSecretName, v, "plain/name", "", ""},
		{"{{.KeyID}}", TargetFilePath, v, "LTAI5tNEWxxxxxxxxxxxxxxx", "", ""},
		{"{{.Secret}}", TargetFilePath, v, "", "unsupported template expression", ""},
		{"{{.UserName | printf}}", TargetFilePath, v, "", "unsupported template expression", ""},
		{"{{UserName}}", TargetFilePath, v, "", "unsupported template expression", ""},
		{"a}}b", TargetFilePath, v, "", `"}}" without "{{"`, ""},
		{"a{{.UserName", TargetFilePath, v, "", `"{{" without "}}"`, ""},
		{"../{{.UserName}}", TargetFilePath, v, "", `must not contain ".."`, ""},
		{"", TargetFilePath, v, "", "empty target", ""},
		{"a b", TargetKMSSecretName, v, "", "not allowed in a KMS secret name", ""},
		{"acs/x", TargetKMSSecretName, v, "", "reserved", ""},
		{strings.Repeat("a", 193), TargetKMSSecretName, v, "", "at most 192", ""},
		{"/x/{{.UserName}}", TargetFilePath, TemplateValues{UserName: "../../etc"}, "", "", `contains '/'`},
		{"/x/{{.UserName}}", TargetFilePath, TemplateValues{UserName: ".."}, "", "", `contains ".."`},
		{"/x/{{.UserName}}", TargetFilePath, TemplateValues{}, "", "", "empty value"},
		// a value harmless alone that makes "." or ".." with the text around it
		{"/srv/creds/{{.UserName}}./key.env", TargetFilePath, TemplateValues{UserName: "."}, "", "", `path element "." or ".."`},
		{"/srv/creds/.{{.UserName}}/key.env", TargetFilePath, TemplateValues{UserName: "."}, "", "", `path element "." or ".."`},
		{"/srv/creds/{{.UserName}}{{.AccountName}}/key.env", TargetFilePath, TemplateValues{UserName: ".", AccountName: "."}, "", "", `path element "." or ".."`},
		{"/srv/creds/{{.UserName}}/key.env", TargetFilePath, TemplateValues{UserName: "."}, "", "", `path element "." or ".."`},
		{"/srv/creds/{{.UserName}}", TargetFilePath, TemplateValues{UserName: "."}, "", "", `path element "." or ".."`},
		{"/srv/creds/{{.UserName}}./key.env", TargetFilePath, TemplateValues{UserName: "a"}, "/srv/creds/a./key.env", "", ""},
		{"/srv/creds/{{.UserName}}.env", TargetFilePath, TemplateValues{UserName: "."}, "/srv/creds/..env", "", ""},
		{"./creds/./{{.UserName}}.env", TargetFilePath, TemplateValues{UserName: "app"}, "./creds/./app.env", "", ""},
		{"/x/{{.Date}}", TargetFilePath, TemplateValues{}, "", "", "empty value"},
		{"s/{{.UserName}}", TargetKMSSecretName, TemplateValues{UserName: "a/b"}, "", "", "does not allow"},
		{"s/{{.UserName}}", TargetKMSSecretName, TemplateValues{UserName: strings.Repeat("u", 200)}, "", "", "at most 192"},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl, func(t *testing.T) {
			tp, err := ParseTemplate(tt.tmpl, tt.kind)
			if tt.parseErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.parseErr) {
					t.Fatalf("ParseTemplate = %v, want %q", err, tt.parseErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tp.String() != tt.tmpl {
				t.Errorf("String = %q", tp.String())
			}
			got, err := tp.Expand(tt.vals)
			if tt.expErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.expErr) {
					t.Fatalf("Expand = %q, %v, want error %q", got, err, tt.expErr)
				}
				if strings.Contains(err.Error(), "../../etc") {
					t.Errorf("error quotes the value: %v", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Expand = %q, %v, want %q", got, err, tt.want)
			}
		})
	}
}

func TestSecretChecks(t *testing.T) {
	tests := []struct {
		yaml string
		want string // "" = accepted
	}{
		{"accounts: [{name: a, credentials: {source: env}}]", ""},
		{"accounts: [{name: a, credentials: {source: env, secret: x}}]", "holds a literal secret"},
		{"accounts: [{name: a, credentials: {source: env, Access-Key-Secret: x}}]", "holds a literal secret"},
		{"notify: {a: {type: webhook, url-env: X, token: abc}}", "holds a literal secret"},
		{"accounts: [{name: a, credentials: {source: profile, profile: LTAI5tMYCr1pxcx4vz2o7riE}}]", "AccessKey id under credentials"},
		{"canaries: [LTAI5tMYCr1pxcx4vz2o7riE]", ""},
		{"state-dir: abcdefghijABCDEFGHIJ0123456789", "looks like an AccessKey secret"},
		{"notify: {a: {type: lark, url-file: 'https://open.feishu.cn/open-apis/bot/v2/hook/xyz'}}", "webhook URL with its token"},
		{"notify: {a: {type: lark, url-file: /etc/respond/lark-url}}", ""},
		// a secret inside a longer string
		{"sinks: {v: {type: exec, command: [put, --key=Xq7Lm2Np9Rt4Vw8Yz3Bc6Df1Gh5Jk0]}}", "looks like an AccessKey secret"},
		{`sinks: {v: {type: exec, command: [sh, -c, "echo Xq7Lm2Np9Rt4Vw8Yz3Bc6Df1Gh5Jk0 | put"]}}`, "looks like an AccessKey secret"},
		{`notify: {a: {type: webhook, url-env: "X", secret-env: "pw=Xq7Lm2Np9Rt4Vw8Yz3Bc6Df1Gh5Jk0"}}`, "looks like an AccessKey secret"},
		{`sinks: {v: {type: exec, command: [put, "abcdefghijABCDEFGHIJ0123456789"]}}`, "looks like an AccessKey secret"},
		{`sinks: {v: {type: exec, command: [put, "LTAI5tMYCr1pxcx4vz2o7riE abcdefghijabcdefghijabcdefghij"]}}`, "looks like an AccessKey secret"},
		// what is not a secret: too long or short a run, one case only, no digit, an id alone
		{`sinks: {v: {type: exec, command: [put, --key=abcdefghijABCDEFGHIJ01234567890]}}`, ""},
		{`sinks: {v: {type: exec, command: [put, --key=abcdefghijABCDEFGHIJ012345678]}}`, ""},
		{`sinks: {v: {type: exec, command: [put, --x=abcdefghijabcdefghij0123456789]}}`, ""},
		{`sinks: {v: {type: exec, command: [put, --x=BenchmarkHandlerListAccessKeys]}}`, ""},
		{`sinks: {v: {type: exec, command: [put, --x=abcdefghijABCDEFGHIJ0123456789]}}`, ""},
		{`sinks: {v: {type: file, path: "/tmp/TestE2EBuiltinPlaybookscontain-only1266248999/001/creds.json"}}`, ""},
		{`sinks: {v: {type: exec, command: [put, --x=0123456789abcdef0123456789abcd]}}`, ""},
		{`sinks: {v: {type: exec, command: [put, "--id=LTAI5tMYCr1pxcx4vz2o7riE"]}}`, ""},
		{`sinks: {v: {type: file, path: "/srv/creds/{{.UserName}}/ABCDEFGHIJ0123456789abcdefghij12.json"}}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			_, err := ParseConfig("c.yaml", []byte(tt.yaml))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("ParseConfig: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseConfig = %v, want %q", err, tt.want)
			}
			for _, s := range []string{"abcdefghijABCDEFGHIJ0123456789", "LTAI5tMYCr1pxcx4vz2o7riE", "xyz", "Xq7Lm2Np9Rt4Vw8Yz3Bc6Df1Gh5Jk0", "abcdefghijabcdefghijabcdefghij"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error quotes %q: %v", s, err)
				}
			}
		})
	}
}

func TestDefaultConfigPath(t *testing.T) {
	if got, want := DefaultConfigPath("/home/u/.config"), filepath.FromSlash("/home/u/.config/respond/config.yaml"); got != want {
		t.Errorf("DefaultConfigPath = %q, want %q", got, want)
	}
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const twoPlaybooksConfig = `
accounts:
  - {name: prod, id: "1234567890123456", credentials: {source: env}}
  - {name: ci, id: "6543210987654321", credentials: {source: env}}
sinks:
  prod-kms: {type: kms, secret-name: "respond/{{.UserName}}"}
  ci-file: {type: file, path: "/tmp/{{.UserName}}.json"}
notify:
  oncall: {type: dingtalk, url-env: DT_URL}
locate: [ims, scan]
playbooks:
  - path: playbooks/ci-fast.yaml
  - path: playbooks/prod-app.yaml
rules:
  - match: {key-ids: [LTAI5tCanaryRule0000000A]}
    playbook: contain-only
`

const ciFast = `name: ci-fast
steps: [locate, delete, notify]
match:
  users: ["ci-*"]
`

const prodApp = `name: prod-app
steps: [locate, create, store, delete, verify]
sinks: [prod-kms]
match:
  accounts: [prod]
`

func TestSelect(t *testing.T) {
	dir := t.TempDir()
	cfg := writeFile(t, dir, "config.yaml", twoPlaybooksConfig)
	writeFile(t, dir, "playbooks/ci-fast.yaml", ciFast)
	writeFile(t, dir, "playbooks/prod-app.yaml", prodApp)
	c, err := LoadConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in         PlaybookInput
		want       string
		reason     string
		sinks      []string
		strategies []string
	}{
		{PlaybookInput{AccountName: "ci", UserName: "ci-runner"}, "ci-fast", `user "ci-runner" matches "ci-*"`, nil, []string{"ims", "scan"}},
		{PlaybookInput{AccountID: "1234567890123456", UserName: "app"}, "prod-app", `account 1234567890123456 matches "prod"`, []string{"prod-kms"}, []string{"ims", "scan"}},
		{PlaybookInput{AccountName: "ci", UserName: "deploy"}, "standard", "no rule matched", []string{"ci-file", "prod-kms"}, []string{"ims", "scan"}},
		{PlaybookInput{AccountName: "prod", UserName: "ci-x", KeyID: "LTAI5tCanaryRule0000000A"}, "contain-only", "rule 1 (" + cfg + ":15) chose contain-only", nil, []string{"ims", "scan"}},
		// No rule matches a Security Center finding: the built-in rule answers contain-first.
		{PlaybookInput{AccountName: "ci", UserName: "deploy", Source: SourceSecurityCenter}, "contain-first", `built-in rule: source "security-center" gets contain-first`, []string{"ci-file", "prod-kms"}, []string{"ims", "scan"}},
		// A rule that matches wins over the built-in rule.
		{PlaybookInput{AccountName: "ci", UserName: "ci-runner", Source: SourceSecurityCenter}, "ci-fast", `user "ci-runner" matches "ci-*"`, nil, []string{"ims", "scan"}},
	}
	for _, tt := range tests {
		t.Run(tt.want+"/"+tt.in.UserName, func(t *testing.T) {
			p, reason, err := c.Select(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if p.Name != tt.want || !strings.Contains(reason, tt.reason) {
				t.Errorf("Select = %s (%s), want %s (%s)", p.Name, reason, tt.want, tt.reason)
			}
			if !reflect.DeepEqual(p.Sinks, tt.sinks) {
				t.Errorf("Sinks = %v, want %v", p.Sinks, tt.sinks)
			}
			if l, ok := p.Step(StepLocate); ok && !reflect.DeepEqual(l.Options.Strategies, tt.strategies) {
				t.Errorf("strategies = %v, want %v", l.Options.Strategies, tt.strategies)
			}
		})
	}
	// Select must not change the loaded playbooks.
	p, _, _ := c.Select(PlaybookInput{AccountName: "prod"})
	p.Sinks[0] = "changed"
	if q, _, _ := c.Select(PlaybookInput{AccountName: "prod"}); q.Sinks[0] != "prod-kms" {
		t.Error("Select returned shared state")
	}
	// A playbook named on the command line is completed the same way (Completed), on a copy.
	for _, name := range []string{"standard", "ci-fast", "prod-app"} {
		pb, err := c.Playbook(name)
		if err != nil {
			t.Fatal(err)
		}
		sel, _, _ := c.Select(PlaybookInput{AccountName: map[string]string{"ci-fast": "ci", "prod-app": "prod"}[name], UserName: map[string]string{"ci-fast": "ci-runner"}[name]})
		if got := c.Completed(pb); sel.Name != name || !reflect.DeepEqual(got, sel) {
			t.Errorf("Completed(%s) = %+v, want as Select gives it: %+v", name, got, sel)
		}
		if again, _ := c.Playbook(name); !reflect.DeepEqual(again, pb) {
			t.Errorf("Completed(%s) changed the playbook it was given", name)
		}
	}
	// A nil configuration selects the default.
	var none *Config
	if p, reason, err := none.Select(PlaybookInput{}); err != nil || p.Name != DefaultPlaybook || !strings.Contains(reason, "default") {
		t.Errorf("nil Select = %v %q %v", p, reason, err)
	}
	if p, reason, err := none.Select(PlaybookInput{Source: SourceSecurityCenter}); err != nil || p.Name != "contain-first" || !strings.Contains(reason, "built-in rule") {
		t.Errorf("nil Select of a Security Center finding = %v %q %v", p, reason, err)
	}
	if _, _, ok := BuiltinRule(PlaybookInput{Source: "gitleaks"}); ok {
		t.Error("the built-in rule answers a gitleaks finding")
	}
}

// The assess section names the regions the impact assessment asks.
func TestConfigAssessRegions(t *testing.T) {
	for _, tt := range []struct {
		yaml string
		want []string
		err  string
	}{
		{"assess:\n  regions: [cn-hangzhou, ap-southeast-1]\n", []string{"cn-hangzhou", "ap-southeast-1"}, ""},
		{"locate: [ims]\n", nil, ""},
		{"assess:\n  regions: cn-hangzhou\n", nil, "assess.regions: expected"},
		{"assess:\n  regions: [eu-central-1, \"cn hangzhou\"]\n", nil, `assess.regions[1]: "cn hangzhou" is not a region id`},
		{"assess: {}\n", nil, ""},
	} {
		c, err := ParseConfig("c.yaml", []byte(tt.yaml))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: error %v, want %q", tt.yaml, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.yaml, err)
			continue
		}
		if !reflect.DeepEqual(c.Assess.Regions, tt.want) {
			t.Errorf("%q: regions %v, want %v", tt.yaml, c.Assess.Regions, tt.want)
		}
	}
	// A configuration built in code is checked by the same rules.
	c := &Config{Assess: AssessConfig{Regions: []string{"cn-hangzhou", "cn-hangzhou", "x"}}}
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "listed twice") || !strings.Contains(err.Error(), `"x" is not a region id`) {
		t.Errorf("Validate = %v", err)
	}
}

func TestLoadConfig_playbookReferences(t *testing.T) {
	tests := []struct {
		name     string
		playbook string
		want     string
	}{
		{"unknown sink", "name: prod-app\nsteps: [create, store, delete]\nsinks: [vault]\n", `names sink "vault", which is not defined under sinks (defined: ci-file, prod-kms)`},
		{"unknown channel", "name: prod-app\nsteps: [delete, notify]\nnotify: [pager]\n", `names notification channel "pager"`},
		{"shadows builtin", "name: standard\nsteps: [delete]\n", "has the name of a built-in"},
		{"invalid playbook file", "name: prod-app\nsteps: [create]\n", "prod-app.yaml:2:9: steps[0]: create without a store step"},
		{"same name twice", ciFast, `a second playbook named "ci-fast"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeFile(t, dir, "config.yaml", twoPlaybooksConfig)
			writeFile(t, dir, "playbooks/ci-fast.yaml", ciFast)
			writeFile(t, dir, "playbooks/prod-app.yaml", tt.playbook)
			_, err := LoadConfig(cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadConfig = %v, want %q", err, tt.want)
			}
			if es := Errors(err); len(es) == 0 || es[0].Line <= 0 {
				t.Errorf("no position: %v", es)
			}
		})
	}
	t.Run("missing file", func(t *testing.T) {
		dir := t.TempDir()
		cfg := writeFile(t, dir, "config.yaml", twoPlaybooksConfig)
		_, err := LoadConfig(cfg)
		if err == nil || !strings.Contains(err.Error(), "config.yaml:12:5: playbooks[0]: read playbook") {
			t.Fatalf("LoadConfig = %v", err)
		}
	})
}

func TestConfigHelpers(t *testing.T) {
	c, err := LoadConfig(filepath.Join(configData, "valid", "two-accounts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if ids := c.CanaryIDs(); len(ids) != 1 || ids[0].String() != "LTAI5tCanary0000000000AB" {
		t.Errorf("CanaryIDs = %v", ids)
	}
	if (*Config)(nil).CanaryIDs() != nil {
		t.Error("a nil configuration has canaries")
	}
	a, ok := c.Account("ci")
	if !ok || a.Credentials.Source != CredentialsRoleARN || a.Region != "cn-shanghai" {
		t.Errorf("Account(ci) = %+v", a)
	}
	s := c.Sinks["prod-kms"]
	got, err := s.ExpandTarget(TemplateValues{AccountName: "prod", UserName: "app"})
	if err != nil || got != "respond/prod/app" {
		t.Errorf("ExpandTarget = %q, %v", got, err)
	}
	if c.Sinks["ci-env-file"].Format != "dotenv" || c.Sinks["vault-push"].Command[0] != "/usr/local/bin/push-to-vault" {
		t.Errorf("sinks = %+v", c.Sinks)
	}
	if c.ResourceDirectory == nil || c.ResourceDirectory.RoleName != DefaultRDRoleName {
		t.Errorf("RD = %+v", c.ResourceDirectory)
	}
	pb, _ := Builtin("standard")
	pb.Sinks = []string{"nope"}
	if err := c.CheckPlaybook(pb); err == nil || !strings.Contains(err.Error(), `sink "nope"`) {
		t.Errorf("CheckPlaybook = %v", err)
	}
}

// The README's example configuration is the tested fixture, byte for byte.
func TestREADMEExampleIsTested(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	fixture, err := os.ReadFile(filepath.Join(configData, "valid", "two-accounts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const start = "<!-- example: testdata/config/valid/two-accounts.yaml -->\n```yaml\n"
	i := strings.Index(string(readme), start)
	if i < 0 {
		t.Fatalf("README.md has no %q block", start)
	}
	rest := string(readme)[i+len(start):]
	j := strings.Index(rest, "```\n")
	if j < 0 {
		t.Fatal("unterminated example block")
	}
	if rest[:j] != string(fixture) {
		t.Error("README.md example differs from testdata/config/valid/two-accounts.yaml; copy the fixture into the README")
	}
}

func TestUnderPrefix(t *testing.T) {
	for _, tc := range []struct {
		out, fixed string
		ok         bool
	}{
		{"/srv/creds/a/key.env", "/srv/creds/", true},
		{"/srv/creds/../key.env", "/srv/creds/", false},
		{"/srv/credsX/key.env", "/srv/creds/", false},
		{"/srv/creds/a/../../x", "/srv/creds/a", false},
		{"/anything", "/", true},
		{"creds/../../x", "creds/", false},
		{"./a/../../x", "./", false},
		{"./a/x", "./", true},
		{"x.env", "", true},
	} {
		if err := underPrefix(tc.out, tc.fixed); (err == nil) != tc.ok {
			t.Errorf("underPrefix(%q, %q) = %v, want ok=%v", tc.out, tc.fixed, err, tc.ok)
		}
	}
}

// ValidateSteps is the one place the order rules live: the engine checks its settings with it.
func TestValidateSteps(t *testing.T) {
	st := func(ids ...StepID) []Step {
		var out []Step
		for _, id := range ids {
			out = append(out, Step{ID: id, Options: DefaultOptions(id)})
		}
		return out
	}
	opt := func(s []Step, i int, set func(*StepOptions)) []Step {
		set(&s[i].Options)
		return s
	}
	window := func(d time.Duration) []Step {
		s := st(StepLocate, StepAssess, StepDelete)
		s[1].Options.AssessWindow = d
		return s
	}
	tests := []struct {
		name   string
		steps  []Step
		policy string
		want   string // substring; "" = valid
	}{
		{"standard", st(StepLocate, StepAssess, StepCreate, StepStore, StepDelete, StepVerify, StepNotify), OnStoreFailureContain, ""},
		{"contain-first", st(StepLocate, StepAssess, StepDelete, StepCreate, StepStore, StepVerify, StepNotify), OnStoreFailureContain, ""},
		{"no delete", st(StepCreate, StepStore), OnStoreFailureContain, "no delete step"},
		{"store before create", st(StepStore, StepCreate, StepDelete), OnStoreFailureContain, "store runs before create"},
		{"twice", st(StepCreate, StepStore, StepDelete, StepDelete), OnStoreFailureContain, "appears twice"},
		{"unknown", st(StepCreate, StepStore, "disable", StepDelete), OnStoreFailureContain, "unknown step"},
		{"verify first", st(StepVerify, StepCreate, StepStore, StepDelete), OnStoreFailureContain, "verify before delete"},
		{"notify not last", st(StepDelete, StepNotify, StepVerify), OnStoreFailureContain, "notify must be the last step"},
		{"hold after delete", st(StepDelete, StepCreate, StepStore), OnStoreFailureHold, "hold cannot keep the leaked key"},
		{"bad policy", st(StepDelete), "ignore", "is not a policy"},
		{"window 0", window(0), OnStoreFailureContain, "window"},
		{"window too long", window(MaxAssessWindow + time.Hour), OnStoreFailureContain, "window"},
		{"window max", window(MaxAssessWindow), OnStoreFailureContain, ""},
		{"incident standard", st(StepLocate, StepAssess, StepHunt, StepCreate, StepStore, StepDelete, StepVerify, StepNotify), OnStoreFailureContain, ""},
		{"incident contain-first", st(StepLocate, StepAssess, StepHunt, StepContain, StepDelete, StepCreate, StepStore, StepEradicate, StepVerify, StepNotify), OnStoreFailureContain, ""},
		{"contain before create", st(StepLocate, StepAssess, StepContain, StepCreate, StepStore, StepDelete), OnStoreFailureContain, ""},
		{"hunt without assess", st(StepLocate, StepHunt, StepDelete), OnStoreFailureContain, "hunt without assess"},
		{"hunt before assess", st(StepLocate, StepHunt, StepAssess, StepDelete), OnStoreFailureContain, "hunt without assess"},
		{"contain after delete", st(StepLocate, StepAssess, StepDelete, StepContain), OnStoreFailureContain, "contain after delete"},
		{"contain after create", st(StepLocate, StepAssess, StepCreate, StepStore, StepContain, StepDelete), OnStoreFailureContain, "contain after create"},
		{"eradicate without hunt", st(StepLocate, StepAssess, StepDelete, StepEradicate), OnStoreFailureContain, "eradicate without hunt"},
		{"eradicate before delete", st(StepLocate, StepAssess, StepHunt, StepEradicate, StepDelete), OnStoreFailureContain, "eradicate before delete"},
		{"hunt depth 0", opt(st(StepLocate, StepAssess, StepHunt, StepDelete), 2, func(o *StepOptions) { o.HuntDepth = 0 }), OnStoreFailureContain, "depth"},
		{"hunt depth too deep", opt(st(StepLocate, StepAssess, StepHunt, StepDelete), 2, func(o *StepOptions) { o.HuntDepth = MaxHuntDepth + 1 }), OnStoreFailureContain, "depth"},
		{"bad known ip", opt(st(StepLocate, StepAssess, StepHunt, StepDelete), 2, func(o *StepOptions) { o.KnownIPs = []string{"10.0.0.1", "app-host"} }), OnStoreFailureContain, "not an IP address"},
		{"network policy without allow-ips", opt(st(StepLocate, StepAssess, StepContain, StepDelete), 2, func(o *StepOptions) { o.ContainMethod = ContainNetworkPolicy }), OnStoreFailureContain, "add allow-ips"},
		{"network policy", opt(st(StepLocate, StepAssess, StepContain, StepDelete), 2, func(o *StepOptions) {
			o.ContainMethod, o.AllowIPs = ContainNetworkPolicy, []string{"10.0.3.0/24"}
		}), OnStoreFailureContain, ""},
		{"unknown method", opt(st(StepLocate, StepAssess, StepContain, StepDelete), 2, func(o *StepOptions) { o.ContainMethod = "disable" }), OnStoreFailureContain, "not a containment method"},
	}
	for _, tt := range tests {
		err := ValidateSteps(tt.steps, tt.policy)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: err %v, want %q", tt.name, err, tt.want)
		case strings.HasPrefix(tt.name, "window") && tt.want != "" && !errors.Is(err, ErrAssessWindow):
			t.Errorf("%s: %v does not match ErrAssessWindow", tt.name, err)
		}
	}
}

// The incident steps' options are decoded, and hunt and contain get their defaults when a
// playbook sets none.
func TestIncidentOptions(t *testing.T) {
	p, err := Load("../testdata/playbooks/valid/incident.yaml")
	if err != nil {
		t.Fatal(err)
	}
	h, _ := p.Step(StepHunt)
	c, _ := p.Step(StepContain)
	if h.Options.HuntDepth != 3 || !reflect.DeepEqual(h.Options.KnownIPs, []string{"10.0.3.17", "10.0.4.0/24"}) {
		t.Errorf("hunt options %+v", h.Options)
	}
	if c.Options.ContainMethod != ContainDenyPolicy || !reflect.DeepEqual(c.Options.AllowIPs, []string{"10.0.3.17"}) {
		t.Errorf("contain options %+v", c.Options)
	}
	cf, err := Builtin("contain-first")
	if err != nil {
		t.Fatal(err)
	}
	h, _ = cf.Step(StepHunt)
	c, _ = cf.Step(StepContain)
	if h.Options.HuntDepth != DefaultHuntDepth || c.Options.ContainMethod != ContainDenyPolicy || len(c.Options.AllowIPs) != 0 {
		t.Errorf("defaults: hunt %+v, contain %+v", h.Options, c.Options)
	}
	if !reflect.DeepEqual(ContainMethods(), []string{ContainDenyPolicy, ContainNetworkPolicy}) {
		t.Errorf("methods %v", ContainMethods())
	}
}

// ParseRegions: comma-separated and repeated, each once; a bad one is named (printable).
func TestParseRegions(t *testing.T) {
	for _, tc := range []struct {
		in      []string
		want    []string
		wantErr string
	}{
		{nil, nil, ""},
		{[]string{"cn-hangzhou, ap-southeast-1", " ,cn-hangzhou"}, []string{"cn-hangzhou", "ap-southeast-1"}, ""},
		{[]string{"cn-hangzhou,not a region\x1b"}, nil, `"not a region\\x1b" is not a region id`},
	} {
		got, err := ParseRegions(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseRegions(%q) error = %v, want %s", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseRegions(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestKMSDeletesFirst(t *testing.T) {
	tests := []struct {
		name  string
		steps []StepID
		want  bool
	}{
		{"standard waits for KMS", []StepID{StepLocate, StepCreate, StepStore, StepDelete, StepVerify}, false},
		{"contain-first deletes first", []StepID{StepLocate, StepContain, StepDelete, StepCreate, StepStore}, true},
		{"contain-only deletes", []StepID{StepLocate, StepDelete, StepVerify}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := KMSDeletesFirst(tt.steps)
			if got != tt.want || got != (why != "") {
				t.Fatalf("KMSDeletesFirst = %v, %q; want %v with a reason when true", got, why, tt.want)
			}
		})
	}
}

func TestChoosesByOwner(t *testing.T) {
	for _, tc := range []struct {
		config string
		want   bool
	}{
		{"rules:\n  - match: {sources: [gitleaks-json]}\n    playbook: contain-only\n", false},
		{"rules:\n  - match: {users: [ci-*]}\n    playbook: contain-only\n", true},
		{"rules:\n  - match: {accounts: [prod]}\n    playbook: contain-only\n", true},
		{"rules:\n  - playbook: contain-only\n", false},
		{"locate: [ims]\n", false},
	} {
		c, err := ParseConfig("c.yaml", []byte(tc.config))
		if err != nil {
			t.Fatal(err)
		}
		if got := c.ChoosesByOwner(); got != tc.want {
			t.Errorf("%q: ChoosesByOwner = %v, want %v", tc.config, got, tc.want)
		}
	}
	if (*Config)(nil).ChoosesByOwner() {
		t.Error("a nil configuration chooses by owner")
	}
}
