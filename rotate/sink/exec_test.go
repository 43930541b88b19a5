package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The exec sink's tests run this test binary as the user's command. The helper is selected by its
// arguments, not by the environment, because the sink gives the command a clean environment.
const helperArg = "respond-exec-helper"

// sleeperLife is how long a background child of the exec sink's command lives if nobody ends
// it. TestExec_endsBackgroundChildren waits for it to die: killed at once, or after sleeperLife
// when the sink left it running.
const sleeperLife = 20 * time.Second

func TestMain(m *testing.M) {
	if len(os.Args) >= 3 && os.Args[1] == helperArg {
		os.Exit(execHelper(os.Args[2], os.Args[3:]))
	}
	os.Exit(m.Run())
}

// execHelper behaves as the mode says and writes what it saw (stdin, argv, env) to a report file.
func execHelper(mode string, args []string) int {
	stdin, _ := io.ReadAll(os.Stdin)
	if len(args) > 0 {
		report, _ := json.Marshal(map[string]any{"stdin": string(stdin), "args": os.Args, "env": os.Environ()})
		_ = os.WriteFile(args[0], report, 0o600)
	}
	var in map[string]string
	_ = json.Unmarshal(stdin, &in)
	switch mode {
	case "ok":
		fmt.Println("stored", in["AccessKeyId"])
		return 0
	case "echo-and-fail":
		// A careless command that prints the secret and fails.
		fmt.Println("could not store", in["AccessKeySecret"])
		fmt.Fprintln(os.Stderr, "error for", in["AccessKeySecret"])
		return 3
	case "flood":
		// The secret right across the output limit.
		fmt.Print(strings.Repeat("x", 90) + in["AccessKeySecret"] + strings.Repeat("y", 100))
		return 1
	case "sleep":
		time.Sleep(10 * time.Second)
		return 0
	case "sleeper":
		time.Sleep(sleeperLife)
		return 0
	case "background", "background-quiet", "background-hang":
		// Leave a child running in the background, as `sleeper &` in a shell would, and say
		// its pid in <report>.pid.
		exe, _ := os.Executable()
		child := exec.Command(exe, helperArg, "sleeper")
		if mode == "background" {
			child.Stdout, child.Stderr = os.Stdout, os.Stderr // it holds our output open
		}
		if err := child.Start(); err != nil {
			return 4
		}
		_ = os.WriteFile(args[0]+".pid", []byte(strconv.Itoa(child.Process.Pid)), 0o600)
		fmt.Println("stored in the background")
		if mode == "background-hang" {
			time.Sleep(sleeperLife)
		}
		return 0
	}
	return 2
}

func helperSink(t *testing.T, mode string, opts ...ExecOption) (*Exec, string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(t.TempDir(), "report.json")
	e, err := NewExec("deploy", []string{exe, helperArg, mode, report}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return e, report
}

func TestExec_secretOnStdinOnly(t *testing.T) {
	t.Setenv("RESPOND_TEST_PARENT_ONLY", "must-not-be-inherited")
	e, report := helperSink(t, "ok")
	r, err := e.Store(context.Background(), testCred())
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != "exec" || !strings.HasPrefix(r.Where, "stdin of ") {
		t.Errorf("receipt %+v", r)
	}
	raw, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Stdin string
		Args  []string
		Env   []string
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	var in map[string]string
	if err := json.Unmarshal([]byte(got.Stdin), &in); err != nil {
		t.Fatalf("stdin is not JSON: %v", err)
	}
	if in["AccessKeyId"] != testKeyID || in["AccessKeySecret"] != testSecret || in["UserName"] != "app-deployer" {
		t.Errorf("stdin = %v", in)
	}
	if strings.Contains(strings.Join(got.Args, " "), testSecret) {
		t.Error("secret in argv")
	}
	allowed := map[string]bool{"PATH": true, "HOME": true, "RESPOND_KEY_ID": true, "RESPOND_USER_NAME": true}
	for _, kv := range got.Env {
		k, v, _ := strings.Cut(kv, "=")
		if !allowed[k] {
			t.Errorf("unexpected variable in the command's environment: %s", k)
		}
		if strings.Contains(v, testSecret) {
			t.Errorf("secret in the environment (%s)", k)
		}
	}
	if !strings.Contains(strings.Join(got.Env, "\n"), "RESPOND_KEY_ID="+testKeyID) {
		t.Errorf("RESPOND_KEY_ID missing: %v", got.Env)
	}
	rj, _ := json.Marshal(r)
	if strings.Contains(string(rj), testSecret) {
		t.Error("receipt carries the secret")
	}
}

func TestExec_failureIsRedacted(t *testing.T) {
	e, _ := helperSink(t, "echo-and-fail")
	_, err := e.Store(context.Background(), testCred())
	var xe *ExecError
	if !errors.As(err, &xe) {
		t.Fatalf("err = %v, want *ExecError", err)
	}
	if xe.ExitCode != 3 {
		t.Errorf("exit code %d, want 3", xe.ExitCode)
	}
	for what, s := range map[string]string{"error": err.Error(), "stdout": xe.Stdout, "stderr": xe.Stderr, "%+v": fmt.Sprintf("%+v", xe)} {
		if strings.Contains(s, testSecret) {
			t.Errorf("%s carries the secret: %q", what, s)
		}
	}
	if !strings.Contains(xe.Stdout, "could not store [REDACTED]") || !strings.Contains(xe.Stderr, "[REDACTED]") {
		t.Errorf("output not captured and redacted: %q / %q", xe.Stdout, xe.Stderr)
	}
	if strings.Contains(err.Error(), "could not store") {
		t.Error("the error echoes the command's output")
	}
}

func TestExec_outputLimit(t *testing.T) {
	e, _ := helperSink(t, "flood", WithOutputLimit(100))
	_, err := e.Store(context.Background(), testCred())
	var xe *ExecError
	if !errors.As(err, &xe) {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(xe.Stdout, testSecret[:8]) {
		t.Errorf("a secret cut by the limit leaked: %q", xe.Stdout)
	}
	if len(xe.Stdout) > 100+len("…(truncated)") {
		t.Errorf("stdout %d bytes, limit 100", len(xe.Stdout))
	}
}

func TestExec_timeout(t *testing.T) {
	e, _ := helperSink(t, "sleep", WithTimeout(200*time.Millisecond))
	_, err := e.Store(context.Background(), testCred())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}

func TestExec_noCommand(t *testing.T) {
	if _, err := NewExec("x", nil); err == nil {
		t.Error("empty argv accepted")
	}
	e, _ := NewExec("x", []string{"/nonexistent/respond-no-such-command"})
	_, err := e.Store(context.Background(), testCred())
	if err == nil || strings.Contains(err.Error(), testSecret) {
		t.Errorf("err = %v", err)
	}
}
