package gateway

import "testing"

// TestIDShapes: each id check takes its own prefix with letters and digits and nothing else.
func TestIDShapes(t *testing.T) {
	tests := []struct {
		name  string
		valid func(string) bool
		id    string
		want  bool
	}{
		{name: "payment", valid: ValidPaymentID, id: "pi_3Q0abcDEF123", want: true},
		{name: "payment with customer prefix", valid: ValidPaymentID, id: "cus_3Q0abc", want: false},
		{name: "payment with a dash", valid: ValidPaymentID, id: "pi_3Q0-abc", want: false},
		{name: "payment prefix only", valid: ValidPaymentID, id: "pi_", want: false},
		{name: "customer", valid: ValidCustomerID, id: "cus_Qx12", want: true},
		{name: "customer with a slash", valid: ValidCustomerID, id: "cus_Qx/12", want: false},
		{name: "token", valid: ValidToken, id: "pm_1Q0PsIJvEtkwdCNY_x", want: true},
		{name: "token that is a card number", valid: ValidToken, id: "4242424242424242", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.valid(tc.id); got != tc.want {
				t.Errorf("%q: %v, want %v", tc.id, got, tc.want)
			}
		})
	}
}
