// Package config holds tokenwall's configuration: its shape, strict YAML and environment
// loading, validation with messages that name the key, and a redacted view for printing.
//
// The configuration never holds a secret value. Secrets live in Vault; the configuration
// only says where (KV paths) and how to authenticate (a token file or AppRole files).
//
// Load (or Parse) builds the effective configuration; Validate must pass before it is used.
package config

// Config is tokenwall's whole configuration. It holds no runtime state.
type Config struct {
	Listen   Listen   `yaml:"listen"`
	Admin    Admin    `yaml:"admin"`
	Upstream Upstream `yaml:"upstream"`
	Vault    Vault    `yaml:"vault"`
	Gateway  Gateway  `yaml:"gateway"`
	Log      Log      `yaml:"log"`
	Routes   []Route  `yaml:"routes"`
	// Scrub configures how sensitive data is redacted from logs.
	Scrub Scrub `yaml:"scrub"`
	// CardEscape configures the guard against card numbers outside tokenization routes.
	CardEscape CardEscape `yaml:"card_escape"`
	// Store says where tokenwall keeps its state.
	Store Store `yaml:"store"`
	// Audit configures the audit trail.
	Audit Audit `yaml:"audit"`
	// Webhooks configures the gateway's webhooks and their delivery to the app.
	Webhooks Webhooks `yaml:"webhooks"`
	// API configures the billing app's /v1 API.
	API API `yaml:"api"`
	// RateLimit configures the per-client limit on refusals, before authentication.
	RateLimit RateLimit `yaml:"rate_limit"`
	// Pages are the payment pages whose scripts tokenwall enforces and watches (PCI DSS
	// 6.4.3, 11.6.1).
	Pages []Page `yaml:"pages,omitempty"`
	// PageChecks configures how payment pages are watched.
	PageChecks PageChecks `yaml:"page_checks"`
}

// Store selects the storage backend.
type Store struct {
	// Driver is "sqlite" (embedded, one file; the default) or "postgres" (several replicas).
	Driver string `yaml:"driver"`
	// SQLitePath is the database file of the sqlite driver.
	SQLitePath string `yaml:"sqlite_path"`
	// PostgresURL is the postgres driver's connection URL without a password
	// ("postgres://tokenwall@db.internal:5432/tokenwall?sslmode=verify-full").
	PostgresURL string `yaml:"postgres_url"`
	// PostgresPasswordPath, when set, is the Vault KV path of the database password.
	PostgresPasswordPath string `yaml:"postgres_password_path"`
	// MaxConns sizes the postgres pool.
	MaxConns int `yaml:"max_conns"`
}

// Audit configures the audit trail.
type Audit struct {
	// CheckpointEvery is how many records lie (at least) between signed checkpoints; no more
	// than twice as many ever follow the last one (appends wait, and fail closed).
	CheckpointEvery int `yaml:"checkpoint_every"`
	// CheckpointInterval: a trail that moved is signed (and anchored) at least this often
	// (default 60s), so its unsigned tail is bounded in time too.
	CheckpointInterval Duration `yaml:"checkpoint_interval"`
	// RetentionDays is how long records are kept; PCI DSS 10.5.1 asks for at least a year.
	RetentionDays int `yaml:"retention_days"`
	// AggregateInterval is how often repeated refusals are written (default 60s): the first
	// refusal of a (client, event, reason) is written at once, its repeats as one record with
	// their count, first and last time at the end of each interval and at shutdown.
	AggregateInterval Duration `yaml:"aggregate_interval"`
	// CryptoperiodDays is how old a secret or the transit key may get before the compliance
	// report fails PCI DSS 3.6/3.7 for it (default 365).
	CryptoperiodDays int `yaml:"cryptoperiod_days"`
}

