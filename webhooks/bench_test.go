package webhooks_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/tokenwall/tokenwall/scrub"
	"github.com/tokenwall/tokenwall/testkit"
	"github.com/tokenwall/tokenwall/webhooks"
)

// signedEvent is one pre-signed gateway event for the benchmarks.
type signedEvent struct {
	body   []byte
	header string
}

// benchEvents signs n distinct events of about 1.5 KB (a charge as Stripe renders it) at
// the current time, so stripe-go's own tolerance check passes in the baseline.
func benchEvents(n int) []signedEvent {
	now := time.Now()
	out := make([]signedEvent, n)
	for i := range out {
		object := `{"id":"ch_3Q0PsIJvEtkwdCNY` + fmt.Sprintf("%08d", i) + `","object":"charge","amount":2000,"amount_captured":2000,` +
			`"currency":"usd","customer":"cus_Q0PsIJvEtkwdCN","description":"Order 1042","captured":true,"paid":true,` +
			`"payment_intent":"pi_3Q0PsIJvEtkwdCNY1abcdEFG","payment_method":"pm_1Q0PsIJvEtkwdCNYMSaVuRz6",` +
			`"payment_method_details":{"type":"card","card":{"brand":"visa","last4":"4242","exp_month":12,"exp_year":2030,` +
			`"country":"US","funding":"credit","network":"visa","checks":{"address_line1_check":null,"cvc_check":"pass"}}},` +
			`"billing_details":{"address":{"city":"Berlin","country":"DE","line1":"Example Street 1","postal_code":"10115"},` +
			`"email":"buyer@example.com","name":"Jenny Rosen","phone":null},"metadata":{"order":"1042","cart":"` +
			strings.Repeat("sku-0001,", 40) + `"},"receipt_url":"https://pay.stripe.com/receipts/acct_1/ch_3/rcpt_x",` +
			`"status":"succeeded"}`
		body := stripeEvent(fmt.Sprintf("evt_1Q0PsIJvEtkwdCNYb%08d", i), "charge.succeeded", object)
		out[i] = signedEvent{body: body, header: webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{
			Payload: body, Secret: string(secretNew), Timestamp: now}).Header}
	}
	return out
}

// runSenders sends b.N events from senders goroutines, each call being one acknowledgement,
// and reports events/s and the p99 of one acknowledgement.
func runSenders(b *testing.B, senders int, events []signedEvent, ack func(ev signedEvent) error) (perSec float64, p99 time.Duration) {
	lat := make([]time.Duration, len(events))
	var mu sync.Mutex
	next := 0
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= b.N {
					return
				}
				t := time.Now()
				if err := ack(events[i]); err != nil {
					b.Error(err)
					return
				}
				lat[i] = time.Since(t)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	lat = lat[:b.N]
	slices.Sort(lat)
	p99 = lat[len(lat)*99/100]
	perSec = float64(b.N) / elapsed.Seconds()
	b.ReportMetric(perSec, "events/s")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	return perSec, p99
}

