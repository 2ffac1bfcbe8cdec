// Package billing is the demo billing application that sits behind tokenwall.
//
// It serves a checkout page whose form posts card fields to /checkout/submit. tokenwall
// intercepts that post, exchanges the card for a gateway token and forwards only the token
// fields, signed with the scheme in package webhooks. The app verifies that signature, shows
// the saved card (or the card error tokenwall reported) and records every body it receives so
// that tests, and people, can check at /received that no card data ever reached it.
//
// The checkout page is a payment page as tokenwall guards it (PCI DSS 6.4.3 and 11.6.1): it
// loads one third-party script, the payment widget, from a second origin (WidgetHandler, at
// Options.WidgetOrigin), and sets security headers of its own. With Options.TestModes the
// app can also play the attacker, for the end-to-end tests: POST /_demo/mode puts a skimmer
// on the page, tampers with the widget or drops a header, and the widget origin's /collect
// counts the beacons that got out.
package billing
