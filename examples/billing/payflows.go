package billing

import (
	"bytes"
	"context"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
)

// The demo's payment flows, through tokenwall's /v1 API (Options.API):
//   - "pay invoice" (/invoice): the card form is tokenized by tokenwall, the app charges the
//     token with a return URL; when the issuer wants 3-D Secure the API answers 202 with a
//     redirect, and the app sends the browser there by a top-level navigation (a page with a
//     refresh and a link: a redirect answering the form post would be a form navigation,
//     which the page policy's form-action refuses), then reads the payment on return;
//   - "subscribe" (/subscribe): the app creates a customer and saves the token with a
//     SetupIntent for off-session use (authenticated the same way), then "charge this month"
//     charges it off-session; when the issuer still wants the customer, the API answers
//     402 authentication-required with the payment, and the app brings the customer back to
//     confirm it on-session.
const (
	flowSave      = "save"
	flowInvoice   = "invoice"
	flowSubscribe = "subscribe"
)

// Amounts of the demo's flows, in cents.
const (
	invoiceAmount = 1999
	monthlyAmount = 990
	flowCurrency  = "eur"
)

// validAPIID is what the flows accept as an id read from a query or a form.
var validAPIID = regexp.MustCompile(`^(pi|seti|cus|pm)_[A-Za-z0-9_]{1,200}$`)

// flowPage feeds flow.html: a result, an interstitial that navigates to the bank, or a
// form with the next step.
type flowPage struct {
	Title    string
	State    string // succeeded, requires_action, failed, error
	Message  string
	Code     string
	Redirect string
	Form     *flowForm
	Links    []flowLink
}

type flowForm struct {
	Action, Button, ButtonID string
	Fields                   []flowField
}

type flowField struct{ Name, Value string }

type flowLink struct{ ID, Href, Text string }

func parseFlow() (*template.Template, error) {
	return template.ParseFS(assets, "assets/flow.html")
}

// registerFlows adds the flows' routes when the app has an API client.
func (a *App) registerFlows() {
	if a.api == nil {
		return
	}
	a.mux.HandleFunc("GET /invoice", a.handleFlowForm(flowInvoice))
	a.mux.HandleFunc("GET /subscribe", a.handleFlowForm(flowSubscribe))
	a.mux.HandleFunc("GET /invoice/return", a.handleInvoiceReturn)
	a.mux.HandleFunc("GET /subscribe/return", a.handleSubscribeReturn)
	a.mux.HandleFunc("POST /subscribe/charge", a.handleMonthlyCharge)
	a.mux.HandleFunc("POST /subscribe/confirm", a.handleConfirm)
}

// handleFlowForm serves the card form of a flow (a payment page, like /checkout).
func (a *App) handleFlowForm(flow string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		d := pageData{Order: order{ID: demoOrderID, Amount: demoAmount, Currency: demoCurrency}, WidgetOrigin: a.widgetOrigin, Flow: flow}
		if flow == flowSubscribe {
			d.Order.Amount = "9.90"
		}
		a.render(w, http.StatusOK, d, "")
	}
}

// runFlow continues a tokenized card form of a flow.
func (a *App) runFlow(ctx context.Context, flow, token string) flowPage {
	switch flow {
	case flowInvoice:
		return a.payInvoice(ctx, token)
	case flowSubscribe:
		return a.subscribe(ctx, token)
	}
	return flowPage{Title: "Unknown flow", State: "error", Message: "This form belongs to no flow."}
}

// payInvoice charges token on-session, with a return URL for 3-D Secure.
func (a *App) payInvoice(ctx context.Context, token string) flowPage {
	st, p, err := a.api.call(ctx, http.MethodPost, "/v1/payments", map[string]any{"amount": invoiceAmount, "currency": flowCurrency,
		"token": token, "return_url": a.publicURL + "/invoice/return", "description": "Invoice " + demoOrderID})
	return paymentPage(st, p, err)
}

// paymentPage turns an answer about a payment into the page to show.
func paymentPage(st int, p apiObject, err error) flowPage {
	switch {
	case err != nil:
		return flowPage{Title: "Payment unavailable", State: "error", Message: "The payment service did not answer; please try again."}
	case st == http.StatusAccepted && p.NextAction != nil && p.NextAction.RedirectToURL.URL != "":
		return interstitial(p.NextAction.RedirectToURL.URL)
	case (st == http.StatusOK || st == http.StatusCreated) && (p.Status == "succeeded" || p.Status == "processing"):
		return flowPage{Title: "Payment succeeded", State: "succeeded", Message: "Payment " + p.ID + " succeeded. Thank you."}
	case st == http.StatusPaymentRequired && p.Payment != "" && p.Code == "authentication_required":
		return flowPage{Title: "Your bank needs you", State: "requires_action", Code: p.Code,
			Message: "Your bank asks you to confirm this month's payment.",
			Form: &flowForm{Action: "/subscribe/confirm", Button: "Confirm the payment", ButtonID: "confirm",
				Fields: []flowField{{"payment", p.Payment}}}}
	case st == http.StatusPaymentRequired || p.Status == "requires_payment_method" || p.Status == "canceled":
		return flowPage{Title: "Payment failed", State: "failed", Code: p.Code, Message: "The payment did not go through; try again or use another card.",
			Links: []flowLink{{"retry", "/invoice", "Try again"}}}
	}
	return flowPage{Title: "Payment pending", State: "pending", Message: "The payment is " + string(p.Status) + "."}
}

