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