// BenchmarkReceive: events received and durably acknowledged (outbox row and
// webhook_received record committed on SQLite, synchronous=FULL) per second and the p99 of
// one acknowledgement, with 1 and 16 concurrent senders, through Receive and through the
// Handler over a TLS test server, and through Receive on a throwaway PostgreSQL cluster
// (fsync and synchronous_commit on, the default pool), next to a baseline in the same run:
// stripe-go's ConstructEventWithOptions alone (verify and decode, nothing stored).
func BenchmarkReceive(b *testing.B) {
	pg := newPGCluster(b)
	type figure struct {
		perSec float64
		p99    time.Duration
	}
	results := map[string]figure{}
	opts := webhook.ConstructEventOptions{Tolerance: webhooks.DefaultReceiveTolerance, IgnoreAPIVersionMismatch: true}
	for _, senders := range []int{1, 16} {
		b.Run(fmt.Sprintf("verify-only/senders=%d", senders), func(b *testing.B) {
			events := benchEvents(b.N)
			perSec, p99 := runSenders(b, senders, events, func(ev signedEvent) error {
				_, err := webhook.ConstructEventWithOptions(ev.body, ev.header, string(secretNew), opts)
				return err
			})
			results[fmt.Sprintf("verify-only/%d", senders)] = figure{perSec, p99}
		})
		b.Run(fmt.Sprintf("receive/senders=%d", senders), func(b *testing.B) {
			e := newEnv(b, func(o *webhooks.ReceiverOptions) { o.Now = time.Now })
			events := benchEvents(b.N)
			perSec, p99 := runSenders(b, senders, events, func(ev signedEvent) error {
				h := http.Header{}
				h.Set(webhooks.StripeSignatureHeader, ev.header)
				res, err := e.recv.Receive(context.Background(), h, ev.body, "203.0.113.7", "")
				if err == nil && res.Duplicate {
					err = fmt.Errorf("%s: unexpected duplicate", res.EventID)
				}
				return err
			})
			results[fmt.Sprintf("receive/%d", senders)] = figure{perSec, p99}
		})
		b.Run(fmt.Sprintf("handler/senders=%d", senders), func(b *testing.B) {
			e := newEnv(b, func(o *webhooks.ReceiverOptions) { o.Now = time.Now })
			srv := startHook(b, e.recv)
			client := srv.Client()
			client.Transport.(*http.Transport).MaxIdleConnsPerHost = senders
			events := benchEvents(b.N)
			perSec, p99 := runSenders(b, senders, events, func(ev signedEvent) error {
				req, err := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(ev.body))
				if err != nil {
					return err
				}
				req.Header.Set(webhooks.StripeSignatureHeader, ev.header)
				resp, err := client.Do(req)
				if err != nil {
					return err
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					return fmt.Errorf("status %d", resp.StatusCode)
				}
				return nil
			})
			results[fmt.Sprintf("handler/%d", senders)] = figure{perSec, p99}
		})
		b.Run(fmt.Sprintf("receive-pg/senders=%d", senders), func(b *testing.B) {
			r := newPGReplica(b, pg.database(b), "replica-1", newLocalSigner(b))
			events := benchEvents(b.N)
			perSec, p99 := runSenders(b, senders, events, func(ev signedEvent) error {
				h := http.Header{}
				h.Set(webhooks.StripeSignatureHeader, ev.header)
				res, err := r.recv.Receive(context.Background(), h, ev.body, "203.0.113.7", "")
				if err == nil && res.Duplicate {
					err = fmt.Errorf("%s: unexpected duplicate", res.EventID)
				}
				return err
			})
			results[fmt.Sprintf("receive-pg/%d", senders)] = figure{perSec, p99}
		})
		base := results[fmt.Sprintf("verify-only/%d", senders)]
		for _, path := range []string{"receive", "handler", "receive-pg"} {
			got := results[fmt.Sprintf("%s/%d", path, senders)]
			if base.perSec > 0 && got.perSec > 0 {
				fmt.Printf("BenchmarkReceive senders=%d: %s %.0f events/s p99 %s; verify-only %.0f events/s p99 %s; ratio %.3fx\n",
					senders, path, got.perSec, got.p99.Round(time.Microsecond), base.perSec, base.p99.Round(time.Microsecond), got.perSec/base.perSec)
			}
		}
	}
}

