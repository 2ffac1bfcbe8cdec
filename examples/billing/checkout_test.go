package billing_test

import (
	"github.com/tokenwall/tokenwall/signature"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestCheckoutPage(t *testing.T) {
	srv := newServer(t, 0, newKey(t))
	res, doc := get(t, srv, "/checkout")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", res.StatusCode)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("Content-Type %q, want text/html", ct)
	}
	checkPageHeaders(t, res, "")

	forms := tags(doc, "form")
	if len(forms) != 1 {
		t.Fatalf("found %d forms, want 1", len(forms))
	}
	if f := attrs(forms[0]); f["method"] != "post" || f["action"] != "/checkout/submit" {
		t.Errorf("form attributes %v, want method=post action=/checkout/submit", f)
	}

	checkCheckoutInputs(t, doc)

	t.Run("pay button", func(t *testing.T) {
		var found bool
		for _, tag := range tags(doc, "button") {
			if a := attrs(tag); a["id"] == "pay" {
				found = true
				if a["type"] != "submit" {
					t.Errorf("pay button type %q, want submit", a["type"])
				}
			}
		}
		if !found {
			t.Errorf("no button with id pay")
		}
	})
	t.Run("stylesheet from self", func(t *testing.T) {
		links := tags(doc, "link")
		if len(links) != 1 || attrs(links[0])["href"] != "/checkout.css" || attrs(links[0])["rel"] != "stylesheet" {
			t.Errorf("links %v, want one stylesheet /checkout.css", links)
		}
	})
	t.Run("nothing inline for CSP default-src self", func(t *testing.T) {
		lower := strings.ToLower(doc)
		for _, bad := range []string{"<script", "<style", " style=", "javascript:", "http://", "https://"} {
			if strings.Contains(lower, bad) {
				t.Errorf("page contains %q", bad)
			}
		}
		if h := regexp.MustCompile(`\son[a-z]+=`).FindString(lower); h != "" {
			t.Errorf("page has an inline event handler %q", h)
		}
	})
}

// checkCheckoutInputs checks, in a subtest per input, that the checkout page doc has each
// input the form needs, with its id and the attributes that make browsers treat the card
// fields as a card.
func checkCheckoutInputs(t *testing.T, doc string) {
	t.Helper()
	inputs := map[string]map[string]string{}
	for _, tag := range tags(doc, "input") {
		a := attrs(tag)
		inputs[a["name"]] = a
	}
	tests := []struct {
		name string
		want map[string]string
	}{
		{name: "card_name", want: map[string]string{"autocomplete": "cc-name"}},
		{name: "card_number", want: map[string]string{"autocomplete": "cc-number", "inputmode": "numeric"}},
		{name: "card_exp", want: map[string]string{"autocomplete": "cc-exp", "placeholder": "MM/YY"}},
		{name: "card_cvc", want: map[string]string{"autocomplete": "cc-csc"}},
		{name: "order_id", want: map[string]string{"value": "1001"}},
		{name: "amount", want: map[string]string{"value": "19.99"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, ok := inputs[tc.name]
			if !ok {
				t.Fatalf("no input named %s", tc.name)
			}
			if a["id"] != tc.name {
				t.Errorf("id %q, want %q", a["id"], tc.name)
			}
			for k, v := range tc.want {
				if a[k] != v {
					t.Errorf("%s=%q, want %q", k, a[k], v)
				}
			}
		})
	}
}

func TestCheckoutCSS(t *testing.T) {
	srv := newServer(t, 0, newKey(t))
	res, css := get(t, srv, "/checkout.css")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", res.StatusCode)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("Content-Type %q, want text/css", ct)
	}
	if !strings.Contains(css, ".panel") {
		t.Errorf("stylesheet lacks the .panel rule the page uses")
	}
}

// tokenForm is a checkout form as tokenwall forwards it after a successful tokenization.
func tokenForm(brand, last4, token string) string {
	return url.Values{
		"order_id":         {"1001"},
		"amount":           {"19.99"},
		"currency":         {"EUR"},
		"card_name":        {"Jane Doe"},
		"payment_method":   {token},
		"card_brand":       {brand},
		"card_last4":       {last4},
		"card_exp_month":   {"12"},
		"card_exp_year":    {"2030"},
		"card_fingerprint": {"Xt5EWLLDS7FJjR1c"},
	}.Encode()
}

