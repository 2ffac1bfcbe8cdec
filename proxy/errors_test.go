package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/tokenwall/tokenwall/logging"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/rs/zerolog"
)

// detail is internal text that must never reach a client.
const detail = "vault at 10.0.0.7:8200 said: permission denied on secret/data/stripe"

func TestProblemOf(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		status  int
		message string
	}{
		{name: "bad request", err: fmt.Errorf("%w: %s", ErrBadRequest, detail), status: 400, message: "malformed request"},
		{name: "unsupported media", err: fmt.Errorf("%w: %s", ErrUnsupportedMedia, detail), status: 415, message: "unsupported content type for this route"},
		{name: "too large", err: fmt.Errorf("%w: %s", ErrTooLarge, detail), status: 413, message: "request body too large"},
		{name: "card escape", err: fmt.Errorf("%w: %s", ErrCardEscape, detail), status: 400, message: "card data is not accepted on this path"},
		{name: "unavailable", err: fmt.Errorf("%w: %s", ErrUnavailable, detail), status: 503, message: "service temporarily unavailable"},
		{name: "upstream", err: fmt.Errorf("%w: %s", ErrUpstream, detail), status: 502, message: "upstream unavailable"},
		{name: "bare sentinel", err: ErrCardEscape, status: 400, message: "card data is not accepted on this path"},
		{name: "doubly wrapped", err: fmt.Errorf("route /pay: %w", fmt.Errorf("%w: %s", ErrUnavailable, detail)), status: 503, message: "service temporarily unavailable"},
		{name: "joined", err: errors.Join(errors.New(detail), ErrTooLarge), status: 413, message: "request body too large"},
		{name: "sentinel wins over echo error", err: fmt.Errorf("%w: %w", ErrTooLarge, echo.NewHTTPError(http.StatusRequestEntityTooLarge, detail)), status: 413, message: "request body too large"},
		{name: "echo 413", err: echo.NewHTTPError(http.StatusRequestEntityTooLarge, detail), status: 413, message: "request body too large"},
		{name: "echo body limit", err: echo.ErrStatusRequestEntityTooLarge, status: 413, message: "request body too large"},
		{name: "echo 404", err: echo.NewHTTPError(http.StatusNotFound, detail), status: 404, message: "Not Found"},
		{name: "echo 405", err: echo.ErrMethodNotAllowed, status: 405, message: "Method Not Allowed"},
		{name: "echo 503", err: echo.NewHTTPError(http.StatusServiceUnavailable, detail), status: 503, message: "service temporarily unavailable"},
		{name: "echo 500 wrapped", err: fmt.Errorf("handler: %w", echo.NewHTTPError(http.StatusInternalServerError, detail)), status: 500, message: "service temporarily unavailable"},
		{name: "plain error", err: errors.New(detail), status: 500, message: "internal error"},
		{name: "plain error holding a card", err: errors.New("stripe said 4242424242424242 declined"), status: 500, message: "internal error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := kindOf(tc.err)
			if p.status != tc.status || p.message != tc.message {
				t.Errorf("problemOf = %d %q, want %d %q", p.status, p.message, tc.status, tc.message)
			}
			if strings.Contains(p.message, tc.err.Error()) || strings.Contains(p.message, "permission denied") || strings.Contains(p.message, "4242") {
				t.Errorf("message %q holds error text", p.message)
			}
		})
	}
}

func TestErrorHandler(t *testing.T) {
	for _, tc := range []struct {
		name      string
		method    string
		err       error
		committed bool
		status    int
		body      string
		logged    bool // an error line is written
	}{
		{name: "bad request", method: http.MethodPost, err: fmt.Errorf("%w: %s", ErrBadRequest, detail), status: 400, body: "malformed request\n"},
		{name: "upstream", method: http.MethodGet, err: fmt.Errorf("%w: %s", ErrUpstream, detail), status: 502, body: "upstream unavailable\n", logged: true},
		{name: "internal", method: http.MethodPost, err: errors.New(detail), status: 500, body: "internal error\n", logged: true},
		{name: "head has no body", method: http.MethodHead, err: echo.ErrNotFound, status: 404, body: ""},
		{name: "committed response untouched", method: http.MethodGet, err: errors.New(detail), committed: true, status: http.StatusAccepted, body: "partial"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logBuf bytes.Buffer
			logger := zerolog.New(&logBuf)
			req := httptest.NewRequest(tc.method, "/pay", nil)
			info := &requestInfo{}
			req = req.WithContext(withInfo(logger.WithContext(req.Context()), info))
			rec := httptest.NewRecorder()
			c := echo.New().NewContext(req, rec)
			if tc.committed {
				c.Response().WriteHeader(http.StatusAccepted)
				_, _ = c.Response().Write([]byte("partial"))
			}

			errorHandler(tc.err, c)

			if rec.Code != tc.status {
				t.Errorf("status = %d, want %d", rec.Code, tc.status)
			}
			if got := rec.Body.String(); got != tc.body {
				t.Errorf("body = %q, want %q", got, tc.body)
			}
			if strings.Contains(rec.Body.String(), "permission denied") {
				t.Errorf("body holds the internal error")
			}
			if tc.committed {
				if info.err != nil {
					t.Errorf("committed: the summary record was changed")
				}
				return
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			if got := rec.Header().Get("Content-Type"); got != echo.MIMETextPlainCharsetUTF8 {
				t.Errorf("Content-Type = %q", got)
			}
			if !errors.Is(info.err, tc.err) {
				t.Errorf("summary record err = %v, want the handled error", info.err)
			}
			logged := strings.Contains(logBuf.String(), `"message":"request failed"`)
			if logged != tc.logged {
				t.Errorf("error logged = %v, want %v (log %q)", logged, tc.logged, logBuf.String())
			}
			if tc.logged && !strings.Contains(logBuf.String(), fmt.Sprintf(`"%s":%d`, logging.FieldStatus, tc.status)) {
				t.Errorf("log line %q lacks the status", logBuf.String())
			}
		})
	}
}
