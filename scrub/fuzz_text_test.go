package scrub

import (
	"bytes"
	"testing"
)

// FuzzText checks the properties Text must have on any input: it does not panic, a second
// pass changes nothing, and no card number is left in its output.
func FuzzText(f *testing.F) {
	for _, tc := range textCases {
		f.Add([]byte(tc.in))
	}
	for _, tc := range cleanCases {
		f.Add([]byte(tc.in))
	}
	for _, card := range []string{"4242424242424242", "378282246310005", "6205500000000000004", "4222222222222", "36227206271667", "2223003122003222"} {
		for _, g := range []string{card, grouped(card, " "), grouped(card, "-"), grouped(card, "+"), grouped(card, "%20")} {
			f.Add([]byte("pan " + g + " ok"))
			f.Add([]byte(`{"number":"` + g + `","cvc":"123"}`))
			f.Add([]byte(`{"number":` + g + `}`))
			f.Add([]byte("card_number=" + g + "&exp=12%2F34"))
		}
	}
	// Numbers that need card context, with it, without it, and after a redaction.
	for _, in := range []string{"card " + ctxUATP, "ref " + ctxUATP, "pan=" + ctxMaestro, "Karte 5018 0000 0009",
		"[card:visa:4242] " + ctxUATP, `{"cc":` + ctxGPN + `}`, "4242424242424242 cc " + ctxUATP} {
		f.Add([]byte(in))
	}
	f.Add([]byte("%B4242424242424242^LOVELACE/ADA^34121010000000000000?"))
	f.Add([]byte(";4242424242424242=34121010000000000?"))
	f.Add([]byte("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc 4242 4242 4242 4242"))
	f.Add([]byte("key sk_live_51HxAbCdEfGhIjKl, vault hvs.CAESIJlQ3J0ZXN0aW5nLXRva2Vu, ssn 123-45-6789"))
	f.Add([]byte("pay to DE89 3704 0044 0532 0130 00, routing number 021000021"))
	f.Fuzz(func(t *testing.T, in []byte) {
		keep := bytes.Clone(in)
		once := Text(in)
		if !bytes.Equal(in, keep) {
			t.Fatalf("Text modified its input")
		}
		if ContainsPAN(once) {
			t.Errorf("a card number survived: %q -> %q", masked(string(in)), masked(string(once)))
		}
		if twice := Text(once); !bytes.Equal(once, twice) {
			t.Errorf("not idempotent: %q -> %q -> %q", masked(string(in)), masked(string(once)), masked(string(twice)))
		}
	})
}
