package devstack

import "syscall"

// childAttr puts the child in its own process group, so that stop and kill reach anything it
// spawns, and asks the kernel to SIGKILL it when the thread that started it dies. Go parks
// idle threads rather than ending them, so that is in practice the test process's death.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
