package proxy

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"github.com/tokenwall/tokenwall/scrub"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/gateway"
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
}

// paymentOut is a payment as /v1 shows it: ids, status, amounts, brand and last4.
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
}

func paymentView(p gateway.Payment) paymentOut {
	return paymentOut{ID: p.ID, Object: "payment", Status: string(p.Status), Amount: p.Amount, AmountCaptured: p.AmountCaptured,
		AmountRefunded: p.AmountRefunded, Currency: p.Currency, Customer: p.CustomerID, PaymentMethod: p.PaymentMethodID,
		Brand: p.Brand, Last4: p.Last4, Created: p.Created.Unix(), Description: p.Description, Metadata: p.Metadata}
}

// recordAPI writes ev for the calling key; a request whose event cannot be written fails.
func (s *Server) recordAPI(c echo.Context, ev audit.Event) error {
	ev.Actor = actorOf(apiKeyOf(c))
	return s.record(c, ev)
}

// pseudonym names a customer in the audit trail: HMAC-SHA256 with the customer's own key from
// the store, which erasure destroys.
func (s *Server) pseudonym(ctx context.Context, customer string) (string, error) {
	if customer == "" {
		return "", nil
	}
	key, err := s.store.SubjectKey(ctx, customer)
	if err != nil {
		return "", fmt.Errorf("%w: subject key: %w", ErrUnavailable, err)
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(customer))
	return "subject:" + scrub.LetterID(m.Sum(nil)[:12]), nil
}

// gatewayFailed records a failed gateway call and returns its problem.
func (s *Server) gatewayFailed(c echo.Context, typ, resource string, err error, notFound *apiError) error {
	pe := gatewayProblem(err, notFound)
	reason := gateway.Code(err) // gateway_unavailable, card_declined, not_found, …
	if reason == "internal_error" {
		reason = pe.slug
	}
	aerr := s.recordAPI(c, audit.Event{Type: typ, Outcome: audit.Failure, Reason: reason, Resource: resource})
	if aerr != nil {
		return aerr
	}
	return pe
}

// createPayment is POST /v1/payments: create and confirm a PaymentIntent with a token.
func (s *Server) createPayment(c echo.Context) error {
	var in paymentIn
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if err := s.checkAmount(in.Amount, false); err != nil {
		return err
	}
	if err := s.checkCurrency(in.Currency); err != nil {
		return err
	}
	if !tokenRe.MatchString(in.Token) {
		return problemToken
	}
	if in.Customer != "" {
		if err := checkID(customerIDRe, in.Customer, "customer"); err != nil {
			return err
		}
	}
	capture := gateway.CaptureMethod(in.Capture)
	if !capture.Valid() {
		pe := *problemParameter
		pe.detail = "capture must be automatic or manual"
		return &pe
	}
	if err := checkText(in.Description, in.Metadata); err != nil {
		return err
	}
	ctx := c.Request().Context()
	subject, err := s.pseudonym(ctx, in.Customer)
	if err != nil {
		return err
	}
	p, err := s.payments.CreatePayment(ctx, gateway.PaymentRequest{Amount: in.Amount, Currency: in.Currency, Token: in.Token,
		CustomerID: in.Customer, Capture: capture, OffSession: in.OffSession, Description: in.Description, Metadata: in.Metadata},
		gatewayIdemKey(c))
	if err != nil {
		return s.gatewayFailed(c, audit.EventCharge, "payment_method:"+in.Token, err, problemUnknownToken)
	}
	if err := s.recordAPI(c, audit.Event{Type: audit.EventCharge, Outcome: audit.Success, Resource: p.ID,
		Details: map[string]string{"amount": strconv.FormatInt(p.Amount, 10), "currency": p.Currency, "status": string(p.Status),
			"capture": string(capture), "subject": subject, "brand": p.Brand, "last4": p.Last4}}); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, paymentView(p))
}

// captureIn is the body of POST /v1/payments/{id}/capture.
type captureIn struct {
	Amount int64 `json:"amount,omitempty"`
}

// capturePayment is POST /v1/payments/{id}/capture: take the funds of a manual-capture
// payment, all of them or Amount.
func (s *Server) capturePayment(c echo.Context) error {
	id := c.Param("id")
	if err := checkID(paymentIDRe, id, "payment"); err != nil {
		return err
	}
	var in captureIn
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if err := s.checkAmount(in.Amount, true); err != nil {
		return err
	}
	p, err := s.payments.CapturePayment(c.Request().Context(), id, in.Amount, gatewayIdemKey(c))
	if err != nil {
		return s.gatewayFailed(c, audit.EventCapture, id, err, problemUnknownPayment)
	}
	if err := s.recordAPI(c, audit.Event{Type: audit.EventCapture, Outcome: audit.Success, Resource: p.ID,
		Details: map[string]string{"amount_captured": strconv.FormatInt(p.AmountCaptured, 10), "currency": p.Currency, "status": string(p.Status)}}); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, paymentView(p))
}

