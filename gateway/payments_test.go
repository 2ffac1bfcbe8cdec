package gateway

import (
	"errors"
	"fmt"
	"testing"
)

func TestNotFoundError(t *testing.T) {
	cause := errors.New("stripe 404 invalid_request_error resource_missing (request req_1)")
	notFound := &Error{Code: CodeNotFound, Kind: ErrNotFound, Err: cause}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{name: "plain", err: notFound},
		{name: "wrapped", err: fmt.Errorf("get payment: %w", notFound)},
		{name: "joined", err: errors.Join(errors.New("other"), notFound)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Code(tc.err); got != "not_found" {
				t.Errorf("Code = %q, want not_found", got)
			}
			if !errors.Is(tc.err, ErrNotFound) || !errors.Is(tc.err, cause) {
				t.Error("errors.Is does not find ErrNotFound and the cause")
			}
			for _, other := range []error{ErrDeclined, ErrUnavailable, ErrAuth, ErrRejected} {
				if errors.Is(tc.err, other) {
					t.Errorf("errors.Is(err, %q) = true, want false", other)
				}
			}
		})
	}
	if got := Code(ErrNotFound); got != "internal_error" {
		t.Errorf("Code(bare ErrNotFound) = %q, want internal_error: only an Error carries a public code", got)
	}
}

func TestCaptureMethodValid(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    CaptureMethod
		want bool
	}{
		{name: "zero is automatic", c: "", want: true},
		{name: "automatic", c: CaptureAutomatic, want: true},
		{name: "manual", c: CaptureManual, want: true},
		{name: "stripe's automatic_async is not offered", c: "automatic_async", want: false},
		{name: "upper case", c: "MANUAL", want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.Valid(); got != tc.want {
				t.Errorf("CaptureMethod(%q).Valid() = %v, want %v", tc.c, got, tc.want)
			}
		})
	}
}
