package payments

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/audit"
	"github.com/tokenwall/tokenwall/gateway"
)

// TestConfirmAndCancelPayment: confirming a waiting payment records the request and the
// result and forgets the pending intent once final; a failed confirmation is ErrPaymentFailed;
// canceling records payment_canceled; unknown payments are ErrUnknownPayment.
func TestConfirmAndCancelPayment(t *testing.T) {
	ctx := context.Background()
	c := Caller{Actor: "key:test"}
	t.Run("confirmed after authentication", func(t *testing.T) {
		f := newFixture(t)
		f.gw.next = gateway.StatusRequiresAction
		p, _ := f.svc.Charge(ctx, c, chargeOK, "k1")
		f.gw.next = gateway.StatusSucceeded
		p, err := f.svc.ConfirmPayment(ctx, c, p.ID, ConfirmRequest{ReturnURL: "https://crm.example.com/back", Token: "pm_Other1"}, "k2")
		if err != nil || p.Status != gateway.StatusSucceeded {
			t.Fatalf("confirm %+v, %v", p, err)
		}
		if f.gw.lastConfirm.Token != "pm_Other1" || f.gw.lastConfirm.ReturnURL != "https://crm.example.com/back" {
			t.Errorf("confirm request %+v", f.gw.lastConfirm)
		}
		want := []string{audit.EventChargeRequested, audit.EventCharge, audit.EventConfirmRequested, audit.EventPaymentConfirmed}
		if got := f.trail.types(); !slices.Equal(got, want) {
			t.Fatalf("records %v, want %v", got, want)
		}
		if rec := f.last(t, audit.EventPaymentConfirmed); rec.Outcome != audit.Success || rec.Details[audit.DetailResult] != audit.ResultSucceeded ||
			rec.Resource != p.ID {
			t.Errorf("payment_confirmed %+v", rec)
		}
		if got := f.pending(t); len(got) != 0 {
			t.Errorf("pending %v after success", got)
		}
	})
	t.Run("authentication failed", func(t *testing.T) {
		f := newFixture(t)
		f.gw.setPayment("pi_Waiting1", gateway.StatusRequiresAction)
		f.gw.next, f.gw.code = gateway.StatusRequiresPaymentMethod, gateway.CodeAuthenticationFailed
		p, err := f.svc.ConfirmPayment(ctx, c, "pi_Waiting1", ConfirmRequest{}, "k")
		var ge *gateway.Error
		if !errors.Is(err, ErrPaymentFailed) || !errors.As(err, &ge) || ge.Code != gateway.CodeAuthenticationFailed || p.ID != "pi_Waiting1" {
			t.Fatalf("confirm %+v, %v", p, err)
		}
		if rec := f.last(t, audit.EventPaymentConfirmed); rec.Outcome != audit.Failure || rec.Details[audit.DetailResult] != audit.ResultFailed {
			t.Errorf("payment_confirmed %+v", rec)
		}
	})
	t.Run("canceled by the app", func(t *testing.T) {
		f := newFixture(t)
		f.gw.next = gateway.StatusRequiresAction
		p, _ := f.svc.Charge(ctx, c, chargeOK, "k1")
		p, err := f.svc.CancelPayment(ctx, c, p.ID, "k2")
		if err != nil || p.Status != gateway.StatusCanceled {
			t.Fatalf("cancel %+v, %v", p, err)
		}
		rec := f.last(t, audit.EventPaymentCanceled)
		if rec.Outcome != audit.Success || rec.Details[audit.DetailResult] != audit.ResultCanceled || rec.Actor != "key:test" || rec.Reason != "" {
			t.Errorf("payment_canceled %+v", rec)
		}
		if f.last(t, audit.EventCancelRequested).Resource != p.ID {
			t.Error("cancel request names another resource")
		}
		if got := f.pending(t); len(got) != 0 {
			t.Errorf("pending %v after cancel", got)
		}
	})
	t.Run("unknown payment", func(t *testing.T) {
		f := newFixture(t)
		if _, err := f.svc.ConfirmPayment(ctx, c, "pi_Nowhere1", ConfirmRequest{}, "k"); !errors.Is(err, ErrUnknownPayment) {
			t.Errorf("confirm: %v", err)
		}
		if _, err := f.svc.CancelPayment(ctx, c, "pi_Nowhere1", "k"); !errors.Is(err, ErrUnknownPayment) {
			t.Errorf("cancel: %v", err)
		}
	})
	t.Run("refused before the gateway", func(t *testing.T) {
		f := newFixture(t)
		for name, call := range map[string]func() error{
			"bad payment id": func() error { _, err := f.svc.ConfirmPayment(ctx, c, "ch_1", ConfirmRequest{}, "k"); return err },
			"bad token": func() error {
				_, err := f.svc.ConfirmPayment(ctx, c, "pi_1", ConfirmRequest{Token: "4242"}, "k")
				return err
			},
			"bad return url": func() error {
				_, err := f.svc.ConfirmPayment(ctx, c, "pi_1", ConfirmRequest{ReturnURL: "https://evil.example/x"}, "k")
				return err
			},
			"bad cancel id": func() error { _, err := f.svc.CancelPayment(ctx, c, "pi_1/../x", "k"); return err },
		} {
			if err := call(); err == nil {
				t.Errorf("%s: accepted", name)
			}
		}
		if f.gw.total() != 0 || len(f.trail.types()) != 0 {
			t.Errorf("%d gateway calls, records %v; want none", f.gw.total(), f.trail.types())
		}
	})
}

