package stripe

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/tokenwall/tokenwall/gateway"
)

// maxIdempotencyKey is Stripe's limit on the length of an idempotency key.
const maxIdempotencyKey = 255

// maxReturnURL bounds a return URL; browsers and Stripe take longer ones, but a redirect
// target this long is a mistake or an attack.
const maxReturnURL = 2048

// validID accepts what Stripe ids are made of: 1 to 255 ASCII letters, digits and
// underscores. Anything else (a slash, a query, an empty id that would turn a read into a
// list) is refused before Stripe is asked; the id itself is never quoted in the error, in case
// a card number was pasted where an id belongs.
func validID(id string) bool {
	if id == "" || len(id) > 255 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// validReturnURL accepts an absolute http or https URL with a host. Which origins are allowed
// is the payments layer's decision (api.return_url_origins); this only keeps what Stripe would
// refuse, or could not redirect a browser to, from being sent.
func validReturnURL(s string) bool {
	if s == "" || len(s) > maxReturnURL || strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil
}

// check returns the invalid_request error for bad, when set, or for an idempotency key that
// is missing or longer than Stripe takes (stripe-go would fail it as a local error).
func check(bad, idempotencyKey string) error {
	switch k := strings.TrimSpace(idempotencyKey); {
	case bad != "":
		return rejected(bad)
	case k == "":
		return rejected("idempotency key missing")
	case len(k) > maxIdempotencyKey:
		return rejected(fmt.Sprintf("idempotency key longer than %d bytes", maxIdempotencyKey))
	}
	return nil
}

// rejected is a request tokenwall refuses before asking Stripe.
func rejected(reason string) error {
	return &gateway.Error{Code: gateway.CodeInvalidRequest, Kind: gateway.ErrRejected, Err: errors.New("stripe not asked: " + reason)}
}
