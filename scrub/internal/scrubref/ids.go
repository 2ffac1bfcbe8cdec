package scrubref

import "crypto/rand"

// LetterID writes b as letters, two per byte, each nibble as 'a'+nibble ("a"…"p").
// tokenwall's own identifiers that are stored or logged (request ids, API key ids, audit
// pseudonyms, receipt and report ids) are written this way rather than in hex: a random hex
// string can hold a run of 13 to 19 digits that passes the Luhn check in a card issuer's
// range, and the data-at-rest scans would rightly report it as a card number. Letters never
// can, so no detector here ever matches an identifier made by LetterID.
func LetterID(b []byte) string {
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = 'a'+c>>4, 'a'+c&0x0f
	}
	return string(out)
}

// IsLetterID reports whether s is n letters from "a" to "p", as LetterID writes them.
func IsLetterID(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'p' {
			return false
		}
	}
	return true
}

// NewLetterID returns a LetterID of n random bytes (2n letters).
func NewLetterID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return LetterID(b)
}
