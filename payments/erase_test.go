package payments

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/gateway"
	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/store/sqlite"
)

// goneGateway knows no customer: the list of payment methods is not found, and nothing else
// may be asked.
type goneGateway struct {
	gateway.Payments
	t *testing.T
}

func (g goneGateway) ListPaymentMethods(context.Context, string) ([]gateway.PaymentMethod, error) {
	return nil, fmt.Errorf("%w: resource_missing", gateway.ErrNotFound)
}

func (g goneGateway) DetachPaymentMethod(context.Context, string, string) error {
	g.t.Error("detach called for a customer the gateway does not know")
	return gateway.ErrNotFound
}

func (g goneGateway) DeleteCustomer(context.Context, string, string) error {
	g.t.Error("delete called for a customer the gateway does not know")
	return gateway.ErrNotFound
}

// eraseFixture is a SQLite store holding data about cus_Other1 (a key, an undelivered event,
// a stored response) and an event naming cus_Ghost12, whose id cus_Ghost1 is a prefix of.
type eraseFixture struct {
	st       *sqlite.Store
	otherKey []byte
}

func newEraseFixture(t *testing.T) eraseFixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "erase.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := eraseFixture{st: st}
	if f.otherKey, err = st.SubjectKey(ctx, "cus_Other1"); err != nil {
		t.Fatal(err)
	}
	f.enqueue(t, "evt_other", "cus_Other1")
	f.enqueue(t, "evt_longer", "cus_Ghost12")
	f.storeResponse(t, "k:other", "cus_Other1")
	return f
}

