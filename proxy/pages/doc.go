// Package pages protects the payment pages tokenwall serves for the billing app (PCI DSS
// 6.4.3 and 11.6.1).
//
// On every response of a payment page the proxy replaces the app's Content-Security-Policy
// with CSP (a fresh NewNonce per response), and streams the body through Rewrite, which puts
// that nonce on the scripts of the page's Inventory only, pins each listed external script
// with its Subresource Integrity value, and reports every script element it saw. That
// Result and the response's Headers make the page's Fingerprint, whose Sum is compared with
// the approved baseline and whose Diff says, in a few scrubbed lines, what changed.
//
// The rewrite is a single pass over a tokenizer (htmltok: golang.org/x/net/html's, copied
// with faster scanning and proven to tokenize identically by differential tests and fuzzing),
// run by Rewrite into a writer or by a Reader as the response is read: bytes other than
// script start tags go through unchanged, memory is bounded (a token is held up to 1 MiB,
// an inline script is considered for the nonce up to MaxInlineScript), and a page over its
// byte limit ends with ErrPageTooLarge.
//
// The tokenizer does not build the tree, so it cannot know whether a script element sits in
// HTML or in SVG content, where the browser reads it differently (an SVG script ignores src,
// loads href, and parses its text as markup). Rewrite therefore withholds the nonce where the
// two readings could differ: from a script with an href attribute, from an external script
// element with text in it, and from an inline script whose text would not end where the
// tokenizer ends it. A listed inline script still runs on the hash the policy carries.
//
// The Watcher holds the pages: it applies their headers (Apply), compares each response's
// fingerprint with the baseline in the store in the background (Observe), withholds a changed
// page whose on_change is block (Blocked, HeadersChanged), runs the scheduled check under a
// store lease (Run, Check), and records baselines and approvals (Baseline). The Hasher
// fetches the inventory's external scripts as the browser does, and only those.
package pages
