// Package proxy is tokenwall's HTTP layer: the Echo v4 server with its TLS settings and
// timeouts, the middleware chain, the one error table and its rendering (text on tokenwall's
// own routes, problem+json on /v1), the checkout (tokenization) routes, the pass-through to
// the billing app with the card-escape guard, and the admin listener (metrics and health).
// The work behind it lives in the domain packages; proxy/api holds the /v1 handlers, and
// package app builds the server.
package proxy
