package webhooks

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
)

// StripeSignatureHeader is the header Stripe signs its webhooks in.
const StripeSignatureHeader = "Stripe-Signature"

// stripeTimestamp reads the timestamp of a Stripe-Signature header with the grammar
// stripe-go uses ("t=<unix>,v1=<hex>[,v1=…][,v0=…]"), so that a header is sorted into
// missing, malformed and too old before any HMAC is computed. A header without a
// well-formed t or without any hex v1 is malformed.
func stripeTimestamp(header string) (time.Time, error) {
	if header == "" {
		return time.Time{}, ErrNoSignature
	}
	var ts time.Time
	var haveT, haveV1 bool
	for _, pair := range strings.Split(header, ",") {
		parts := strings.Split(pair, "=")
		if len(parts) != 2 {
			return time.Time{}, fmt.Errorf("%w: a part is not key=value", ErrBadSignatureHeader)
		}
		switch parts[0] {
		case "t":
			sec, err := strconv.ParseInt(parts[1], 10, 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("%w: t is not a unix time", ErrBadSignatureHeader)
			}
			ts, haveT = time.Unix(sec, 0), true
		case "v1":
			if _, err := hex.DecodeString(parts[1]); err == nil {
				haveV1 = true
			}
		}
	}
	if !haveT || !haveV1 {
		return time.Time{}, fmt.Errorf("%w: t and a hex v1 are required", ErrBadSignatureHeader)
	}
	return ts, nil
}

// verifyStripe checks header against the raw body with each secret in turn (any v1 that
// matches any secret is accepted, which is how a secret roll works) and decodes the event.
//
// The age check is done here, once, on the Receiver's clock: stripe-go measures age with
// time.Since, which a test cannot move, so it is called with IgnoreTolerance and only checks
// the HMAC and decodes. As in stripe-go, only age is refused: a timestamp ahead of the clock
// (skew) is accepted, and a replayed event is a duplicate id anyway.
func verifyStripe(body []byte, header string, secrets [][]byte, tolerance time.Duration, now time.Time) (stripe.Event, error) {
	ts, err := stripeTimestamp(header)
	if err != nil {
		return stripe.Event{}, err
	}
	if age := now.Sub(ts); age > tolerance {
		return stripe.Event{}, fmt.Errorf("%w: signed %s ago, tolerance %s", ErrTooOld, age.Truncate(time.Second), tolerance)
	}
	opts := webhook.ConstructEventOptions{IgnoreTolerance: true, IgnoreAPIVersionMismatch: true}
	for _, secret := range secrets {
		ev, err := webhook.ConstructEventWithOptions(body, header, string(secret), opts)
		switch {
		case err == nil:
			if ev.ID == "" || ev.Type == "" {
				return stripe.Event{}, fmt.Errorf("%w: id or type missing", ErrNotJSON)
			}
			return ev, nil
		case errors.Is(err, webhook.ErrNoValidSignature):
			continue
		case errors.Is(err, webhook.ErrNotSigned), errors.Is(err, webhook.ErrInvalidHeader):
			return stripe.Event{}, fmt.Errorf("%w: %w", ErrBadSignatureHeader, err)
		case errors.Is(err, webhook.ErrTooOld):
			return stripe.Event{}, fmt.Errorf("%w: %w", ErrTooOld, err)
		default:
			// The HMAC matched (ConstructEvent checks it first), so the body is the
			// gateway's and failed to decode. The decoder's message may quote the body:
			// it is not kept.
			return stripe.Event{}, ErrNotJSON
		}
	}
	return stripe.Event{}, fmt.Errorf("%w: tried %d secrets", ErrBadSignature, len(secrets))
}
