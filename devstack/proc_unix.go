//go:build unix && !linux

package devstack

import "syscall"

// childAttr puts the child in its own process group, so that stop and kill reach anything it
// spawns. Only Linux can tie the child's life to ours; elsewhere Stop must run.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
