package proxy_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/tokenwall/tokenwall/store"
)

// api sends a /v1 request with the named test key (none when key is ""), a JSON body when
// body is not nil, and the given idempotency key (none when "").
func (h *harness) api(method, path, key string, body []byte, idem string) (*http.Response, string) {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, h.url+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if key != "" {
		full, ok := h.keys[key]
		if !ok {
			full = key // a raw Authorization value for the tests of bad keys
			req.Header.Set("Authorization", full)
		} else {
			req.Header.Set("Authorization", "Bearer "+full)
		}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	return h.do(req)
}

// post sends body to path with content type ct.
func (h *harness) post(path, ct string, body []byte) (*http.Response, string) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url+path, strings.NewReader(string(body)))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	return h.do(req)
}

func (h *harness) do(req *http.Request) (*http.Response, string) {
	h.t.Helper()
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// logText returns tokenwall's log so far.
func (h *harness) logText() string {
	b, err := os.ReadFile(h.logPath)
	if err != nil {
		h.t.Fatal(err)
	}
	return string(b)
}

// events returns the audit trail's records of type typ, after closing nothing: appends are
// durable when Record returns, so what the requests wrote is there. The repeated refusals
// the aggregator has counted are written first (one record per key: a record's count is
// audit.Repeats of its details).
func (h *harness) events(typ string) []store.AuditRecord {
	h.t.Helper()
	if agg := h.app.Refusals(); agg != nil {
		if err := agg.Flush(context.Background()); err != nil {
			h.t.Fatal(err)
		}
	}
	var out []store.AuditRecord
	err := h.store.AuditRange(context.Background(), 0, 0, func(r store.AuditRecord) error {
		if r.Event == typ {
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
	return out
}
