package api

import (
	"time"

	"github.com/tokenwall/tokenwall/gateway"
)

// What payments and setups share: the customer's next action (3-D Secure) and the
// e-mandate options of recurring payments.

// nextActionOut is what the customer has to do, as /v1 shows it. A redirect is passed on
// unchanged: its URL's query carries the intent's client secret, which is why it is shown
// only here, never logged and never given as a field of its own.
type nextActionOut struct {
	Type          string       `json:"type"`
	RedirectToURL *redirectOut `json:"redirect_to_url,omitempty"`
}

// redirectOut is where to send the customer's browser and where the issuer sends it back.
type redirectOut struct {
	URL       string `json:"url"`
	ReturnURL string `json:"return_url"`
}

func nextActionView(n *gateway.NextAction) *nextActionOut {
	if n == nil {
		return nil
	}
	out := &nextActionOut{Type: n.Type}
	if n.Type == gateway.NextActionRedirect {
		out.RedirectToURL = &redirectOut{URL: n.RedirectURL, ReturnURL: n.ReturnURL}
	}
	return out
}

// mandateIn is a payment's or a setup's mandate (e-mandates of recurring card payments, as
// in India), passed on to the gateway as the billing app sends it. Dates are Unix seconds.
type mandateIn struct {
	Reference      string   `json:"reference,omitempty"`
	Description    string   `json:"description,omitempty"`
	AmountType     string   `json:"amount_type,omitempty"`
	Amount         int64    `json:"amount,omitempty"`
	Currency       string   `json:"currency,omitempty"`
	Interval       string   `json:"interval,omitempty"`
	IntervalCount  int64    `json:"interval_count,omitempty"`
	StartDate      int64    `json:"start_date,omitempty"`
	EndDate        int64    `json:"end_date,omitempty"`
	SupportedTypes []string `json:"supported_types,omitempty"`
}

// options is m for the gateway (nil for no mandate).
func (m *mandateIn) options() *gateway.MandateOptions {
	if m == nil {
		return nil
	}
	return &gateway.MandateOptions{Reference: m.Reference, Description: m.Description, AmountType: m.AmountType, Amount: m.Amount,
		Currency: m.Currency, Interval: m.Interval, IntervalCount: m.IntervalCount, StartDate: unixOrZero(m.StartDate),
		EndDate: unixOrZero(m.EndDate), SupportedTypes: m.SupportedTypes}
}

// unixOrZero is the time of Unix seconds s, the zero time for 0 (not set).
func unixOrZero(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}
