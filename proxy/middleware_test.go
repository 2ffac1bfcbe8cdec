package proxy

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/config"
)

// TestComposedOnce: the chain is built once, at start, not for each request; it runs in
// order, outermost first, around the handler Echo's router found for each request (a route,
// a group's route with the group's middleware, or the not-found handler), and a middleware
// that answers itself stops it.
func TestComposedOnce(t *testing.T) {
	built := map[string]int{}
	var trace []string
	mw := func(name string) echo.MiddlewareFunc {
		return func(next echo.HandlerFunc) echo.HandlerFunc {
			built[name]++
			return func(c echo.Context) error {
				trace = append(trace, name)
				if c.Request().Header.Get("X-Stop") == name {
					return c.String(http.StatusTeapot, "stopped by "+name)
				}
				return next(c)
			}
		}
	}
	e := echo.New()
	e.Use(composedOnce([]echo.MiddlewareFunc{mw("outer"), mw("inner")}))
	e.GET("/a", func(c echo.Context) error { trace = append(trace, "a"); return c.String(http.StatusOK, "a") })
	g := e.Group("/g")
	g.Use(mw("group"))
	g.GET("/b", func(c echo.Context) error { trace = append(trace, "b"); return c.String(http.StatusOK, "b") })

	for _, tc := range []struct {
		path, stop string
		status     int
		trace      string
	}{
		{path: "/a", status: 200, trace: "outer inner a"},
		{path: "/g/b", status: 200, trace: "outer inner group b"},
		{path: "/nowhere", status: 404, trace: "outer inner"},
		{path: "/a", stop: "outer", status: 418, trace: "outer"},
		{path: "/g/b", stop: "inner", status: 418, trace: "outer inner"},
	} {
		trace = nil
		req := httptest.NewRequest(http.MethodGet, tc.path, nil)
		if tc.stop != "" {
			req.Header.Set("X-Stop", tc.stop)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != tc.status || strings.Join(trace, " ") != tc.trace {
			t.Errorf("GET %s (stop %q): %d, ran %q; want %d, %q", tc.path, tc.stop, rec.Code, strings.Join(trace, " "), tc.status, tc.trace)
		}
	}
	// outer and inner once at start, for five requests; the group's middleware is Echo's own,
	// built for each request that reaches the group.
	if built["outer"] != 1 || built["inner"] != 1 {
		t.Errorf("the chain's middleware were built %v times, want once each", built)
	}
}

// TestSecurityHeaders: every response gets nosniff, DENY, no-referrer and the policy; HSTS
// only over HTTPS and only when hsts_max_age is set; the values a response gets are its own
// to change (one response's change never reaches the next).
func TestSecurityHeaders(t *testing.T) {
	serve := func(h securityHeaders, tls bool, change bool) http.Header {
		e := echo.New()
		e.Use(h.middleware)
		e.GET("/", func(c echo.Context) error {
			if change {
				c.Response().Header().Add(echo.HeaderXFrameOptions, "SAMEORIGIN")
				c.Response().Header().Set(echo.HeaderContentSecurityPolicy, "default-src *")
			}
			return c.NoContent(http.StatusNoContent)
		})
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		if tls {
			req = httptest.NewRequest(http.MethodGet, "https://tokenwall.test/", nil)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec.Header()
	}
	h := newSecurityHeaders(config.Listen{HSTSMaxAge: 31536000})
	got := serve(h, true, false)
	for k, want := range map[string]string{
		"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
		"Content-Security-Policy": contentSecurityPolicy, "Strict-Transport-Security": "max-age=31536000; includeSubdomains",
	} {
		if got.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, got.Get(k), want)
		}
	}
	if got := serve(h, false, false); got.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS over plain HTTP")
	}
	if got := serve(newSecurityHeaders(config.Listen{}), true, false); got.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS with hsts_max_age 0")
	}
	if changed := serve(h, true, true); len(changed.Values("X-Frame-Options")) != 2 || changed.Get("Content-Security-Policy") != "default-src *" {
		t.Errorf("a handler's changes were not its own: %v", changed)
	}
	if again := serve(h, true, false); len(again.Values("X-Frame-Options")) != 1 || again.Get("Content-Security-Policy") != contentSecurityPolicy {
		t.Errorf("one response's change reached the next: %v", again)
	}
	fixed := FixedHeaders(config.Listen{HSTSMaxAge: 60})
	if fixed.Get("Content-Security-Policy") != "" || fixed.Get("Strict-Transport-Security") != "max-age=60; includeSubdomains" || fixed.Get("X-Frame-Options") != "DENY" {
		t.Errorf("FixedHeaders = %v", fixed)
	}
}
