// Package pgtest runs a throwaway PostgreSQL cluster for tests: initdb into a fresh folder
// under the temp dir, the postgres server in the foreground on a free loopback port, one
// database per test, pg_dump to look inside, and removal of it all at the end.
//
// PostgreSQL refuses to run as root, so when the tests run as root every PostgreSQL
// program runs as the postgres user (process credentials, no sudo or runuser) in a folder
// that user owns; otherwise they run as the current user.
//
// The server runs as a direct child, not under pg_ctl: pg_ctl daemonises the server, which
// would then outlive a killed test, whereas a direct child gets the kernel's parent-death
// SIGKILL, and its backends exit when they see their postmaster gone.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// User is the database superuser initdb creates; connections need no password (trust on
// loopback only).
const User = "tokenwall"

const (
	// dirPrefix names each cluster's folder under the temp dir; Start sweeps stale ones.
	dirPrefix = "tokenwall-pgtest-"
	// ownerFile in a cluster's folder holds the pid of the process that started it.
	ownerFile = "owner.pid"
	// readyTimeout bounds the wait for a started server to accept connections.
	readyTimeout = 60 * time.Second
	// stopTimeout bounds a fast shutdown before the server is killed.
	stopTimeout = 30 * time.Second
	// startAttempts is how often Start tries a new port when another process took it.
	startAttempts = 3
)

// dbName is what NewDatabase and Dump accept: a plain lower-case identifier.
var dbName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Cluster is one running PostgreSQL server and its data folder.
type Cluster struct {
	bin  string // the server binaries
	root string // the cluster's folder: owner.pid and data/
	data string
	port int
	cred *syscall.Credential // nil: run as the current user
	env  []string
	log  *tailWriter

	srv *server

	mu      sync.Mutex
	stopped bool
}

// Start creates a cluster in a new folder under dir ("" means os.TempDir()), starts its
// server on a free port on 127.0.0.1 and waits until it accepts connections. initdb's and
// the server's output are written to log as they come (nil discards them), unscrubbed, so
// that a card number that ever reached the database shows up in a scan of the log. fsync and
// synchronous_commit keep their defaults, so timings taken against it are honest. Stop
// ends the server and removes the folder; folders left by killed test processes are swept
// by the next Start.
func Start(ctx context.Context, dir string, log io.Writer) (*Cluster, error) {
	return start(ctx, defaultFinder(), dir, log)
}

func start(ctx context.Context, f finder, dir string, log io.Writer) (*Cluster, error) {
	bin, err := f.binDir(ctx)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = io.Discard
	}
	cred, err := serverCredential()
	if err != nil {
		return nil, err
	}
	if dir == "" {
		dir = os.TempDir()
	}
	sweepStale(dir)
	root, err := os.MkdirTemp(dir, dirPrefix+"*")
	if err != nil {
		return nil, fmt.Errorf("pgtest: cluster folder: %w", err)
	}
	c := &Cluster{
		bin: bin, root: root, data: filepath.Join(root, "data"), cred: cred,
		env: childEnv(root), log: newTailWriter(log),
	}
	if err := c.create(ctx); err != nil {
		_ = os.RemoveAll(root)
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		err := c.serve(ctx)
		if err == nil {
			return c, nil
		}
		_ = c.kill()
		if attempt == startAttempts || !errors.Is(err, errPortTaken) || ctx.Err() != nil {
			_ = os.RemoveAll(root)
			return nil, err
		}
	}
}

// create prepares the folder for the server's user and runs initdb.
func (c *Cluster) create(ctx context.Context) error {
	// Written whole under another name first: a sweep must never read a half-written pid.
	owner := filepath.Join(c.root, ownerFile)
	if err := os.WriteFile(owner+".new", []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return fmt.Errorf("pgtest: cluster folder: %w", err)
	}
	if err := os.Rename(owner+".new", owner); err != nil {
		return fmt.Errorf("pgtest: cluster folder: %w", err)
	}
	if c.cred != nil {
		if err := os.Chown(c.root, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
			return fmt.Errorf("pgtest: give %s to the postgres user: %w", c.root, err)
		}
	}
	// --locale=C: byte-order collation and English messages whatever locales the host has.
	cmd := c.command(ctx, "initdb", "-D", c.data, "--auth=trust", "--username="+User, "--encoding=UTF8",
		"--locale=C", "--no-instructions")
	cmd.Stdout, cmd.Stderr = c.log, c.log
	if err := cmd.Run(); err != nil {
		hint := ""
		if c.cred != nil {
			hint = fmt.Sprintf(" (the postgres user must be able to reach %s)", c.root)
		}
		return fmt.Errorf("pgtest: initdb%s: %w\n%s", hint, err, c.log.Tail())
	}
	return nil
}

// errPortTaken means another process bound the chosen port first.
var errPortTaken = errors.New("port taken")

// serve starts the server on a free port and waits until it accepts connections.
func (c *Cluster) serve(ctx context.Context) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	c.port = port
	cmd := exec.Command(filepath.Join(c.bin, "postgres"), "-D", c.data,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+c.data,
		"-c", "port="+strconv.Itoa(port))
	cmd.Dir, cmd.Env, cmd.SysProcAttr = c.root, c.env, childAttr(c.cred)
	cmd.Stdout, cmd.Stderr = c.log, c.log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	srv := &server{cmd: cmd, exited: make(chan struct{})}
	go func() {
		srv.err = cmd.Wait()
		close(srv.exited)
	}()
	c.srv = srv
	return c.waitReady(ctx)
}

