package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/respond-dev/respond/playbooks"
)

// dockerStage is one FROM … stage of the Dockerfile: its base and instructions (continuations
// joined).
type dockerStage struct {
	from  string
	instr [][2]string // instruction, arguments
}

func readDockerfile(t *testing.T) []dockerStage {
	t.Helper()
	f, err := os.Open(filepath.Join("deploy", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var stages []dockerStage
	sc := bufio.NewScanner(f)
	line := ""
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "#") || l == "" && line == "" {
			continue
		}
		if strings.HasSuffix(l, `\`) {
			line += strings.TrimSuffix(l, `\`) + " "
			continue
		}
		line += l
		in, args, _ := strings.Cut(line, " ")
		line = ""
		in = strings.ToUpper(in)
		if in == "FROM" {
			stages = append(stages, dockerStage{from: strings.Fields(args)[0]})
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("Dockerfile: %s before FROM", in)
		}
		stages[len(stages)-1].instr = append(stages[len(stages)-1].instr, [2]string{in, strings.TrimSpace(args)})
	}
	if len(stages) < 2 {
		t.Fatalf("Dockerfile: %d stages, want a build stage and a runtime stage", len(stages))
	}
	return stages
}

// The Dockerfile is checked without docker: its go build line (with its ENV) builds the binary
// here, which must be static (no interpreter, no shared library); the image must run it as a
// non-root user from an empty base, as respond serve.
func TestDockerfileBuildsAStaticBinary(t *testing.T) {
	stages := readDockerfile(t)
	build, final := stages[0], stages[len(stages)-1]
	var env []string
	var buildArgs []string
	for _, in := range build.instr {
		switch in[0] {
		case "ENV":
			env = append(env, strings.Fields(in[1])...)
		case "RUN":
			if rest, ok := strings.CutPrefix(in[1], "go build "); ok {
				buildArgs = strings.Fields(rest)
			}
		}
	}
	if !containsString(env, "CGO_ENABLED=0") {
		t.Errorf("the build stage's ENV %v does not set CGO_ENABLED=0", env)
	}
	if len(buildArgs) == 0 {
		t.Fatal("the build stage has no RUN go build line")
	}
	if final.from != "scratch" && !strings.HasPrefix(final.from, "gcr.io/distroless/static") {
		t.Errorf("the runtime stage is FROM %s: want scratch (a static binary needs nothing)", final.from)
	}
	got := map[string]string{}
	for _, in := range final.instr {
		got[in[0]] += in[1] + "\n"
	}
	if u := strings.TrimSpace(got["USER"]); u == "" || strings.HasPrefix(u, "0") || strings.HasPrefix(u, "root") {
		t.Errorf("the image runs as %q: want a numeric non-root user", u)
	}
	if !strings.Contains(got["ENTRYPOINT"], `"serve"`) || !strings.Contains(got["VOLUME"], "/var/lib/respond") ||
		!strings.Contains(got["ENV"], "RESPOND_STATE_DIR=/var/lib/respond/") {
		t.Errorf("runtime stage: %v", got)
	}

	// Build it as the Dockerfile does: its flags, its environment, from the module root.
	out := filepath.Join(t.TempDir(), "respond")
	args := []string{"build"}
	for i := 0; i < len(buildArgs); i++ {
		if buildArgs[i] == "-o" {
			i++ // our own output path instead
			continue
		}
		args = append(args, buildArgs[i])
	}
	args = append(args[:len(args)-1], "-o", out, args[len(args)-1])
	cmd := exec.Command("go", args...)
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	if runtime.GOOS != "linux" {
		t.Skip("the static check reads ELF")
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary has an ELF interpreter: it is dynamically linked")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v (%v)", libs, err)
	}
	v, err := exec.Command(out, "version").CombinedOutput()
	if err != nil || !bytes.Contains(v, []byte("respond")) {
		t.Errorf("the built binary: %v %s", err, v)
	}
}

// The Kubernetes manifests: one replica, never two at once, a read-only root file system, a
// non-root user, the state on a PersistentVolumeClaim, probes on /healthz and /readyz, secrets
// from a Secret, and a configuration respond accepts.
func TestKubernetesManifests(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("deploy", "kubernetes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	type doc = map[string]any
	kinds := map[string]doc{}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var d doc
		if err := dec.Decode(&d); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		kinds[d["kind"].(string)] = d
	}
	for _, k := range []string{"Deployment", "PersistentVolumeClaim", "Secret", "ConfigMap", "ServiceAccount", "Service"} {
		if kinds[k] == nil {
			t.Errorf("no %s", k)
		}
	}
	get := func(d any, path ...any) any {
		for _, p := range path {
			switch k := p.(type) {
			case string:
				d = d.(doc)[k]
			case int:
				d = d.([]any)[k]
			}
		}
		return d
	}
	dep := kinds["Deployment"]
	if get(dep, "spec", "replicas") != 1 || get(dep, "spec", "strategy", "type") != "Recreate" {
		t.Errorf("Deployment: replicas %v, strategy %v: want 1 and Recreate", get(dep, "spec", "replicas"), get(dep, "spec", "strategy", "type"))
	}
	pod := get(dep, "spec", "template", "spec")
	c := get(pod, "containers", 0)
	if get(c, "securityContext", "readOnlyRootFilesystem") != true || get(pod, "securityContext", "runAsNonRoot") != true {
		t.Error("the container must run as non-root with a read-only root file system")
	}
	if get(c, "livenessProbe", "httpGet", "path") != "/healthz" || get(c, "readinessProbe", "httpGet", "path") != "/readyz" {
		t.Error("probes must be /healthz (liveness) and /readyz (readiness)")
	}
	if get(pod, "volumes", 0, "persistentVolumeClaim", "claimName") != get(kinds["PersistentVolumeClaim"], "metadata", "name") {
		t.Error("the state volume is not the PersistentVolumeClaim")
	}
	if _, ok := get(kinds["ServiceAccount"], "metadata", "annotations").(doc)["pod-identity.alibabacloud.com/role-name"]; !ok {
		t.Error("the ServiceAccount has no RRSA role annotation")
	}
	conf, err := playbooks.ParseConfig("kubernetes.yaml", []byte(get(kinds["ConfigMap"], "data", "config.yaml").(string)))
	if err != nil {
		t.Fatalf("the ConfigMap's configuration: %v", err)
	}
	if conf.Serve == nil || conf.Serve.GitHub == nil || conf.Serve.SecurityCenter == nil || conf.Serve.Listen != "0.0.0.0:8080" {
		t.Errorf("the ConfigMap's serve section: %+v", conf.Serve)
	}
}
