package stripe

import (
	"strings"

	stripego "github.com/stripe/stripe-go/v76"

	"github.com/tokenwall/tokenwall/gateway"
)

// checkMandate returns why m cannot be sent, or "". The options are passed on as the billing
// app sends them; Stripe judges the values (amount type, interval, dates), tokenwall only
// refuses what is out of range whatever Stripe says.
func checkMandate(m *gateway.MandateOptions) string {
	switch {
	case m == nil:
		return ""
	case m.Amount < 0:
		return "mandate amount negative"
	case m.IntervalCount < 0:
		return "mandate interval count negative"
	case !m.StartDate.IsZero() && !m.EndDate.IsZero() && m.EndDate.Before(m.StartDate):
		return "mandate ends before it starts"
	}
	return ""
}

// paymentMandateOptions are m as payment_method_options[card][mandate_options] of a
// PaymentIntent. A PaymentIntent's mandate has no currency of its own: it is the payment's,
// which CreatePayment checks m.Currency against.
func paymentMandateOptions(m *gateway.MandateOptions) *stripego.PaymentIntentPaymentMethodOptionsParams {
	o := &stripego.PaymentIntentPaymentMethodOptionsCardMandateOptionsParams{
		Reference:      optString(m.Reference),
		Description:    optString(m.Description),
		AmountType:     optString(m.AmountType),
		Interval:       optString(m.Interval),
		SupportedTypes: stringsOf(m.SupportedTypes),
	}
	if m.Amount > 0 {
		o.Amount = stripego.Int64(m.Amount)
	}
	if m.IntervalCount > 0 {
		o.IntervalCount = stripego.Int64(m.IntervalCount)
	}
	if !m.StartDate.IsZero() {
		o.StartDate = stripego.Int64(m.StartDate.Unix())
	}
	if !m.EndDate.IsZero() {
		o.EndDate = stripego.Int64(m.EndDate.Unix())
	}
	return &stripego.PaymentIntentPaymentMethodOptionsParams{
		Card: &stripego.PaymentIntentPaymentMethodOptionsCardParams{MandateOptions: o},
	}
}

// setupMandateOptions are m as payment_method_options[card][mandate_options] of a
// SetupIntent: the same fields as paymentMandateOptions, and the mandate's currency, since a
// SetupIntent has no amount of its own.
func setupMandateOptions(m *gateway.MandateOptions) *stripego.SetupIntentPaymentMethodOptionsParams {
	p := paymentMandateOptions(m).Card.MandateOptions
	o := &stripego.SetupIntentPaymentMethodOptionsCardMandateOptionsParams{
		Reference:      p.Reference,
		Description:    p.Description,
		AmountType:     p.AmountType,
		Amount:         p.Amount,
		Currency:       optString(strings.ToLower(m.Currency)),
		Interval:       p.Interval,
		IntervalCount:  p.IntervalCount,
		StartDate:      p.StartDate,
		EndDate:        p.EndDate,
		SupportedTypes: p.SupportedTypes,
	}
	return &stripego.SetupIntentPaymentMethodOptionsParams{
		Card: &stripego.SetupIntentPaymentMethodOptionsCardParams{MandateOptions: o},
	}
}

// optString is s as an optional parameter: nil, so left out, when empty.
func optString(s string) *string {
	if s == "" {
		return nil
	}
	return stripego.String(s)
}

// stringsOf is ss as a list parameter, nil when empty.
func stringsOf(ss []string) []*string {
	if len(ss) == 0 {
		return nil
	}
	return stripego.StringSlice(ss)
}
