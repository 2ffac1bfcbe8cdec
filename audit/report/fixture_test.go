package report

import "time"

// Hostile strings put into the fixture where a configuration or the audit trail could carry
// them: the rendered page must show them escaped, never as markup.
const (
	hostileKey   = `<script>alert("code")</script>`
	hostilePath  = `/pay/<script>alert('path')</script>`
	hostileCount = 2 // tokenize failures under hostileKey
)

// fixtureTime is a fixed instant in the period, so the fixture never depends on the clock.
func fixtureTime(day, hour, minute int) time.Time {
	return time.Date(2026, time.November, day, hour, minute, 0, 0, time.UTC)
}

// fixtureReport is a report with a known, distinct number in every field, so a test can tell
// each one apart in the page, and every status a requirement can have.
func fixtureReport() Report {
	return Report{
		FormatVersion: FormatVersion,
		ID:            "rpt-2026-11-tw-7f3a9c",
		GeneratedAt:   time.Date(2026, time.December, 1, 6, 15, 42, 0, time.UTC),
		From:          fixtureTime(1, 0, 0),
		To:            time.Date(2026, time.December, 1, 0, 0, 0, 0, time.UTC),
		Host:          "tokenwall-prod-eu-1",
		Summary:       fixtureSummary(),
		Daily:         fixtureDays(fixtureTime(1, 0, 0), 30),
		Requirements:  fixtureRequirements(),
		Evidence:      fixtureEvidence(),
		Flow:          fixtureFlow(),
	}
}

// fixtureSummary is the fixture's period summary: a distinct count in every field, and a
// hostile key among the tokenize failure codes.
func fixtureSummary() Summary {
	return Summary{
		Records:                98765,
		TokenizationsSucceeded: 1201,
		TokenizationsFailed:    37,
		TokenizeFailuresByCode: map[string]int64{
			"card_declined":   19,
			"invalid_number":  11,
			"gateway_timeout": 5,
			hostileKey:        hostileCount,
		},
		TokenizationsByBrand: map[string]int64{
			"visa":       702,
			"mastercard": 388,
			"amex":       96,
			"discover":   15,
		},
		CardEscapesRefused:     23,
		CardEscapesAlerted:     4,
		Charges:                1103,
		ChargesSucceeded:       1031,
		ChargesRequiringAction: 22,
		ChargesFailed:          42,
		ChargesCanceled:        8,
		Captures:               1051,
		Refunds:                77,
		RefundsFailed:          6,
		SetupsSucceeded:        57,
		SetupsRequiringAction:  5,
		SetupsFailed:           3,
		StaleCanceled:          9,
		WebhooksReceived:       2468,
		WebhooksDuplicate:      131,
		WebhooksRejected:       29,
		WebhookRejectionsByReason: map[string]int64{
			"bad_signature":     17,
			"timestamp_too_old": 9,
			"unknown_event":     3,
		},
		WebhooksDelivered: 2297,
		WebhooksDead:      8,
		WebhooksReplayed:  12,
		Erasures:          fixtureErasures(),
		APIRefusalsByReason: map[string]int64{
			"unknown_key":   14,
			"revoked_key":   7,
			"missing_scope": 5,
		},
		AdminAccess:         61,
		KeysCreated:         3,
		KeysRevoked:         1,
		SecretRefreshFailed: 2,
		Startups:            9,
		ReportsGenerated:    13,
	}
}

// fixtureErasures has erasures well within, just within and over the 48 h limit.
func fixtureErasures() []Erasure {
	return []Erasure{
		{Receipt: "er_0001", Subject: "subj_a1b2", RequestedAt: fixtureTime(3, 10, 0), CompletedAt: fixtureTime(3, 13, 12),
			DurationMS: int64((3*time.Hour + 12*time.Minute) / time.Millisecond), WithinSLA: true},
		{Receipt: "er_0002", Subject: "subj_c3d4", RequestedAt: fixtureTime(9, 8, 0), CompletedAt: fixtureTime(10, 10, 0),
			DurationMS: int64(26 * time.Hour / time.Millisecond), WithinSLA: true},
		{Receipt: "er_0003", Subject: "subj_e5f6", RequestedAt: fixtureTime(14, 6, 0), CompletedAt: fixtureTime(16, 7, 30),
			DurationMS: int64((49*time.Hour + 30*time.Minute) / time.Millisecond), WithinSLA: false},
		{Receipt: "er_0004", Subject: "subj_g7h8", RequestedAt: fixtureTime(21, 0, 0), CompletedAt: fixtureTime(22, 23, 59),
			DurationMS: int64((47*time.Hour + 59*time.Minute) / time.Millisecond), WithinSLA: true},
	}
}

