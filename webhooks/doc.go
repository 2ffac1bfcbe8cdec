// Package webhooks receives the gateway's webhooks and delivers them to the billing app. It
// also defines tokenwall's signature scheme, which covers every body tokenwall sends to the
// app (tokenized checkout posts and webhook deliveries), and Verify, which apps import to
// check it.
package webhooks
