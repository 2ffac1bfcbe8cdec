package devstack_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/scrub"
)

// cardForm is a PaymentMethod creation form with Stripe's Visa test card.
const cardForm = "type=card&card[number]=4242424242424242&card[exp_month]=12&card[exp_year]=2030&card[cvc]=123"

// postPaymentMethod creates a PaymentMethod through baseURL with an optional idempotency key.
func postPaymentMethod(t *testing.T, client *http.Client, baseURL, key string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, baseURL+"/v1/payment_methods", strings.NewReader(cardForm))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+devstack.StripeMockKey)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	// Bodies go into failure messages: scrubbed, in case one echoes the card.
	return resp, scrub.Text(body), err
}

func TestStripeMock(t *testing.T) {
	s, logPath := startStripeMock(t)
	client := newClient(t, 10*time.Second)

	resp, body, err := postPaymentMethod(t, client, s.URL, "")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("create PaymentMethod: %v %s", err, body)
	}
	var pm struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &pm); err != nil {
		t.Fatalf("create PaymentMethod: %v", err)
	}
	if !strings.HasPrefix(pm.ID, "pm_") {
		t.Errorf("PaymentMethod id = %q; want pm_…", pm.ID)
	}

	// stripe-mock prints request parameters; once it has stopped, its log must hold the
	// card only masked.
	if err := s.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	logged, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(logged), "4242424242424242") {
		t.Error("stripe-mock's log holds the card number")
	}
	// stripe-mock logs every request's parameters (CVC and expiry too); devstack keeps the
	// line and drops the data.
	if !strings.Contains(string(logged), "Request data = [redacted by devstack]") {
		t.Error("stripe-mock's log lacks the redacted request line: was the request logged at all?")
	}
	if strings.Contains(string(logged), "cvc") || strings.Contains(string(logged), "exp_month") {
		t.Error("stripe-mock's log holds card parameters")
	}
}
