package payments

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/gateway"
)

var chargeOK = ChargeRequest{Amount: 500, Currency: "eur", Token: "pm_1Q0PsIJvEtkwdCNY", ReturnURL: "https://crm.example.com/orders/7/back"}

// TestChargeStates: each status the gateway gives a payment decides the charge record
// (Outcome, DetailResult, the raw status), the answer (payment, error kind and code) and
// whether the payment is kept as a pending intent.
func TestChargeStates(t *testing.T) {
	tests := []struct {
		name        string
		status      gateway.PaymentStatus
		code        string
		outcome     string
		result      string
		wantErr     error
		wantCode    string
		wantPending bool
	}{
		{name: "succeeded", status: gateway.StatusSucceeded, outcome: audit.Success, result: audit.ResultSucceeded},
		{name: "processing", status: gateway.StatusProcessing, outcome: audit.Success, result: audit.ResultSucceeded},
		{name: "requires_capture", status: gateway.StatusRequiresCapture, outcome: audit.Success, result: audit.ResultSucceeded},
		{name: "requires_action: the 202 path", status: gateway.StatusRequiresAction, outcome: audit.Failure,
			result: audit.ResultRequiresAction, wantPending: true},
		{name: "requires_payment_method after a failed authentication", status: gateway.StatusRequiresPaymentMethod,
			code: gateway.CodeAuthenticationFailed, outcome: audit.Failure, result: audit.ResultFailed, wantErr: ErrPaymentFailed,
			wantCode: gateway.CodeAuthenticationFailed},
		{name: "requires_payment_method without a code", status: gateway.StatusRequiresPaymentMethod, outcome: audit.Failure,
			result: audit.ResultFailed, wantErr: ErrPaymentFailed, wantCode: gateway.CodeCardDeclined},
		{name: "canceled", status: gateway.StatusCanceled, outcome: audit.Failure, result: audit.ResultCanceled,
			wantErr: ErrPaymentFailed, wantCode: CodePaymentCanceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.gw.next, f.gw.code = tc.status, tc.code
			p, err := f.svc.Charge(context.Background(), Caller{Actor: "key:test"}, chargeOK, "k")
			if p.ID != "pi_Fake1" || p.Status != tc.status {
				t.Fatalf("payment %+v, want pi_Fake1 in %s", p, tc.status)
			}
			if tc.wantErr == nil && err != nil {
				t.Fatalf("err = %v, want none", err)
			}
			if tc.wantErr != nil {
				var ge *gateway.Error
				if !errors.Is(err, tc.wantErr) || !errors.As(err, &ge) || ge.Code != tc.wantCode || ge.PaymentID != p.ID {
					t.Fatalf("err = %v (%+v), want %v with code %s and the payment id", err, ge, tc.wantErr, tc.wantCode)
				}
			}
			if f.gw.lastPayment.ReturnURL != chargeOK.ReturnURL {
				t.Errorf("return url %q not passed on", f.gw.lastPayment.ReturnURL)
			}
			if got := f.trail.types(); !slices.Equal(got, []string{audit.EventChargeRequested, audit.EventCharge}) {
				t.Fatalf("records %v", got)
			}
			rec := f.last(t, audit.EventCharge)
			if rec.Outcome != tc.outcome || rec.Details[audit.DetailResult] != tc.result || rec.Details["status"] != string(tc.status) ||
				rec.Resource != p.ID {
				t.Errorf("charge record %+v, want outcome %s, result %s, status %s", rec, tc.outcome, tc.result, tc.status)
			}
			if tc.wantCode != "" && rec.Reason != tc.wantCode {
				t.Errorf("charge record's reason %q, want %q", rec.Reason, tc.wantCode)
			}
			for k, v := range rec.Details {
				if strings.Contains(v, "secret") {
					t.Errorf("detail %s = %q holds the next action's client secret", k, v)
				}
			}
			if got, want := f.pending(t), pendingWant(tc.wantPending, p.ID); !slices.Equal(got, want) {
				t.Errorf("pending %v, want %v", got, want)
			}
		})
	}
}

func pendingWant(pending bool, id string) []string {
	if pending {
		return []string{id}
	}
	return []string{}
}

