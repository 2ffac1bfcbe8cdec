package devstack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

const (
	// readyTimeout bounds how long a child may take to answer its health check.
	readyTimeout = 30 * time.Second
	// probeEvery is the pause between health checks.
	probeEvery = 100 * time.Millisecond
	// probeTimeout bounds one health check.
	probeTimeout = 2 * time.Second
	// stopGrace is how long Stop waits after SIGTERM before SIGKILL.
	stopGrace = 10 * time.Second
)

// ErrNotReady reports that a child server exited or did not answer its health check in time.
var ErrNotReady = errors.New("devstack: server not ready")

// probe is one HTTP health check: a GET of url with the given headers that must answer 200.
type probe struct {
	url    string
	header http.Header
}

// check runs the probe once.
func (p probe) check(ctx context.Context, client *http.Client) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url, nil)
	if err != nil {
		return fmt.Errorf("devstack: health request: %w", err)
	}
	req.Header = p.header.Clone()
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("devstack: health check: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("devstack: health check: GET %s answered %s", p.url, resp.Status)
	}
	return nil
}

// waitReady polls p until it passes, the child exits, readyTimeout passes or ctx ends.
func waitReady(ctx context.Context, c *child, p probe) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	// A transport of its own: no proxy from the environment, no idle connection left behind.
	tr := &http.Transport{Proxy: nil, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	tick := time.NewTicker(probeEvery)
	defer tick.Stop()
	for {
		err := p.check(ctx, client)
		if err == nil {
			return nil
		}
		select {
		case <-c.done:
			return c.exitError()
		case <-ctx.Done():
			return fmt.Errorf("%w: %s: %w (last check: %w)", ErrNotReady, c.name, ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// launch is everything needed to start a child server and tell when it is ready.
type launch struct {
	name  string
	bin   string
	args  []string
	dir   string
	env   []string
	log   *childLog
	probe probe
}

// start starts the child and waits for its probe to pass; a child that fails is killed.
func (l launch) start(ctx context.Context) (*child, error) {
	c, err := startChild(l.name, l.bin, l.args, l.dir, l.env, l.log)
	if err != nil {
		return nil, err
	}
	if err := waitReady(ctx, c, l.probe); err != nil {
		if kerr := c.kill(); kerr != nil {
			return nil, errors.Join(err, kerr)
		}
		return nil, err
	}
	return c, nil
}
