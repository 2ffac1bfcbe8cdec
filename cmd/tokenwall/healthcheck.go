package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/tokenwall/tokenwall/config"
)

// healthcheckCmd is for a container's HEALTHCHECK (the image has no shell or curl): it GETs
// /readyz on the admin listener and exits 0 when the answer is 200, 1 otherwise. It needs
// admin.addr alone, so it does not validate the config, dial Vault or open the store.
type healthcheckCmd struct {
	Config  string        `name:"config" placeholder:"FILE" env:"TOKENWALL_CONFIG" help:"The config file, read for admin.addr (and TOKENWALL_ADMIN_ADDR) only."`
	URL     string        `name:"url" placeholder:"URL" help:"GET this URL instead (e.g. http://127.0.0.1:9090/readyz); no config is read."`
	Timeout time.Duration `default:"2s" help:"Give up after this long."`
}

// Validate wants a config or a URL, and a sensible timeout.
func (c *healthcheckCmd) Validate() error {
	switch {
	case c.URL == "" && c.Config == "":
		return fmt.Errorf("pass --config FILE (or set TOKENWALL_CONFIG) or --url URL")
	case c.Timeout <= 0 || c.Timeout > time.Minute:
		return fmt.Errorf("--timeout %s: between 1ms and 1m", c.Timeout)
	}
	if c.URL != "" {
		if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--url %q: want http://HOST:PORT/PATH", c.URL)
		}
	}
	return nil
}

func (c *healthcheckCmd) run(e cmdEnv) int {
	target := c.URL
	if target == "" {
		addr, err := adminAddr(c.Config)
		if err != nil {
			return fail(e.stderr, 1, err)
		}
		target = "http://" + addr + "/readyz"
	}
	ctx, cancel := context.WithTimeout(e.ctx, c.Timeout)
	defer cancel()
	status, err := getStatus(ctx, target)
	if err != nil {
		return fail(e.stderr, 1, fmt.Errorf("healthcheck: %w", err))
	}
	if status != http.StatusOK {
		fmt.Fprintf(e.stderr, "tokenwall: healthcheck: %s answered %d %s\n", target, status, http.StatusText(status))
		return 1
	}
	fmt.Fprintf(e.stdout, "%s: %d %s\n", target, status, http.StatusText(status))
	return 0
}

// adminAddr is the address to reach the admin listener of the config at path on: admin.addr,
// with an unspecified host (":9090", "0.0.0.0:9090", "[::]:9090") read as loopback.
func adminAddr(path string) (string, error) {
	cfg, err := config.Load(path, os.Environ())
	if err != nil {
		return "", err
	}
	host, port, err := net.SplitHostPort(cfg.Admin.Addr)
	if err != nil {
		return "", fmt.Errorf("admin.addr %q: %w", cfg.Admin.Addr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
		if ip != nil && ip.To4() == nil {
			host = "::1"
		}
	}
	return net.JoinHostPort(host, port), nil
}

// getStatus GETs target, without proxies or redirects, and returns the status code.
func getStatus(ctx context.Context, target string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0, err
	}
	client := &http.Client{
		Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	return resp.StatusCode, nil
}
