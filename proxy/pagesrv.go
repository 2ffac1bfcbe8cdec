package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/logging"
	"github.com/tokenwall/tokenwall/proxy/pages"
)

// pageKey marks a request for a payment page in its context: its response is rewritten.
type pageKey struct{}

// blockedPage is the fixed answer of a payment page withheld because it changed against its
// approved baseline (pages[].on_change: block).
const blockedPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Payment page unavailable</title></head>
<body><h1>Payment page unavailable</h1>
<p>This payment page is temporarily unavailable. Please try again later.</p></body></html>
`

// blockedPolicy is the policy of the fixed page: nothing loads.
const blockedPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// PageFetcher returns how a check gets a payment page from the upstream: a browser's GET,
// uncompressed, over the upstream transport.
func PageFetcher(up config.Upstream, tr http.RoundTripper) (func(ctx context.Context, path string) (*http.Response, error), error) {
	target, err := url.Parse(up.URL)
	if err != nil {
		return nil, fmt.Errorf("upstream url: %w", err)
	}
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // a page that redirects is checked as it answers
	}}
	return func(ctx context.Context, path string) (*http.Response, error) {
		u := *target
		u.Path = strings.TrimSuffix(target.Path, "/") + path
		u.RawPath, u.RawQuery = "", ""
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Accept-Encoding", "identity")
		req.Header.Set("User-Agent", "tokenwall-page-check")
		return client.Do(req)
	}, nil
}

// paymentPage serves a GET or HEAD of a payment page: withheld (503) while the page is
// changed against its baseline and its on_change is block; otherwise forwarded as any
// passthrough, its response rewritten by pageResponse.
func (s *Server) paymentPage(pg *pages.Page) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if s.pages.Blocked(r.Context(), pg) {
			// A card in the path, query or headers is the guard's to refuse and audit,
			// blocked page or not: passthrough refuses it before anything is forwarded.
			if CardEscape(r, nil) != "" && !s.alertOnly(r.URL.Path) {
				return s.passthrough(c)
			}
			s.metrics.pageBlocked.WithLabelValues(pg.Config.Path).Inc()
			return writeBlocked(c.Response())
		}
		// The Secure middleware set these for every response; the page's own come with its
		// response (pages.Watcher.Apply), one of each.
		h := c.Response().Header()
		for k := range s.pageHeaderNames {
			h.Del(k)
		}
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), pageKey{}, pg)))
		return s.passthrough(c)
	}
}

// pageHeaders are the response headers pages.Watcher.Apply sets or removes.
func pageHeaders(w *pages.Watcher) map[string]bool {
	h := http.Header{}
	w.Apply(h, &pages.Page{}, "")
	out := map[string]bool{"Content-Security-Policy-Report-Only": true}
	for k := range h {
		out[k] = true
	}
	return out
}

// writeBlocked answers 503 with the fixed page.
func writeBlocked(w *echo.Response) error {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Retry-After", "60")
	h.Set("Content-Security-Policy", blockedPolicy)
	w.WriteHeader(http.StatusServiceUnavailable)
	_, err := io.WriteString(w, blockedPage)
	return err
}

// errPageEncoded is a payment page the upstream sent compressed although tokenwall asked for
// it uncompressed: its scripts cannot be rewritten, so it is not served (502).
var errPageEncoded = errors.New("payment page sent with a content encoding")

// pageResponse rewrites the upstream's response of a payment page (ModifyResponse): the
// page's policy with a fresh nonce, the nonce and SRI on the inventory's scripts, and the
// fingerprint of a successful GET queued for comparison with the baseline. The body is
// streamed through the rewriter, never held whole.
func (s *Server) pageResponse(resp *http.Response) error {
	pg, ok := resp.Request.Context().Value(pageKey{}).(*pages.Page)
	if !ok {
		return nil
	}
	nonce := pages.NewNonce()
	s.pages.Apply(resp.Header, pg, nonce)
	resp.ContentLength = -1
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "text/html" || resp.Request.Method == http.MethodHead {
		return nil
	}
	if ce := resp.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return errPageEncoded
	}
	// Fingerprinted: a successful GET of the page itself. A query may change what the app
	// shows (and a client chooses it), so such responses are enforced, not compared.
	observe := resp.StatusCode == http.StatusOK && resp.Request.Method == http.MethodGet && resp.Request.URL.RawQuery == ""
	headers := pages.SecuritySubset(resp.Header)
	base := s.pages.PageURL(pg.Config.Path)
	max := int64(s.cfg.PageChecks.MaxPageBytes)
	if observe && pg.Config.OnChange == config.PageBlock && s.pages.HeadersChanged(resp.Request.Context(), pg, pages.Headers(headers)) {
		// Withheld before a byte of it is sent; read (bounded) for the fingerprint.
		res, _ := pages.Rewrite(io.Discard, resp.Body, pg.Inv, base, nonce, max)
		_ = resp.Body.Close()
		s.pages.Observe(pg, headers, res)
		s.metrics.pageBlocked.WithLabelValues(pg.Config.Path).Inc()
		replaceWithBlocked(resp)
		return nil
	}
	lg := s.log
	resp.Body = pages.NewReader(resp.Body, pg.Inv, base, nonce, max, func(res pages.Result, err error) {
		switch {
		case err == nil && observe:
			s.pages.Observe(pg, headers, res)
		case errors.Is(err, pages.ErrPageTooLarge):
			lg.Warn().Str(logging.FieldPath, pg.Config.Path).Msg("payment page longer than page_checks.max_page_bytes: cut off")
			if observe {
				s.pages.Observe(pg, headers, res)
			}
		}
	})
	return nil
}

// replaceWithBlocked turns resp into the fixed 503 page.
func replaceWithBlocked(resp *http.Response) {
	resp.StatusCode, resp.Status = http.StatusServiceUnavailable, "503 Service Unavailable"
	h := http.Header{}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Retry-After", "60")
	h.Set("Content-Security-Policy", blockedPolicy)
	resp.Header = h
	resp.Body = io.NopCloser(bytes.NewReader([]byte(blockedPage)))
	resp.ContentLength = int64(len(blockedPage))
	h.Set("Content-Length", strconv.Itoa(len(blockedPage)))
}
