package gateway

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestCode(t *testing.T) {
	declined := &Error{Code: "card_declined", Kind: ErrDeclined, Err: errors.New("stripe 402 card_error card_declined")}
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{name: "nil", err: nil, want: ""},
		{name: "card error", err: &CardError{Code: CodeInvalidCVC, Reason: "cvc length 2"}, want: CodeInvalidCVC},
		{name: "wrapped card error", err: fmt.Errorf("tokenize: %w", &CardError{Code: CodeExpiredCard}), want: CodeExpiredCard},
		{name: "gateway error", err: declined, want: "card_declined"},
		{name: "wrapped gateway error", err: fmt.Errorf("call: %w", declined), want: "card_declined"},
		{name: "joined gateway error", err: errors.Join(errors.New("other"), &Error{Code: "gateway_unavailable", Kind: ErrUnavailable}), want: "gateway_unavailable"},
		{name: "bare sentinel", err: ErrDeclined, want: "internal_error"},
		{name: "other error", err: errors.New("boom"), want: "internal_error"},
		{name: "context canceled", err: context.Canceled, want: "internal_error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Code(tc.err); got != tc.want {
				t.Errorf("Code = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestErrorIs(t *testing.T) {
	cause := errors.New("stripe 402 card_error card_declined (request req_1)")
	for _, tc := range []struct {
		name    string
		err     error
		is      []error
		isNot   []error
		message string
	}{
		{
			name:    "declined with cause",
			err:     &Error{Code: "card_declined", Kind: ErrDeclined, Err: cause},
			is:      []error{ErrDeclined, cause},
			isNot:   []error{ErrUnavailable, ErrAuth, ErrRejected},
			message: "gateway declined the card: card_declined: stripe 402 card_error card_declined (request req_1)",
		},
		{
			name:    "declined without cause",
			err:     &Error{Code: "card_declined", Kind: ErrDeclined},
			is:      []error{ErrDeclined},
			isNot:   []error{ErrUnavailable, cause},
			message: "gateway declined the card: card_declined",
		},
		{
			name:    "auth wrapped",
			err:     fmt.Errorf("tokenize: %w", &Error{Code: "gateway_unavailable", Kind: ErrAuth, Err: cause}),
			is:      []error{ErrAuth, cause},
			isNot:   []error{ErrDeclined, ErrUnavailable},
			message: "tokenize: gateway refused the api key: gateway_unavailable: stripe 402 card_error card_declined (request req_1)",
		},
		{
			name:    "unavailable",
			err:     &Error{Code: "gateway_unavailable", Kind: ErrUnavailable, Err: context.DeadlineExceeded},
			is:      []error{ErrUnavailable, context.DeadlineExceeded},
			isNot:   []error{ErrDeclined, ErrRejected},
			message: "gateway unavailable: gateway_unavailable: context deadline exceeded",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, target := range tc.is {
				if !errors.Is(tc.err, target) {
					t.Errorf("errors.Is(err, %q) = false, want true", target)
				}
			}
			for _, target := range tc.isNot {
				if errors.Is(tc.err, target) {
					t.Errorf("errors.Is(err, %q) = true, want false", target)
				}
			}
			if got := tc.err.Error(); got != tc.message {
				t.Errorf("Error() = %q, want %q", got, tc.message)
			}
			var ge *Error
			if !errors.As(tc.err, &ge) {
				t.Errorf("errors.As(*Error) = false")
			}
		})
	}
}

func TestCardErrorMessage(t *testing.T) {
	err := error(&CardError{Code: CodeInvalidNumber, Reason: "luhn check failed"})
	if got, want := err.Error(), "card: invalid_number: luhn check failed"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if !strings.HasPrefix(err.Error(), "card: ") {
		t.Errorf("card error without its prefix")
	}
}