// Scrub configures redaction. Card numbers, CVCs, SSNs, bank numbers and secrets are always
// redacted; this only chooses the card mask and adds key names.
type Scrub struct {
	// CardMask is "brand_last4" ("[card:visa:4242]", the default) or "first6_last4"
	// ("[card:visa:424242…4242]", the most PCI DSS 3.4.1 allows).
	CardMask string `yaml:"card_mask"`
	// ExtraKeys are key names (JSON keys, form fields, query parameters, headers) whose values
	// are sensitive, in addition to the built-in list.
	ExtraKeys []ScrubKey `yaml:"extra_keys,omitempty"`
}

// ScrubKey is one extra sensitive key name.
type ScrubKey struct {
	Name string `yaml:"name"`
	// Kind names what the value is, as in "[redacted:KIND]": card, cvc, expiry, pin, track,
	// ssn, iban, account_number, routing_number, password, secret, api_key, token,
	// authorization, cookie.
	Kind string `yaml:"kind"`
	// Suffix makes every key ending in Name match too.
	Suffix bool `yaml:"suffix"`
}

// CardEscape configures the card-escape guard: a card number in the path, query, headers or
// body of a request that is not on a tokenization route is refused with 400 by default.
type CardEscape struct {
	// AlertPaths are path prefixes where such a request is forwarded and alerted (a warning
	// log line and a metric) instead of refused, for a migration period.
	AlertPaths []string `yaml:"alert_paths,omitempty"`
}

// Listen configures the public HTTPS listener.
type Listen struct {
	// Addr is host:port, e.g. "0.0.0.0:8443".
	Addr string `yaml:"addr"`
	// CertFile and KeyFile are PEM files of the server certificate and its key.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// PublicHosts are the host names (or IP literals) clients reach tokenwall by, without
	// port. A request whose Host is none of them is answered 421, so the app never builds a
	// link from a Host an attacker chose; /healthz and /readyz answer whatever the Host.
	// Required.
	PublicHosts []string `yaml:"public_hosts,omitempty"`
	// MinTLSVersion is "1.2" or "1.3". Anything older is refused by Validate.
	MinTLSVersion string `yaml:"min_tls_version"`
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout go to http.Server as they are.
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	ReadTimeout       Duration `yaml:"read_timeout"`
	WriteTimeout      Duration `yaml:"write_timeout"`
	IdleTimeout       Duration `yaml:"idle_timeout"`
	// RequestTimeout bounds the handling of one request (Echo's ContextTimeout).
	RequestTimeout Duration `yaml:"request_timeout"`
	// ShutdownGrace is how long in-flight requests may run after SIGTERM.
	ShutdownGrace Duration `yaml:"shutdown_grace"`
	// MaxBodyBytes is the body limit of requests that are not on a tokenization route.
	MaxBodyBytes ByteSize `yaml:"max_body_bytes"`
	// HSTSMaxAge is the Strict-Transport-Security max-age in seconds.
	HSTSMaxAge int `yaml:"hsts_max_age"`
	// MaxHeaderBytes bounds a request's header block (names, values, the request line);
	// a larger one is answered 431 before any handler runs. Default 32 KiB.
	MaxHeaderBytes ByteSize `yaml:"max_header_bytes"`
	// TrustedProxies are CIDR blocks of the load balancers or proxies in front of tokenwall.
	// Only a request whose peer is inside one has its X-Forwarded-For believed, read from the
	// right: the first address that is not a trusted proxy is the client, for the per-client
	// limit, the audit trail's source address and the log. None by default: the peer address.
	TrustedProxies []string `yaml:"trusted_proxies,omitempty"`
	// HTTP2MaxConcurrentStreams is how many streams one HTTP/2 connection may have open at
	// once (SETTINGS_MAX_CONCURRENT_STREAMS); a stream past it is refused. It also bounds
	// the handlers a connection runs at once, and so what a flood of resets can start.
	// Default 100, at most 1000.
	HTTP2MaxConcurrentStreams int `yaml:"http2_max_concurrent_streams"`
}

