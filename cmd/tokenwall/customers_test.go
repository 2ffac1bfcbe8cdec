package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/devstack"
	"github.com/tokenwall/tokenwall/payments"
	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/store/sqlite"
	"github.com/tokenwall/tokenwall/testkit"
)

// TestCustomersErase: `tokenwall customers erase` runs the same erasure as the API against
// stripe-mock: the receipt lists every step, the customer's undelivered event loses its
// payload, the erasure is audited with the operator as actor, and the trail still verifies. A malformed id is
// refused before anything is done.
func TestCustomersErase(t *testing.T) {
	_, cfgPath, cfg := provisioned(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sm, err := devstack.StartStripeMock(ctx, devstack.Options{Dir: testkit.ArtifactsDir(t), Log: testkit.LogFile(t, "stripe-mock.log")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sm.Stop() })
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, []byte(strings.Replace(string(b), "api_url: http://127.0.0.1:9", "api_url: "+sm.URL, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := sqlite.Open(ctx, cfg.Store.SQLitePath)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for id, cus := range map[string]string{"evt_mine": "cus_Erase1"} {
		if _, err := s.EnqueueOutbox(ctx, store.OutboxItem{ID: id, Type: "customer.updated", Payload: []byte(`{"id":"` + id + `","customer":"` + cus + `"}`),
			Digest: make([]byte, 32), CreatedAt: now, NextAttempt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	if code, _, errb := runCmd(t, "customers", "erase", "--config", cfgPath, "cust_1"); code != 1 || !strings.Contains(errb, "customer id has the wrong shape") {
		t.Fatalf("malformed id: exit %d, stderr %q; want 1 naming the shape", code, errb)
	}
	if code, _, errb := runCmd(t, "customers", "erase", "--config", cfgPath); code != 2 || !strings.Contains(errb, "usage") {
		t.Fatalf("no id: exit %d, stderr %q", code, errb)
	}
	code, out, errb := runCmd(t, "customers", "erase", "--config", cfgPath, "cus_Erase1")
	if code != 0 {
		t.Fatalf("erase: exit %d\n%s\n%s", code, out, errb)
	}
	var rc payments.ErasureReceipt
	if err := json.Unmarshal([]byte(out), &rc); err != nil {
		t.Fatalf("receipt is not JSON: %v\n%s", err, out)
	}
	steps := map[string]int64{}
	for _, st := range rc.Steps {
		steps[st.Action] = st.Count
	}
	if rc.Customer != "cus_Erase1" || !strings.HasPrefix(rc.ID, "er_") || len(rc.Steps) != 5 || steps["customer_deleted"] != 1 {
		t.Errorf("receipt %+v", rc)
	}
	s, err = sqlite.Open(ctx, cfg.Store.SQLitePath)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// stripe-mock answers its fixture whatever id it is asked for, so the outbox is where
	// the exact match shows.
	mine, err := s.GetOutbox(ctx, "evt_mine")
	if err != nil || mine.Payload != nil {
		t.Errorf("the erased customer's event kept its payload: %v %q", err, mine.Payload)
	}
	var erasures []store.AuditRecord
	if err := s.AuditRange(ctx, 0, 0, func(r store.AuditRecord) error {
		if r.Event == audit.EventErasure {
			erasures = append(erasures, r)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(erasures) != 1 || !strings.HasPrefix(erasures[0].Actor, audit.ActorAdmin+":cli:") || strings.Contains(erasures[0].Details, "cus_Erase1") {
		t.Errorf("erasure records %+v, want one by the operator naming the customer by pseudonym only", erasures)
	}
	if code, out, errb := runCmd(t, "audit", "verify", "--config", cfgPath); code != 0 || !strings.Contains(out, "audit trail OK") {
		t.Fatalf("audit verify after the erasure: exit %d\n%s\n%s", code, out, errb)
	}
}
