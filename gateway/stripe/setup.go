package stripe

import (
	"context"

	stripego "github.com/stripe/stripe-go/v76"

	"github.com/tokenwall/tokenwall/gateway"
)

// Usages of a setup, as Stripe names them.
const (
	usageOffSession = "off_session"
	usageOnSession  = "on_session"
)

// CreateSetupIntent creates a SetupIntent saving the card r.Token to r.CustomerID for later
// charges and confirms it in the same call. Usage defaults to off_session (charges without
// the customer), only cards are allowed, and r.Mandate goes in as the card's mandate options.
// No mandate_data is sent: Stripe needs it only for debit methods, and its online acceptance
// would need the customer's IP address and user agent, which tokenwall does not pass on.
func (g *Gateway) CreateSetupIntent(ctx context.Context, r gateway.SetupRequest, idempotencyKey string) (gateway.SetupIntent, error) {
	var bad string
	switch {
	case !validID(r.CustomerID):
		bad = "customer id malformed"
	case !validID(r.Token):
		bad = "payment method id malformed"
	case r.Usage != "" && r.Usage != usageOffSession && r.Usage != usageOnSession:
		bad = "usage neither off_session nor on_session"
	case r.ReturnURL != "" && !validReturnURL(r.ReturnURL):
		bad = "return url not an absolute http(s) url"
	default:
		bad = checkMandate(r.Mandate)
	}
	if err := check(bad, idempotencyKey); err != nil {
		return gateway.SetupIntent{}, err
	}
	usage := r.Usage
	if usage == "" {
		usage = usageOffSession
	}
	params := &stripego.SetupIntentParams{
		Confirm:            stripego.Bool(true),
		Customer:           stripego.String(r.CustomerID),
		PaymentMethod:      stripego.String(r.Token),
		PaymentMethodTypes: []*string{stripego.String(string(stripego.PaymentMethodTypeCard))},
		Usage:              stripego.String(usage),
		ReturnURL:          optString(r.ReturnURL),
	}
	if r.Mandate != nil {
		params.PaymentMethodOptions = setupMandateOptions(r.Mandate)
	}
	if len(r.Metadata) > 0 {
		params.Metadata = r.Metadata
	}
	params.Context = ctx
	params.IdempotencyKey = stripego.String(idempotencyKey)
	return setupCall(ctx, g, func(api *services) (*stripego.SetupIntent, error) {
		return api.SetupIntents.New(params)
	})
}

// ConfirmSetupIntent confirms a SetupIntent again, with returnURL when set.
func (g *Gateway) ConfirmSetupIntent(ctx context.Context, id string, returnURL string, idempotencyKey string) (gateway.SetupIntent, error) {
	var bad string
	switch {
	case !validID(id):
		bad = "setup intent id malformed"
	case returnURL != "" && !validReturnURL(returnURL):
		bad = "return url not an absolute http(s) url"
	}
	if err := check(bad, idempotencyKey); err != nil {
		return gateway.SetupIntent{}, err
	}
	params := &stripego.SetupIntentConfirmParams{ReturnURL: optString(returnURL)}
	params.Context = ctx
	params.IdempotencyKey = stripego.String(idempotencyKey)
	return setupCall(ctx, g, func(api *services) (*stripego.SetupIntent, error) {
		return api.SetupIntents.Confirm(id, params)
	})
}

// GetSetupIntent reads a SetupIntent.
func (g *Gateway) GetSetupIntent(ctx context.Context, id string) (gateway.SetupIntent, error) {
	if !validID(id) {
		return gateway.SetupIntent{}, rejected("setup intent id malformed")
	}
	params := &stripego.SetupIntentParams{}
	params.Context = ctx
	return setupCall(ctx, g, func(api *services) (*stripego.SetupIntent, error) {
		return api.SetupIntents.Get(id, params)
	})
}

// CancelSetupIntent cancels a SetupIntent that has not succeeded.
func (g *Gateway) CancelSetupIntent(ctx context.Context, id string, idempotencyKey string) (gateway.SetupIntent, error) {
	var bad string
	if !validID(id) {
		bad = "setup intent id malformed"
	}
	if err := check(bad, idempotencyKey); err != nil {
		return gateway.SetupIntent{}, err
	}
	params := &stripego.SetupIntentCancelParams{}
	params.Context = ctx
	params.IdempotencyKey = stripego.String(idempotencyKey)
	return setupCall(ctx, g, func(api *services) (*stripego.SetupIntent, error) {
		return api.SetupIntents.Cancel(id, params)
	})
}

// setupCall runs one SetupIntent call with call and converts the answer with setupOf.
func setupCall(ctx context.Context, g *Gateway, do func(api *services) (*stripego.SetupIntent, error)) (gateway.SetupIntent, error) {
	si, err := call(ctx, g, do)
	if err != nil {
		return gateway.SetupIntent{}, err
	}
	return setupOf(si), nil
}

// setupOf keeps what the billing app may see of a SetupIntent: never its client secret,
// which only the redirect URL of its next action carries.
func setupOf(si *stripego.SetupIntent) gateway.SetupIntent {
	out := gateway.SetupIntent{
		ID:      si.ID,
		Status:  gateway.SetupStatus(si.Status),
		Usage:   string(si.Usage),
		Created: unixTime(si.Created),
	}
	if si.Customer != nil {
		out.CustomerID = si.Customer.ID
	}
	if si.PaymentMethod != nil {
		out.PaymentMethodID = si.PaymentMethod.ID
	}
	if si.Mandate != nil {
		out.MandateID = si.Mandate.ID
	}
	if na := si.NextAction; na != nil {
		out.NextAction = &gateway.NextAction{Type: string(na.Type)}
		if r := na.RedirectToURL; r != nil {
			out.NextAction.RedirectURL, out.NextAction.ReturnURL = r.URL, r.ReturnURL
		}
	}
	if e := si.LastSetupError; e != nil {
		out.LastErrorCode = lastErrorCode(e)
	}
	return out
}
