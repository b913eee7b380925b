package blob_test

import (
	"os/exec"
	"syscall"
)

// dieWithParent stops versitygw outliving a test binary killed by a
// timeout, which skips TestMain's cleanup.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
