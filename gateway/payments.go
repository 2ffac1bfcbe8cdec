package gateway

import (
	"context"
	"errors"
	"time"
)

// Payments is what the /v1 API needs of the gateway. Every call that creates or changes
// something takes an idempotency key, passed on to the gateway so a retry never acts twice.
type Payments interface {
	// CreatePayment creates and confirms a payment with the PaymentMethod p.Token.
	CreatePayment(ctx context.Context, p PaymentRequest, idempotencyKey string) (Payment, error)
	// CapturePayment captures an authorized payment; amount 0 captures all of it.
	CapturePayment(ctx context.Context, id string, amount int64, idempotencyKey string) (Payment, error)
	// GetPayment reads a payment.
	GetPayment(ctx context.Context, id string) (Payment, error)
	// CreateRefund refunds a payment, wholly or in part.
	CreateRefund(ctx context.Context, r RefundRequest, idempotencyKey string) (Refund, error)
	// CreateCustomer creates a customer that cards can be attached to.
	CreateCustomer(ctx context.Context, c CustomerRequest, idempotencyKey string) (Customer, error)
	// AttachPaymentMethod attaches the PaymentMethod token to a customer, for later charges.
	AttachPaymentMethod(ctx context.Context, customerID, token string, idempotencyKey string) (PaymentMethod, error)
	// ListPaymentMethods returns the cards attached to a customer.
	ListPaymentMethods(ctx context.Context, customerID string) ([]PaymentMethod, error)
	// DetachPaymentMethod detaches a PaymentMethod from its customer; it cannot be used again.
	DetachPaymentMethod(ctx context.Context, token string, idempotencyKey string) error
	// DeleteCustomer deletes a customer and, with it, the cards attached to it.
	DeleteCustomer(ctx context.Context, customerID string, idempotencyKey string) error
	// ConfirmPayment confirms a payment again: after the customer came back from
	// authentication, or on-session after an off-session attempt needed them.
	ConfirmPayment(ctx context.Context, id string, c ConfirmRequest, idempotencyKey string) (Payment, error)
	// CancelPayment cancels a payment that has not succeeded.
	CancelPayment(ctx context.Context, id string, idempotencyKey string) (Payment, error)
	// CreateSetupIntent saves a card for later (off-session) charges, confirmed at once.
	CreateSetupIntent(ctx context.Context, r SetupRequest, idempotencyKey string) (SetupIntent, error)
	// ConfirmSetupIntent confirms a setup again (after authentication, or with a return URL).
	ConfirmSetupIntent(ctx context.Context, id string, returnURL string, idempotencyKey string) (SetupIntent, error)
	// GetSetupIntent reads a setup.
	GetSetupIntent(ctx context.Context, id string) (SetupIntent, error)
	// CancelSetupIntent cancels a setup that has not succeeded.
	CancelSetupIntent(ctx context.Context, id string, idempotencyKey string) (SetupIntent, error)
}

// NextAction is what the customer has to do before a payment or a setup can go on
// (3-D Secure). tokenwall passes a redirect on unchanged: the URL's query carries the
// intent's client secret, so it is never logged, stored or shown apart from this field.
type NextAction struct {
	// Type is the gateway's next action type: NextActionRedirect, or another (such as
	// use_stripe_sdk) for which tokenwall has no URL to give.
	Type string
	// RedirectURL is where to send the customer's browser (top-level navigation).
	RedirectURL string
	// ReturnURL is where the gateway sends the customer back.
	ReturnURL string
}

// NextActionRedirect is the next action of a payment confirmed with a return URL.
const NextActionRedirect = "redirect_to_url"

// ConfirmRequest is a confirmation of an existing payment. Every field is optional.
type ConfirmRequest struct {
	// ReturnURL is where the customer comes back after authentication.
	ReturnURL string
	// Token is another PaymentMethod to use (pm_…), after the first failed.
	Token string
	// OffSession confirms without the customer.
	OffSession bool
}