var mandate = gateway.MandateOptions{Reference: "SUB-2026-0042", Description: "Monthly plan", AmountType: "maximum", Amount: 150_00,
	Currency: "inr", Interval: "month", IntervalCount: 1, StartDate: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
	SupportedTypes: []string{"india"}}

// TestSetupStates: a setup's status decides its record, its answer and the pending intent.
func TestSetupStates(t *testing.T) {
	ctx := context.Background()
	c := Caller{Actor: "key:test"}
	r := SetupRequest{Customer: "cus_Saved1", Token: "pm_Card1", ReturnURL: "https://crm.example.com/cards", Mandate: &mandate}
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
		{name: "requires_action", status: gateway.StatusRequiresAction, outcome: audit.Failure, result: audit.ResultRequiresAction,
			wantPending: true},
		{name: "requires_payment_method", status: gateway.StatusRequiresPaymentMethod, code: gateway.CodeSetupAuthenticationFailed,
			outcome: audit.Failure, result: audit.ResultFailed, wantErr: ErrPaymentFailed, wantCode: gateway.CodeSetupAuthenticationFailed},
		{name: "requires_payment_method without a code", status: gateway.StatusRequiresPaymentMethod, outcome: audit.Failure,
			result: audit.ResultFailed, wantErr: ErrPaymentFailed, wantCode: gateway.CodeSetupAuthenticationFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.gw.next, f.gw.code = tc.status, tc.code
			si, err := f.svc.CreateSetup(ctx, c, r, "k")
			if si.ID != "seti_Fake1" {
				t.Fatalf("setup %+v", si)
			}
			var ge *gateway.Error
			if (tc.wantErr == nil) != (err == nil) || (err != nil && (!errors.Is(err, tc.wantErr) || !errors.As(err, &ge) || ge.Code != tc.wantCode)) {
				t.Fatalf("err = %v, want %v with %s", err, tc.wantErr, tc.wantCode)
			}
			if f.gw.lastSetup.Usage != UsageOffSession || f.gw.lastSetup.Mandate == nil || f.gw.lastSetup.ReturnURL != r.ReturnURL {
				t.Errorf("setup request %+v", f.gw.lastSetup)
			}
			if got := f.trail.types(); !slices.Equal(got, []string{audit.EventSetupRequested, audit.EventSetup}) {
				t.Fatalf("records %v", got)
			}
			if rec := f.last(t, audit.EventSetup); rec.Outcome != tc.outcome || rec.Details[audit.DetailResult] != tc.result || rec.Resource != si.ID {
				t.Errorf("setup record %+v", rec)
			}
			if got, want := f.pending(t), pendingWant(tc.wantPending, si.ID); !slices.Equal(got, want) {
				t.Errorf("pending %v, want %v", got, want)
			}
		})
	}
	t.Run("confirmed again", func(t *testing.T) {
		f := newFixture(t)
		f.gw.setSetup("seti_Waiting1", gateway.SetupRequiresAction)
		f.gw.next = gateway.StatusSucceeded
		si, err := f.svc.ConfirmSetup(ctx, c, "seti_Waiting1", "http://127.0.0.1:8080/back", "k")
		if err != nil || si.Status != gateway.SetupSucceeded {
			t.Fatalf("confirm %+v, %v", si, err)
		}
		if got := f.trail.types(); !slices.Equal(got, []string{audit.EventSetupRequested, audit.EventSetup}) {
			t.Errorf("records %v", got)
		}
		if _, err := f.svc.ConfirmSetup(ctx, c, "seti_Nowhere1", "", "k"); !errors.Is(err, ErrUnknownSetup) {
			t.Errorf("unknown setup: %v", err)
		}
	})
}

