package proxy

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const (
	healthPath = "/healthz"
	readyPath  = "/readyz"
)

// healthz answers 200 while the process serves.
func (s *Server) healthz(c echo.Context) error { return c.String(http.StatusOK, "ok\n") }

// readyz answers 200 only when every secret is loaded from Vault and fresh, and a gateway
// is configured; a load balancer stops sending checkouts otherwise.
func (s *Server) readyz(c echo.Context) error {
	if !s.ready() {
		return c.String(http.StatusServiceUnavailable, "not ready\n")
	}
	return c.String(http.StatusOK, "ready\n")
}

func (s *Server) ready() bool { return s.gw != nil && s.secrets.Fresh() }

// adminServer serves /metrics, /healthz and /readyz on the admin listener (loopback by
// default; never the public one).
func (s *Server) adminServer() *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET "+healthPath, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET "+readyPath, func(w http.ResponseWriter, _ *http.Request) {
		if !s.ready() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	lc := s.cfg.Listen
	return &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: lc.ReadHeaderTimeout.D(),
		ReadTimeout:       lc.ReadTimeout.D(),
		WriteTimeout:      lc.WriteTimeout.D(),
		IdleTimeout:       lc.IdleTimeout.D(),
	}
}