// MandateOptions are the card mandate options of recurring payments on cards that need an
// e-mandate (India, RBI); passed on as the billing app sends them.
type MandateOptions struct {
	Reference   string
	Description string
	// AmountType is "fixed" or "maximum".
	AmountType string
	Amount     int64
	Currency   string
	// Interval is day, week, month, year or sporadic; IntervalCount how many of them.
	Interval      string
	IntervalCount int64
	StartDate     time.Time
	EndDate       time.Time
	// SupportedTypes is ["india"].
	SupportedTypes []string
}

// Codes the gateway gives a payment that needs the customer or whose authentication
// failed (a Payment's LastErrorCode, an Error's Code).
const (
	// CodeAuthenticationRequired: an off-session payment the issuer wants authenticated;
	// the customer has to come back on-session (ConfirmPayment with a return URL).
	CodeAuthenticationRequired = "authentication_required"
	// CodeAuthenticationFailed: the customer failed or abandoned the challenge.
	CodeAuthenticationFailed = "payment_intent_authentication_failure"
	// CodeSetupAuthenticationFailed is CodeAuthenticationFailed of a setup.
	CodeSetupAuthenticationFailed = "setup_intent_authentication_failure"
)

// ErrAuthenticationRequired is the kind of an off-session payment that needs the customer:
// its Error carries PaymentID, so the app can bring the customer back.
var ErrAuthenticationRequired = errors.New("gateway requires the customer to authenticate")

// SetupStatus is the state of a setup, as Stripe names it.
type SetupStatus string

// Setup states.
const (
	SetupRequiresPaymentMethod SetupStatus = "requires_payment_method"
	SetupRequiresConfirmation  SetupStatus = "requires_confirmation"
	SetupRequiresAction        SetupStatus = "requires_action"
	SetupProcessing            SetupStatus = "processing"
	SetupCanceled              SetupStatus = "canceled"
	SetupSucceeded             SetupStatus = "succeeded"
)

// SetupRequest is a card to save for later charges (a Stripe SetupIntent, confirmed at
// creation).
type SetupRequest struct {
	// CustomerID is the customer the card is saved to (required).
	CustomerID string
	// Token is the PaymentMethod (pm_…) (required).
	Token string
	// Usage is "off_session" (the default: charges without the customer) or "on_session".
	Usage string
	// ReturnURL is where the customer comes back after authentication.
	ReturnURL string
	// Mandate, when set, are the card's mandate options (e-mandates).
	Mandate *MandateOptions
	// Metadata is kept with the setup at the gateway; never put card data in it.
	Metadata map[string]string
}

// SetupIntent is a card being saved for later charges.
type SetupIntent struct {
	ID              string
	Status          SetupStatus
	CustomerID      string
	PaymentMethodID string
	Usage           string
	NextAction      *NextAction
	// LastErrorCode is the gateway's code of the last failed attempt, or "".
	LastErrorCode string
	// MandateID is the mandate the setup created, when one was asked for.
	MandateID string
	Created   time.Time
}

// ErrNotFound means the gateway has no object with the id asked for. Its public code is
// CodeNotFound.
var ErrNotFound = errors.New("gateway has no such object")

// Public codes of gateway failures, besides the card error codes the gateway names.
const (
	// CodeNotFound goes with ErrNotFound.
	CodeNotFound = "not_found"
	// CodeInvalidRequest goes with ErrRejected: the gateway, or tokenwall before asking it,
	// refused the parameters.
	CodeInvalidRequest = "invalid_request"
	// CodeIdempotencyError goes with ErrRejected: the idempotency key was used before with
	// other parameters.
	CodeIdempotencyError = "idempotency_error"
	// CodeCardDeclined goes with ErrDeclined when the gateway's reason is not one to show.
	CodeCardDeclined = "card_declined"
	// CodeUnavailable goes with ErrUnavailable and ErrAuth.
	CodeUnavailable = "gateway_unavailable"
)

// CaptureMethod says when the funds of a confirmed payment are taken.
type CaptureMethod string

