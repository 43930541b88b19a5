package sink

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// becomeSubreaper makes this test process adopt orphans, so that the command's background child
// (whose parent exits) can be waited for here and its end examined.
func becomeSubreaper(t *testing.T) {
	t.Helper()
	const prSetChildSubreaper = 36
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		t.Skipf("prctl(PR_SET_CHILD_SUBREAPER): %v", errno)
	}
}

// TestExec_endsBackgroundChildren: a command that leaves a child running (holding the output
// open or not) or that hangs with one: the exec sink ends the command's whole process group,
// so the child is killed, not left to outlive the store with the secret it could have read.
func TestExec_endsBackgroundChildren(t *testing.T) {
	becomeSubreaper(t)
	cases := []struct {
		mode    string
		opts    []ExecOption
		wantErr error
	}{
		{"background", nil, nil},
		{"background-quiet", nil, nil},
		{"background-hang", []ExecOption{WithTimeout(300 * time.Millisecond)}, context.DeadlineExceeded},
	}
	for _, tc := range cases {
		t.Run(tc.mode, func(t *testing.T) {
			e, report := helperSink(t, tc.mode, tc.opts...)
			_, err := e.Store(context.Background(), testCred())
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("Store = %v, want %v", err, tc.wantErr)
			}
			b, err := os.ReadFile(report + ".pid")
			if err != nil {
				t.Fatalf("the command did not start its child: %v", err)
			}
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			var ws syscall.WaitStatus
			for {
				_, err = syscall.Wait4(pid, &ws, 0, nil)
				if !errors.Is(err, syscall.EINTR) {
					break
				}
			}
			if err != nil {
				t.Fatalf("wait for the background child %d: %v", pid, err)
			}
			if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
				t.Errorf("background child %d ended with %v, want killed by the sink: it outlived the store", pid, ws)
			}
		})
	}
}
