package config

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// API configures the billing app's /v1 API on the public listener: payments, refunds,
// customers and erasure with a token, and the admin endpoints.
type API struct {
	// Enabled serves /v1. API keys must exist in Vault (tokenwall keys create) before start.
	Enabled bool `yaml:"enabled"`
	// KeysPath is the Vault KV v2 path (under vault.kv_mount) of the API key set: ids, scopes
	// and SHA-256 hashes of the secrets, never a secret (default tokenwall/api-keys).
	KeysPath string `yaml:"keys_path"`
	// KeysRefresh is how often the key set is re-read from Vault, so that a new key works and a
	// revoked key is refused within it (default 30s).
	KeysRefresh Duration `yaml:"keys_refresh"`
	// RatePerSecond and Burst size each key's token bucket (defaults 20 and 40).
	RatePerSecond int `yaml:"rate_per_second"`
	Burst         int `yaml:"burst"`
	// MaxAmount is the largest amount a payment or refund may have, in minor units
	// (default 1000000, 10,000.00 in a two-decimal currency).
	MaxAmount int64 `yaml:"max_amount"`
	// Currencies are the ISO 4217 codes payments may use, lower case (default [usd, eur, gbp]).
	Currencies []string `yaml:"currencies,omitempty"`
	// IdempotencyTTL is how long a stored response answers a repeated Idempotency-Key
	// (default 24h).
	IdempotencyTTL Duration `yaml:"idempotency_ttl"`
	// MaxBodyBytes is the body limit of an API request (default 64KiB).
	MaxBodyBytes ByteSize `yaml:"max_body_bytes"`
	// ClientCAFile, when set, turns on mutual TLS for the API: a client certificate signed by
	// one of these CAs (PEM) whose subject is mapped to a key (tokenwall keys create
	// --client-cert-subject) authenticates as that key. Browsers are not asked for one.
	ClientCAFile string `yaml:"client_ca_file"`
	// ReturnURLOrigins are the origins a return_url (where the issuer sends the customer
	// back after 3-D Secure) may be under: bare https origins ("https://shop.example.com"),
	// or http on a loopback address. Empty (the default): a request with a return_url is
	// refused (payments.ErrReturnURLNotAllowed).
	ReturnURLOrigins []string `yaml:"return_url_origins,omitempty"`
	// RequiresActionTimeout is how long a payment or setup may wait for the customer
	// (requires_action) before tokenwall cancels it (default 24h; 5m to 7d).
	RequiresActionTimeout Duration `yaml:"requires_action_timeout"`
	// SweepInterval is how often the intents waiting longer than RequiresActionTimeout are
	// looked for and canceled (default 5m; 10s to 1h, at most RequiresActionTimeout).
	SweepInterval Duration `yaml:"sweep_interval"`
}

func defaultAPI() API {
	return API{
		KeysPath:       "tokenwall/api-keys",
		KeysRefresh:    Duration(30 * time.Second),
		RatePerSecond:  20,
		Burst:          40,
		MaxAmount:      1_000_000,
		Currencies:     []string{"usd", "eur", "gbp"},
		IdempotencyTTL: Duration(24 * time.Hour),
		MaxBodyBytes:   64 << 10,

		RequiresActionTimeout: Duration(24 * time.Hour),
		SweepInterval:         Duration(5 * time.Minute),
	}
}

