package proxy_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"io"
	"mime/quotedprintable"
	"net/http"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/audit"
)

// guardCard is a Stripe test card (Visa debit) that must not get through.
const guardCard = "4000056655665556"

// TestTokenizationRouteScansPathQueryAndHeaders (issue 12, defect 7): a tokenization route
// took the card from its card field and forwarded the rest verbatim, so a card in the
// query or a header reached the app. Now it is refused there as everywhere else.
func TestTokenizationRouteScansPathQueryAndHeaders(t *testing.T) {
	h := newHarness(t, options{})
	for _, tc := range []struct {
		name, target, header, where string
	}{
		{name: "card in the query", target: "/checkout/submit?memo=" + guardCard, where: "query"},
		{name: "card in a header", target: "/checkout/submit", header: guardCard, where: "header"},
		{name: "card in the path", target: "/checkout/submit/" + guardCard, where: "path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(h.up.requests())
			req, err := http.NewRequest(http.MethodPost, h.url+tc.target, bytes.NewReader(checkoutBody()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", formCT)
			if tc.header != "" {
				req.Header.Set("X-Card", tc.header)
			}
			resp, body := h.do(req)
			if resp.StatusCode != http.StatusBadRequest || len(h.up.requests()) != before {
				t.Fatalf("status %d (%s), %d forwarded; want 400 and nothing forwarded", resp.StatusCode, body, len(h.up.requests())-before)
			}
		})
	}
	evs := h.events(audit.EventCardEscapeBlocked)
	wheres := ""
	for _, ev := range evs {
		wheres += ev.Details
	}
	for _, w := range []string{`"where":"query"`, `"where":"header"`} {
		if !strings.Contains(wheres, w) {
			t.Errorf("no card_escape_blocked record with %s: %v", w, evs)
		}
	}
}

// multipartWithEncodedPart is a form whose note part carries a card in cte.
func multipartWithEncodedPart(cte string) []byte {
	var enc string
	switch cte {
	case "base64":
		enc = base64.StdEncoding.EncodeToString([]byte("card " + guardCard))
	case "quoted-printable":
		var b bytes.Buffer
		w := quotedprintable.NewWriter(&b)
		// Soft line breaks split the digits: scanned raw, no card is seen.
		_, _ = w.Write([]byte("card " + guardCard[:8] + "=\r\n" + guardCard[8:]))
		_ = w.Close()
		enc = strings.ReplaceAll(b.String(), guardCard[:8], guardCard[:4]+"=\r\n"+guardCard[4:8])
	}
	return []byte("--XB\r\nContent-Disposition: form-data; name=\"note\"\r\nContent-Transfer-Encoding: " + cte + "\r\n\r\n" + enc + "\r\n--XB--\r\n")
}

// TestEncodedMultipartPartsRefused (issue 12, defect 7): a multipart part in base64 or
// quoted-printable carried a card past the guard and was decoded by the app. Such parts are
// refused (415) on pass-through, tokenization and /v1 routes alike.
func TestEncodedMultipartPartsRefused(t *testing.T) {
	h := newHarness(t, options{api: true})
	for _, cte := range []string{"base64", "quoted-printable"} {
		for _, path := range []string{"/orders", "/upload/checkout", "/v1/customers"} {
			t.Run(cte+" "+path, func(t *testing.T) {
				before := len(h.up.requests())
				resp, body := h.post(path, "multipart/form-data; boundary=XB", multipartWithEncodedPart(cte))
				if resp.StatusCode != http.StatusUnsupportedMediaType || len(h.up.requests()) != before {
					t.Fatalf("status %d (%s), %d forwarded; want 415 and nothing forwarded", resp.StatusCode, body, len(h.up.requests())-before)
				}
			})
		}
	}
}

// TestCompressedRequestBodiesRefused (issue 12, defect 7): a gzip (or deflate, br) request
// body was scanned compressed, blind. Compressed request bodies get 415 on every route.
func TestCompressedRequestBodiesRefused(t *testing.T) {
	h := newHarness(t, options{api: true, webhooks: true})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte("note=" + guardCard))
	_ = zw.Close()
	for _, tc := range []struct{ name, path, encoding string }{
		{name: "gzip pass-through", path: "/orders", encoding: "gzip"},
		{name: "deflate tokenization", path: "/checkout/submit", encoding: "deflate"},
		{name: "br api", path: "/v1/customers", encoding: "br"},
		{name: "gzip webhook", path: "/webhooks/stripe", encoding: "gzip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(h.up.requests())
			req, err := http.NewRequest(http.MethodPost, h.url+tc.path, bytes.NewReader(gz.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", formCT)
			req.Header.Set("Content-Encoding", tc.encoding)
			resp, body := h.do(req)
			if resp.StatusCode != http.StatusUnsupportedMediaType || len(h.up.requests()) != before {
				t.Fatalf("status %d (%s), %d forwarded; want 415 and nothing forwarded", resp.StatusCode, body, len(h.up.requests())-before)
			}
		})
	}
}

// TestUpgradeOnlyOnConfiguredPaths (issue 12, defect 7): a protocol upgrade (WebSocket,
// h2c) turns the connection into a stream no guard reads; it is passed only on
// upstream.upgrade_paths.
func TestUpgradeOnlyOnConfiguredPaths(t *testing.T) {
	h := newHarness(t, options{upgradePaths: []string{"/live/"}})
	send := func(path, upgrade, connection string) int {
		req, err := http.NewRequest(http.MethodGet, h.url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Upgrade", upgrade)
		req.Header.Set("Connection", connection)
		resp, _ := h.do(req)
		return resp.StatusCode
	}
	before := len(h.up.requests())
	for _, tc := range []struct{ name, path, upgrade, connection string }{
		{name: "websocket elsewhere", path: "/orders", upgrade: "websocket", connection: "Upgrade"},
		{name: "h2c elsewhere", path: "/", upgrade: "h2c", connection: "Upgrade, HTTP2-Settings"},
	} {
		if got := send(tc.path, tc.upgrade, tc.connection); got != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", tc.name, got)
		}
	}
	if len(h.up.requests()) != before {
		t.Fatal("a refused upgrade reached the app")
	}
	if got := send("/live/feed", "websocket", "Upgrade"); got == http.StatusBadRequest || len(h.up.requests()) != before+1 {
		t.Errorf("upgrade on a configured path: status %d, forwarded %d", got, len(h.up.requests())-before)
	}
}

// TestCompressedUpstreamResponsesWatched (issue 12, defect 7): a gzip response with a card is
// watched as decoded; a decompression bomb is watched up to the limit and forwarded whole;
// the app is asked only for encodings tokenwall can decode.
func TestCompressedUpstreamResponsesWatched(t *testing.T) {
	h := newHarness(t, options{})
	tr := h.client.Transport.(*http.Transport).Clone()
	tr.DisableCompression = true // read the bytes as sent
	raw := &http.Client{Transport: tr}
	get := func(path string) []byte {
		req, err := http.NewRequest(http.MethodGet, h.url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept-Encoding", "br, gzip;q=0.8, zstd")
		resp, err := raw.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return b
	}
	if b := get("/leaky-gzip"); len(b) == 0 {
		t.Fatal("empty response")
	}
	if n := len(get("/bomb-gzip")); n < 32<<10 {
		t.Fatalf("the bomb arrived cut: %d bytes", n)
	}
	metrics := getMetrics(t, h)
	for _, want := range []string{"tokenwall_upstream_card_responses_total 1", `tokenwall_upstream_unwatched_responses_total{why="decoded_limit"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	for _, r := range h.up.requests() {
		if ae := r.Header.Get("Accept-Encoding"); strings.Contains(ae, "br") || strings.Contains(ae, "zstd") {
			t.Errorf("the app was offered %q", ae)
		}
	}
}

// getMetrics reads the admin listener's metrics.
func getMetrics(t *testing.T, h *harness) string {
	t.Helper()
	return get(t, h.adminURL+"/metrics")
}
