//go:build unix

package failpoint

import (
	"os"
	"syscall"
)

func crash() {
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way
}
