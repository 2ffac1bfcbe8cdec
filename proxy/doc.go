// Package proxy is tokenwall's HTTPS front: the Echo v4 application with its TLS server,
// middleware, error handler, tokenization routes, the reverse proxy to the billing app, and
// the admin listener (metrics and health).
package proxy
