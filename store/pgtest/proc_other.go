//go:build unix && !linux

package pgtest

import "syscall"

// childAttr puts the child in its own process group and runs it as cred (nil: as the
// current user). Only Linux can tie the child's life to ours; elsewhere Stop must run.
func childAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: cred}
}
