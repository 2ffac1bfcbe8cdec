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

// StripeMock is a running stripe-mock, stateless and answering every Stripe API call from
// fixtures, behind a Scenario that owns PaymentMethod, PaymentIntent and SetupIntent state.
type StripeMock struct {
	// URL is the Scenario's base URL, http://127.0.0.1:PORT: what tokenwall is configured with.
	URL string
	// MockURL is stripe-mock's own plain HTTP base URL, without the Scenario.
	MockURL string
	// HTTPSURL is stripe-mock's own HTTPS base URL, without the Scenario; stripe-mock serves a
	// self-signed certificate there.
	HTTPSURL string

	mu       sync.Mutex
	proc     *child
	scenario *Scenario
}

// StartStripeMock starts stripe-mock with both its listeners on free loopback ports, waits
// until GET /v1/charges answers 200, and starts a Scenario in front of it, logging to o.Log.
// ctx bounds the start only; Stop ends both.
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
			sc, err := NewScenario("http://"+httpAddr, ScenarioOptions{Log: log})
			if err != nil {
				return nil, errors.Join(err, proc.stop(stopGrace))
			}
			return &StripeMock{URL: sc.URL(), MockURL: "http://" + httpAddr, HTTPSURL: "https://" + httpsAddr, proc: proc, scenario: sc}, nil
		}
		if !errors.Is(err, errPortTaken) || attempt == startAttempts {
			return nil, err
		}
	}
}

// Stop closes the Scenario, then sends SIGTERM to stripe-mock's process group, waits up to
// 10 s, then sends SIGKILL. Calling it again does nothing.
func (s *StripeMock) Stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if s.scenario != nil {
		err = s.scenario.Close()
	}
	return errors.Join(err, s.proc.stop(stopGrace))
}

// Scenario returns the Scenario in front of stripe-mock, for its state and webhook counters.
func (s *StripeMock) Scenario() *Scenario { return s.scenario }

// SetWebhooks makes the Scenario send signed events to url from now on ("" stops them):
// the dev stack knows its webhook endpoint only once it has started.
func (s *StripeMock) SetWebhooks(url string, secret func() string, client *http.Client) {
	if s.scenario != nil {
		s.scenario.SetWebhooks(url, secret, client)
	}
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

// Pid is stripe-mock's process id (the Scenario runs in this process).
func (s *StripeMock) Pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc.cmd.Process.Pid
}
