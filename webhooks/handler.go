package webhooks

import (
	"fmt"
	"io"
	"net"
	"net/http"
)

// receivedBody is the answer to an accepted (or duplicate) event.
const receivedBody = `{"received":true}`

// Handler returns the http.Handler of the gateway's webhook route: POST only, the body read
// up to MaxBody (one byte more is read, so an oversized body is refused as too large), then
// Receive. An accepted or duplicate event is answered 200 {"received":true}; a rejection
// 400 (413 when too large) with a fixed message; a store, audit or secrets failure 503 so
// the gateway retries.
func (r *Receiver) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			r.fail(w, fmt.Errorf("%w: %s", ErrMethod, req.Method))
			return
		}
		body, err := io.ReadAll(io.LimitReader(req.Body, r.o.MaxBody+1))
		if err != nil {
			r.fail(w, fmt.Errorf("%w: %w", ErrReadBody, err))
			return
		}
		if _, err := r.Receive(req.Context(), req.Header, body, r.sourceIP(req), r.requestID(w, req)); err != nil {
			r.fail(w, err)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, receivedBody)
	})
}

// fail answers with the status and fixed message of err's kind (Judge); the error's own
// text never reaches the client. Failures on tokenwall's side are logged (the text holds ids
// and causes, never the body); rejections are in the audit trail already.
func (r *Receiver) fail(w http.ResponseWriter, err error) {
	v := r.o.Judge(err)
	status, msg := v.Status, v.Message
	if status >= http.StatusInternalServerError {
		r.o.Log.Error().Err(err).Int("status", status).Msg("webhook not accepted")
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg+"\n")
}

func (r *Receiver) sourceIP(req *http.Request) string {
	if r.o.SourceIP != nil {
		return r.o.SourceIP(req)
	}
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		return req.RemoteAddr
	}
	return host
}

func (r *Receiver) requestID(w http.ResponseWriter, req *http.Request) string {
	if r.o.RequestID != nil {
		return r.o.RequestID(w, req)
	}
	return w.Header().Get("X-Request-Id")
}
