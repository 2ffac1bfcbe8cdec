package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/gateway"
	"github.com/tokenwall/tokenwall/payments"
	"github.com/tokenwall/tokenwall/proxy"
)

// Setup intents save a card to a customer for later (off-session) charges, authenticating
// the customer once (3-D Secure) when the issuer asks. They need the customers scope, as
// attaching a token to a customer does: both keep a card with a customer.

// setupIn is the body of POST /v1/setup-intents.
type setupIn struct {
	Customer  string            `json:"customer"`
	Token     string            `json:"token"`
	Usage     string            `json:"usage,omitempty"`
	ReturnURL string            `json:"return_url,omitempty"`
	Mandate   *mandateIn        `json:"mandate,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
}

// setupOut is a setup intent as /v1 shows it.
type setupOut struct {
	ID            string         `json:"id"`
	Object        string         `json:"object"`
	Status        string         `json:"status"`
	Customer      string         `json:"customer,omitempty"`
	PaymentMethod string         `json:"payment_method,omitempty"`
	Usage         string         `json:"usage,omitempty"`
	Mandate       string         `json:"mandate,omitempty"`
	Created       int64          `json:"created"`
	NextAction    *nextActionOut `json:"next_action,omitempty"`
	LastErrorCode string         `json:"last_error_code,omitempty"`
}

func setupView(s gateway.SetupIntent) setupOut {
	out := setupOut{ID: s.ID, Object: "setup_intent", Status: string(s.Status), Customer: s.CustomerID, PaymentMethod: s.PaymentMethodID,
		Usage: s.Usage, Mandate: s.MandateID, Created: s.Created.Unix(), LastErrorCode: proxy.PublicCode(s.LastErrorCode)}
	if s.Status == gateway.SetupRequiresAction {
		out.NextAction = nextActionView(s.NextAction)
	}
	return out
}

// setupStatus is the HTTP status of an answer with setup s: done (201 new, 200 confirmed
// again) once it succeeded or is processing, 202 while it waits (requires_action:
// next_action says for what).
func setupStatus(s gateway.SetupIntent, done int) int {
	switch s.Status {
	case gateway.SetupSucceeded, gateway.SetupProcessing:
		return done
	}
	return http.StatusAccepted
}

// createSetup is POST /v1/setup-intents: save a token to a customer for later charges.
func (a *API) createSetup(c echo.Context) error {
	var in setupIn
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	s, err := a.d.Payments.CreateSetup(c.Request().Context(), caller(c), payments.SetupRequest{Customer: in.Customer, Token: in.Token,
		Usage: in.Usage, ReturnURL: in.ReturnURL, Mandate: in.Mandate.options(), Metadata: in.Metadata}, gatewayKey(c))
	if err != nil {
		return err
	}
	return noStoreJSON(c, setupStatus(s, http.StatusCreated), setupView(s))
}

// setupConfirmIn is the body of POST /v1/setup-intents/{id}/confirm.
type setupConfirmIn struct {
	ReturnURL string `json:"return_url,omitempty"`
}

// confirmSetup is POST /v1/setup-intents/{id}/confirm.
func (a *API) confirmSetup(c echo.Context) error {
	var in setupConfirmIn
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	s, err := a.d.Payments.ConfirmSetup(c.Request().Context(), caller(c), c.Param("id"), in.ReturnURL, gatewayKey(c))
	if err != nil {
		return err
	}
	return noStoreJSON(c, setupStatus(s, http.StatusOK), setupView(s))
}

// getSetup is GET /v1/setup-intents/{id}: the setup's live status at the gateway.
func (a *API) getSetup(c echo.Context) error {
	s, err := a.d.Payments.Setup(c.Request().Context(), caller(c), c.Param("id"))
	if err != nil {
		return err
	}
	return noStoreJSON(c, http.StatusOK, setupView(s))
}
