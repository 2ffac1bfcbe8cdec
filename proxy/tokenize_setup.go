package proxy

import (
	"context"
	"errors"

	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/gateway"
	"github.com/tokenwall/tokenwall/payments"
)

// setupFunc saves a tokenized card for later charges (routes[].setup_intent).
type setupFunc func(ctx context.Context, rt config.Route, customer, token string) (gateway.SetupIntent, error)

// newSetup returns the setup of the checkout's routes over the payments service: the
// customer at the form is the actor, as for the tokenization itself.
func newSetup(svc *payments.Service) setupFunc {
	return func(ctx context.Context, rt config.Route, customer, token string) (gateway.SetupIntent, error) {
		c := payments.Caller{Actor: actorCheckout, RequestID: RequestID(ctx)}
		return svc.CreateSetup(ctx, c, payments.SetupRequest{Customer: customer, Token: token, Usage: rt.Setup.Usage,
			ReturnURL: rt.Setup.ReturnURL}, "tw-setup-"+newRequestID())
	}
}

// setupResult writes a setup's outcome into the forwarded document: its id, its status and,
// when the bank wants the customer, the URL to send the browser to; or an error code in the
// route's error field. Only an unavailable trail or store fails the request (503).
func (k tokenizer) setupResult(ctx context.Context, rt config.Route, doc document, token string) (string, error) {
	customer, _ := doc.get(rt.Setup.CustomerField)
	si, err := k.setup(ctx, rt, customer, token)
	switch {
	case errors.Is(err, payments.ErrUnavailable):
		return "", err
	case err != nil:
		return setupErrorCode(err), nil
	}
	doc.set(rt.Setup.IDField, si.ID)
	doc.set(rt.Setup.StatusField, string(si.Status))
	if si.NextAction != nil && si.NextAction.RedirectURL != "" {
		doc.set(rt.Setup.RedirectField, si.NextAction.RedirectURL)
	}
	return "", nil
}

// setupErrorCode is the code the app receives for a setup that failed.
func setupErrorCode(err error) string {
	switch {
	case errors.Is(err, payments.ErrInvalidID):
		return "invalid_customer"
	case errors.Is(err, payments.ErrUnknownCustomer):
		return "unknown_customer"
	case errors.Is(err, payments.ErrReturnURLNotAllowed):
		return "setup_misconfigured"
	}
	return gateway.Code(err)
}
