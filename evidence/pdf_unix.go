//go:build unix

package evidence

import (
	"os/exec"
	"syscall"
)

// killGroup runs cmd in a process group of its own and, when its context
// ends, kills the whole group, not only the first process.
func killGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
