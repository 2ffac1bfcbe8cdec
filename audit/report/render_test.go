package report

import (
	"bytes"
	"fmt"
	"html"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// render renders r and fails the test on error.
func renderPage(t *testing.T, r Report) string {
	t.Helper()
	var buf bytes.Buffer
	if err := HTML(&buf, r); err != nil {
		t.Fatalf("HTML: %v", err)
	}
	return buf.String()
}

var (
	styleRE  = regexp.MustCompile(`(?s)<style>.*?</style>`)
	inlineRE = regexp.MustCompile(`</?(strong|span|code|em|a)\b[^>]*>`)
	tagRE    = regexp.MustCompile(`<[^>]*>`)
	spaceRE  = regexp.MustCompile(`\s+`)
)

// visibleText approximates what a reader sees: the page without its style sheet and tags
// (inline ones removed, others a space), entities decoded, runs of white space made one space.
func visibleText(page string) string {
	s := styleRE.ReplaceAllString(page, " ")
	s = inlineRE.ReplaceAllString(s, "")
	s = tagRE.ReplaceAllString(s, " ")
	s = html.UnescapeString(s)
	return strings.TrimSpace(spaceRE.ReplaceAllString(s, " "))
}

// section returns the HTML of the <section> with the given id.
func pageSection(t *testing.T, page, id string) string {
	t.Helper()
	start := strings.Index(page, `<section id="`+id+`"`)
	if start < 0 {
		t.Fatalf("no section %q in the page", id)
	}
	end := strings.Index(page[start:], "</section>")
	if end < 0 {
		t.Fatalf("section %q is not closed", id)
	}
	return page[start : start+end]
}

func TestHTMLShowsLabelsAndNumbers(t *testing.T) {
	page := renderPage(t, fixtureReport())
	text := visibleText(page)
	summary := visibleText(pageSection(t, page, "summary"))
	evidence := visibleText(pageSection(t, page, "evidence"))
	flow := visibleText(pageSection(t, page, "flow"))
	reqs := visibleText(pageSection(t, page, "requirements"))
	daily := visibleText(pageSection(t, page, "daily"))

	tests := []struct {
		name string
		in   string // the text searched
		want string
	}{
		// Header.
		{name: "title", in: text, want: "tokenwall compliance report"},
		{name: "period", in: text, want: "Period (UTC) 2026-11-01 00:00:00 UTC – 2026-12-01 00:00:00 UTC (30 days) From inclusive, To exclusive"},
		{name: "generated", in: text, want: "Generated at 2026-12-01 06:15:42 UTC"},
		{name: "host", in: text, want: "Host tokenwall-prod-eu-1"},
		{name: "id", in: text, want: "Report ID rpt-2026-11-tw-7f3a9c"},
		{name: "format version", in: text, want: "Format version 1"},
		{name: "glance requirements", in: text, want: "Requirements: 3 PASS, 2 FAIL, 1 N/A, 1 with an unknown status."},
		{name: "glance erasures", in: text, want: "Erasures over 48 h: 1 of 4."},
		{name: "glance findings", in: text, want: "Card data found at rest: 5 finding(s)."},

		// Period summary counters.
		{name: "records", in: summary, want: "Audit records in the period 98,765"},
		{name: "tokenizations succeeded", in: summary, want: "Tokenizations succeeded 1,201"},
		{name: "tokenizations failed", in: summary, want: "Tokenizations failed 37"},
		{name: "card escapes refused", in: summary, want: "Card escapes refused 23"},
		{name: "card escapes alerted", in: summary, want: "Card escapes alerted 4"},
		{name: "charges", in: summary, want: "Charges 1,103"},
		{name: "charges failed", in: summary, want: "Charges failed 42"},
		{name: "charges succeeded", in: summary, want: "Charges succeeded 1,031"},
		{name: "charges requiring action", in: summary, want: "Charges waiting for the customer (3-D Secure) 22"},
		{name: "charges canceled", in: summary, want: "Charges canceled 8"},
		{name: "setups succeeded", in: summary, want: "Cards saved (setups succeeded) 57"},
		{name: "setups requiring action", in: summary, want: "Setups waiting for the customer (3-D Secure) 5"},
		{name: "setups failed", in: summary, want: "Setups failed 3"},
		{name: "stale canceled", in: summary, want: "Payments and setups canceled after the customer never came back 9"},
		{name: "captures", in: summary, want: "Captures 1,051"},
		{name: "refunds", in: summary, want: "Refunds 77"},
		{name: "refunds failed", in: summary, want: "Refunds failed 6"},
		{name: "webhooks received", in: summary, want: "Webhooks received 2,468"},
		{name: "webhooks duplicate", in: summary, want: "Webhooks duplicate 131"},
		{name: "webhooks rejected", in: summary, want: "Webhooks rejected 29"},
		{name: "webhooks delivered", in: summary, want: "Webhooks delivered 2,297"},
		{name: "webhooks dead", in: summary, want: "Webhooks dead (delivery given up) 8"},
		{name: "webhooks replayed", in: summary, want: "Webhooks replayed 12"},
		{name: "admin access", in: summary, want: "Admin access 61"},
		{name: "keys created", in: summary, want: "API keys created 3"},
		{name: "keys revoked", in: summary, want: "API keys revoked 1"},
		{name: "secret refresh failures", in: summary, want: "Secret refresh failures 2"},
		{name: "startups", in: summary, want: "Start-ups 9"},
		{name: "reports generated", in: summary, want: "Reports generated 13"},

		// Breakdown tables, sorted by key, with totals.
		{name: "failures by code", in: summary, want: "Tokenize failures by code Code Count " + hostileKey + " 2 card_declined 19 gateway_timeout 5 invalid_number 11 Total 37"},
		{name: "by brand", in: summary, want: "Tokenizations by brand Brand Count amex 96 discover 15 mastercard 388 visa 702 Total 1,201"},
		{name: "webhook rejections", in: summary, want: "Webhook rejections by reason Reason Count bad_signature 17 timestamp_too_old 9 unknown_event 3 Total 29"},
		{name: "api refusals", in: summary, want: "API refusals by reason Reason Count missing_scope 5 revoked_key 7 unknown_key 14 Total 26"},

		// Erasures.
		{name: "erasures count", in: summary, want: "Erasures over 48 h: 1 of 4 (3 within 48 h)."},
		{name: "erasure within", in: summary, want: "er_0001 subj_a1b2 2026-11-03 10:00:00 UTC 2026-11-03 13:12:00 UTC 3 h 12 min yes"},
		{name: "erasure just within", in: summary, want: "er_0004 subj_g7h8 2026-11-21 00:00:00 UTC 2026-11-22 23:59:00 UTC 47 h 59 min yes"},
		{name: "erasure over", in: summary, want: "er_0003 subj_e5f6 2026-11-14 06:00:00 UTC 2026-11-16 07:30:00 UTC 49 h 30 min NO over 48 h"},

		// Daily volume.
		{name: "daily days", in: daily, want: "30 day(s), UTC."},
		{name: "daily peak", in: daily, want: "Tokenizations per day — total"},
		{name: "daily peak day", in: daily, want: "peak 187 on 2026-11-10"},
		{name: "daily refusals", in: daily, want: "Refusals per day"},

		// Requirements.
		{name: "req pass", in: reqs, want: "3.3.1 SAD is not retained after authorization ✓ PASS 0 card numbers found in the database scan"},
		{name: "req fail", in: reqs, want: "3.5.1 PAN is unreadable wherever it is stored ✗ FAIL 5 findings"},
		{name: "req fail escaped", in: reqs, want: `3.6/3.7 Cryptographic keys are managed & rotated ✗ FAIL webhook_signing is 548 days old, cryptoperiod 365 days key names < & > "quoted"`},
		{name: "req na", in: reqs, want: "6.4.3 Payment page scripts are managed – N/A tokenwall serves no payment page"},
		{name: "req unknown", in: reqs, want: "12.10.7 Incident response on stored PAN ? PENDING no evidence recorded"},

		// Evidence.
		{name: "tls addr", in: evidence, want: "Probed address: 127.0.0.1:8443"},
		{name: "tls 1.0", in: evidence, want: "TLS 1.0 refused TLS 1.1 refused TLS 1.2 accepted TLS 1.3 accepted"},
		{name: "tls suites", in: evidence, want: "TLS 1.2 cipher suites: 2 accepted (2 AEAD), 2 refused"},
		{name: "tls aead", in: evidence, want: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 accepted AEAD"},
		{name: "tls cbc", in: evidence, want: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA refused not AEAD"},
		{name: "scan db", in: evidence, want: "database /var/lib/tokenwall/tokenwall.db 3 50.0 MiB (52,428,911 bytes) 0 none"},
		{name: "scan logs", in: evidence, want: "logs /var/log/tokenwall 17 7.0 MiB (7,340,033 bytes) 5 api_key: 3 ssn: 2"},
		{name: "chain", in: evidence, want: "Result verified: the hash chain is unbroken Sequence range 400,001 – 498,765 Records checked 98,765 Signed checkpoints 412"},
		{name: "secret ok", in: evidence, want: "stripe_api_key secret/data/tokenwall/stripe 7 2026-11-02 12:00:00 UTC 29 90 no"},
		{name: "secret expired", in: evidence, want: "webhook_signing secret/data/tokenwall/webhooks 4 2025-06-01 00:00:00 UTC 548 365 EXPIRED"},
		{name: "transit", in: evidence, want: "Name tokenwall-audit Latest version 5 Rotated at 2026-09-17 08:00:00 UTC Age (days) 75"},
		{name: "key active", in: evidence, want: "key_billing_01 billing app charge, refund 2026-03-03 03:03:03 UTC active 2026-11-29 23:59:00 UTC 3,456 21"},
		{name: "key revoked", in: evidence, want: "key_ops_02 ops & support erase 2026-04-04 04:04:04 UTC 2026-11-20 09:30:00 UTC 2026-11-18 11:11:00 UTC 88 5"},
		{name: "key never used", in: evidence, want: "key_never_03 none 2026-11-25 05:05:00 UTC active never 0 0"},
		{name: "retention", in: evidence, want: "Configured retention 400 days (meets PCI DSS 10.5.1: at least 12 months) Oldest record 2025-10-27 00:00:00 UTC Oldest record's age (days) 400"},
		{name: "logging", in: evidence, want: "Card number mask in logs brand_last4 Log file /var/log/tokenwall/tokenwall.log"},

		// Card data flow.
		{name: "flow step 1", in: flow, want: "Browser → tokenwall :8443 carries card data: The checkout form posts the card over TLS to tokenwall. POST /checkout (form body): card fields card_number, exp_month, exp_year, cvc"},
		{name: "flow step 2", in: flow, want: "tokenwall → payment gateway stripe https://api.stripe.com carries card data"},
		{name: "flow step 3", in: flow, want: "tokenwall → billing app http://billing.internal:8080: tokenwall forwards the request with the card fields replaced: the app receives only these fields. /checkout: payment_method, card_brand, card_last4"},
		{name: "flow webhooks in", in: flow, want: "payment gateway → tokenwall /webhooks/stripe"},
		{name: "flow webhooks out", in: flow, want: "tokenwall → billing app http://billing.internal:8080/hooks/payments"},
		{name: "flow api", in: flow, want: "billing app → tokenwall /v1 API"},
		{name: "flow route table", in: flow, want: "/checkout POST form card_number, exp_month, exp_year, cvc payment_method, card_brand, card_last4"},
		{name: "flow hostile route", in: flow, want: hostilePath + " POST, PUT json card.number, card.cvc card.token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(tc.in, tc.want) {
				t.Errorf("page does not show %q", tc.want)
			}
		})
	}
}

// TestHTMLRendersEverySummaryField sets each numeric field and each map of Summary, one at a
// time, to a value found nowhere else and looks for it in the period summary, so a field added
// to Summary and forgotten by the page fails here.
func TestHTMLRendersEverySummaryField(t *testing.T) {
	base := fixtureReport()
	typ := reflect.TypeFor[Summary]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		t.Run(f.Name, func(t *testing.T) {
			r := fixtureReport()
			field := reflect.ValueOf(&r.Summary).Elem().Field(i)
			var want string
			switch {
			case f.Type.Kind() == reflect.Int64:
				v := int64(864200 + i) // 6 digits, unlike any fixture number
				field.SetInt(v)
				want = formatInt(v)
			case f.Type == reflect.TypeFor[map[string]int64]():
				key := fmt.Sprintf("sentinel_key_%d", i)
				field.Set(reflect.ValueOf(map[string]int64{key: 4321}))
				want = key + " 4,321"
			case f.Type == reflect.TypeFor[[]Erasure]():
				field.Set(reflect.ValueOf([]Erasure{{Receipt: "er_sentinel", Subject: "subj_sentinel",
					RequestedAt: base.From, CompletedAt: base.From.Add(time.Minute), DurationMS: 60000, WithinSLA: true}}))
				want = "er_sentinel subj_sentinel"
			default:
				t.Fatalf("field %s has type %s, which this test does not know: teach it and the page", f.Name, f.Type)
			}
			summary := visibleText(pageSection(t, renderPage(t, r), "summary"))
			if !strings.Contains(summary, want) {
				t.Errorf("period summary does not show %s: no %q", f.Name, want)
			}
		})
	}
}