// BenchmarkDeliver: stored events delivered per second (claimed, POSTed signed over TLS,
// marked delivered with the payload purged, webhook_delivered committed) by one Deliverer
// running rounds of DefaultBatch parallel deliveries, to an app that answers 200 at once, on
// SQLite and on a throwaway PostgreSQL cluster. The baseline in the same run POSTs the same
// payloads, signed and with the same headers, to the same server from DefaultBatch
// goroutines, with nothing stored: the ratio is what the store, the audit trail and the
// rounds cost.
func BenchmarkDeliver(b *testing.B) {
	pg := newPGCluster(b)
	var served atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		served.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	// The server's own complaints (a client's spare dial abandoned mid-handshake) go to the
	// artifacts, not into the printed figures.
	srv.Config.ErrorLog = log.New(testkit.LogFile(b, "app.log"), "", log.LstdFlags)
	srv.StartTLS()
	b.Cleanup(srv.Close)
	parallel := webhooks.DefaultBatch
	// newClient gives each case a connection pool of its own, wide enough for its parallelism.
	newClient := func(b *testing.B) *http.Client {
		tr := srv.Client().Transport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = parallel
		return &http.Client{Transport: tr}
	}
	results := map[string]float64{}

	b.Run("post-only", func(b *testing.B) {
		events := benchEvents(b.N)
		payloads := make([][]byte, b.N)
		for i, ev := range events {
			p, err := scrub.Default().JSONBytes(ev.body) // the bytes the outbox would hold
			if err != nil {
				b.Fatal(err)
			}
			payloads[i] = p
		}
		client := newClient(b)
		ids := make([]string, b.N)
		for i := range ids {
			ids[i] = fmt.Sprintf("evt_1Q0PsIJvEtkwdCNYb%08d", i)
		}
		served.Store(0)
		var next atomic.Int64
		b.ResetTimer()
		start := time.Now()
		var wg sync.WaitGroup
		for range parallel {
			wg.Go(func() {
				for i := int(next.Add(1) - 1); i < b.N; i = int(next.Add(1) - 1) {
					if err := postSigned(client, srv.URL, ids[i], payloads[i]); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		b.StopTimer()
		results["post-only"] = reportDeliveries(b, served.Load(), elapsed)
	})
	b.Run("deliver-sqlite", func(b *testing.B) {
		e := newEnv(b, func(o *webhooks.ReceiverOptions) { o.Now = time.Now })
		fill(b, e.recv, benchEvents(b.N))
		d := e.deliverer(srv.URL, newClient(b), func(o *webhooks.DelivererOptions) { o.Now, o.Rand = time.Now, nil })
		results["deliver-sqlite"] = deliverAll(b, d, &served)
	})
	b.Run("deliver-pg", func(b *testing.B) {
		r := newPGReplica(b, pg.database(b), "replica-1", newLocalSigner(b))
		fill(b, r.recv, benchEvents(b.N))
		d := r.newDeliverer(b, srv.URL, newClient(b), nil)
		results["deliver-pg"] = deliverAll(b, d, &served)
	})
	if base := results["post-only"]; base > 0 {
		for _, path := range []string{"deliver-sqlite", "deliver-pg"} {
			if got := results[path]; got > 0 {
				fmt.Printf("BenchmarkDeliver parallel=%d: %s %.0f deliveries/s; post-only %.0f deliveries/s; ratio %.3fx\n",
					parallel, path, got, base, got/base)
			}
		}
	}
}

// postSigned sends payload to url the way the Deliverer does, without the store.
func postSigned(client *http.Client, url, id string, payload []byte) error {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tokenwall-webhooks")
	req.Header.Set(webhooks.SignatureHeader, webhooks.Sign(time.Now(), payload, signingKey))
	req.Header.Set(webhooks.EventIDHeader, id)
	req.Header.Set(webhooks.EventTypeHeader, "charge.succeeded")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d", id, resp.StatusCode)
	}
	return nil
}

// fill receives events into recv's outbox from DefaultBatch goroutines, outside the timer.
func fill(b *testing.B, recv *webhooks.Receiver, events []signedEvent) {
	b.Helper()
	b.StopTimer()
	defer b.StartTimer()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range webhooks.DefaultBatch {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(events); i = int(next.Add(1) - 1) {
				h := http.Header{}
				h.Set(webhooks.StripeSignatureHeader, events[i].header)
				if _, err := recv.Receive(context.Background(), h, events[i].body, "203.0.113.7", ""); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
}

// deliverAll runs d's rounds until b.N items are delivered (served counts what the app
// got) and reports deliveries/s.
func deliverAll(b *testing.B, d *webhooks.Deliverer, served *atomic.Int64) float64 {
	b.Helper()
	served.Store(0)
	b.ResetTimer()
	start := time.Now()
	for claimed := 0; claimed < b.N; {
		n, err := d.DeliverOnce(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			b.Fatalf("%d of %d items claimed, then none was due", claimed, b.N)
		}
		claimed += n
	}
	elapsed := time.Since(start)
	b.StopTimer()
	return reportDeliveries(b, served.Load(), elapsed)
}

// reportDeliveries checks the app got b.N requests and reports the rate.
func reportDeliveries(b *testing.B, got int64, elapsed time.Duration) float64 {
	b.Helper()
	if got != int64(b.N) {
		b.Fatalf("the app got %d requests, want %d", got, b.N)
	}
	perSec := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(perSec, "deliveries/s")
	return perSec
}
