package proxy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/tokenwall/tokenwall/payments"
	"net/http"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/store"
)

// TestAPIErasure: erasing a customer removes what tokenwall holds about them (an undelivered
// webhook payload naming them, the stored API responses naming them), detaches and deletes at
// the gateway, destroys their pseudonym key, and answers a receipt whose counts say so. The
// audit trail still verifies afterwards (the harness checks it at stop), and a second erasure,
// finding nothing left, answers 404 unknown-customer.
func TestAPIErasure(t *testing.T) {
	h, fp := apiHarness(t)
	s := newErasureSubject(t, h)
	h.subtest(t, "receipt counts what was erased", func(t *testing.T) {
		checkErasureReceipt(t, h, s)
	})
	h.subtest(t, "webhook payload, pseudonym key and gateway customer are gone", func(t *testing.T) {
		ctx := context.Background()
		if it, err := h.store.GetOutbox(ctx, "evt_grace"); err != nil || it.Payload != nil || it.Status != store.StatusDead {
			t.Errorf("the webhook naming the customer: status %s, payload kept %v (%v)", it.Status, it.Payload != nil, err)
		}
		// The pseudonym key is gone: asking for the customer's key now makes a new one, so the
		// old records' pseudonym can no longer be recomputed from the customer id.
		after, err := h.store.SubjectKey(ctx, s.cus)
		if err != nil || bytes.Equal(s.key, after) {
			t.Fatalf("the subject key survived the erasure (%v)", err)
		}
		if _, err := h.store.ForgetSubject(ctx, s.cus); err != nil {
			t.Fatal(err)
		}
		if n, _ := gatewayCalls(fp, http.MethodDelete, "/v1/customers/"+s.cus); n != 1 {
			t.Errorf("gateway customer deletes: %d", n)
		}
		erasures := h.events(audit.EventErasure)
		if len(erasures) != 1 || erasures[0].Resource != s.pseudonym {
			t.Fatalf("erasure records %+v", erasures)
		}
	})
	h.subtest(t, "second erasure finds nothing left: unknown customer", func(t *testing.T) {
		// The gateway deleted the customer; stripe-mock, which knows every id, is told so.
		fp.Inject(devstack.FaultAnswer(http.StatusNotFound, missingCustomer), 1)
		deletes, _ := gatewayCalls(fp, http.MethodDelete, "/v1/customers/"+s.cus)
		resp, body := h.api(http.MethodDelete, "/v1/customers/"+s.cus, "billing", nil, "")
		if typ, _ := problemOf(t, resp, body); resp.StatusCode != http.StatusNotFound || typ != "unknown-customer" {
			t.Fatalf("second erase: %d %s, want 404 unknown-customer", resp.StatusCode, body)
		}
		if n, _ := gatewayCalls(fp, http.MethodDelete, "/v1/customers/"+s.cus); n != deletes {
			t.Errorf("the gateway saw %d customer deletes, want still %d", n, deletes)
		}
		if n := len(h.events(audit.EventErasureRequested)); n != 2 {
			t.Errorf("%d erasure_requested records, want 2", n)
		}
		if n := len(h.events(audit.EventErasure)); n != 1 {
			t.Errorf("%d erasure records, want still 1: an unknown customer's erasure has no outcome", n)
		}
	})
}

// missingCustomer is the gateway's answer for a customer it does not have.
const missingCustomer = `{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such customer"}}`