// Admin configures the admin listener (metrics). It is plain HTTP and must stay on loopback
// unless AllowNonLoopback is set.
type Admin struct {
	// Addr is host:port, e.g. "127.0.0.1:9090"; it must not collide with Listen.Addr.
	Addr string `yaml:"addr"`
	// AllowNonLoopback lets Addr be a non-loopback address, exposing plain HTTP.
	AllowNonLoopback bool `yaml:"allow_non_loopback"`
}

// Upstream is the billing application tokenwall forwards to.
type Upstream struct {
	// URL is the base URL, e.g. "http://127.0.0.1:8080".
	URL string `yaml:"url"`
	// MaxIdleConnsPerHost sizes the keep-alive pool to the upstream.
	MaxIdleConnsPerHost int `yaml:"max_idle_conns_per_host"`
	// MaxConnsPerHost bounds the connections to the upstream, those being dialed included;
	// a request past it waits for one. Unbounded, each forward a client cancels mid-dial
	// (an HTTP/2 rapid reset) leaves its dial running, and a flood of resets opens thousands
	// of TLS connections to the app. Default 256; at least max_idle_conns_per_host.
	MaxConnsPerHost int `yaml:"max_conns_per_host"`
	// ResponseHeaderTimeout bounds the wait for the upstream's response headers.
	ResponseHeaderTimeout Duration `yaml:"response_header_timeout"`
	// SignatureHeader is the header that carries tokenwall's signature of forwarded bodies.
	SignatureHeader string `yaml:"signature_header"`
	// SignatureV1 keeps sending the v1 signature (the body alone) beside v2 (purpose,
	// method, path, query and body, with a nonce), for apps not yet verifying v2: the
	// transition. Turn it off once the app verifies v2. Default true.
	SignatureV1 bool `yaml:"signature_v1"`
	// CACertFile, when set, is a PEM bundle of the CAs trusted for an https upstream (a
	// private CA); the system roots are used otherwise.
	CACertFile string `yaml:"ca_cert_file"`
	// UpgradePaths are the path prefixes on which a protocol upgrade (WebSocket) is passed
	// to the app; elsewhere a request asking for one is refused. None by default: an
	// upgraded connection is a stream the card-escape guard does not read.
	UpgradePaths []string `yaml:"upgrade_paths,omitempty"`
}

// Vault says where tokenwall's secrets are and how to authenticate.
type Vault struct {
	// Address is Vault's base URL, e.g. "https://vault.internal:8200". Required.
	Address string `yaml:"address"`
	// CACertFile verifies Vault's TLS certificate when Address is https.
	CACertFile string    `yaml:"ca_cert_file"`
	Auth       VaultAuth `yaml:"auth"`
	// KVMount is the KV v2 mount, e.g. "secret".
	KVMount string `yaml:"kv_mount"`
	// StripeKeyPath and SigningKeyPath are KV v2 paths under KVMount; the value is in field "value".
	StripeKeyPath  string `yaml:"stripe_key_path"`
	SigningKeyPath string `yaml:"signing_key_path"`
	// AuditKeyPath holds the HMAC key of the audit trail (KV v2, field "value").
	AuditKeyPath string `yaml:"audit_key_path"`
	// AuditAnchorPath is where each signed checkpoint of the audit trail is anchored (KV v2,
	// written with check-and-set; its version history is what `audit verify` compares the
	// database with). tokenwall's policy may create and update it, never delete it.
	AuditAnchorPath string `yaml:"audit_anchor_path"`
	// TransitMount and TransitKey name the transit key that signs audit checkpoints and
	// reports; it never leaves Vault.
	TransitMount string `yaml:"transit_mount"`
	TransitKey   string `yaml:"transit_key_name"`
	// RefreshInterval is how often cached secrets are re-read in the background.
	RefreshInterval Duration `yaml:"refresh_interval"`
	// MaxAge is how old the cached secrets may get while Vault is unreachable before
	// tokenization fails closed with 503.
	MaxAge Duration `yaml:"max_age"`
	// Timeout bounds one call to Vault.
	Timeout Duration `yaml:"timeout"`
}