// enqueue queues an undelivered event naming customer.
func (f eraseFixture) enqueue(t *testing.T, id, customer string) {
	t.Helper()
	now := time.Now()
	if _, err := f.st.EnqueueOutbox(context.Background(), store.OutboxItem{ID: id, Type: "customer.updated",
		Payload: []byte(`{"id":"` + id + `","data":{"object":{"customer":"` + customer + `"}}}`), Digest: make([]byte, 32),
		CreatedAt: now, NextAttempt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
}

// storeResponse stores an API response naming customer under key.
func (f eraseFixture) storeResponse(t *testing.T, key, customer string) {
	t.Helper()
	now := time.Now()
	if _, err := f.st.PutIdempotency(context.Background(), store.IdempotencyRecord{Key: key, RequestHash: []byte("h"), Status: 201,
		Body: []byte(`{"id":"pm_1","customer":"` + customer + `"}`), CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
}

// checkOthersUntouched fails t unless cus_Other1's and cus_Ghost12's data are as seeded.
func (f eraseFixture) checkOthersUntouched(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for _, id := range []string{"evt_other", "evt_longer"} {
		if it, err := f.st.GetOutbox(ctx, id); err != nil || it.Payload == nil || it.Status != store.StatusPending {
			t.Errorf("%s, another customer's event: status %s, payload kept %v (%v)", id, it.Status, it.Payload != nil, err)
		}
	}
	if _, err := f.st.GetIdempotency(ctx, "k:other", time.Now()); err != nil {
		t.Errorf("another customer's stored response: %v", err)
	}
	if key, err := f.st.SubjectKey(ctx, "cus_Other1"); err != nil || !slices.Equal(key, f.otherKey) {
		t.Errorf("another customer's pseudonym key changed (%v)", err)
	}
}

func (f eraseFixture) service(t *testing.T, a Recorder) *Service {
	t.Helper()
	svc, err := New(Options{Gateway: goneGateway{t: t}, Store: f.st, Audit: a, Reason: func(error) string { return "x" }})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// TestEraseUnknownCustomer (issue 12, defect 9): a customer neither the gateway nor tokenwall
// knows is ErrUnknownCustomer, after the erasure_requested record and nothing else: no key
// made or destroyed, nothing purged. A customer only tokenwall still holds data about (one
// deleted at the gateway directly) is erased here; erasing them again is ErrUnknownCustomer.
func TestEraseUnknownCustomer(t *testing.T) {
	f := newEraseFixture(t)
	caller := Caller{Actor: "key:test", RequestID: "req"}
	t.Run("unknown everywhere: nothing done, only the request recorded", func(t *testing.T) {
		a := &flakyAudit{}
		_, err := f.service(t, a).Erase(context.Background(), caller, "cus_Ghost1", "")
		if !errors.Is(err, ErrUnknownCustomer) {
			t.Fatalf("Erase = %v, want ErrUnknownCustomer", err)
		}
		if got := a.types(); !slices.Equal(got, []string{audit.EventErasureRequested}) {
			t.Errorf("audit records %v, want only erasure_requested", got)
		}
		if has, err := f.st.HasSubject(context.Background(), "cus_Ghost1"); err != nil || has {
			t.Errorf("the erasure left a pseudonym key for the unknown customer (%v)", err)
		}
		f.checkOthersUntouched(t)
	})
	tests := []struct {
		name, customer string
		seed           func(t *testing.T)
		want           map[string]int64 // receipt counts
	}{
		{name: "undelivered event only", customer: "cus_Local1", seed: func(t *testing.T) { f.enqueue(t, "evt_local", "cus_Local1") },
			want: map[string]int64{"webhook_payloads_deleted": 1}},
		{name: "stored response only", customer: "cus_Resp1", seed: func(t *testing.T) { f.storeResponse(t, "k:resp", "cus_Resp1") },
			want: map[string]int64{"stored_api_responses_deleted": 1}},
		{name: "pseudonym key only", customer: "cus_Keyed1", seed: func(t *testing.T) {
			if _, err := f.st.SubjectKey(context.Background(), "cus_Keyed1"); err != nil {
				t.Fatal(err)
			}
		}, want: map[string]int64{"audit_pseudonym_key_destroyed": 1}},
	}
	for _, tc := range tests {
		t.Run("known here only, "+tc.name+": erased, then unknown", func(t *testing.T) {
			tc.seed(t)
			checkErasedHereOnly(t, f, tc.customer, tc.want)
			a := &flakyAudit{}
			if _, err := f.service(t, a).Erase(context.Background(), caller, tc.customer, ""); !errors.Is(err, ErrUnknownCustomer) {
				t.Fatalf("second erasure = %v, want ErrUnknownCustomer", err)
			}
			if got := a.types(); !slices.Equal(got, []string{audit.EventErasureRequested}) {
				t.Errorf("second erasure's audit records %v, want only erasure_requested", got)
			}
			f.checkOthersUntouched(t)
		})
	}
}

// checkErasedHereOnly erases customer, whom the gateway does not know, and checks the
// receipt (the gateway's steps count nothing and say why, tokenwall's count want, 0 where
// not named), that no key is left, and that the erasure is recorded as a success.
func checkErasedHereOnly(t *testing.T, f eraseFixture, customer string, want map[string]int64) {
	t.Helper()
	a := &flakyAudit{}
	rc, err := f.service(t, a).Erase(context.Background(), Caller{Actor: "key:test"}, customer, "")
	if err != nil {
		t.Fatalf("Erase: %v", err)
	}
	if len(rc.Steps) != 5 || rc.Customer != customer || rc.Pseudonym == "" {
		t.Fatalf("receipt %+v", rc)
	}
	for _, st := range rc.Steps {
		if st.System == "gateway" && (st.Count != 0 || st.Note == "") {
			t.Errorf("gateway step %+v, want 0 with a note", st)
		}
		if st.System == "tokenwall" && st.Count != want[st.Action] {
			t.Errorf("%s = %d, want %d", st.Action, st.Count, want[st.Action])
		}
	}
	if has, err := f.st.HasSubject(context.Background(), customer); err != nil || has {
		t.Errorf("pseudonym key left after the erasure (%v)", err)
	}
	if got := a.types(); !slices.Equal(got, []string{audit.EventErasureRequested, audit.EventErasure}) || a.kept[1].Outcome != audit.Success {
		t.Errorf("audit records %v, want erasure_requested then a successful erasure", got)
	}
}