func TestSubmitSavesCard(t *testing.T) {
	key := newKey(t)
	srv := newServer(t, 0, key)
	tests := []struct {
		name  string
		brand string
		last4 string
		token string
		want  string
	}{
		{name: "visa", brand: "visa", last4: "4242", token: "pm_1OaVisa", want: "Card saved: Visa •••• 4242 (pm_1OaVisa)"},
		{name: "mastercard", brand: "mastercard", last4: "4444", token: "pm_1OaMc", want: "Card saved: Mastercard •••• 4444 (pm_1OaMc)"},
		{name: "amex", brand: "amex", last4: "8431", token: "pm_1OaAmex", want: "Card saved: American Express •••• 8431 (pm_1OaAmex)"},
		{name: "discover", brand: "discover", last4: "1117", token: "pm_1OaDisc", want: "Card saved: Discover •••• 1117 (pm_1OaDisc)"},
		{name: "jcb", brand: "jcb", last4: "0505", token: "pm_1OaJcb", want: "Card saved: JCB •••• 0505 (pm_1OaJcb)"},
		{name: "diners", brand: "diners", last4: "0004", token: "pm_1OaDin", want: "Card saved: Diners Club •••• 0004 (pm_1OaDin)"},
		{name: "unionpay", brand: "unionpay", last4: "0005", token: "pm_1OaUp", want: "Card saved: UnionPay •••• 0005 (pm_1OaUp)"},
		{name: "maestro", brand: "maestro", last4: "0007", token: "pm_1OaMae", want: "Card saved: Maestro •••• 0007 (pm_1OaMae)"},
		{name: "unknown brand", brand: "eftpos_au", last4: "0001", token: "pm_1OaOther", want: "Card saved: Card •••• 0001 (pm_1OaOther)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := tokenForm(tc.brand, tc.last4, tc.token)
			res, doc := post(t, srv, "/checkout/submit", formType, body, sign(body, key))
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d, want 200: %s", res.StatusCode, doc)
			}
			_, text, ok := elementByID(doc, "result")
			if !ok {
				t.Fatalf("no element with id result in %s", doc)
			}
			if text != tc.want {
				t.Errorf("result %q, want %q", text, tc.want)
			}
			if _, _, ok := elementByID(doc, "error"); ok {
				t.Errorf("success page shows an error element")
			}
		})
	}
}

func TestSubmitCardError(t *testing.T) {
	key := newKey(t)
	srv := newServer(t, 0, key)
	tests := []struct {
		name     string
		form     url.Values
		wantCode string
		wantMsg  string
	}{
		{name: "invalid_number", form: url.Values{"card_error": {"invalid_number"}}, wantCode: "invalid_number", wantMsg: "That card number is not valid. Check it and try again."},
		{name: "incorrect_number", form: url.Values{"card_error": {"incorrect_number"}}, wantCode: "incorrect_number", wantMsg: "That card number is not valid. Check it and try again."},
		{name: "invalid_expiry_month", form: url.Values{"card_error": {"invalid_expiry_month"}}, wantCode: "invalid_expiry_month", wantMsg: "The expiry date is not valid. Enter it as MM/YY."},
		{name: "invalid_expiry_year", form: url.Values{"card_error": {"invalid_expiry_year"}}, wantCode: "invalid_expiry_year", wantMsg: "The expiry date is not valid. Enter it as MM/YY."},
		{name: "invalid_expiry", form: url.Values{"card_error": {"invalid_expiry"}}, wantCode: "invalid_expiry", wantMsg: "The expiry date is not valid. Enter it as MM/YY."},
		{name: "expired_card", form: url.Values{"card_error": {"expired_card"}}, wantCode: "expired_card", wantMsg: "This card has expired. Please use another card."},
		{name: "invalid_cvc", form: url.Values{"card_error": {"invalid_cvc"}}, wantCode: "invalid_cvc", wantMsg: "The security code is not valid. Check the 3 or 4 digits on your card."},
		{name: "incorrect_cvc", form: url.Values{"card_error": {"incorrect_cvc"}}, wantCode: "incorrect_cvc", wantMsg: "The security code is not valid. Check the 3 or 4 digits on your card."},
		{name: "card_declined", form: url.Values{"card_error": {"card_declined"}}, wantCode: "card_declined", wantMsg: "Your card was declined. Please use another card or contact your bank."},
		{name: "processing_error", form: url.Values{"card_error": {"processing_error"}}, wantCode: "processing_error", wantMsg: "Your card could not be processed. Please try again."},
		{name: "gateway_unavailable", form: url.Values{"card_error": {"gateway_unavailable"}}, wantCode: "gateway_unavailable", wantMsg: "Payments are unavailable right now. Please try again in a few minutes."},
		{name: "unlisted code", form: url.Values{"card_error": {"something_new"}}, wantCode: "something_new", wantMsg: "Your card could not be saved. Check the details or use another card."},
		{name: "markup in code", form: url.Values{"card_error": {`"><b>x`}}, wantCode: "unknown", wantMsg: "Your card could not be saved. Check the details or use another card."},
		{name: "no token and no error", form: url.Values{"card_number": {"4242424242424242"}}, wantCode: "token_missing", wantMsg: "Your card could not be saved. Please try again later."},
		{name: "token without last4", form: url.Values{"payment_method": {"pm_1Oa"}, "card_brand": {"visa"}}, wantCode: "token_missing", wantMsg: "Your card could not be saved. Please try again later."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The order fields differ from the page's default so the re-rendered form shows
			// that they came from the post.
			tc.form.Set("order_id", "2002")
			tc.form.Set("amount", "5.00")
			body := tc.form.Encode()
			res, doc := post(t, srv, "/checkout/submit", formType, body, sign(body, key))
			if res.StatusCode != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", res.StatusCode)
			}
			a, text, ok := elementByID(doc, "error")
			if !ok {
				t.Fatalf("no element with id error in %s", doc)
			}
			if a["data-code"] != tc.wantCode {
				t.Errorf("data-code %q, want %q", a["data-code"], tc.wantCode)
			}
			if text != tc.wantMsg {
				t.Errorf("message %q, want %q", text, tc.wantMsg)
			}
			if _, _, ok := elementByID(doc, "result"); ok {
				t.Errorf("error page shows a result element")
			}
			if _, _, ok := elementByID(doc, "card_number"); !ok {
				t.Errorf("error page lacks the form")
			}
			for id, want := range map[string]string{"order_id": "2002", "amount": "5.00"} {
				if a, _, _ := elementByID(doc, id); a["value"] != want {
					t.Errorf("%s value %q, want %q", id, a["value"], want)
				}
			}
			if strings.Contains(doc, "4242424242424242") {
				t.Errorf("error page echoes a card number")
			}
		})
	}
}

