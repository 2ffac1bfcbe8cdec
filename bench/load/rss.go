package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"
)

// rssSample is a server's resident memory, idle and with idleConns keep-alive connections open.
type rssSample struct {
	target string
	// idleRSS and heldRSS are its RSS idle and with the connections held, in KiB.
	idleRSS, heldRSS rssKinds
	held             int
	// goIdle and goHeld are what the Go runtime says of its memory, idle and while the
	// connections are held (Go servers only; NaN otherwise): what RSS is made of.
	goIdle, goHeld goMemory
}

// goMemory is the Go runtime's account of a server's memory, in bytes (NaN when not read).
type goMemory struct {
	heapInuse, stackInuse, heapUnreturned float64
}

// goMemorySeries are the runtime figures goMemory is read from: tokenwall exports them on
// /metrics (Prometheus's Go collector), the bare proxy prints them on its admin port.
var goMemorySeries = []string{"go_memstats_heap_inuse_bytes", "go_memstats_stack_inuse_bytes", "go_memstats_heap_idle_bytes", "go_memstats_heap_released_bytes"}

// readGoMemory reads goMemory from a Go server's admin endpoint.
func readGoMemory(ctx context.Context, s *server) (goMemory, error) {
	text, err := adminText(ctx, s)
	if err != nil {
		return goMemory{}, err
	}
	var v [4]float64
	for i, name := range goMemorySeries {
		if v[i], err = parseGauge(text, name); err != nil {
			return goMemory{}, err
		}
	}
	return goMemory{heapInuse: v[0], stackInuse: v[1], heapUnreturned: v[2] - v[3]}, nil
}

// holdIdle opens n TLS connections to the server, sends one HTTP/1.1 keep-alive request on
// each and reads its answer, then leaves them open. It returns the connections; the caller
// closes them.
func (st *stack) holdIdle(ctx context.Context, s *server, n int) ([]net.Conn, error) {
	u, err := url.Parse(s.url)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if pemBytes, err := os.ReadFile(st.cert); err == nil {
		pool.AppendCertsFromPEM(pemBytes)
	}
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}, ServerName: "127.0.0.1"}
	conns := make([]net.Conn, n)
	errs := make(chan error, n)
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			// A loaded server can reset a handshake now and then (seen with tokenwall on a
			// busy machine): three tries each, so the figure is for n connections.
			var c net.Conn
			var err error
			for range 3 {
				if c, err = openIdle(ctx, u.Host, cfg); err == nil {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if err != nil {
				errs <- err
				return
			}
			conns[i] = c
		})
	}
	wg.Wait()
	close(errs)
	var held []net.Conn
	for _, c := range conns {
		if c != nil {
			held = append(held, c)
		}
	}
	if err := <-errs; err != nil {
		closeAll(held)
		return nil, fmt.Errorf("%s: %d of %d connections failed, first: %w", s.name, n-len(held), n, err)
	}
	return held, nil
}

// openIdle dials, sends one GET / and reads the answer, leaving the connection open.
func openIdle(ctx context.Context, host string, cfg *tls.Config) (net.Conn, error) {
	d := &tls.Dialer{Config: cfg, NetDialer: &net.Dialer{Timeout: 10 * time.Second}}
	c, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
		_ = c.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		_ = c.Close()
		return nil, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Close {
		_ = c.Close()
		return nil, fmt.Errorf("status %d, close %v", resp.StatusCode, resp.Close)
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

func closeAll(cs []net.Conn) {
	for _, c := range cs {
		_ = c.Close()
	}
}

// measureRSS reads the server's RSS idle, then with n idle keep-alive connections held
// open (after a settling second).
func (st *stack) measureRSS(ctx context.Context, s *server, n int) (rssSample, error) {
	smp := rssSample{target: s.name, goIdle: goMemory{nan(), nan(), nan()}, goHeld: goMemory{nan(), nan(), nan()}}
	var err error
	if smp.idleRSS, err = rssKiB(s); err != nil {
		return smp, err
	}
	if s.admin != "" {
		if smp.goIdle, err = readGoMemory(ctx, s); err != nil {
			return smp, fmt.Errorf("%s's Go memory: %w", s.name, err)
		}
	}
	conns, err := st.holdIdle(ctx, s, n)
	if err != nil {
		return smp, err
	}
	defer closeAll(conns)
	smp.held = len(conns)
	time.Sleep(time.Second)
	if smp.heldRSS, err = rssKiB(s); err != nil {
		return smp, err
	}
	if s.admin != "" {
		if smp.goHeld, err = readGoMemory(ctx, s); err != nil {
			return smp, fmt.Errorf("%s's Go memory: %w", s.name, err)
		}
	}
	return smp, nil
}