func TestHTMLIsDeterministic(t *testing.T) {
	first := renderPage(t, fixtureReport())
	for i := range 5 {
		// A fresh fixture each time: new maps, so Go's map order differs between runs.
		if got := renderPage(t, fixtureReport()); got != first {
			t.Fatalf("render %d differs from the first", i+2)
		}
	}
}

func TestHTMLSectionsInOrder(t *testing.T) {
	page := renderPage(t, fixtureReport())
	last := -1
	for _, marker := range []string{
		"<h1>tokenwall compliance report</h1>",
		"<h2>Period summary</h2>", "<h2>Daily volume</h2>", "<h2>Requirements</h2>",
		"<h2>Evidence</h2>", "<h2>Payment pages</h2>", "<h2>Card data flow</h2>",
	} {
		i := strings.Index(page, marker)
		if i < 0 {
			t.Fatalf("no %s in the page", marker)
		}
		if i < last {
			t.Errorf("%s is out of order", marker)
		}
		last = i
	}
	if n := strings.Count(page, `class="major"`); n != 6 {
		t.Errorf("%d major sections, want 6 (each starts a printed page)", n)
	}
	for _, rule := range []string{"@page{size:A4", "@media print{", ".major{break-before:page}"} {
		if !strings.Contains(page, rule) {
			t.Errorf("print style sheet lacks %q", rule)
		}
	}
}

func TestHTMLRequirementStatusesDiffer(t *testing.T) {
	page := pageSection(t, renderPage(t, fixtureReport()), "requirements")
	tests := []struct {
		status, want string
	}{
		{status: Pass, want: `<span class="status status-pass">✓ PASS</span>`},
		{status: Fail, want: `<span class="status status-fail">✗ FAIL</span>`},
		{status: NA, want: `<span class="status status-na">– N/A</span>`},
		{status: "PENDING", want: `<span class="status status-unknown">? PENDING</span>`},
	}
	for _, tc := range tests {
		t.Run(tc.status, func(t *testing.T) {
			if !strings.Contains(page, tc.want) {
				t.Errorf("no %s in the requirements", tc.want)
			}
		})
	}
	if n := strings.Count(page, `<tr class="req-fail">`); n != 2 {
		t.Errorf("%d ruled FAIL rows, want 2", n)
	}
}