// TestSetupRefusesBadInput: ids, usage and mandate fields out of bounds are refused before
// anything is recorded or sent.
func TestSetupRefusesBadInput(t *testing.T) {
	f := newFixture(t)
	ok := SetupRequest{Customer: "cus_Saved1", Token: "pm_Card1", Mandate: &mandate}
	edit := func(fn func(m *gateway.MandateOptions)) func(*SetupRequest) {
		return func(r *SetupRequest) {
			m := mandate
			fn(&m)
			r.Mandate = &m
		}
	}
	tests := []struct {
		name string
		edit func(*SetupRequest)
		want error
	}{
		{name: "no customer", edit: func(r *SetupRequest) { r.Customer = "" }, want: ErrInvalidID},
		{name: "bad token", edit: func(r *SetupRequest) { r.Token = "tok_1" }, want: ErrInvalidToken},
		{name: "unknown usage", edit: func(r *SetupRequest) { r.Usage = "sometimes" }, want: ErrInvalidParameter},
		{name: "return url elsewhere", edit: func(r *SetupRequest) { r.ReturnURL = "https://evil.example/" }, want: ErrReturnURLNotAllowed},
		{name: "mandate reference too long", edit: edit(func(m *gateway.MandateOptions) { m.Reference = string(make([]byte, 201)) }),
			want: ErrInvalidParameter},
		{name: "mandate reference with a card number", edit: edit(func(m *gateway.MandateOptions) { m.Reference = "4000 0566 5566 5556" }),
			want: ErrSensitive},
		{name: "mandate amount type", edit: edit(func(m *gateway.MandateOptions) { m.AmountType = "variable" }), want: ErrInvalidParameter},
		{name: "mandate interval", edit: edit(func(m *gateway.MandateOptions) { m.Interval = "fortnight" }), want: ErrInvalidParameter},
		{name: "mandate supported types", edit: edit(func(m *gateway.MandateOptions) { m.SupportedTypes = []string{"eu"} }),
			want: ErrInvalidParameter},
		{name: "mandate amount", edit: edit(func(m *gateway.MandateOptions) { m.Amount = 0 }), want: ErrInvalidAmount},
		{name: "mandate without start", edit: edit(func(m *gateway.MandateOptions) { m.StartDate = time.Time{} }), want: ErrInvalidParameter},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ok
			tc.edit(&r)
			if _, err := f.svc.CreateSetup(context.Background(), Caller{Actor: "key:test"}, r, "k"); !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
	if _, err := f.svc.ConfirmSetup(context.Background(), Caller{}, "seti_", "", "k"); !errors.Is(err, ErrInvalidID) {
		t.Errorf("empty setup id: %v", err)
	}
	if _, err := f.svc.Setup(context.Background(), Caller{}, "pi_NotASetup1"); !errors.Is(err, ErrInvalidID) {
		t.Errorf("payment id as setup id: %v", err)
	}
	if f.gw.total() != 0 || len(f.trail.types()) != 0 {
		t.Errorf("%d gateway calls, records %v; want none", f.gw.total(), f.trail.types())
	}
}

// TestIntentBeforeCall: every operation with a side effect writes its intent first; when the
// trail refuses it the gateway is not called and the answer is ErrUnavailable.
func TestIntentBeforeCall(t *testing.T) {
	ctx := context.Background()
	c := Caller{Actor: "key:test"}
	for name, call := range map[string]func(s *Service) error{
		"charge": func(s *Service) error { _, err := s.Charge(ctx, c, chargeOK, "k"); return err },
		"confirm": func(s *Service) error {
			_, err := s.ConfirmPayment(ctx, c, "pi_Waiting1", ConfirmRequest{}, "k")
			return err
		},
		"cancel": func(s *Service) error { _, err := s.CancelPayment(ctx, c, "pi_Waiting1", "k"); return err },
		"create setup": func(s *Service) error {
			_, err := s.CreateSetup(ctx, c, SetupRequest{Customer: "cus_1", Token: "pm_1"}, "k")
			return err
		},
		"confirm setup": func(s *Service) error { _, err := s.ConfirmSetup(ctx, c, "seti_Waiting1", "", "k"); return err },
		"stale sweep":   func(s *Service) error { _, err := s.CancelStale(ctx, time.Minute); return err },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			f.gw.setPayment("pi_Waiting1", gateway.StatusRequiresAction)
			f.gw.setSetup("seti_Waiting1", gateway.SetupRequiresAction)
			f.putPending(t, "pi_Waiting1", "payment", f.clock.Now().Add(-time.Hour))
			f.trail.fail = map[int]bool{1: true, 2: true, 3: true}
			before := f.gw.total()
			if err := call(f.svc); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("err = %v, want ErrUnavailable", err)
			}
			gets := f.gw.count("GetPayment") + f.gw.count("GetSetupIntent")
			if f.gw.total()-gets != before {
				t.Errorf("the gateway acted (%v) though the intent was not written", f.gw.calls)
			}
		})
	}
}