const (
	// CaptureAutomatic takes the funds on confirmation; it is what the zero value means.
	CaptureAutomatic CaptureMethod = "automatic"
	// CaptureManual only authorizes; CapturePayment takes the funds later.
	CaptureManual CaptureMethod = "manual"
)

// Valid reports whether c is "", CaptureAutomatic or CaptureManual.
func (c CaptureMethod) Valid() bool {
	return c == "" || c == CaptureAutomatic || c == CaptureManual
}

// PaymentRequest is a payment to create and confirm.
type PaymentRequest struct {
	// Amount is in the currency's smallest unit (cents); it must be positive.
	Amount int64
	// Currency is a three-letter ISO code, in lower case.
	Currency string
	// Token is the PaymentMethod to charge (pm_…).
	Token string
	// CustomerID is the customer Token is attached to, if it is.
	CustomerID string
	// Capture is CaptureAutomatic (or "") or CaptureManual.
	Capture CaptureMethod
	// OffSession says the customer is not present, as when the billing app charges a saved
	// card on its own.
	OffSession bool
	// Description is shown in the gateway's dashboard.
	Description string
	// Metadata is kept with the payment at the gateway; never put card data in it.
	Metadata map[string]string
	// ReturnURL is where the customer comes back after authentication (3-D Secure); without
	// it a payment that needs the customer has no redirect to give.
	ReturnURL string
	// Mandate, when set, are the card's mandate options (e-mandates of recurring payments).
	Mandate *MandateOptions
}

// PaymentStatus is the state of a payment, as Stripe names it.
type PaymentStatus string

// Payment states.
const (
	StatusRequiresPaymentMethod PaymentStatus = "requires_payment_method"
	StatusRequiresConfirmation  PaymentStatus = "requires_confirmation"
	StatusRequiresAction        PaymentStatus = "requires_action"
	StatusProcessing            PaymentStatus = "processing"
	StatusRequiresCapture       PaymentStatus = "requires_capture"
	StatusCanceled              PaymentStatus = "canceled"
	StatusSucceeded             PaymentStatus = "succeeded"
)

// Payment is a payment at the gateway: no card data, only the card facts PCI DSS lets us show.
type Payment struct {
	ID     string
	Status PaymentStatus
	// Amount is what the payment is for; amounts are in the currency's smallest unit.
	Amount int64
	// AmountCaptured is what was taken so far.
	AmountCaptured int64
	// AmountRefunded is what was refunded so far, when the gateway said (0 otherwise).
	AmountRefunded  int64
	Currency        string
	CustomerID      string
	PaymentMethodID string
	// Brand and Last4 describe the card charged, when the gateway said ("" otherwise).
	Brand       string
	Last4       string
	Created     time.Time
	Description string
	Metadata    map[string]string
	// NextAction is set while Status is StatusRequiresAction.
	NextAction *NextAction
	// LastErrorCode is the gateway's code of the last failed attempt (a decline, a failed
	// authentication), or "".
	LastErrorCode string
}

// RefundRequest is a refund to create.
type RefundRequest struct {
	// PaymentID is the payment to refund.
	PaymentID string
	// Amount is what to refund, in the currency's smallest unit; 0 refunds what remains.
	Amount int64
}

// RefundStatus is the state of a refund, as Stripe names it.
type RefundStatus string

// Refund states.
const (
	RefundPending        RefundStatus = "pending"
	RefundRequiresAction RefundStatus = "requires_action"
	RefundSucceeded      RefundStatus = "succeeded"
	RefundFailed         RefundStatus = "failed"
	RefundCanceled       RefundStatus = "canceled"
)

// Refund is a refund at the gateway.
type Refund struct {
	ID        string
	PaymentID string
	Amount    int64
	Currency  string
	Status    RefundStatus
}

// CustomerRequest is a customer to create. Every field is optional.
type CustomerRequest struct {
	Email       string
	Name        string
	Description string
	// Metadata is kept with the customer at the gateway; never put card data in it.
	Metadata map[string]string
}

// Customer is a customer at the gateway.
type Customer struct {
	ID      string
	Created time.Time
}
