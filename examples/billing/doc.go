// Package billing is the demo billing application that sits behind tokenwall.
//
// It serves a checkout page whose form posts card fields to /checkout/submit. tokenwall
// intercepts that post, exchanges the card for a gateway token and forwards only the token
// fields, signed with the scheme in package webhooks. The app verifies that signature, shows
// the saved card (or the card error tokenwall reported) and records every body it receives so
// that tests, and people, can check at /received that no card data ever reached it.
package billing
