package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/gateway"
	"github.com/tokenwall/tokenwall/payments"
	"github.com/tokenwall/tokenwall/proxy"
)

// paymentIn is the body of POST /v1/payments.
type paymentIn struct {
	Amount      int64             `json:"amount"`
	Currency    string            `json:"currency"`
	Token       string            `json:"token"`
	Customer    string            `json:"customer,omitempty"`
	Capture     string            `json:"capture,omitempty"`
	OffSession  bool              `json:"off_session,omitempty"`
	Description string            `json:"description,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
	// ReturnURL is where the issuer sends the customer back after 3-D Secure; it must be
	// under one of api.return_url_origins.
	ReturnURL string     `json:"return_url,omitempty"`
	Mandate   *mandateIn `json:"mandate,omitempty"`
}

// paymentOut is a payment as /v1 shows it: ids, status, amounts, brand and last4, and what
// the customer has to do next.
type paymentOut struct {
	ID             string            `json:"id"`
	Object         string            `json:"object"`
	Status         string            `json:"status"`
	Amount         int64             `json:"amount"`
	AmountCaptured int64             `json:"amount_captured"`
	AmountRefunded int64             `json:"amount_refunded"`
	Currency       string            `json:"currency"`
	Customer       string            `json:"customer,omitempty"`
	PaymentMethod  string            `json:"payment_method,omitempty"`
	Brand          string            `json:"brand,omitempty"`
	Last4          string            `json:"last4,omitempty"`
	Created        int64             `json:"created"`
	Description    string            `json:"description,omitempty"`
	Metadata       map[string]string `json:"metadata,omitempty"`
	NextAction     *nextActionOut    `json:"next_action,omitempty"`
	// LastErrorCode is the gateway's code of the last failed attempt (a decline, a failed
	// authentication), shown only with the shape of a code.
	LastErrorCode string `json:"last_error_code,omitempty"`
}

func paymentView(p gateway.Payment) paymentOut {
	out := paymentOut{ID: p.ID, Object: "payment", Status: string(p.Status), Amount: p.Amount, AmountCaptured: p.AmountCaptured,
		AmountRefunded: p.AmountRefunded, Currency: p.Currency, Customer: p.CustomerID, PaymentMethod: p.PaymentMethodID,
		Brand: p.Brand, Last4: p.Last4, Created: p.Created.Unix(), Description: p.Description, Metadata: p.Metadata,
		LastErrorCode: proxy.PublicCode(p.LastErrorCode)}
	if p.Status == gateway.StatusRequiresAction {
		out.NextAction = nextActionView(p.NextAction)
	}
	return out
}

// paymentStatus is the HTTP status of an answer with payment p: done (201 for a new payment,
// 200 for one confirmed again) when the customer has nothing more to do, 202 when the
// payment waits (requires_action: next_action says for what).
func paymentStatus(p gateway.Payment, done int) int {
	switch p.Status {
	case gateway.StatusSucceeded, gateway.StatusProcessing, gateway.StatusRequiresCapture:
		return done
	}
	return http.StatusAccepted
}

// createPayment is POST /v1/payments: create and confirm a payment with a token.
func (a *API) createPayment(c echo.Context) error {
	var in paymentIn
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	p, err := a.d.Payments.Charge(c.Request().Context(), caller(c), payments.ChargeRequest{Amount: in.Amount, Currency: in.Currency,
		Token: in.Token, Customer: in.Customer, Capture: gateway.CaptureMethod(in.Capture), OffSession: in.OffSession,
		Description: in.Description, Metadata: in.Metadata, ReturnURL: in.ReturnURL, Mandate: in.Mandate.options()}, gatewayKey(c))
	if err != nil {
		return err
	}
	return noStoreJSON(c, paymentStatus(p, http.StatusCreated), paymentView(p))
}

// confirmIn is the body of POST /v1/payments/{id}/confirm.
type confirmIn struct {
	ReturnURL  string `json:"return_url,omitempty"`
	Token      string `json:"token,omitempty"`
	OffSession bool   `json:"off_session,omitempty"`
}

// confirmPayment is POST /v1/payments/{id}/confirm: confirm a payment again, on-session
// with a return_url after an off-session attempt needed the customer, or with another token
// after the first failed.
func (a *API) confirmPayment(c echo.Context) error {
	var in confirmIn
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	p, err := a.d.Payments.ConfirmPayment(c.Request().Context(), caller(c), c.Param("id"),
		payments.ConfirmRequest{ReturnURL: in.ReturnURL, Token: in.Token, OffSession: in.OffSession}, gatewayKey(c))
	if err != nil {
		return err
	}
	return noStoreJSON(c, paymentStatus(p, http.StatusOK), paymentView(p))
}

// cancelPayment is POST /v1/payments/{id}/cancel: cancel a payment that has not succeeded.
// The body is empty or {}.
func (a *API) cancelPayment(c echo.Context) error {
	if err := decodeOptionalJSON(c, &struct{}{}); err != nil {
		return err
	}
	p, err := a.d.Payments.CancelPayment(c.Request().Context(), caller(c), c.Param("id"), gatewayKey(c))
	if err != nil {
		return err
	}
	return noStoreJSON(c, http.StatusOK, paymentView(p))
}

// captureIn is the body of POST /v1/payments/{id}/capture.
type captureIn struct {
	Amount int64 `json:"amount,omitempty"`
}

// capturePayment is POST /v1/payments/{id}/capture: take the funds of a manual-capture
// payment, all of them or Amount.
func (a *API) capturePayment(c echo.Context) error {
	if err := payments.CheckPaymentID(c.Param("id")); err != nil {
		return err
	}
	var in captureIn
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	p, err := a.d.Payments.Capture(c.Request().Context(), caller(c), c.Param("id"), in.Amount, gatewayKey(c))
	if err != nil {
		return err
	}
	return noStoreJSON(c, http.StatusOK, paymentView(p))
}

// getPayment is GET /v1/payments/{id}: the payment's live status at the gateway.
func (a *API) getPayment(c echo.Context) error {
	p, err := a.d.Payments.Payment(c.Request().Context(), caller(c), c.Param("id"))
	if err != nil {
		return err
	}
	return noStoreJSON(c, http.StatusOK, paymentView(p))
}

// refundIn is the body of POST /v1/refunds.
type refundIn struct {
	Payment string `json:"payment"`
	Amount  int64  `json:"amount,omitempty"`
}

// refundOut is a refund as /v1 shows it.
type refundOut struct {
	ID       string `json:"id"`
	Object   string `json:"object"`
	Payment  string `json:"payment"`
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
	Status   string `json:"status"`
}

// createRefund is POST /v1/refunds: refund a payment, all of it or Amount.
func (a *API) createRefund(c echo.Context) error {
	var in refundIn
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	r, err := a.d.Payments.Refund(c.Request().Context(), caller(c), in.Payment, in.Amount, gatewayKey(c))
	if err != nil {
		return err
	}
	return noStoreJSON(c, http.StatusCreated, refundOut{ID: r.ID, Object: "refund", Payment: in.Payment, Amount: r.Amount, Currency: r.Currency, Status: string(r.Status)})
}