// TestChargeAuthenticationRequired: an off-session payment the issuer wants authenticated is
// ErrAuthenticationRequired wrapping the gateway's error with the payment id; the charge
// record is a failure (result failed) naming the payment, which is kept as pending.
func TestChargeAuthenticationRequired(t *testing.T) {
	f := newFixture(t)
	f.gw.err = &gateway.Error{Code: gateway.CodeAuthenticationRequired, Kind: gateway.ErrAuthenticationRequired, PaymentID: "pi_OffSession1"}
	r := chargeOK
	r.OffSession, r.ReturnURL, r.Customer = true, "", "cus_Saved1"
	_, err := f.svc.Charge(context.Background(), Caller{Actor: "key:test"}, r, "k")
	var ge *gateway.Error
	if !errors.Is(err, ErrAuthenticationRequired) || !errors.As(err, &ge) || ge.PaymentID != "pi_OffSession1" {
		t.Fatalf("err = %v, want ErrAuthenticationRequired with the payment id", err)
	}
	if !f.gw.lastPayment.OffSession {
		t.Error("off_session not passed on")
	}
	rec := f.last(t, audit.EventCharge)
	if rec.Outcome != audit.Failure || rec.Reason != gateway.CodeAuthenticationRequired || rec.Details[audit.DetailResult] != audit.ResultFailed ||
		rec.Resource != "pi_OffSession1" {
		t.Errorf("charge record %+v", rec)
	}
	if got := f.pending(t); !slices.Equal(got, []string{"pi_OffSession1"}) {
		t.Errorf("pending %v, want the payment", got)
	}
}

// TestPendingFollowsReads: a payment seen waiting is pending from when it was first seen;
// reading it once it succeeded forgets it; a setup likewise.
func TestPendingFollowsReads(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := Caller{Actor: "key:test"}
	f.gw.next = gateway.StatusRequiresAction
	p, err := f.svc.Charge(ctx, c, chargeOK, "k")
	if err != nil || p.NextAction == nil {
		t.Fatalf("charge %+v, %v", p, err)
	}
	first := f.clock.Now()
	f.clock.Add(10 * 60e9)
	if _, err := f.svc.Payment(ctx, c, p.ID); err != nil {
		t.Fatal(err)
	}
	got, err := f.st.PendingIntentsBefore(ctx, f.clock.Now().Add(1), 10)
	if err != nil || len(got) != 1 || !got[0].Since.Equal(first) || got[0].Kind != "payment" {
		t.Fatalf("pending %+v (%v), want the payment since its first sight", got, err)
	}
	f.gw.setPayment(p.ID, gateway.StatusSucceeded)
	if _, err := f.svc.Payment(ctx, c, p.ID); err != nil {
		t.Fatal(err)
	}
	if got := f.pending(t); len(got) != 0 {
		t.Errorf("pending after success %v", got)
	}

	f.gw.setSetup("seti_Waiting1", gateway.SetupRequiresAction)
	if _, err := f.svc.Setup(ctx, c, "seti_Waiting1"); err != nil {
		t.Fatal(err)
	}
	if got := f.pending(t); !slices.Equal(got, []string{"seti_Waiting1"}) {
		t.Errorf("pending %v, want the setup", got)
	}
	f.gw.setSetup("seti_Waiting1", gateway.SetupSucceeded)
	if _, err := f.svc.Setup(ctx, c, "seti_Waiting1"); err != nil {
		t.Fatal(err)
	}
	if got := f.pending(t); len(got) != 0 {
		t.Errorf("pending after the setup succeeded %v", got)
	}
	if rec := f.last(t, audit.EventAPIRead); rec.Resource != "seti_Waiting1" || rec.Outcome != audit.Success {
		t.Errorf("api_read record %+v", rec)
	}
	if _, err := f.svc.Setup(ctx, c, "seti_Unknown1"); !errors.Is(err, ErrUnknownSetup) {
		t.Errorf("unknown setup: %v", err)
	}
	if _, err := f.svc.Payment(ctx, c, "pi_Unknown1"); !errors.Is(err, ErrUnknownPayment) {
		t.Errorf("unknown payment: %v", err)
	}
}
