package billing

import (
	"bytes"
	"embed"
	"github.com/tokenwall/tokenwall/signature"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// assets holds the checkout page's template and stylesheet. An embed.FS is read-only.
//
//go:embed assets/checkout.html assets/checkout.css assets/flow.html
var assets embed.FS

// The demo order the checkout page sells.
const (
	demoOrderID  = "1001"
	demoAmount   = "19.99"
	demoCurrency = "EUR"
)

// Field names in the forwarded form: tokenwall's results, then the order fields that pass
// through untouched.
const (
	fieldToken     = "payment_method"
	fieldBrand     = "card_brand"
	fieldLast4     = "card_last4"
	fieldCardError = "card_error"
	fieldOrderID   = "order_id"
	fieldAmount    = "amount"
	fieldCurrency  = "currency"
	fieldFlow      = "flow"
)

// Error codes the app assigns itself, beside those tokenwall sends in card_error.
const (
	// codeNoToken: the post was signed but carried neither a token nor a card_error.
	codeNoToken = "token_missing"
	// codeUnknownShape replaces a card_error value that is not a plain identifier.
	codeUnknownShape = "unknown"
)

// order is what the checkout page sells; its fields travel through tokenwall untouched.
type order struct {
	ID       string
	Amount   string
	Currency string
}

// savedCard is what the result page shows once tokenwall has tokenized the card.
type savedCard struct {
	Brand string
	Last4 string
	Token string
}

// cardError is a tokenization failure as the form shows it.
type cardError struct {
	Code    string
	Message string
}

// pageData feeds checkout.html: the form (with Error when set), or Saved.
type pageData struct {
	Order order
	Saved *savedCard
	Error *cardError
	// WidgetOrigin, when set, loads the payment widget; only GET /checkout sets it, the one
	// page tokenwall lets the widget run on.
	WidgetOrigin string
	// Skimmer, when set, adds the demo skimmer (test mode "skimmer=on").
	Skimmer *skimmer
	// Flow is the payment flow the form belongs to (flowInvoice, flowSubscribe), "" for the
	// plain checkout that saves the card.
	Flow string
}

// skimmer is where the demo skimmer sends card numbers and loads its external copy from.
type skimmer struct {
	CollectURL string
	ScriptURL  string
}

// Security headers the app owns on its pages (tokenwall adds its own, such as the CSP).
const (
	permissionsPolicy = "payment=(self), camera=(), microphone=(), geolocation=()"
	openerPolicy      = "same-origin"
)

func parsePage() (*template.Template, error) {
	return template.ParseFS(assets, "assets/checkout.html")
}

func (a *App) handleCheckout(w http.ResponseWriter, _ *http.Request) {
	m := a.modes()
	d := pageData{
		Order:        order{ID: demoOrderID, Amount: demoAmount, Currency: demoCurrency},
		WidgetOrigin: a.widgetOrigin,
	}
	if m.Skimmer == modeOn {
		d.Skimmer = &skimmer{CollectURL: a.widgetOrigin + "/collect", ScriptURL: a.widgetOrigin + "/skim.js"}
	}
	a.render(w, http.StatusOK, d, m.DropHeader)
}

func (a *App) handleCSS(w http.ResponseWriter, _ *http.Request) {
	css, err := assets.ReadFile("assets/checkout.css")
	if err != nil {
		http.Error(w, "stylesheet unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(css)
}

// handleSubmit receives the checkout form after tokenwall has replaced the card fields.
func (a *App) handleSubmit(w http.ResponseWriter, r *http.Request) {
	body, ok := a.readSigned(w, r, signature.PurposeCheckout)
	if !ok {
		return
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		http.Error(w, "expected a form (application/x-www-form-urlencoded)", http.StatusUnsupportedMediaType)
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "malformed form", http.StatusBadRequest)
		return
	}
	data := submitResult(form)
	if flow := form.Get(fieldFlow); a.api != nil && data.Saved != nil && (flow == flowInvoice || flow == flowSubscribe) {
		a.renderFlow(w, http.StatusOK, a.runFlow(r.Context(), flow, data.Saved.Token))
		return
	}
	status := http.StatusOK
	if data.Error != nil {
		status = http.StatusUnprocessableEntity
	}
	a.render(w, status, data, "")
}

// submitResult turns the form tokenwall forwarded into the page to show.
func submitResult(form url.Values) pageData {
	d := pageData{Order: order{
		ID:       orDefault(form.Get(fieldOrderID), demoOrderID),
		Amount:   orDefault(form.Get(fieldAmount), demoAmount),
		Currency: orDefault(form.Get(fieldCurrency), demoCurrency),
	}}
	if code := form.Get(fieldCardError); code != "" {
		d.Error = newCardError(code)
		return d
	}
	token, last4 := form.Get(fieldToken), form.Get(fieldLast4)
	if !strings.HasPrefix(token, "pm_") || !isLast4(last4) {
		// Signed by tokenwall but without a token: the route is not set to tokenize.
		d.Error = newCardError(codeNoToken)
		return d
	}
	d.Saved = &savedCard{Brand: brandName(form.Get(fieldBrand)), Last4: last4, Token: token}
	return d
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func isLast4(s string) bool {
	if len(s) != 4 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// brandName names a card brand, given as the gateway spells it ("visa", "amex", …), the way
// a customer reads it.
func brandName(brand string) string {
	switch strings.ToLower(strings.TrimSpace(brand)) {
	case "visa":
		return "Visa"
	case "mastercard":
		return "Mastercard"
	case "amex", "american_express", "american express":
		return "American Express"
	case "discover":
		return "Discover"
	case "jcb":
		return "JCB"
	case "diners", "diners_club", "diners club":
		return "Diners Club"
	case "unionpay":
		return "UnionPay"
	case "maestro":
		return "Maestro"
	default:
		return "Card"
	}
}

// newCardError pairs a tokenwall error code with the message the customer sees. A code that
// is not a plain lower-case identifier is shown as "unknown".
func newCardError(code string) *cardError {
	if !isCode(code) {
		code = codeUnknownShape
	}
	return &cardError{Code: code, Message: cardErrorMessage(code)}
}

func isCode(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// cardErrorMessage is the customer's message for a tokenization error code.
func cardErrorMessage(code string) string {
	switch code {
	case "invalid_number", "incorrect_number":
		return "That card number is not valid. Check it and try again."
	case "invalid_expiry", "invalid_expiry_month", "invalid_expiry_year":
		return "The expiry date is not valid. Enter it as MM/YY."
	case "expired_card":
		return "This card has expired. Please use another card."
	case "invalid_cvc", "incorrect_cvc":
		return "The security code is not valid. Check the 3 or 4 digits on your card."
	case "card_declined":
		return "Your card was declined. Please use another card or contact your bank."
	case "processing_error":
		return "Your card could not be processed. Please try again."
	case "gateway_unavailable":
		return "Payments are unavailable right now. Please try again in a few minutes."
	case codeNoToken:
		return "Your card could not be saved. Please try again later."
	default:
		return "Your card could not be saved. Check the details or use another card."
	}
}

// render writes the checkout page without the header named drop (test mode "drop_header");
// it buffers so that a template error can still become a 500.
func (a *App) render(w http.ResponseWriter, status int, d pageData, drop string) {
	if a.pageErr != nil {
		http.Error(w, "page unavailable", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := a.page.Execute(&buf, d); err != nil {
		http.Error(w, "page unavailable", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Permissions-Policy", permissionsPolicy)
	h.Set("Cross-Origin-Opener-Policy", openerPolicy)
	if drop != "" {
		h.Del(drop)
	}
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