// server is one run of the postgres process.
type server struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
	err    error         // its exit status, set before exited closes
}

// waitReady polls until the server accepts a connection, it exits, or time runs out.
func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last error
	for {
		select {
		case <-c.srv.exited:
			tail := c.log.Tail()
			err := fmt.Errorf("pgtest: postgres exited while starting (%v):\n%s", c.srv.err, tail)
			if strings.Contains(tail, "could not bind") || strings.Contains(tail, "could not create any TCP/IP sockets") {
				return fmt.Errorf("%w: %w", errPortTaken, err)
			}
			return err
		case <-ctx.Done():
			return fmt.Errorf("pgtest: postgres on port %d not ready (last: %v): %w\n%s", c.port, last, ctx.Err(), c.log.Tail())
		case <-tick.C:
		}
		conn, err := c.connect(ctx, "postgres")
		if err == nil {
			return conn.Close(ctx)
		}
		last = err
	}
}

// connect opens one connection to db as the superuser.
func (c *Cluster) connect(ctx context.Context, db string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(c.DSN(db))
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	cfg.ConnectTimeout = 5 * time.Second
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgtest: connect to %s: %w", db, err)
	}
	return conn, nil
}

// Dir is the cluster's folder (the data folder is its data/); Stop removes it.
func (c *Cluster) Dir() string { return c.root }

// Port is the server's TCP port on 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// DSN returns the pgx connection string for database db as the superuser.
func (c *Cluster) DSN(db string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", User, c.port, db)
}

// NewDatabase creates the empty database name (a lower-case identifier) and returns its DSN.
func (c *Cluster) NewDatabase(ctx context.Context, name string) (string, error) {
	if !dbName.MatchString(name) {
		return "", fmt.Errorf("pgtest: database name %q: want lower-case letters, digits and _", name)
	}
	conn, err := c.connect(ctx, "postgres")
	if err != nil {
		return "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	return c.DSN(name), nil
}

// Dump returns pg_dump's plain SQL dump of database db (schema and rows).
func (c *Cluster) Dump(ctx context.Context, db string) ([]byte, error) {
	if !dbName.MatchString(db) {
		return nil, fmt.Errorf("pgtest: database name %q: want lower-case letters, digits and _", db)
	}
	cmd := c.command(ctx, "pg_dump", "--host=127.0.0.1", "--port="+strconv.Itoa(c.port), "--username="+User,
		"--no-password", "--format=plain", "--dbname="+db)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("pgtest: pg_dump %s: %w: %s", db, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out.Bytes(), nil
}

// Stop shuts the server down (immediately: open sessions are ended, nothing is flushed) and
// removes the cluster's folder. Calling it again does nothing. It reports a server that had died on its own.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	c.stopped = true
	var errs []error
	if c.srv != nil {
		select {
		case <-c.srv.exited:
			errs = append(errs, fmt.Errorf("pgtest: postgres had exited before Stop (%v):\n%s", c.srv.err, c.log.Tail()))
		default:
			errs = append(errs, c.shutdown())
		}
	}
	if err := os.RemoveAll(c.root); err != nil {
		errs = append(errs, fmt.Errorf("pgtest: remove cluster folder: %w", err))
	}
	return errors.Join(errs...)
}

// shutdown asks the server for an immediate shutdown (SIGQUIT, what pg_ctl stop -m
// immediate sends) and kills it if it has not exited in time. A fast shutdown would write a
// shutdown checkpoint first, syncing every file of every database the tests made (over 6 s
// measured for one package's tests), for a folder about to be deleted.
func (c *Cluster) shutdown() error {
	if err := c.srv.cmd.Process.Signal(syscall.SIGQUIT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return errors.Join(fmt.Errorf("pgtest: stop postgres: %w", err), c.kill())
	}
	select {
	case <-c.srv.exited:
		if c.srv.err != nil {
			return fmt.Errorf("pgtest: postgres shutdown: %w\n%s", c.srv.err, c.log.Tail())
		}
		return nil
	case <-time.After(stopTimeout):
		return errors.Join(fmt.Errorf("pgtest: postgres did not shut down within %v", stopTimeout), c.kill())
	}
}

// kill SIGKILLs the server's process group and waits for it.
func (c *Cluster) kill() error {
	if c.srv == nil {
		return nil
	}
	select {
	case <-c.srv.exited:
		return nil
	default:
	}
	pid := c.srv.cmd.Process.Pid
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("pgtest: kill postgres: %w", err)
	}
	select {
	case <-c.srv.exited:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("pgtest: postgres (pid %d) still running after SIGKILL", pid)
	}
}

// command prepares a PostgreSQL program that runs to completion as the server's user.
func (c *Cluster) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(c.bin, name), args...)
	cmd.Dir, cmd.Env, cmd.SysProcAttr = c.root, c.env, childAttr(c.cred)
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// childEnv is our environment without the PG* variables that would point the programs
// elsewhere, with HOME in the cluster folder (the postgres user cannot read root's).
func childEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "HOME="+home, "LC_ALL=C")
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: find a free port: %w", err)
	}
	defer l.Close()
	addr, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return 0, fmt.Errorf("pgtest: find a free port: unexpected address %v", l.Addr())
	}
	return addr.Port, nil
}
