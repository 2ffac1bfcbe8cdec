package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// refuseEncodedBodies answers 415 to a request body with a Content-Encoding (gzip, deflate,
// br, …) on every route: the guard would scan it compressed, blind, and the app would
// decode what the guard never saw.
func refuseEncodedBodies(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if ce := c.Request().Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
			return fmt.Errorf("%w: request bodies with a content encoding are refused", ErrUnsupportedMedia)
		}
		return next(c)
	}
}

// errEncodedPart refuses a multipart body with a part in a transfer encoding.
var errEncodedPart = fmt.Errorf("%w: multipart parts with a content-transfer-encoding are refused", ErrUnsupportedMedia)

// encodedPart reports whether body, a multipart body by contentType, has a part whose
// Content-Transfer-Encoding is not an identity (7bit, 8bit, binary): quoted-printable or
// base64 would carry a card past the guard, decoded by the app. RFC 7578 deprecates the
// header for form data, so no browser sends it. A body that does not parse is left to the
// route (the app refuses it as malformed, as tokenwall does on tokenization routes).
func encodedPart(contentType string, body []byte) bool {
	if len(body) == 0 {
		return false
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || !strings.HasPrefix(strings.ToLower(mt), "multipart/") || params["boundary"] == "" {
		return false
	}
	r := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for range maxParts + 1 {
		p, err := r.NextRawPart()
		if err != nil {
			return false
		}
		switch cte := strings.ToLower(strings.TrimSpace(p.Header.Get("Content-Transfer-Encoding"))); cte {
		case "", "7bit", "8bit", "binary":
		default:
			return true
		}
		_, _ = io.Copy(io.Discard, p)
	}
	return false
}

// CheckEncodings refuses (415) a multipart body with a part in a transfer encoding.
func CheckEncodings(r *http.Request, body []byte) error {
	if encodedPart(r.Header.Get(echo.HeaderContentType), body) {
		return errEncodedPart
	}
	return nil
}

// ErrUpgradeRefused is a protocol upgrade (WebSocket, h2c) asked for outside
// upstream.upgrade_paths.
var ErrUpgradeRefused = errors.New("protocol upgrade refused on this path")

// refuseUpgrades refuses a request that asks for a protocol upgrade (an Upgrade header, or
// Connection naming it) unless its path is under one of upstream.upgrade_paths: an upgraded
// connection is a stream no guard reads.
func (s *Server) refuseUpgrades(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Header.Get("Upgrade") == "" && !headerHasToken(r.Header, "Connection", "upgrade") {
			return next(c)
		}
		for _, p := range s.cfg.Upstream.UpgradePaths {
			if strings.HasPrefix(r.URL.Path, p) {
				return next(c)
			}
		}
		return ErrUpgradeRefused
	}
}

// headerHasToken reports whether a comma-separated header holds token (case-insensitive).
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
