package gateway

import "regexp"

// The gateway's id formats, by prefix: what a path parameter or a body field must look like
// before it is sent to the gateway. Stripe's ids are a prefix and letters and digits.
var (
	paymentIDRe  = regexp.MustCompile(`^pi_[A-Za-z0-9]{1,255}$`)
	customerIDRe = regexp.MustCompile(`^cus_[A-Za-z0-9]{1,255}$`)
	tokenRe      = regexp.MustCompile(`^pm_[A-Za-z0-9_]{1,255}$`)
)

// ValidPaymentID reports whether id has the shape of a payment id (pi_…).
func ValidPaymentID(id string) bool { return paymentIDRe.MatchString(id) }

// ValidCustomerID reports whether id has the shape of a customer id (cus_…).
func ValidCustomerID(id string) bool { return customerIDRe.MatchString(id) }

// ValidToken reports whether id has the shape of a payment method token (pm_…).
func ValidToken(id string) bool { return tokenRe.MatchString(id) }
