package payments

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/tokenwall/tokenwall/gateway"
	"github.com/tokenwall/tokenwall/scrub"
)

// Limits are the bounds a billing operation is checked against (the api section).
type Limits struct {
	// MaxAmount is the largest amount, in the currency's minor unit.
	MaxAmount int64
	// Currencies are the allowed lower-case ISO 4217 codes.
	Currencies []string
	// ISO4217 reports whether a code is a lower-case ISO 4217 currency (config.ISO4217).
	ISO4217 func(code string) bool
	// ReturnURLOrigins are the origins ("https://crm.example.com") a return_url may be
	// under (api.return_url_origins); none allows no return_url.
	ReturnURLOrigins []string
}

// checkAmount refuses an amount that is not positive or above MaxAmount. zeroOK allows 0,
// meaning "all of it" (partial captures and refunds).
func (l Limits) checkAmount(amount int64, zeroOK bool) error {
	switch {
	case amount < 0 || (amount == 0 && !zeroOK):
		return fmt.Errorf("%w: amount must be a positive integer in the currency's minor unit", ErrInvalidAmount)
	case amount > l.MaxAmount:
		return fmt.Errorf("%w: amount is above the configured maximum", ErrInvalidAmount)
	}
	return nil
}

// checkCurrency refuses a currency that is not ISO 4217 or not in Currencies.
func (l Limits) checkCurrency(cur string) error {
	if l.ISO4217 == nil || !l.ISO4217(cur) {
		return fmt.Errorf("%w: currency must be a lower-case ISO 4217 code", ErrInvalidCurrency)
	}
	if !slices.Contains(l.Currencies, cur) {
		return fmt.Errorf("%w: allowed: %s", ErrCurrencyNotAllowed, strings.Join(l.Currencies, ", "))
	}
	return nil
}

// checkText refuses free text (description, metadata) that is too long or holds anything
// the scrubber would redact: it is sent to the gateway and shown in its dashboard.
func checkText(description string, metadata map[string]string) error {
	if len(description) > 500 || len(metadata) > 20 {
		return fmt.Errorf("%w: description is at most 500 bytes and metadata at most 20 keys", ErrInvalidParameter)
	}
	texts := []string{description}
	for k, v := range metadata {
		if len(k) == 0 || len(k) > 40 || len(v) > 500 {
			return fmt.Errorf("%w: metadata keys are 1 to 40 bytes and values at most 500", ErrInvalidParameter)
		}
		texts = append(texts, k+"="+v, `{"`+k+`":"`+v+`"}`)
	}
	for _, t := range texts {
		if string(scrub.Text([]byte(t))) != t {
			return fmt.Errorf("%w: description and metadata must not hold card, bank or identity numbers, or secrets", ErrSensitive)
		}
	}
	return nil
}

// CheckPaymentID refuses a payment id of the wrong shape.
func CheckPaymentID(id string) error {
	if !gateway.ValidPaymentID(id) {
		return fmt.Errorf("%w: payment id has the wrong shape", ErrInvalidID)
	}
	return nil
}

// CheckCustomerID refuses a customer id of the wrong shape.
func CheckCustomerID(id string) error {
	if !gateway.ValidCustomerID(id) {
		return fmt.Errorf("%w: customer id has the wrong shape", ErrInvalidID)
	}
	return nil
}

// setupIDRe is the shape of a setup id: the gateway's prefix and the charset of its other ids.
var setupIDRe = regexp.MustCompile(`^seti_[A-Za-z0-9]{1,255}$`)

// CheckSetupID refuses a setup id (seti_…) of the wrong shape.
func CheckSetupID(id string) error {
	if !setupIDRe.MatchString(id) {
		return fmt.Errorf("%w: setup id has the wrong shape", ErrInvalidID)
	}
	return nil
}

// Usages of a setup: the card is saved for charges without the customer (the default) or
// with them.
const (
	UsageOffSession = "off_session"
	UsageOnSession  = "on_session"
)

// checkUsage returns the usage of a setup, off_session for "".
func checkUsage(u string) (string, error) {
	switch u {
	case "":
		return UsageOffSession, nil
	case UsageOffSession, UsageOnSession:
		return u, nil
	}
	return "", fmt.Errorf("%w: usage must be on_session or off_session", ErrInvalidParameter)
}

// checkToken refuses a token that is not a payment method id.
func checkToken(token string) error {
	if !gateway.ValidToken(token) {
		return fmt.Errorf("%w: token must be a gateway payment method id (pm_…)", ErrInvalidToken)
	}
	return nil
}
