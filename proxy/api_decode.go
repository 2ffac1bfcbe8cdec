package proxy

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/scrub"
)

// Validation failures of /v1 requests; the detail says what is wrong, never echoing a value.
var (
	problemUnknownField = problemf(http.StatusBadRequest, "unknown-field", "Unknown field", "")
	problemMalformed    = problemf(http.StatusBadRequest, "malformed-request", "Malformed request",
		"the body must be one JSON object with the documented fields and types")
	problemAmount   = problemf(http.StatusUnprocessableEntity, "invalid-amount", "Invalid amount", "")
	problemCurrency = problemf(http.StatusUnprocessableEntity, "invalid-currency", "Invalid currency",
		"currency must be a lower-case ISO 4217 code")
	problemCurrencyNotAllowed = problemf(http.StatusUnprocessableEntity, "currency-not-allowed", "Currency not allowed", "")
	problemToken              = problemf(http.StatusUnprocessableEntity, "invalid-token", "Invalid token",
		"token must be a gateway payment method id (pm_…)")
	problemID        = problemf(http.StatusBadRequest, "invalid-id", "Invalid id", "")
	problemParameter = problemf(http.StatusUnprocessableEntity, "invalid-parameter", "Invalid parameter", "")
	problemSensitive = problemf(http.StatusUnprocessableEntity, "sensitive-data-refused", "Sensitive data refused",
		"description and metadata must not hold card, bank or identity numbers, or secrets")
)

var fieldName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// decodeJSON reads one JSON object into v, refusing unknown fields and trailing data.
func decodeJSON(c echo.Context, v any) error {
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return problemMalformed.withCause(err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			pe := *problemUnknownField
			pe.err = err
			if n := strings.Trim(name, `"`); fieldName.MatchString(n) {
				pe.detail = "unknown field " + n
			}
			return &pe
		}
		return problemMalformed.withCause(err)
	}
	if dec.More() {
		return problemMalformed
	}
	return nil
}

// Gateway ids, by prefix: what a path parameter or a body field must look like.
var (
	paymentIDRe  = regexp.MustCompile(`^pi_[A-Za-z0-9]{1,255}$`)
	customerIDRe = regexp.MustCompile(`^cus_[A-Za-z0-9]{1,255}$`)
	tokenRe      = regexp.MustCompile(`^pm_[A-Za-z0-9_]{1,255}$`)
)

// checkID refuses an id that is not of the gateway's shape for what.
func checkID(re *regexp.Regexp, id, what string) error {
	if !re.MatchString(id) {
		pe := *problemID
		pe.detail = what + " id has the wrong shape"
		return &pe
	}
	return nil
}

// checkAmount refuses an amount that is not positive or above api.max_amount. zeroOK allows
// 0, meaning "all of it" (partial captures and refunds).
func (s *Server) checkAmount(amount int64, zeroOK bool) error {
	pe := *problemAmount
	switch {
	case amount < 0 || (amount == 0 && !zeroOK):
		pe.detail = "amount must be a positive integer in the currency's minor unit"
	case amount > s.cfg.API.MaxAmount:
		pe.detail = "amount is above the configured maximum"
	default:
		return nil
	}
	return &pe
}

// checkCurrency refuses a currency that is not ISO 4217 or not in api.currencies.
func (s *Server) checkCurrency(cur string) error {
	if !config.ISO4217(cur) {
		return problemCurrency
	}
	for _, a := range s.cfg.API.Currencies {
		if a == cur {
			return nil
		}
	}
	pe := *problemCurrencyNotAllowed
	pe.detail = "allowed: " + strings.Join(s.cfg.API.Currencies, ", ")
	return &pe
}

// checkText refuses free text (description, metadata) that is too long or holds anything
// the scrubber would redact: it is sent to the gateway and shown in its dashboard.
func checkText(description string, metadata map[string]string) error {
	if len(description) > 500 || len(metadata) > 20 {
		pe := *problemParameter
		pe.detail = "description is at most 500 bytes and metadata at most 20 keys"
		return &pe
	}
	texts := []string{description}
	for k, v := range metadata {
		if len(k) == 0 || len(k) > 40 || len(v) > 500 {
			pe := *problemParameter
			pe.detail = "metadata keys are 1 to 40 bytes and values at most 500"
			return &pe
		}
		texts = append(texts, k+"="+v, `{"`+k+`":"`+v+`"}`)
	}
	for _, t := range texts {
		if string(scrub.Text([]byte(t))) != t {
			return problemSensitive
		}
	}
	return nil
}
