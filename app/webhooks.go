package app

import (
	"fmt"
	"github.com/tokenwall/tokenwall/logging"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/proxy"
	"github.com/tokenwall/tokenwall/scrub"
	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/vault"
	"github.com/tokenwall/tokenwall/webhooks"
)

// WebhookParts are the receiver (the proxy serves its Handler) and the deliverer (run for as
// long as the server runs) of an enabled webhooks section.
type WebhookParts struct {
	Receiver  *webhooks.Receiver
	Deliverer *webhooks.Deliverer
}

// webhookDeps are what newWebhooks needs besides the config.
type webhookDeps struct {
	Secrets  proxy.Secrets
	Store    store.Outbox
	Audit    webhooks.Recorder
	Scrubber *scrub.Scrubber
	Metrics  *proxy.Metrics
	Log      zerolog.Logger
}

// newWebhooks builds the receiver, which keeps events in the store's outbox, and the
// deliverer, which sends them to upstream.url + webhooks.deliver_path, over the upstream's
// transport, signed with the signing key. Both read their secrets from the cache at each use,
// so a rotated secret applies at once.
func newWebhooks(cfg config.Config, d webhookDeps) (*WebhookParts, error) {
	w := cfg.Webhooks
	tr, err := proxy.UpstreamTransport(cfg.Upstream)
	if err != nil {
		return nil, err
	}
	owner := holder(w.Owner)
	lg := d.Log.With().Str(logging.FieldComponent, "webhooks").Logger()
	// The rejections' source address is the client's as the proxy finds it (trusted proxies).
	realIP, err := proxy.IPExtractor(cfg.Listen)
	if err != nil {
		return nil, err
	}
	var observeDelivery func(string, time.Duration)
	var observeReceive func(string)
	if d.Metrics != nil {
		observeDelivery, observeReceive = d.Metrics.WebhookDelivery, d.Metrics.WebhookReceived
	}
	dl, err := webhooks.NewDeliverer(webhooks.DelivererOptions{
		URL:    strings.TrimSuffix(cfg.Upstream.URL, "/") + w.DeliverPath,
		SignV1: cfg.Upstream.SignatureV1,
		Client: &http.Client{Transport: tr},
		SigningKey: func() ([]byte, error) {
			s, err := d.Secrets.Get(vault.SecretSigningKey)
			return s.Reveal(), err
		},
		Store: d.Store, Audit: d.Audit, Owner: owner,
		Lease: w.Lease.D(), Batch: w.Batch, MaxAge: w.MaxAge.D(),
		BackoffBase: w.BackoffBase.D(), BackoffCap: w.BackoffCap.D(), Poll: w.Poll.D(), Timeout: w.Timeout.D(),
		Log: lg, Observe: observeDelivery,
	})
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	rc, err := webhooks.NewReceiver(webhooks.ReceiverOptions{
		Secrets: func() ([][]byte, error) {
			out := make([][]byte, 0, len(w.SecretPaths))
			for i := range w.SecretPaths {
				s, err := d.Secrets.Get(vault.SecretWebhook(i))
				if err != nil {
					return nil, err
				}
				out = append(out, s.Reveal())
			}
			return out, nil
		},
		Tolerance: w.Tolerance.D(), MaxBody: w.MaxBodyBytes.Int(),
		Store: d.Store, Audit: d.Audit, Scrubber: d.Scrubber,
		Notify: dl.Kick, Log: lg, Observe: observeReceive, Judge: proxy.WebhookVerdict, SourceIP: realIP,
	})
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	return &WebhookParts{Receiver: rc, Deliverer: dl}, nil
}

// holder names this replica where replicas share the store and take turns by lease (the
// webhook deliverer, the sweeper of stale intents): configured, else host:pid.
func holder(configured string) string {
	if configured != "" {
		return configured
	}
	host, _ := os.Hostname()
	return host + ":" + strconv.Itoa(os.Getpid())
}
