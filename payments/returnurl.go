package payments

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/tokenwall/tokenwall/gateway"
)

// MaxReturnURL bounds a return_url, in bytes.
const MaxReturnURL = 2048

// checkReturnURL refuses a return_url the customer must not be sent back to: it must parse,
// be https (http only on a loopback host), carry no user info and no fragment, fit in
// MaxReturnURL bytes and be under one of the configured origins. "" is allowed: no redirect.
// The detail is fixed and never echoes the value, which may carry the app's own parameters.
func (l Limits) checkReturnURL(raw string) error {
	if raw == "" {
		return nil
	}
	refuse := func(why string) error {
		return fmt.Errorf("%w: return_url %s", ErrReturnURLNotAllowed, why)
	}
	if len(raw) > MaxReturnURL {
		return refuse(fmt.Sprintf("is longer than %d bytes", MaxReturnURL))
	}
	// A browser reads a backslash as a slash; Go's parser does not, so the two could
	// disagree on the host.
	if strings.ContainsAny(raw, `\#`) {
		return refuse("must have no fragment and no backslash")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Opaque != "" || u.Host == "" {
		return refuse("is not an absolute URL")
	}
	if u.User != nil {
		return refuse("must have no user info")
	}
	origin, ok := originOf(u)
	if !ok {
		return refuse("must be https (http only on a loopback host)")
	}
	for _, o := range l.ReturnURLOrigins {
		if cu, err := url.Parse(o); err == nil && cu.User == nil {
			if co, ok := originOf(cu); ok && co == origin {
				return nil
			}
		}
	}
	return refuse("is not under an allowed origin (api.return_url_origins)")
}

// originOf is u's origin, scheme://host[:port] in lower case without the scheme's default
// port, and whether the scheme is allowed for the host: https, or http on loopback.
func originOf(u *url.URL) (string, bool) {
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	switch {
	case host == "":
		return "", false
	case scheme == "https":
		if port == "443" {
			port = ""
		}
	case scheme == "http" && loopback(host):
		if port == "80" {
			port = ""
		}
	default:
		return "", false
	}
	if port != "" {
		return scheme + "://" + net.JoinHostPort(host, port), true
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return scheme + "://" + host, true
}

// loopback reports whether host is localhost or a loopback address.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Supported mandate values.
var (
	mandateAmountTypes = []string{"fixed", "maximum"}
	mandateIntervals   = []string{"day", "week", "month", "year", "sporadic"}
)

// checkMandate refuses mandate options out of their bounds (nil is no mandate). The
// reference and description are shown to the customer and kept at the gateway: bounded and
// scrub-checked like any free text.
func (l Limits) checkMandate(m *gateway.MandateOptions) error {
	if m == nil {
		return nil
	}
	switch {
	case m.Reference == "" || len(m.Reference) > 200 || len(m.Description) > 200:
		return fmt.Errorf("%w: mandate reference is 1 to 200 bytes and description at most 200", ErrInvalidParameter)
	case !slices.Contains(mandateAmountTypes, m.AmountType):
		return fmt.Errorf("%w: mandate amount_type must be fixed or maximum", ErrInvalidParameter)
	case !slices.Contains(mandateIntervals, m.Interval):
		return fmt.Errorf("%w: mandate interval must be day, week, month, year or sporadic", ErrInvalidParameter)
	case m.IntervalCount < 0 || m.IntervalCount > 365 || (m.Interval == "sporadic" && m.IntervalCount != 0):
		return fmt.Errorf("%w: mandate interval_count is 0 to 365, and 0 for sporadic", ErrInvalidParameter)
	case m.StartDate.IsZero() || (!m.EndDate.IsZero() && !m.EndDate.After(m.StartDate)):
		return fmt.Errorf("%w: mandate start_date is required and end_date, when set, after it", ErrInvalidParameter)
	case len(m.SupportedTypes) != 1 || m.SupportedTypes[0] != "india":
		return fmt.Errorf("%w: mandate supported_types must be [india]", ErrInvalidParameter)
	}
	if err := l.checkAmount(m.Amount, false); err != nil {
		return err
	}
	if err := l.checkCurrency(m.Currency); err != nil {
		return err
	}
	if err := checkText(m.Reference, nil); err != nil {
		return err
	}
	return checkText(m.Description, nil)
}