// VaultAuth selects the auth method. The secret parts are read from files, never inline.
type VaultAuth struct {
	// Method is "token", "approle" or "kubernetes".
	Method string `yaml:"method"`
	// TokenFile is, for method token, a file holding a Vault token (VAULT_TOKEN is used when
	// empty), typically written by a Vault Agent: it is read again when it changes and when
	// Vault refuses the token. For method kubernetes it is the pod's service account token
	// (default /var/run/secrets/kubernetes.io/serviceaccount/token), read at each login.
	TokenFile string `yaml:"token_file"`
	// RoleID is the AppRole role id (not a secret; Vault generates it: `vault read
	// auth/approle/role/tokenwall/role-id`); SecretIDFile holds the secret id.
	RoleID       string `yaml:"role_id"`
	SecretIDFile string `yaml:"secret_id_file"`
	// Role is the Vault role of method kubernetes, bound to tokenwall's service account.
	Role string `yaml:"role"`
	// Mount is the auth mount of method approle or kubernetes; empty means the method's name
	// ("approle", "kubernetes").
	Mount string `yaml:"mount"`
}

// Gateway configures the payment gateway.
type Gateway struct {
	Stripe Stripe `yaml:"stripe"`
}

// Stripe configures the Stripe client.
type Stripe struct {
	// APIURL is the API base URL; stripe-mock in development and tests.
	APIURL string `yaml:"api_url"`
	// Timeout bounds one HTTP attempt to Stripe.
	Timeout Duration `yaml:"timeout"`
	// MaxNetworkRetries is how many times stripe-go retries a failed attempt, reusing the
	// idempotency key.
	MaxNetworkRetries int `yaml:"max_network_retries"`
}

// Log configures logging.
type Log struct {
	// Level is a zerolog level name: debug, info, warn, error.
	Level string `yaml:"level"`
	// File, when set, receives the log lines instead of stdout.
	File string `yaml:"file"`
}

// Route is one tokenization route: requests to Path with one of Methods carry card data.
type Route struct {
	// Path is the URL path, starting with "/"; no two routes share one.
	Path string `yaml:"path"`
	// Methods is a subset of POST, PUT and PATCH; default [POST].
	Methods []string `yaml:"methods"`
	// Body is "form" (application/x-www-form-urlencoded), "json" or "multipart".
	Body string `yaml:"body"`
	// MaxBodyBytes is this route's body limit.
	MaxBodyBytes ByteSize `yaml:"max_body_bytes"`
	// MaxJSONDepth bounds nesting of JSON bodies.
	MaxJSONDepth int `yaml:"max_json_depth"`
	// Card says where the card fields are: form field names, or dotted JSON paths.
	Card CardFields `yaml:"card"`
	// Result says which fields receive the outcome.
	Result ResultFields `yaml:"result"`
	// Setup, when enabled, saves the card with a SetupIntent (3-D Secure when the bank asks)
	// instead of forwarding a bare PaymentMethod.
	Setup RouteSetup `yaml:"setup_intent,omitempty"`
}

// CardFields locates the card data in a request body. Expiry is either ExpMonth plus ExpYear,
// or Exp alone ("MM/YY" or "MM/YYYY").
type CardFields struct {
	Number   string `yaml:"number"`
	ExpMonth string `yaml:"exp_month"`
	ExpYear  string `yaml:"exp_year"`
	Exp      string `yaml:"exp"`
	CVC      string `yaml:"cvc"`
	Name     string `yaml:"name"`
}

// ResultFields names the fields written in place of the card fields. Error receives an
// error code (invalid_number, card_declined, gateway_unavailable, …) when tokenization fails.
type ResultFields struct {
	Token       string `yaml:"token"`
	Brand       string `yaml:"brand"`
	Last4       string `yaml:"last4"`
	ExpMonth    string `yaml:"exp_month"`
	ExpYear     string `yaml:"exp_year"`
	Fingerprint string `yaml:"fingerprint"`
	Error       string `yaml:"error"`
}
