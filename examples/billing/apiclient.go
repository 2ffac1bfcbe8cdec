package billing

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// APIClient calls tokenwall's /v1 API for the demo's payment flows, with an API key the
// dev stack created. The Stripe key never leaves tokenwall: the app only holds this key.
type APIClient struct {
	// BaseURL is tokenwall's public address ("https://127.0.0.1:8443").
	BaseURL string
	// Key returns the API key (twk_…).
	Key func() string
	// HTTP is the client (it trusts the dev stack's certificate).
	HTTP *http.Client
}

// apiTimeout bounds one call to tokenwall's API.
const apiTimeout = 20 * time.Second

// maxAPIAnswer bounds an answer read from the API.
const maxAPIAnswer = 1 << 20

// nextAction is a payment's or setup's next action as /v1 shows it.
type nextAction struct {
	Type          string `json:"type"`
	RedirectToURL struct {
		URL       string `json:"url"`
		ReturnURL string `json:"return_url"`
	} `json:"redirect_to_url"`
}

// apiObject is what the flows read of a payment, a setup intent, a customer or a problem.
type apiObject struct {
	ID string `json:"id"`
	// Status is an object's status ("succeeded"); a problem's status is its HTTP status
	// (a number), which the flows read from the answer itself.
	Status        statusText  `json:"status"`
	Customer      string      `json:"customer"`
	PaymentMethod string      `json:"payment_method"`
	NextAction    *nextAction `json:"next_action"`
	// Problem members (RFC 9457): type, the gateway's code, the payment concerned.
	Type    string `json:"type"`
	Code    string `json:"code"`
	Payment string `json:"payment"`
}

// call sends method path with in as JSON (POSTs carry a fresh Idempotency-Key) and decodes
// the answer; it returns the status.
func (c *APIClient) call(ctx context.Context, method, path string, in any) (int, apiObject, error) {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, apiObject{}, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.BaseURL+path, body)
	if err != nil {
		return 0, apiObject{}, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Key())
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", newIdempotencyKey())
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return 0, apiObject{}, fmt.Errorf("tokenwall api: %w", err)
	}
	defer resp.Body.Close()
	var out apiObject
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAPIAnswer)).Decode(&out); err != nil {
		return resp.StatusCode, apiObject{}, fmt.Errorf("tokenwall api: %s %s answered %d without JSON", method, path, resp.StatusCode)
	}
	return resp.StatusCode, out, nil
}

// newIdempotencyKey is a random key for one POST.
func newIdempotencyKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "demo-" + hex.EncodeToString(b)
}

// statusText is an object's status: a problem's numeric status decodes as "".
type statusText string

// UnmarshalJSON takes a string, and ignores anything else.
func (s *statusText) UnmarshalJSON(b []byte) error {
	var v string
	if json.Unmarshal(b, &v) == nil {
		*s = statusText(v)
	}
	return nil
}
