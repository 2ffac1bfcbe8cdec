package proxy

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
	"github.com/tokenwall/tokenwall/scrub"
	"github.com/tokenwall/tokenwall/store"
	"github.com/tokenwall/tokenwall/vault"
	"github.com/tokenwall/tokenwall/webhooks"
)

// WebhookSecretPaths adds the endpoint secrets of webhooks.secret_paths to paths, the Vault
// cache's logical names and KV paths; it does nothing when webhooks are disabled.
func WebhookSecretPaths(cfg config.Webhooks, paths map[string]string) {
	if !cfg.Enabled {
		return
	}
	for i, p := range cfg.SecretPaths {
		paths[vault.SecretWebhook(i)] = p
	}
}

// WebhookParts are the receiver (Deps.Webhooks is its Handler) and the deliverer (run it for
// as long as the server runs) of an enabled webhooks section.
type WebhookParts struct {
	Receiver  *webhooks.Receiver
	Deliverer *webhooks.Deliverer
}

// WebhookDeps are what NewWebhooks needs besides the config.
type WebhookDeps struct {
	Secrets  Secrets
	Store    store.Outbox
	Audit    webhooks.Recorder
	Scrubber *scrub.Scrubber
	Metrics  *Metrics
	Log      zerolog.Logger
}

// NewWebhooks builds the receiver, which keeps events in the store's outbox, and the
// deliverer, which sends them to upstream.url + webhooks.deliver_path, over the upstream's
// transport, signed with the signing key. Both read their secrets from the cache at each use,
// so a rotated secret applies at once.
func NewWebhooks(cfg config.Config, d WebhookDeps) (*WebhookParts, error) {
	w := cfg.Webhooks
	tr, err := UpstreamTransport(cfg.Upstream)
	if err != nil {
		return nil, err
	}
	owner := w.Owner
	if owner == "" {
		host, _ := os.Hostname()
		owner = host + ":" + strconv.Itoa(os.Getpid())
	}
	lg := d.Log.With().Str(logging.FieldComponent, "webhooks").Logger()
	var observeDelivery func(string, time.Duration)
	var observeReceive func(string)
	if d.Metrics != nil {
		observeDelivery, observeReceive = d.Metrics.WebhookDelivery, d.Metrics.WebhookReceived
	}
	dl, err := webhooks.NewDeliverer(webhooks.DelivererOptions{
		URL:    strings.TrimSuffix(cfg.Upstream.URL, "/") + w.DeliverPath,
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
		Notify: dl.Kick, Log: lg, Observe: observeReceive,
	})
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	return &WebhookParts{Receiver: rc, Deliverer: dl}, nil
}