// getPayment is GET /v1/payments/{id}.
func (s *Server) getPayment(c echo.Context) error {
	id := c.Param("id")
	if err := checkID(paymentIDRe, id, "payment"); err != nil {
		return err
	}
	p, err := s.payments.GetPayment(c.Request().Context(), id)
	if err != nil {
		return s.gatewayFailed(c, audit.EventAPIRead, id, err, problemUnknownPayment)
	}
	if err := s.recordAPI(c, audit.Event{Type: audit.EventAPIRead, Outcome: audit.Success, Resource: p.ID}); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, paymentView(p))
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
func (s *Server) createRefund(c echo.Context) error {
	var in refundIn
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if err := checkID(paymentIDRe, in.Payment, "payment"); err != nil {
		return err
	}
	if err := s.checkAmount(in.Amount, true); err != nil {
		return err
	}
	r, err := s.payments.CreateRefund(c.Request().Context(), gateway.RefundRequest{PaymentID: in.Payment, Amount: in.Amount}, gatewayIdemKey(c))
	if err != nil {
		return s.gatewayFailed(c, audit.EventRefund, in.Payment, err, problemUnknownPayment)
	}
	if err := s.recordAPI(c, audit.Event{Type: audit.EventRefund, Outcome: audit.Success, Resource: r.ID,
		Details: map[string]string{"payment": in.Payment, "amount": strconv.FormatInt(r.Amount, 10), "currency": r.Currency, "status": string(r.Status)}}); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, refundOut{ID: r.ID, Object: "refund", Payment: in.Payment, Amount: r.Amount, Currency: r.Currency, Status: string(r.Status)})
}

// customerIn is the body of POST /v1/customers.
type customerIn struct {
	Email       string            `json:"email,omitempty"`
	Name        string            `json:"name,omitempty"`
	Description string            `json:"description,omitempty"`
	Metadata    map[string]string `json:"metadata,omitempty"`
}

// createCustomer is POST /v1/customers.
func (s *Server) createCustomer(c echo.Context) error {
	var in customerIn
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if len(in.Email) > 320 || len(in.Name) > 256 {
		pe := *problemParameter
		pe.detail = "email is at most 320 bytes and name at most 256"
		return &pe
	}
	if err := checkText(in.Description, in.Metadata); err != nil {
		return err
	}
	cu, err := s.payments.CreateCustomer(c.Request().Context(), gateway.CustomerRequest{Email: in.Email, Name: in.Name,
		Description: in.Description, Metadata: in.Metadata}, gatewayIdemKey(c))
	if err != nil {
		return s.gatewayFailed(c, audit.EventCustomerCreated, "customer", err, problemUnknownCustomer)
	}
	subject, err := s.pseudonym(c.Request().Context(), cu.ID)
	if err != nil {
		return err
	}
	if err := s.recordAPI(c, audit.Event{Type: audit.EventCustomerCreated, Outcome: audit.Success, Resource: subject}); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, map[string]any{"id": cu.ID, "object": "customer", "created": cu.Created.Unix()})
}

// attachIn is the body of POST /v1/customers/{id}/payment-methods.
type attachIn struct {
	Token string `json:"token"`
}

// attachPaymentMethod is POST /v1/customers/{id}/payment-methods: keep a token with a
// customer for later charges.
func (s *Server) attachPaymentMethod(c echo.Context) error {
	id := c.Param("id")
	if err := checkID(customerIDRe, id, "customer"); err != nil {
		return err
	}
	var in attachIn
	if err := decodeJSON(c, &in); err != nil {
		return err
	}
	if !tokenRe.MatchString(in.Token) {
		return problemToken
	}
	ctx := c.Request().Context()
	subject, err := s.pseudonym(ctx, id)
	if err != nil {
		return err
	}
	pm, err := s.payments.AttachPaymentMethod(ctx, id, in.Token, gatewayIdemKey(c))
	if err != nil {
		return s.gatewayFailed(c, audit.EventPaymentMethodAttached, subject, err, problemUnknownCustomer)
	}
	if err := s.recordAPI(c, audit.Event{Type: audit.EventPaymentMethodAttached, Outcome: audit.Success, Resource: subject,
		Details: map[string]string{"payment_method": pm.ID, "brand": pm.Brand, "last4": pm.Last4}}); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, map[string]any{"id": pm.ID, "object": "payment_method", "customer": id,
		"brand": pm.Brand, "last4": pm.Last4, "exp_month": pm.ExpMonth, "exp_year": pm.ExpYear})
}

// apiHandlers lists the payments API with the scope each needs; the OpenAPI test checks the
// document against this list.
func (s *Server) apiHandlers() []apiRoute {
	return []apiRoute{
		{http.MethodPost, "/payments", ScopePayments, s.createPayment},
		{http.MethodGet, "/payments/:id", ScopePayments, s.getPayment},
		{http.MethodPost, "/payments/:id/capture", ScopePayments, s.capturePayment},
		{http.MethodPost, "/refunds", ScopeRefunds, s.createRefund},
		{http.MethodPost, "/customers", ScopeCustomers, s.createCustomer},
		{http.MethodPost, "/customers/:id/payment-methods", ScopeCustomers, s.attachPaymentMethod},
		{http.MethodDelete, "/customers/:id", ScopeErase, s.eraseCustomer},
	}
}
