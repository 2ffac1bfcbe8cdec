package pgtest

import "syscall"

// childAttr puts the child in its own process group (a Ctrl-C at the terminal reaches the
// test, whose cleanup stops the server, not the server directly), runs it as cred (nil:
// as the current user) and asks the kernel to SIGKILL it when the thread that started it
// dies, which in practice is the test process's death: Go parks idle threads rather than
// ending them. Go sets the death signal after changing credentials, which would clear it.
func childAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
}
