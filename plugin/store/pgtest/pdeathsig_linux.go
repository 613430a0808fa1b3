package pgtest

import (
	"os/exec"
	"syscall"
)

// setPdeathsig makes the kernel send the child SIGINT (a fast shutdown
// for postgres) when the test binary dies.
func setPdeathsig(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGINT}
}
