package devstack

import (
	"fmt"
	"net"
	"strconv"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago. Another process may
// take it before the caller binds it; the Start functions retry with a new port when that
// happens.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("devstack: find a free port: %w", err)
	}
	addr, ok := l.Addr().(*net.TCPAddr)
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("devstack: find a free port: %w", err)
	}
	if !ok {
		return 0, fmt.Errorf("devstack: find a free port: unexpected address %v", l.Addr())
	}
	return addr.Port, nil
}

// freePortPair returns a loopback port P with P+1 free too: Vault puts its cluster listener
// on the port after its API port.
func freePortPair() (int, error) {
	var last error
	// Many tries: on a machine with thousands of connections open (a load test beside the tests)
	// most ports next to a free one are taken.
	for range 500 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("devstack: find a free port: %w", err)
		}
		addr, ok := l.Addr().(*net.TCPAddr)
		if !ok {
			l.Close()
			return 0, fmt.Errorf("devstack: find a free port: unexpected address %v", l.Addr())
		}
		next, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(addr.Port+1)))
		if err == nil {
			next.Close()
		}
		l.Close()
		if err == nil {
			return addr.Port, nil
		}
		last = err
	}
	return 0, fmt.Errorf("devstack: find two adjacent free ports: %w", last)
}