func TestSubmitRefused(t *testing.T) {
	key := newKey(t)
	body := tokenForm("visa", "4242", "pm_1OaVisa")
	tests := []struct {
		name      string
		body      string
		signature string
	}{
		{name: "unsigned", body: body, signature: ""},
		{name: "tampered body", body: strings.Replace(body, "pm_1OaVisa", "pm_1OaEvil", 1), signature: sign(body, key)},
		{name: "other key", body: body, signature: sign(body, newKey(t))},
		{name: "stale timestamp", body: body, signature: signature.Sign(time.Now().Add(-10*time.Minute), []byte(body), key)},
		{name: "malformed header", body: body, signature: "t=abc,v1=zz"},
		{name: "card data posted directly", body: "card_number=4242424242424242&card_cvc=123", signature: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, 0, key)
			res, text := post(t, srv, "/checkout/submit", formType, tc.body, tc.signature)
			if res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", res.StatusCode)
			}
			if got := strings.TrimSpace(text); got != "request did not come through tokenwall" {
				t.Errorf("body %q", got)
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("Content-Type %q, want text/plain", ct)
			}
			got := getReceived(t, srv)
			if len(got) != 1 {
				t.Fatalf("recorded %d bodies, want 1", len(got))
			}
			want := received{Path: "/checkout/submit", ContentType: formType, Body: tc.body, SignatureValid: false}
			if got[0].Path != want.Path || got[0].ContentType != want.ContentType || got[0].Body != want.Body || got[0].SignatureValid {
				t.Errorf("recorded %+v, want %+v", got[0], want)
			}
		})
	}
}

func TestSubmitKeyRoll(t *testing.T) {
	oldKey, newK := newKey(t), newKey(t)
	srv := newServer(t, 0, oldKey, newK)
	body := tokenForm("visa", "4242", "pm_1OaVisa")
	tests := []struct {
		name      string
		signature string
	}{
		{name: "old key", signature: sign(body, oldKey)},
		{name: "new key", signature: sign(body, newK)},
		{name: "both keys", signature: sign(body, oldKey, newK)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, _ := post(t, srv, "/checkout/submit", formType, body, tc.signature)
			if res.StatusCode != http.StatusOK {
				t.Errorf("status %d, want 200", res.StatusCode)
			}
		})
	}
}

func TestSubmitLimits(t *testing.T) {
	key := newKey(t)
	const maxBody = 512
	big := "order_id=1001&pad=" + strings.Repeat("x", maxBody)
	tests := []struct {
		name        string
		contentType string
		body        string
		wantStatus  int
		wantValid   bool
		wantBody    string
	}{
		{name: "too large", contentType: formType, body: big, wantStatus: http.StatusRequestEntityTooLarge, wantValid: false, wantBody: big[:maxBody]},
		{name: "not a form", contentType: "application/json", body: `{"payment_method":"pm_1"}`, wantStatus: http.StatusUnsupportedMediaType, wantValid: true, wantBody: `{"payment_method":"pm_1"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := newServer(t, maxBody, key)
			res, _ := post(t, srv, "/checkout/submit", tc.contentType, tc.body, sign(tc.body, key))
			if res.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.wantStatus)
			}
			got := getReceived(t, srv)
			if len(got) != 1 || got[0].SignatureValid != tc.wantValid || got[0].Body != tc.wantBody {
				t.Errorf("recorded %+v, want one entry valid=%v body %q", got, tc.wantValid, tc.wantBody)
			}
		})
	}
}

func TestNoKeysRefusesEverything(t *testing.T) {
	srv := newServer(t, 0)
	body := tokenForm("visa", "4242", "pm_1OaVisa")
	res, _ := post(t, srv, "/checkout/submit", formType, body, sign(body, newKey(t)))
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", res.StatusCode)
	}
}
