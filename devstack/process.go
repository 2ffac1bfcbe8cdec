package devstack

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// waitDelay bounds how long Wait keeps reading a dead child's output pipe, which a
// grandchild could hold open.
const waitDelay = 2 * time.Second

// killWait bounds how long a SIGKILLed child may take to be reaped.
const killWait = 5 * time.Second

// errPortTaken reports that a child could not bind its port; the caller retries elsewhere.
var errPortTaken = errors.New("devstack: port already in use")

// child is one running server process and its scrubbed output.
type child struct {
	name string
	cmd  *exec.Cmd
	log  *childLog
	done chan struct{}
	err  error // what Wait returned; read only after done is closed
}

// startChild starts bin in its own process group with stdout and stderr going to log.
func startChild(name, bin string, args []string, dir string, env []string, log *childLog) (*child, error) {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdout = log
	cmd.Stderr = log
	cmd.SysProcAttr = childAttr()
	cmd.WaitDelay = waitDelay
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("devstack: start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, log: log, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		log.Flush()
		close(c.done)
	}()
	return c, nil
}

// exited reports whether the process has ended, without waiting.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process group, waits up to grace, then sends SIGKILL. It returns
// nil once the process has ended, whoever ended it.
func (c *child) stop(grace time.Duration) error {
	if c.exited() {
		return nil
	}
	if err := signalGroup(c.cmd.Process.Pid, sigTerm); err != nil {
		return fmt.Errorf("devstack: stop %s: %w", c.name, err)
	}
	select {
	case <-c.done:
		return nil
	case <-time.After(grace):
	}
	return c.kill()
}

// kill sends SIGKILL to the process group and waits for the process to be reaped.
func (c *child) kill() error {
	if c.exited() {
		return nil
	}
	if err := signalGroup(c.cmd.Process.Pid, sigKill); err != nil {
		return fmt.Errorf("devstack: kill %s: %w", c.name, err)
	}
	select {
	case <-c.done:
		return nil
	case <-time.After(killWait):
		return fmt.Errorf("devstack: kill %s: pid %d still running after %s", c.name, c.cmd.Process.Pid, killWait)
	}
}

// exitError describes a child that ended before it was ready, with the tail of its output.
func (c *child) exitError() error {
	tail := c.log.Tail()
	err := fmt.Errorf("%w: %s exited early (%v); last output:\n%s", ErrNotReady, c.name, c.err, tail)
	if strings.Contains(tail, "address already in use") {
		return errors.Join(err, errPortTaken)
	}
	return err
}
