package gateway

import (
	"errors"
	"fmt"
	"testing"
)

// TestAuthenticationRequiredError: the error of an off-session payment that needs the
// customer is found by its kind and gives the payment back, wrapped or not.
func TestAuthenticationRequiredError(t *testing.T) {
	authErr := &Error{Code: CodeAuthenticationRequired, Kind: ErrAuthenticationRequired, PaymentID: "pi_3Auth0001",
		Err: errors.New("stripe 402 card_error authentication_required (request req_1)")}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{name: "plain", err: authErr},
		{name: "wrapped", err: fmt.Errorf("charge: %w", authErr)},
		{name: "joined", err: errors.Join(errors.New("other"), authErr)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Code(tc.err); got != CodeAuthenticationRequired {
				t.Errorf("Code = %q, want %q", got, CodeAuthenticationRequired)
			}
			if !errors.Is(tc.err, ErrAuthenticationRequired) {
				t.Error("errors.Is does not find ErrAuthenticationRequired")
			}
			for _, other := range []error{ErrDeclined, ErrUnavailable, ErrAuth, ErrRejected, ErrNotFound} {
				if errors.Is(tc.err, other) {
					t.Errorf("errors.Is(err, %q) = true, want false", other)
				}
			}
			var ge *Error
			if !errors.As(tc.err, &ge) || ge.PaymentID != "pi_3Auth0001" {
				t.Errorf("errors.As gives %+v, want PaymentID pi_3Auth0001", ge)
			}
		})
	}
}
