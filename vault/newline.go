package vault

import (
	"fmt"
	"strings"
)

// hasNewline reports whether a secret's value ends with "\n" (so also "\r\n"). No secret
// tokenwall reads legitimately does: a Stripe key with one is refused by stripe-go as a
// header value, and an HMAC key with one is another key than the billing app's.
func hasNewline(v string) bool { return strings.HasSuffix(v, "\n") }

// newlineError names the path (and version, when not 0) of a value that ends with a newline,
// never the value, and says how to fix it.
func newlineError(mount, path string, version int) error {
	where := mount + "/" + path
	if version > 0 {
		where = fmt.Sprintf("%s version %d", where, version)
	}
	return fmt.Errorf("vault: %w: %s: write it again without the trailing newline "+
		"(printf %%s \"$(cat FILE)\" | vault kv put %s/%s value=-, as deploy/vault/setup.sh does)",
		ErrNewline, where, mount, path)
}
