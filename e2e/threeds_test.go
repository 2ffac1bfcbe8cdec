package e2e_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/tokenwall/tokenwall/testkit"
)

// Stripe's documented 3-D Secure test cards, which the dev stack's scenario server in front
// of stripe-mock follows (devstack.Scenario).
const (
	// cardAlwaysAuthenticate needs authentication on every payment, on- or off-session.
	cardAlwaysAuthenticate = "4000 0027 6000 3184"
	// cardAuthenticateUnlessSetUp needs it on-session, and off-session only when it was not
	// set up for off-session use.
	cardAuthenticateUnlessSetUp = "4000 0025 0000 3155"
	// cardPlain needs no authentication.
	cardPlain = "4242 4242 4242 4242"
)

// TestThreeDSecureInBrowser runs the demo app's payment flows in headless Chromium through
// tokenwall-dev, the issuer's challenge played by the scenario server: an invoice paid after
// approving the challenge (the app shows it and receives the signed
// payment_intent.succeeded); a denied challenge shown as a failure and retried; a card saved
// for a subscription with authentication, then charged off-session; and an off-session
// charge the bank wants the customer for, confirmed on return. It ends with the audit
// trail's counts, audit verify and the artifact scan.
func TestThreeDSecureInBrowser(t *testing.T) {
	requireChromium(t)
	artifacts := testkit.ArtifactsDir(t)
	stack := startDevStack(t)
	br := startBrowser(t)
	client := stack.Client(t)
	tw := buildTokenwall(t)
	ctx, cancel := context.WithTimeout(br.Ctx, 4*stepTimeout)
	defer cancel()

	t.Run("invoice: the challenge approved, the payment succeeds", func(t *testing.T) {
		payOnForm(t, ctx, stack, "/invoice", cardAlwaysAuthenticate)
		challenge(t, ctx, "approve")
		want := flowResult(t, ctx, "succeeded")
		id := strings.Fields(strings.TrimPrefix(want, "Payment "))[0]
		waitWebhook(t, client, stack, "payment_intent.succeeded", id)
	})
	t.Run("invoice: the challenge denied, the failure shown and retried", func(t *testing.T) {
		payOnForm(t, ctx, stack, "/invoice", cardAlwaysAuthenticate)
		challenge(t, ctx, "deny")
		flowResult(t, ctx, "failed")
		clickAndWait(t, ctx, "retry")
		payOnForm(t, ctx, stack, "", cardPlain)
		flowResult(t, ctx, "succeeded")
	})
	t.Run("subscribe: the card saved with authentication, then charged off-session", func(t *testing.T) {
		payOnForm(t, ctx, stack, "/subscribe", cardAuthenticateUnlessSetUp)
		challenge(t, ctx, "approve")
		flowResult(t, ctx, "succeeded")
		clickAndWait(t, ctx, "charge")
		flowResult(t, ctx, "succeeded")
	})
	t.Run("subscribe: an off-session charge the bank wants the customer for", func(t *testing.T) {
		payOnForm(t, ctx, stack, "/subscribe", cardAlwaysAuthenticate)
		challenge(t, ctx, "approve")
		flowResult(t, ctx, "succeeded")
		clickAndWait(t, ctx, "charge")
		flowResult(t, ctx, "requires_action")
		clickAndWait(t, ctx, "confirm")
		challenge(t, ctx, "approve")
		flowResult(t, ctx, "succeeded")
	})
	t.Run("the audit trail counts each outcome and verifies", func(t *testing.T) {
		cfgFile := stack.Data + "/tokenwall.yaml"
		counts := map[string]int{}
		for _, line := range strings.Split(strings.TrimSpace(runTW(t, tw, "audit", "export", "--config", cfgFile)), "\n") {
			var r exported
			if json.Unmarshal([]byte(line), &r) == nil {
				counts[r.Event+"/"+r.Details["result"]]++
			}
		}
		for key, want := range map[string]int{
			// invoice approve, invoice deny, the retry, the two off-session charges.
			"charge/requires_action": 2, "charge/succeeded": 2, "charge/failed": 1,
			"payment_confirmed/requires_action": 1,
			"setup/requires_action":             2,
		} {
			if counts[key] != want {
				t.Errorf("%s records: %d; want %d (all: %v)", key, counts[key], want, counts)
			}
		}
		if counts["payment_state/succeeded"] < 3 {
			t.Errorf("payment_state/succeeded records (final states the webhooks reported): %d; want at least 3 (all: %v)", counts["payment_state/succeeded"], counts)
		}
		if out := runTW(t, tw, "audit", "verify", "--config", cfgFile); !strings.Contains(out, "audit trail OK") {
			t.Errorf("audit verify: %s", out)
		}
	})
	t.Run("no card in any file", func(t *testing.T) {
		checkNoCardInAnyFile(t, stack, artifacts)
	})
}

// payOnForm opens path (unless empty: the form is already shown), types card and pays.
func payOnForm(t *testing.T, ctx context.Context, stack *devStack, path, number string) {
	t.Helper()
	if path != "" {
		if _, err := chromedp.Run(ctx, chromedp.Navigate(stack.BaseURL+path)); err != nil {
			t.Fatalf("open %s: %v", path, err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("pay"))); err != nil {
		t.Fatalf("wait for #pay: %v", err)
	}
	submitCard(t, ctx, card{name: "Ada Lovelace", number: number, exp: "12/34", cvc: "123"})
}

// challenge waits for the issuer's challenge page (the browser got there by a top-level
// navigation from the app's page) and answers it.
func challenge(t *testing.T, ctx context.Context, answer string) {
	t.Helper()
	sel := chromedp.CSS(`form[action$="/` + answer + `"] button`)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(sel)); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
		t.Fatalf("the challenge page's %s button did not show: %v\n%.2000s", answer, err, html)
	}
	if err := chromedp.Do(ctx, chromedp.Click(sel)); err != nil {
		t.Fatalf("click %s: %v", answer, err)
	}
}

// flowResult waits for the demo app's result and wants its state; it returns its text.
func flowResult(t *testing.T, ctx context.Context, state string) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("flow-result"))); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
		t.Fatalf("no result page: %v\n%.2000s", err, html)
	}
	got, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("flow-result"), "data-state"))
	text, _ := chromedp.Run(ctx, chromedp.Text(chromedp.ID("flow-result")))
	if err != nil || got.Value != state {
		t.Fatalf("result %q (%q); want state %s", got.Value, text, state)
	}
	return strings.TrimSpace(text)
}

// waitWebhook waits until the app received the signed gateway event typ about object id.
func waitWebhook(t *testing.T, client *http.Client, stack *devStack, typ, id string) {
	t.Helper()
	waitFor(t, pollTimeout, "the app to receive "+typ, func() bool {
		for _, r := range receivedBodies(t, client, stack) {
			if r.SignatureValid && strings.Contains(r.Body, `"type":"`+typ+`"`) && strings.Contains(r.Body, id) {
				return true
			}
		}
		return false
	})
}

// clickAndWait clicks the button or link id and waits for the page it navigates to: the
// page before may show a result of the same id.
func clickAndWait(t *testing.T, ctx context.Context, id string) {
	t.Helper()
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.ID(id))); err != nil {
		t.Fatalf("click #%s: %v", id, err)
	}
}
