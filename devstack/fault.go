package devstack

import (
	"fmt"
	"time"
)

// faultKind says what a FaultProxy does to a request.
type faultKind int

const (
	faultNone faultKind = iota
	faultStatus
	faultDelay
	faultDrop
	faultDropResponse
)

// Fault is what a FaultProxy does to a request instead of forwarding it plainly. The zero
// Fault forwards the request unchanged.
type Fault struct {
	kind   faultKind
	status int
	delay  time.Duration
	body   string // the answer of FaultAnswer; "" for FaultStatus's generic error
}

// FaultStatus answers with status code and a Stripe-shaped JSON error body, without
// forwarding the request.
func FaultStatus(code int) Fault { return Fault{kind: faultStatus, status: code} }

// FaultAnswer answers with status and body (JSON) without forwarding the request: a gateway
// answer stripe-mock never gives, such as a card decline.
func FaultAnswer(code int, body string) Fault {
	return Fault{kind: faultStatus, status: code, body: body}
}

// FaultDelay waits d, or until the client gives up, then forwards the request.
func FaultDelay(d time.Duration) Fault { return Fault{kind: faultDelay, delay: d} }

// FaultDrop closes the connection without answering and without forwarding: the upstream
// never sees the request. Go's http.Transport may replay a request carrying an
// Idempotency-Key when the dropped connection was a reused one; each attempt is a request.
func FaultDrop() Fault { return Fault{kind: faultDrop} }

// FaultDropResponse forwards the request, then closes the connection without answering: the
// upstream did the work but the client never hears of it.
func FaultDropResponse() Fault { return Fault{kind: faultDropResponse} }

// String names the fault as SeenRequest.Fault records it: "status 503", "delay 2s", "drop",
// "drop-response", or "" for none.
func (f Fault) String() string {
	switch f.kind {
	case faultStatus:
		return fmt.Sprintf("status %d", f.status)
	case faultDelay:
		return "delay " + f.delay.String()
	case faultDrop:
		return "drop"
	case faultDropResponse:
		return "drop-response"
	default:
		return ""
	}
}

// pendingFault is a fault and how many more requests it applies to.
type pendingFault struct {
	fault Fault
	left  int
}
