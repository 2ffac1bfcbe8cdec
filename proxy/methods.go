package proxy

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
)

// ErrMethodNotImplemented is a request method outside the standard set tokenwall serves.
var ErrMethodNotImplemented = errors.New("method not implemented")

// standardMethod reports whether m is one of the methods tokenwall serves. Anything else
// (an unknown token, CONNECT, TRACE) is refused before routing, and never becomes a metric
// label or a log value: a method is client text of any length.
func standardMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// methodLabel is the method as logs and metrics name it: the method when standard, else
// "OTHER".
func methodLabel(m string) string {
	if standardMethod(m) {
		return m
	}
	return "OTHER"
}

// refuseOtherMethods answers 501 to a method outside the standard set, before any handler.
func refuseOtherMethods(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !standardMethod(c.Request().Method) {
			return ErrMethodNotImplemented
		}
		return next(c)
	}
}

// closeAfterChunked ends the connection after every chunked HTTP/1.1 request. A request with
// both Content-Length and Transfer-Encoding (RFC 9112 §6.1) is framed by the chunked encoding,
// and net/http drops the Content-Length before any handler sees the conflict; a front proxy
// that framed it by the length would take the rest as a second request. Closing the
// connection leaves nothing to smuggle behind it.
func closeAfterChunked(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if r := c.Request(); r.ProtoMajor == 1 && len(r.TransferEncoding) > 0 {
			c.Response().Header().Set("Connection", "close")
		}
		return next(c)
	}
}
