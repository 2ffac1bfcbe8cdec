package webhooks_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

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
// Handler over a TLS test server, next to a baseline in the same run: stripe-go's
// ConstructEventWithOptions alone (verify and decode, nothing stored).
func BenchmarkReceive(b *testing.B) {
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
		base := results[fmt.Sprintf("verify-only/%d", senders)]
		for _, path := range []string{"receive", "handler"} {
			got := results[fmt.Sprintf("%s/%d", path, senders)]
			if base.perSec > 0 && got.perSec > 0 {
				fmt.Printf("BenchmarkReceive senders=%d: %s %.0f events/s p99 %s; verify-only %.0f events/s p99 %s; ratio %.3fx\n",
					senders, path, got.perSec, got.p99.Round(time.Microsecond), base.perSec, base.p99.Round(time.Microsecond), got.perSec/base.perSec)
			}
		}
	}
}
