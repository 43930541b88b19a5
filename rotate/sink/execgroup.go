package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// execWaitDelay bounds how long the output of a finished command is still read: a child that
// left the command's process group (setsid) may keep its output open.
const execWaitDelay = 2 * time.Second

// run runs the command in a process group of its own and ends the whole group when the command
// exits, times out or is cancelled: a child it put in the background (`cmd &`, a daemon that did
// not detach from the group) must not outlive the store, holding the secret it read on stdin.
// Its output goes through pipes respond holds, so that waiting for the command is waiting for
// the command alone, not for whatever inherited its output.
func (e *Exec) run(ctx context.Context, stdin io.Reader, c Credential, stdout, stderr io.Writer) error {
	cmd := exec.CommandContext(ctx, e.argv[0], e.argv[1:]...)
	cmd.Env = e.environ(c)
	cmd.Stdin = stdin
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return killGroup(cmd.Process) }
	cmd.WaitDelay = execWaitDelay

	outR, outW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("exec sink pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		_ = outR.Close()
		_ = outW.Close()
		return fmt.Errorf("exec sink pipe: %w", err)
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	startErr := cmd.Start()
	// The child has its own copies; ours must go so that the readers see the end.
	_ = outW.Close()
	_ = errW.Close()
	if startErr != nil {
		_ = outR.Close()
		_ = errR.Close()
		return startErr
	}
	var readers sync.WaitGroup
	readers.Go(func() { _, _ = io.Copy(stdout, outR) })
	readers.Go(func() { _, _ = io.Copy(stderr, errR) })

	// The command has exited (a zombie, its group id still reserved): whatever it left running
	// in its group goes too, then it is reaped.
	waitExited(cmd.Process.Pid)
	kerr := killGroup(cmd.Process)
	waitErr := cmd.Wait()
	if kerr != nil && waitErr == nil {
		waitErr = fmt.Errorf("end the command's process group: %w", kerr)
	}
	done := make(chan struct{})
	go func() { readers.Wait(); close(done) }()
	t := time.NewTimer(execWaitDelay)
	select {
	case <-done:
		t.Stop()
	case <-t.C:
		// Something outside the group holds the output open: stop reading it.
		_ = outR.Close()
		_ = errR.Close()
		<-done
	}
	_ = outR.Close()
	_ = errR.Close()
	return waitErr
}

// killGroup sends SIGKILL to the process group the command leads. A group already empty is not
// an error.
func killGroup(p *os.Process) error {
	if p == nil || p.Pid <= 0 {
		return nil
	}
	if err := syscall.Kill(-p.Pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}
