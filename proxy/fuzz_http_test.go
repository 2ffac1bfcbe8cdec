package proxy_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/scrub"
	"github.com/tokenwall/tokenwall/webhooks"
)

// rawDeadline bounds one input: the dial, the write and the read of the answer. A request
// the server is still waiting on (a Content-Length longer than the body) costs this much.
const rawDeadline = time.Second

// fuzzCard is the card number the seeds carry (Stripe's test Visa).
const fuzzCard = "4242424242424242"

// FuzzRawRequest (issue 12) writes each input as raw bytes on a fresh HTTP/1.1 TLS
// connection to tokenwall built by app.Build with the API and webhooks on, and reads the
// answer, if any, under a short deadline. A malformed request may get a 400 or no answer.
// After every input: the server did not panic, it answered no 5xx but 503 (501 is the
// designed answer to a non-standard method, 505 net/http's to an unsupported version; the
// upstream is up, so 502 is a defect), and no card number reached the upstream (path,
// query, headers, body) or tokenwall's log.
func FuzzRawRequest(f *testing.F) {
	// The gateway's retries as `tokenwall serve` has them; each fuzz worker process builds
	// its own harness, in its own folder.
	h := newHarness(f, options{api: true, webhooks: true, processDir: true,
		retries: config.Default().Gateway.Stripe.MaxNetworkRetries})
	for _, seed := range rawSeeds(h) {
		f.Add(seed)
	}
	watch := &leakWatch{h: h}
	f.Fuzz(func(t *testing.T, raw []byte) {
		status, err := sendRaw(h.url, raw)
		t.Logf("status %d, err %v", status, err)
		if err == nil && status >= 500 && !allowed5xx(status) {
			t.Errorf("status %d to %q", status, clip(raw))
		}
		watch.check(t, raw)
	})
}

// allowed5xx are the 5xx answers that are not defects: 503 (a dependency is down), 501 (a
// method outside the standard set, refused by design before routing) and 505 (net/http's
// answer to an HTTP version it does not speak, before tokenwall sees the request).
func allowed5xx(status int) bool {
	return status == http.StatusServiceUnavailable || status == http.StatusNotImplemented ||
		status == http.StatusHTTPVersionNotSupported
}

// sendRaw writes raw on a fresh TLS connection with HTTP/1.1 forced and returns the status
// of the first answer. err is set when there was none (refused, closed, or the deadline).
func sendRaw(url string, raw []byte) (int, error) {
	d := &net.Dialer{Timeout: rawDeadline}
	conn, err := tls.DialWithDialer(d, "tcp", strings.TrimPrefix(url, "https://"),
		&tls.Config{InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}) //nolint:gosec // the harness's self-signed certificate
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(rawDeadline))
	if _, err := conn.Write(raw); err != nil {
		return 0, err
	}
	rd := bufio.NewReader(conn)
	resp, err := http.ReadResponse(rd, nil)
	// An interim answer (100 Continue to Expect) is followed by the final one.
	for err == nil && resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
		resp, err = http.ReadResponse(rd, nil)
	}
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, nil
}

// leakWatch checks, after each input, what the upstream received and what tokenwall logged
// since the previous input. A forward or a log line that lands after its input's check is
// seen by the next one's.
type leakWatch struct {
	h       *harness
	seenReq int
	logOff  int64
}

func (w *leakWatch) check(t *testing.T, raw []byte) {
	t.Helper()
	reqs := w.h.up.requests()
	for _, r := range reqs[w.seenReq:] {
		var hdr bytes.Buffer
		_ = r.Header.Write(&hdr)
		for part, b := range map[string][]byte{"path": []byte(r.URI), "headers": hdr.Bytes(), "body": r.Body} {
			if scrub.ContainsPAN(b) {
				t.Errorf("a card number reached the upstream in the %s of %s %s after %q", part, r.Method, clip([]byte(r.URI)), clip(raw))
			}
		}
	}
	w.seenReq = len(reqs)
	lines := w.newLog(t)
	if bytes.Contains(lines, []byte("panic recovered")) || bytes.Contains(lines, []byte("panic serving")) {
		t.Errorf("the server panicked after %q:\n%s", clip(raw), clip(lines))
	}
	if scrub.ContainsPAN(lines) {
		t.Errorf("a card number is in tokenwall's log after %q", clip(raw))
	}
}

