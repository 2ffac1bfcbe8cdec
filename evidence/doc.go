// Package evidence gathers what a compliance report stands on, at report time: a probe of
// the TLS listener, a scan of the data at rest, the audit chain's verification, the ages of
// the secrets and of the transit key, the API keys and the retention. It runs no server:
// `tokenwall report` and GET /v1/reports call it alike.
package evidence