func (a API) validate(p *problems) {
	if !a.Enabled {
		return
	}
	p.kvPath("api.keys_path", a.KeysPath)
	if a.KeysRefresh < Duration(time.Second) || a.KeysRefresh > Duration(time.Hour) {
		p.addf("api.keys_refresh", "%s is not between 1s and 1h", a.KeysRefresh)
	}
	if a.RatePerSecond < 1 || a.RatePerSecond > 100_000 {
		p.addf("api.rate_per_second", "%d is not between 1 and 100000", a.RatePerSecond)
	}
	if a.Burst < 1 || a.Burst > 100_000 {
		p.addf("api.burst", "%d is not between 1 and 100000", a.Burst)
	}
	if a.MaxAmount < 1 || a.MaxAmount > 99_999_999 {
		// Stripe's own limit is 99,999,999 minor units for most currencies.
		p.addf("api.max_amount", "%d is not between 1 and 99999999", a.MaxAmount)
	}
	if len(a.Currencies) == 0 {
		p.addf("api.currencies", "at least one currency is required")
	}
	for i, c := range a.Currencies {
		if !ISO4217(c) {
			p.addf(fmt.Sprintf("api.currencies[%d]", i), "%q is not an ISO 4217 currency code in lower case", c)
		}
	}
	if a.IdempotencyTTL < Duration(time.Hour) || a.IdempotencyTTL > Duration(30*24*time.Hour) {
		p.addf("api.idempotency_ttl", "%s is not between 1h and 720h", a.IdempotencyTTL)
	}
	if a.MaxBodyBytes < 1<<10 || a.MaxBodyBytes > 1<<20 {
		p.addf("api.max_body_bytes", "%d is not between 1KiB and 1MiB", a.MaxBodyBytes)
	}
	for i, o := range a.ReturnURLOrigins {
		if err := checkReturnURLOrigin(o); err != nil {
			p.addf(fmt.Sprintf("api.return_url_origins[%d]", i), "%q %v", o, err)
		} else if slices.Contains(a.ReturnURLOrigins[:i], o) {
			p.addf(fmt.Sprintf("api.return_url_origins[%d]", i), "%q is listed twice", o)
		}
	}
	timeoutOK := a.RequiresActionTimeout >= Duration(5*time.Minute) && a.RequiresActionTimeout <= Duration(7*24*time.Hour)
	if !timeoutOK {
		p.addf("api.requires_action_timeout", "%s is not between 5m and 168h", a.RequiresActionTimeout)
	}
	switch {
	case a.SweepInterval < Duration(10*time.Second) || a.SweepInterval > Duration(time.Hour):
		p.addf("api.sweep_interval", "%s is not between 10s and 1h", a.SweepInterval)
	case timeoutOK && a.SweepInterval > a.RequiresActionTimeout:
		// A sweep less often than the timeout would let intents wait up to twice as long.
		p.addf("api.sweep_interval", "%s is longer than api.requires_action_timeout (%s)", a.SweepInterval, a.RequiresActionTimeout)
	}
}

// checkReturnURLOrigin checks one entry of api.return_url_origins: a bare origin,
// scheme://host[:port] in lower case with no path, query, fragment or user, https or http on
// a loopback address. The error says what is wrong without repeating the value.
func checkReturnURLOrigin(origin string) error {
	u, err := url.Parse(origin)
	if err != nil || u.Opaque != "" || u.Host == "" {
		return errors.New("is not an origin (https://host[:port])")
	}
	if u.User != nil || u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.HasSuffix(origin, "#") {
		return errors.New("is not a bare origin: no user, path (not even \"/\"), query or fragment")
	}
	if origin != strings.ToLower(origin) {
		return errors.New("must be in lower case, as browsers send an origin")
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return errors.New("has a port outside 1-65535")
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return errors.New("has an empty port")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return errors.New("must be https (http only on a loopback address)")
	}
	return nil
}

// ISO4217 reports whether c is a lower-case ISO 4217 code that Stripe accepts.
func ISO4217(c string) bool {
	return len(c) == 3 && strings.Contains(iso4217, " "+c+" ")
}

// iso4217 lists the active ISO 4217 codes Stripe supports, lower case, space separated.
const iso4217 = " aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob brl bsd bwp byn bzd " +
	"cad cdf chf clp cny cop crc cve czk djf dkk dop dzd egp etb eur fjd fkp gbp gel gip gmd gnf gtq gyd hkd hnl " +
	"htg huf idr ils inr isk jmd jod jpy kes kgs khr kmf krw kwd kyd kzt lak lbp lkr lrd lsl mad mdl mga mkd mmk " +
	"mnt mop mur mvr mwk mxn myr mzn nad ngn nio nok npr nzd omr pab pen pgk php pkr pln pyg qar ron rsd rub rwf " +
	"sar sbd scr sek sgd shp sle sos srd std szl thb tjs tnd top try ttd twd tzs uah ugx usd uyu uzs vnd vuv wst " +
	"xaf xcd xof xpf yer zar zmw "
