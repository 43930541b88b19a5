package sink

import (
	"errors"
	"syscall"
	"unsafe"
)

// waitExited blocks until the process pid has exited, without reaping it (waitid WNOWAIT): while
// it is a zombie its process group id cannot be reused, so the group can be ended safely before
// the process is reaped.
func waitExited(pid int) {
	const (
		pPID    = 1
		wExited = 4
		wNoWait = 0x1000000
	)
	var info [128]byte // siginfo_t
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid), uintptr(unsafe.Pointer(&info[0])), wExited|wNoWait, 0, 0)
		if !errors.Is(errno, syscall.EINTR) {
			return
		}
	}
}