// fixtureEvidence is the fixture's evidence: TLS versions and suites both accepted and
// refused, a scan with findings, an expired secret and API keys in every state.
func fixtureEvidence() Evidence {
	return Evidence{
		TLS: TLSEvidence{
			Addr: "127.0.0.1:8443",
			Versions: []TLSVersion{
				{Version: "TLS 1.0", Accepted: false},
				{Version: "TLS 1.1", Accepted: false},
				{Version: "TLS 1.2", Accepted: true},
				{Version: "TLS 1.3", Accepted: true},
			},
			Suites: []TLSSuite{
				{Name: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", Accepted: true, AEAD: true},
				{Name: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", Accepted: true, AEAD: true},
				{Name: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", Accepted: false, AEAD: false},
				{Name: "TLS_RSA_WITH_AES_256_GCM_SHA384", Accepted: false, AEAD: true},
			},
		},
		DataAtRest: []ScanEvidence{
			{What: "database", Path: "/var/lib/tokenwall/tokenwall.db", Files: 3, Bytes: 52428911, Findings: 0, ByKind: map[string]int{}},
			{What: "logs", Path: "/var/log/tokenwall", Files: 17, Bytes: 7340033, Findings: 5,
				ByKind: map[string]int{"ssn": 2, "api_key": 3}},
		},
		Chain: ChainEvidence{OK: true, From: 400001, To: 498765, Records: 98765, Checkpoints: 412},
		Secrets: []SecretEvidence{
			{Name: "stripe_api_key", Path: "secret/data/tokenwall/stripe", Version: 7, CreatedAt: fixtureTime(2, 12, 0),
				AgeDays: 29, CryptoperiodDays: 90},
			{Name: "webhook_signing", Path: "secret/data/tokenwall/webhooks", Version: 4, CreatedAt: time.Date(2025, time.June, 1, 0, 0, 0, 0, time.UTC),
				AgeDays: 548, CryptoperiodDays: 365, Expired: true},
		},
		TransitKey: TransitEvidence{Name: "tokenwall-audit", LatestVersion: 5, RotatedAt: time.Date(2026, time.September, 17, 8, 0, 0, 0, time.UTC), AgeDays: 75},
		Keys:       fixtureKeys(),
		Retention:  RetentionEvidence{ConfiguredDays: 400, OldestRecord: time.Date(2025, time.October, 27, 0, 0, 0, 0, time.UTC), OldestAgeDays: 400},
		Logging:    LoggingEvidence{CardMask: "brand_last4", LogFile: "/var/log/tokenwall/tokenwall.log"},
		Pages:      fixturePages(),
	}
}

// Payment-page values of the fixture, each found once in the page.
const (
	fixtureSRI         = "sha384-oqVuAfXRKap7fdgcCY5uykM6+R9GqQ8K/uxy9rx7HNQlGYl1kPzQho1wx4JwY8wC"
	fixtureInlineSRI   = "sha384-H8BRh8j48O9oYatfu5AZzq6A9RINhZO5H16dQZngK7T62em8MUt1FLm52t+eX6xO"
	fixtureFingerprint = "3fa9c2e4b7d1a0f65e8c9b2d4a7f1e3c5b9d8a6f4e2c1b0a9f8e7d6c5b4a3f2e"
	fixtureChanged     = "c0ffeeabadcafe5e1f2e3d4c5b6a7f8e9d0c1b2a3f4e5d6c7b8a9f0e1d2c3b4a"
)

// fixturePages is a guarded checkout page: two scripts, a baseline, checks, a change an
// operator approved and the violations browsers reported; and a page only the trail names.
func fixturePages() []PageEvidence {
	last := fixtureTime(30, 23, 0)
	return []PageEvidence{
		{PageInventory: PageInventory{Path: "/checkout", Mode: "enforce", OnChange: "block", Scripts: []InventoryScript{
			{Src: "https://js.stripe.com/v3/", SHA384: fixtureSRI, Justification: "Stripe.js collects the card", AuthorisedBy: "Jane Roe (CISO)"},
			{SHA384: fixtureInlineSRI, Justification: "starts the checkout form", AuthorisedBy: "Jane Roe (CISO)"},
		}}, Configured: true,
			Baseline: &PageBaseline{Fingerprint: fixtureChanged, By: "admin:cli:jane", At: fixtureTime(12, 9, 30), Reason: "Stripe.js upgrade", Event: "page_approved"},
			Checks:   PageChecks{InPeriod: 719, Failed: 3, Last: &last},
			Changes: []PageChange{{At: fixtureTime(12, 8, 0), Fingerprint: fixtureChanged, Changes: "script changed: https://js.stripe.com/v3/\nheader changed: content-security-policy",
				OnChange: "block", Resolution: &PageResolution{Kind: ResolvedApproved, By: "admin:cli:jane", Reason: "Stripe.js upgrade", At: fixtureTime(12, 9, 30)}}},
			Violations: []PageViolation{
				{Blocked: "https://evil.example", Directive: "script-src-elem", Disposition: "enforce", Count: 41},
				{Blocked: "inline", Directive: "script-src-elem", Disposition: "enforce", Count: 6},
			},
			ViolationTotal: 47, ViolationsEnforced: 47},
		{PageInventory: PageInventory{Path: "/old-checkout"}, Checks: PageChecks{InPeriod: 2}},
	}
}

// fixtureKeys has an active key, a revoked one and one never used.
func fixtureKeys() []KeyEvidence {
	revoked := fixtureTime(20, 9, 30)
	lastUsed := fixtureTime(29, 23, 59)
	lastUsedOld := fixtureTime(18, 11, 11)
	return []KeyEvidence{
		{ID: "key_billing_01", Name: "billing app", Scopes: []string{"charge", "refund"}, CreatedAt: time.Date(2026, time.March, 3, 3, 3, 3, 0, time.UTC),
			LastUsed: &lastUsed, Calls: 3456, Refusals: 21},
		{ID: "key_ops_02", Name: "ops & support", Scopes: []string{"erase"}, CreatedAt: time.Date(2026, time.April, 4, 4, 4, 4, 0, time.UTC),
			RevokedAt: &revoked, LastUsed: &lastUsedOld, Calls: 88, Refusals: 5},
		{ID: "key_never_03", Scopes: nil, CreatedAt: fixtureTime(25, 5, 5)},
	}
}

// fixtureFlow is the fixture's card data flow: two routes, one with a hostile path, with
// webhooks and the API on.
func fixtureFlow() Flow {
	return Flow{
		Listen:   ":8443",
		Upstream: "http://billing.internal:8080",
		Gateway:  "stripe https://api.stripe.com",
		Routes: []FlowRoute{
			{Path: "/checkout", Methods: []string{"POST"}, Body: "form",
				CardFields: []string{"card_number", "exp_month", "exp_year", "cvc"}, ResultFields: []string{"payment_method", "card_brand", "card_last4"}},
			{Path: hostilePath, Methods: []string{"POST", "PUT"}, Body: "json",
				CardFields: []string{"card.number", "card.cvc"}, ResultFields: []string{"card.token"}},
		},
		Webhooks:   "/webhooks/stripe",
		DeliverURL: "http://billing.internal:8080/hooks/payments",
		API:        true,
	}
}

// fixtureRequirements has every status, an unknown one, and evidence with characters that
// must be escaped.
func fixtureRequirements() []Requirement {
	return []Requirement{
		{ID: "3.3.1", Title: "SAD is not retained after authorization", Status: Pass,
			Evidence: []string{"0 card numbers found in the database scan", "CVC never stored: routes drop it after tokenization"}},
		{ID: "3.5.1", Title: "PAN is unreadable wherever it is stored", Status: Fail,
			Evidence: []string{"5 findings in /var/log/tokenwall (ssn: 2, api_key: 3)"}},
		{ID: "3.6/3.7", Title: "Cryptographic keys are managed & rotated", Status: Fail,
			Evidence: []string{"webhook_signing is 548 days old, cryptoperiod 365 days", `key names < & > "quoted"`}},
		{ID: "4.2.1", Title: "Strong cryptography protects PAN in transit", Status: Pass,
			Evidence: []string{"TLS 1.0 and TLS 1.1 refused", "only AEAD suites accepted"}},
		{ID: "6.4.3", Title: "Payment page scripts are managed", Status: NA,
			Evidence: []string{"tokenwall serves no payment page"}},
		{ID: "10.5.1", Title: "Audit log history is retained for at least 12 months", Status: Pass,
			Evidence: []string{"retention configured: 400 days"}},
		{ID: "12.10.7", Title: "Incident response on stored PAN", Status: "PENDING",
			Evidence: nil},
	}
}

// fixtureDays returns n days from start with distinct, varying volumes.
func fixtureDays(start time.Time, n int) []Day {
	days := make([]Day, n)
	for i := range days {
		days[i] = Day{
			Date:          start.AddDate(0, 0, i).Format("2006-01-02"),
			Tokenizations: int64(30 + (i*7)%23),
			Charges:       int64(25 + (i*5)%19),
			Refunds:       int64(i % 5),
			Webhooks:      int64(70 + (i*11)%31),
			Refusals:      int64((i * 3) % 4),
		}
	}
	if n > 9 {
		days[9].Tokenizations = 187 // the peak, to be found in the page
	}
	return days
}