// newLog returns the whole lines tokenwall logged since the last call: reading the whole
// log after every input would make a long run quadratic, and a line still being written
// is left for the next call.
func (w *leakWatch) newLog(t *testing.T) []byte {
	t.Helper()
	fh, err := os.Open(w.h.logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	b, err := io.ReadAll(io.NewSectionReader(fh, w.logOff, 1<<62))
	if err != nil {
		t.Fatal(err)
	}
	end := bytes.LastIndexByte(b, '\n') + 1
	w.logOff += int64(end)
	return b[:end]
}

// clip shortens b for a failure message.
func clip(b []byte) []byte {
	if len(b) > 2000 {
		return b[:2000]
	}
	return b
}

// rawSeeds are requests of the shapes tokenwall sees: the routes with cards, /v1 with a
// real key, a signed webhook, cards where no route takes them (path, query, header,
// cookie, body), smuggling and framing tricks, encodings, a huge method, an upgrade.
func rawSeeds(h *harness) [][]byte {
	host := "Host: 127.0.0.1\r\n"
	req := func(head string, body []byte) []byte {
		if body != nil {
			head += "Content-Length: " + strconv.Itoa(len(body)) + "\r\n"
		}
		return append([]byte(head+"\r\n"), body...)
	}
	form := []byte("card_number=" + fuzzCard + "&card_exp=12%2F30&card_cvc=123&card_name=Ada+Lovelace&order=1042")
	jsonBody := []byte(`{"order":"1042","payment":{"card":{"number":"` + fuzzCard + `","exp_month":12,"exp_year":2030,"cvc":"123"}}}`)
	seeds := [][]byte{
		req("POST /checkout/submit HTTP/1.1\r\n"+host+"Content-Type: application/x-www-form-urlencoded\r\n", form),
		req("POST /api/checkout HTTP/1.1\r\n"+host+"Content-Type: application/json\r\n", jsonBody),
		req("POST /v1/payments HTTP/1.1\r\n"+host+"Authorization: Bearer "+h.keys["billing"]+"\r\nIdempotency-Key: fuzz-1\r\nContent-Type: application/json\r\n",
			[]byte(`{"amount":4200,"currency":"eur","token":"pm_card_visa"}`)),
		req("POST /v1/payments HTTP/1.1\r\n"+host+"Authorization: Bearer "+h.keys["billing"]+"\r\nIdempotency-Key: fuzz-2\r\nContent-Type: application/json\r\n",
			[]byte(`{"amount":4200,"currency":"eur","token":"`+fuzzCard+`"}`)),
		req("GET /v1/payments HTTP/1.1\r\n"+host+"Authorization: Bearer twk_nope\r\n", nil),
		webhookSeed(h, host),
		req("GET /orders/"+fuzzCard+" HTTP/1.1\r\n"+host, nil),
		req("GET /search?q=4242+4242+4242+4242&card_number="+fuzzCard+" HTTP/1.1\r\n"+host, nil),
		req("GET /account HTTP/1.1\r\n"+host+"X-Note: 4242 4242 4242 4242\r\nCookie: cc="+fuzzCard+"\r\n", nil),
		req("POST /orders HTTP/1.1\r\n"+host+"Content-Type: application/json\r\n", []byte(`{"note":"`+fuzzCard+`"}`)),
		[]byte("POST /orders HTTP/1.1\r\n" + host + "Content-Type: text/plain\r\nContent-Length: 45\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
		[]byte("POST /checkout/submit HTTP/1.1\r\n" + host + "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"19\r\n" + string(form[:25]) + "\r\n" + strconv.FormatInt(int64(len(form)-25), 16) + "\r\n" + string(form[25:]) + "\r\n0\r\n\r\n"),
		[]byte("POST /notes HTTP/1.1\r\n" + host + "Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n42424242\r\n8\r\n42424242\r\n0\r\nX-Trailer: " + fuzzCard + "\r\n\r\n"),
		multipartSeed(host, false),
		multipartSeed(host, true),
		req("POST /checkout/submit HTTP/1.1\r\n"+host+"Content-Type: application/x-www-form-urlencoded\r\nContent-Encoding: gzip\r\n", gzipped(form)),
		req("POST /notes HTTP/1.1\r\n"+host+"Content-Type: application/json\r\nContent-Encoding: gzip\r\n", gzipped(jsonBody)),
		req(strings.Repeat("X", 5000)+" /orders HTTP/1.1\r\n"+host, nil),
		req("GET /ws HTTP/1.1\r\n"+host+"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", nil),
		req("GET https://127.0.0.1/orders?pan="+fuzzCard+" HTTP/1.1\r\nHost: evil.example\r\n", nil),
		req("POST /checkout/submit HTTP/1.0\r\n"+host+"Expect: 100-continue\r\nContent-Type: application/x-www-form-urlencoded\r\n", form),
	}
	return seeds
}

// webhookSeed is a gateway event carrying a card number in its metadata, signed now with
// the harness's endpoint secret, so that the fuzzer starts from one the receiver accepts.
func webhookSeed(h *harness, host string) []byte {
	body := gatewayEvent("evt_fuzz_seed_1", "charge.succeeded", fuzzCard)
	sig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: h.whsec, Timestamp: time.Now()}).Header
	head := "POST " + h.cfg.Webhooks.Path + " HTTP/1.1\r\n" + host + "Content-Type: application/json\r\n" +
		webhooks.StripeSignatureHeader + ": " + sig + "\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
	return append([]byte(head), body...)
}

// multipartSeed posts the multipart route with the card number; when b64, in base64 parts,
// one of them a file.
func multipartSeed(host string, b64 bool) []byte {
	number, note, cte := fuzzCard, "leave at the door", ""
	if b64 {
		number, cte = base64.StdEncoding.EncodeToString([]byte(fuzzCard)), "Content-Transfer-Encoding: base64\r\n"
		note = number
	}
	body := "--XyZ\r\nContent-Disposition: form-data; name=\"number\"\r\n" + cte + "\r\n" + number + "\r\n" +
		"--XyZ\r\nContent-Disposition: form-data; name=\"exp_month\"\r\n\r\n12\r\n" +
		"--XyZ\r\nContent-Disposition: form-data; name=\"exp_year\"\r\n\r\n2030\r\n" +
		"--XyZ\r\nContent-Disposition: form-data; name=\"cvc\"\r\n\r\n123\r\n" +
		"--XyZ\r\nContent-Disposition: form-data; name=\"note\"; filename=\"n.txt\"\r\nContent-Type: text/plain\r\n" + cte + "\r\n" + note + "\r\n" +
		"--XyZ--\r\n"
	return []byte("POST /upload/checkout HTTP/1.1\r\n" + host + "Content-Type: multipart/form-data; boundary=XyZ\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}

// gzipped compresses b.
func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return buf.Bytes()
}
