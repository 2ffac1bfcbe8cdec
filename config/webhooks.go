package config

import (
	"fmt"
	"strings"
	"time"
)

// Webhooks configures the gateway's webhooks: the endpoint Stripe posts to, the outbox and the
// signed delivery to the billing app.
type Webhooks struct {
	// Enabled turns the endpoint and the deliverer on.
	Enabled bool `yaml:"enabled"`
	// Path is the endpoint's URL path on the public listener (default /webhooks/stripe).
	Path string `yaml:"path"`
	// SecretPaths are the Vault KV v2 paths (under vault.kv_mount, field "value") of the
	// endpoint's signing secrets (whsec_…). During a secret roll list the old and the new
	// one: an event signed with either is accepted.
	SecretPaths []string `yaml:"secret_paths,omitempty"`
	// Tolerance is how old a signature's timestamp may be (default 300s, Stripe's own).
	Tolerance Duration `yaml:"tolerance"`
	// MaxBodyBytes is the largest event accepted (default 256KiB).
	MaxBodyBytes ByteSize `yaml:"max_body_bytes"`
	// DeliverPath is the app's webhook endpoint, a path on upstream.url
	// (default /webhooks/tokenwall).
	DeliverPath string `yaml:"deliver_path"`
	// Owner names this replica in the outbox leases; default host name and process id.
	Owner string `yaml:"owner"`
	// Lease is how long a claimed event stays this replica's (default 30s); it must be longer
	// than Timeout.
	Lease Duration `yaml:"lease"`
	// Batch is how many events one delivery round claims and sends in parallel (default 16).
	Batch int `yaml:"batch"`
	// MaxAge is how long after receipt an event is retried before it is dead (default 72h,
	// like Stripe's own retries).
	MaxAge Duration `yaml:"max_age"`
	// BackoffBase and BackoffCap bound the retry delay: full jitter up to
	// min(cap, base·2^attempts) (defaults 1s and 1h).
	BackoffBase Duration `yaml:"backoff_base"`
	BackoffCap  Duration `yaml:"backoff_cap"`
	// Poll is how often the deliverer looks for due events when none arrived (default 500ms).
	Poll Duration `yaml:"poll"`
	// Timeout bounds one delivery request to the app (default 10s).
	Timeout Duration `yaml:"timeout"`
}

// defaultWebhooks is the webhooks section before a file and the environment apply.
func defaultWebhooks() Webhooks {
	return Webhooks{
		Path:         "/webhooks/stripe",
		Tolerance:    Duration(300 * time.Second),
		MaxBodyBytes: 256 << 10,
		DeliverPath:  "/webhooks/tokenwall",
		Lease:        Duration(30 * time.Second),
		Batch:        16,
		MaxAge:       Duration(72 * time.Hour),
		BackoffBase:  Duration(time.Second),
		BackoffCap:   Duration(time.Hour),
		Poll:         Duration(500 * time.Millisecond),
		Timeout:      Duration(10 * time.Second),
	}
}

// validate checks the section when it is enabled; routes are the tokenization routes, whose
// paths the endpoint must not take.
func (w Webhooks) validate(p *problems, routes []Route) {
	if !w.Enabled {
		return
	}
	if p.required("webhooks.path", w.Path) {
		if !strings.HasPrefix(w.Path, "/") || hasDotSegment(w.Path) || strings.ContainsAny(w.Path, "*:?#") {
			p.addf("webhooks.path", "%q must be a plain path starting with / (no *, :, ?, # or dot segments)", w.Path)
		}
		for i, r := range routes {
			if r.Path == w.Path {
				p.addf("webhooks.path", "%q is already the path of routes[%d]", w.Path, i)
			}
		}
		if w.Path == "/healthz" || w.Path == "/readyz" {
			p.addf("webhooks.path", "%q is tokenwall's own endpoint", w.Path)
		}
	}
	if len(w.SecretPaths) == 0 {
		p.addf("webhooks.secret_paths", "at least one Vault path of an endpoint secret is required")
	}
	seen := map[string]bool{}
	for i, s := range w.SecretPaths {
		key := fmt.Sprintf("webhooks.secret_paths[%d]", i)
		p.kvPath(key, s)
		if seen[s] {
			p.addf(key, "%q is listed twice", s)
		}
		seen[s] = true
	}
	p.positive("webhooks.tolerance", w.Tolerance)
	if w.Tolerance > Duration(time.Hour) {
		p.addf("webhooks.tolerance", "%s is more than 1h: a replayed old event would be accepted", w.Tolerance)
	}
	if w.MaxBodyBytes < 1<<10 || w.MaxBodyBytes > maxRouteBody {
		p.addf("webhooks.max_body_bytes", "%d is not between 1KiB and 10MiB", w.MaxBodyBytes)
	}
	if p.required("webhooks.deliver_path", w.DeliverPath) && !strings.HasPrefix(w.DeliverPath, "/") {
		p.addf("webhooks.deliver_path", "%q must start with /", w.DeliverPath)
	}
	for _, d := range []struct {
		key string
		v   Duration
	}{{"webhooks.lease", w.Lease}, {"webhooks.max_age", w.MaxAge}, {"webhooks.backoff_base", w.BackoffBase},
		{"webhooks.backoff_cap", w.BackoffCap}, {"webhooks.poll", w.Poll}, {"webhooks.timeout", w.Timeout}} {
		p.positive(d.key, d.v)
	}
	if w.Timeout >= w.Lease {
		p.addf("webhooks.timeout", "%s must be shorter than webhooks.lease %s, or another replica may claim an event in flight", w.Timeout, w.Lease)
	}
	if w.BackoffCap < w.BackoffBase {
		p.addf("webhooks.backoff_cap", "%s is less than webhooks.backoff_base %s", w.BackoffCap, w.BackoffBase)
	}
	if w.Batch < 1 || w.Batch > 1000 {
		p.addf("webhooks.batch", "%d is not between 1 and 1000", w.Batch)
	}
}