// interstitial navigates the browser to the bank's check (top-level, not a form redirect).
func interstitial(redirect string) flowPage {
	return flowPage{Title: "Confirm with your bank", State: "requires_action", Redirect: redirect,
		Message: "Your bank asks you to confirm this payment. Taking you there…"}
}

// subscribe saves token for monthly off-session charges: a customer, then a SetupIntent.
func (a *App) subscribe(ctx context.Context, token string) flowPage {
	st, cus, err := a.api.call(ctx, http.MethodPost, "/v1/customers", map[string]any{"description": "Demo subscriber"})
	if err != nil || st != http.StatusCreated || !validAPIID.MatchString(cus.ID) {
		return flowPage{Title: "Subscription unavailable", State: "error", Message: "The customer could not be created; please try again."}
	}
	st, si, err := a.api.call(ctx, http.MethodPost, "/v1/setup-intents", map[string]any{"customer": cus.ID, "token": token,
		"usage": "off_session", "return_url": a.publicURL + "/subscribe/return"})
	return setupPage(st, si, cus.ID, token, err)
}

// setupPage turns an answer about a setup into the page to show.
func setupPage(st int, si apiObject, customer, token string, err error) flowPage {
	switch {
	case err != nil:
		return flowPage{Title: "Subscription unavailable", State: "error", Message: "The payment service did not answer; please try again."}
	case st == http.StatusAccepted && si.NextAction != nil && si.NextAction.RedirectToURL.URL != "":
		return interstitial(si.NextAction.RedirectToURL.URL)
	case si.Status == "succeeded":
		return subscribedPage(customer, token)
	}
	return flowPage{Title: "Card not saved", State: "failed", Code: si.Code, Message: "Your card could not be saved for the subscription.",
		Links: []flowLink{{"retry", "/subscribe", "Try again"}}}
}

// subscribedPage offers to charge this month's fee off-session.
func subscribedPage(customer, token string) flowPage {
	return flowPage{Title: "Subscribed", State: "succeeded", Message: "Your card is saved for monthly payments.",
		Form: &flowForm{Action: "/subscribe/charge", Button: "Charge this month", ButtonID: "charge",
			Fields: []flowField{{"customer", customer}, {"payment_method", token}}}}
}

// handleInvoiceReturn reads the payment the bank sent the customer back about.
func (a *App) handleInvoiceReturn(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("payment_intent")
	if !validAPIID.MatchString(id) {
		a.renderFlow(w, http.StatusBadRequest, flowPage{Title: "Unknown payment", State: "error", Message: "This link names no payment."})
		return
	}
	st, p, err := a.api.call(r.Context(), http.MethodGet, "/v1/payments/"+url.PathEscape(id), nil)
	a.renderFlow(w, http.StatusOK, paymentPage(st, p, err))
}

// handleSubscribeReturn reads the setup the bank sent the customer back about.
func (a *App) handleSubscribeReturn(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("setup_intent")
	if !validAPIID.MatchString(id) {
		a.renderFlow(w, http.StatusBadRequest, flowPage{Title: "Unknown subscription", State: "error", Message: "This link names no card setup."})
		return
	}
	st, si, err := a.api.call(r.Context(), http.MethodGet, "/v1/setup-intents/"+url.PathEscape(id), nil)
	a.renderFlow(w, http.StatusOK, setupPage(st, si, si.Customer, si.PaymentMethod, err))
}

// handleMonthlyCharge charges the saved card off-session, as a billing run would.
func (a *App) handleMonthlyCharge(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || !validAPIID.MatchString(r.PostForm.Get("customer")) || !validAPIID.MatchString(r.PostForm.Get("payment_method")) {
		a.renderFlow(w, http.StatusBadRequest, flowPage{Title: "Bad request", State: "error", Message: "The form names no saved card."})
		return
	}
	st, p, err := a.api.call(r.Context(), http.MethodPost, "/v1/payments", map[string]any{"amount": monthlyAmount, "currency": flowCurrency,
		"token": r.PostForm.Get("payment_method"), "customer": r.PostForm.Get("customer"), "off_session": true,
		"description": "Monthly subscription"})
	a.renderFlow(w, http.StatusOK, paymentPage(st, p, err))
}

// handleConfirm brings the customer back on-session for a payment their bank wants them to
// authenticate.
func (a *App) handleConfirm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || !validAPIID.MatchString(r.PostForm.Get("payment")) {
		a.renderFlow(w, http.StatusBadRequest, flowPage{Title: "Bad request", State: "error", Message: "The form names no payment."})
		return
	}
	st, p, err := a.api.call(r.Context(), http.MethodPost, "/v1/payments/"+url.PathEscape(r.PostForm.Get("payment"))+"/confirm",
		map[string]any{"return_url": a.publicURL + "/invoice/return"})
	a.renderFlow(w, http.StatusOK, paymentPage(st, p, err))
}

// renderFlow writes a flow page.
func (a *App) renderFlow(w http.ResponseWriter, status int, d flowPage) {
	if a.flowErr != nil {
		http.Error(w, "page unavailable", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := a.flow.Execute(&buf, d); err != nil {
		http.Error(w, "page unavailable", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
