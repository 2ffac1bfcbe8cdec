package devstack

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"strconv"
	"sync"
)

// StripeMockKey is a secret key stripe-mock accepts; any sk_test_ key does.
const StripeMockKey = "sk_test_123"

// StripeMock is a running stripe-mock: stateless, answering every Stripe API call from
// fixtures.
type StripeMock struct {
	// URL is its plain HTTP base URL, http://127.0.0.1:PORT.
	URL string
	// HTTPSURL is its HTTPS base URL; stripe-mock serves a self-signed certificate there.
	HTTPSURL string

	mu   sync.Mutex
	proc *child
}

// StartStripeMock starts stripe-mock with both its listeners on free loopback ports and waits
// until GET /v1/charges answers 200. ctx bounds the start only; Stop ends the server.
func StartStripeMock(ctx context.Context, o Options) (*StripeMock, error) {
	if err := o.checkDir(false); err != nil {
		return nil, err
	}
	bin, err := BinPath("stripe-mock")
	if err != nil {
		return nil, err
	}
	log := newChildLog(o.logWriter())
	log.redact = redactStripeMockLine
	for attempt := 1; ; attempt++ {
		httpPort, err := FreePort()
		if err != nil {
			return nil, err
		}
		httpsPort, err := FreePort()
		if err != nil {
			return nil, err
		}
		httpAddr := "127.0.0.1:" + strconv.Itoa(httpPort)
		httpsAddr := "127.0.0.1:" + strconv.Itoa(httpsPort)
		l := launch{
			name: "stripe-mock",
			bin:  bin,
			// Both addresses, or stripe-mock listens on every interface.
			args: []string{"-http-addr", httpAddr, "-https-addr", httpsAddr},
			dir:  o.Dir,
			env:  os.Environ(),
			log:  log,
			probe: probe{
				url:    "http://" + httpAddr + "/v1/charges",
				header: http.Header{"Authorization": {"Bearer " + StripeMockKey}},
			},
		}
		proc, err := l.start(ctx)
		if err == nil {
			return &StripeMock{URL: "http://" + httpAddr, HTTPSURL: "https://" + httpsAddr, proc: proc}, nil
		}
		if !errors.Is(err, errPortTaken) || attempt == startAttempts {
			return nil, err
		}
	}
}

// Stop sends SIGTERM to stripe-mock's process group, waits up to 10 s, then sends SIGKILL.
// Calling it again does nothing.
func (s *StripeMock) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc.stop(stopGrace)
}

// stripeMockRequestData starts the line stripe-mock prints for every request with all its
// parameters: card number, CVC, expiry and cardholder name included.
var stripeMockRequestData = []byte("Request data = ")

// redactStripeMockLine keeps the fact that stripe-mock logged request data and drops the
// data itself, so no CVC or expiry reaches a log file (the scrub writer masks card numbers
// only).
func redactStripeMockLine(line []byte) []byte {
	i := bytes.Index(line, stripeMockRequestData)
	if i < 0 {
		return line
	}
	out := append([]byte(nil), line[:i+len(stripeMockRequestData)]...)
	out = append(out, "[redacted by devstack]"...)
	if bytes.HasSuffix(line, []byte("\n")) {
		out = append(out, '\n')
	}
	return out
}