// TestErasureOfAnUnknownCustomer (issue 12, defect 9): erasing a customer the gateway does not
// know and tokenwall holds nothing about answers 404 unknown-customer and touches nothing, not
// even the data of a customer whose id it is a prefix of; one the gateway does not know but
// tokenwall still holds an event about (deleted at the gateway directly) is erased here.
func TestErasureOfAnUnknownCustomer(t *testing.T) {
	h, fp := apiHarness(t)
	ctx := context.Background()
	now := time.Now()
	for id, who := range map[string]string{"evt_longer_id": "cus_Nobody12", "evt_gone_at_gateway": "cus_GoneThere1"} {
		if _, err := h.store.EnqueueOutbox(ctx, store.OutboxItem{ID: id, Type: "customer.updated",
			Payload: []byte(`{"id":"` + id + `","data":{"object":{"customer":"` + who + `"}}}`), Digest: make([]byte, 32),
			CreatedAt: now, NextAttempt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	h.subtest(t, "unknown everywhere: 404, nothing touched", func(t *testing.T) {
		fp.Inject(devstack.FaultAnswer(http.StatusNotFound, missingCustomer), 1)
		resp, body := h.api(http.MethodDelete, "/v1/customers/cus_Nobody1", "billing", nil, "")
		if typ, _ := problemOf(t, resp, body); resp.StatusCode != http.StatusNotFound || typ != "unknown-customer" {
			t.Fatalf("erase: %d %s, want 404 unknown-customer", resp.StatusCode, body)
		}
		if it, err := h.store.GetOutbox(ctx, "evt_longer_id"); err != nil || it.Payload == nil || it.Status != store.StatusPending {
			t.Errorf("another customer's event: status %s, payload kept %v (%v)", it.Status, it.Payload != nil, err)
		}
		if has, err := h.store.HasSubject(ctx, "cus_Nobody1"); err != nil || has {
			t.Errorf("a pseudonym key was made for the unknown customer (%v)", err)
		}
		if n, _ := gatewayCalls(fp, http.MethodDelete, "/v1/customers/cus_Nobody1"); n != 0 {
			t.Errorf("the gateway saw %d customer deletes", n)
		}
		if n := len(h.events(audit.EventErasure)); n != 0 {
			t.Errorf("%d erasure records for an unknown customer", n)
		}
	})
	h.subtest(t, "deleted at the gateway, still held here: erased", func(t *testing.T) {
		fp.Inject(devstack.FaultAnswer(http.StatusNotFound, missingCustomer), 1)
		resp, body := h.api(http.MethodDelete, "/v1/customers/cus_GoneThere1", "billing", nil, "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("erase: %d %s", resp.StatusCode, body)
		}
		var rc payments.ErasureReceipt
		if err := json.Unmarshal([]byte(body), &rc); err != nil || len(rc.Steps) != 5 {
			t.Fatalf("receipt %s (%v)", body, err)
		}
		if it, err := h.store.GetOutbox(ctx, "evt_gone_at_gateway"); err != nil || it.Payload != nil {
			t.Errorf("the erased customer's event kept its payload (%v)", err)
		}
		if it, err := h.store.GetOutbox(ctx, "evt_longer_id"); err != nil || it.Payload == nil {
			t.Errorf("another customer's event lost its payload (%v)", err)
		}
	})
}

// erasureSubject is a customer tokenwall holds data about, as it was before the erasure.
type erasureSubject struct {
	cus       string // the gateway's customer id
	pseudonym string // the audit trail's name for the customer
	key       []byte // the customer's pseudonym key
}

// newErasureSubject creates a customer through the API, attaches a card token to it and
// queues an undelivered webhook naming it.
func newErasureSubject(t *testing.T, h *harness) erasureSubject {
	t.Helper()
	resp, body := h.api(http.MethodPost, "/v1/customers", "billing", []byte(`{"name":"Grace Hopper"}`), "cus-grace")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create customer: %d %s", resp.StatusCode, body)
	}
	cus, _ := decode(t, body)["id"].(string)
	if resp, body := h.api(http.MethodPost, "/v1/customers/"+cus+"/payment-methods", "billing", []byte(`{"token":"pm_card_visa"}`), "attach-grace"); resp.StatusCode != http.StatusCreated {
		t.Fatalf("attach: %d %s", resp.StatusCode, body)
	}
	ctx := context.Background()
	now := time.Now()
	if _, err := h.store.EnqueueOutbox(ctx, store.OutboxItem{ID: "evt_grace", Type: "customer.updated",
		Payload: []byte(`{"id":"evt_grace","data":{"object":{"id":"` + cus + `"}}}`), Digest: make([]byte, 32),
		CreatedAt: now, NextAttempt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	created := h.events(audit.EventCustomerCreated)
	if len(created) != 1 {
		t.Fatalf("%d customer_created records", len(created))
	}
	key, err := h.store.SubjectKey(ctx, cus)
	if err != nil {
		t.Fatal(err)
	}
	return erasureSubject{cus: cus, pseudonym: created[0].Resource, key: key}
}

// checkErasureReceipt erases s and checks the receipt: every step inside the erasure's
// time span, the count of each step, and the customer named by id and pseudonym.
func checkErasureReceipt(t *testing.T, h *harness, s erasureSubject) {
	t.Helper()
	resp, body := h.api(http.MethodDelete, "/v1/customers/"+s.cus, "billing", nil, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("erase: %d %s", resp.StatusCode, body)
	}
	var rc payments.ErasureReceipt
	if err := json.Unmarshal([]byte(body), &rc); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	for _, st := range rc.Steps {
		counts[st.Action] = st.Count
		if st.At.Before(rc.RequestedAt) || st.At.After(rc.CompletedAt) {
			t.Errorf("step %s at %s, outside the erasure", st.Action, st.At)
		}
	}
	want := map[string]int64{"payment_methods_detached": 1, "customer_deleted": 1, "webhook_payloads_deleted": 1,
		"stored_api_responses_deleted": 2, "audit_pseudonym_key_destroyed": 1}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("receipt %s = %d, want %d (%s)", k, counts[k], v, body)
		}
	}
	if rc.Pseudonym != s.pseudonym || rc.Customer != s.cus || rc.DurationMS < 0 {
		t.Errorf("receipt pseudonym %q (audit has %q), customer %q", rc.Pseudonym, s.pseudonym, rc.Customer)
	}
}

// TestErasureMatchesTheExactCustomer (issue 12, defect 9): erasing a customer whose id is a
// prefix of another's leaves the other customer's undelivered events and stored responses
// alone; payloads are matched on the exact JSON string value of the id.
func TestErasureMatchesTheExactCustomer(t *testing.T) {
	h, _ := apiHarness(t)
	resp, body := h.api(http.MethodPost, "/v1/customers", "billing", []byte(`{"name":"Ada"}`), "cus-ada")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create customer: %d %s", resp.StatusCode, body)
	}
	cus, _ := decode(t, body)["id"].(string)
	ctx := context.Background()
	now := time.Now()
	for id, who := range map[string]string{"evt_mine": cus, "evt_longer_id": cus + "7", "evt_other_field": cus + "x"} {
		if _, err := h.store.EnqueueOutbox(ctx, store.OutboxItem{ID: id, Type: "customer.updated",
			Payload: []byte(`{"id":"` + id + `","data":{"object":{"customer":"` + who + `"}}}`), Digest: make([]byte, 32),
			CreatedAt: now, NextAttempt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if resp, body := h.api(http.MethodDelete, "/v1/customers/"+cus, "billing", nil, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("erase: %d %s", resp.StatusCode, body)
	}
	if it, err := h.store.GetOutbox(ctx, "evt_mine"); err != nil || it.Payload != nil {
		t.Errorf("the erased customer's event kept its payload (%v)", err)
	}
	for _, id := range []string{"evt_longer_id", "evt_other_field"} {
		if it, err := h.store.GetOutbox(ctx, id); err != nil || it.Payload == nil || it.Status != store.StatusPending {
			t.Errorf("%s, another customer's event: status %s, payload kept %v (%v)", id, it.Status, it.Payload != nil, err)
		}
	}
}
