//go:build !unix

package devstack

import (
	"errors"
	"syscall"
)

const (
	sigTerm = syscall.SIGTERM
	sigKill = syscall.SIGKILL
)

// errUnsupported reports a platform where process groups cannot be signalled.
var errUnsupported = errors.New("devstack: process groups are not supported on this platform")

// childAttr returns no attributes: only unix systems have process groups.
func childAttr() *syscall.SysProcAttr { return nil }

// signalGroup cannot signal a process group here.
func signalGroup(int, syscall.Signal) error { return errUnsupported }
