package scrub

import (
	"bytes"
	"strings"
	"testing"
)

// Numbers that need card context (cardcontext.go), all Luhn-valid.
const (
	ctxUATP    = "100000000000009"  // UATP, 15 digits
	ctxMaestro = "501800000009"     // Maestro, 12 digits
	ctxGPN     = "1946000000000005" // GPN's 1946, 16 digits
)

// TestCardContextText names where a number that needs card context is taken and where it is
// not. want is the scrubbed text; every case is also scrubbed twice (idempotence) and asked
// of ContainsPAN.
func TestCardContextText(t *testing.T) {
	uatp, maestro, gpn := "[card:uatp:0009]", "[card:maestro:0009]", "[card:gpn:0005]"
	for _, tc := range []struct {
		name, in, want string
	}{
		{name: "uatp after card", in: "card " + ctxUATP + " ok", want: "card " + uatp + " ok"},
		{name: "uatp alone", in: "booking " + ctxUATP + " ok", want: "booking " + ctxUATP + " ok"},
		{name: "uatp grouped after card", in: "card 1000 000000 00009", want: "card " + uatp},
		{name: "uatp under pan key", in: "pan=" + ctxUATP, want: "pan=" + uatp},
		{name: "uatp under quoted card key", in: `{"card_number": "1000 000000 00009"}`, want: `{"card_number": "` + uatp + `"}`},
		{name: "uatp under card key with no card word", in: "primary_account_number=" + ctxUATP, want: "primary_account_number=" + uatp},
		{name: "uatp bare json under pan", in: `{"pan":` + ctxUATP + `}`, want: `{"pan":"` + uatp + `"}`},
		{name: "uatp after the word uatp", in: "UATP " + ctxUATP, want: "UATP " + uatp},
		{name: "maestro 12 after karte", in: "Kreditkarte: " + ctxMaestro, want: "Kreditkarte: " + maestro},
		{name: "maestro 12 after tarjeta", in: "tarjeta nº " + ctxMaestro, want: "tarjeta nº " + maestro},
		{name: "maestro 12 after carte", in: "Carte " + ctxMaestro, want: "Carte " + maestro},
		{name: "maestro 12 grouped after card", in: "card 5018 0000 0009", want: "card " + maestro},
		{name: "maestro 12 alone", in: "ticket " + ctxMaestro + " closed", want: "ticket " + ctxMaestro + " closed"},
		{name: "gpn 1946 after cc", in: "CC " + ctxGPN, want: "CC " + gpn},
		{name: "gpn 1946 alone", in: `{"tweet":` + ctxGPN + `}`, want: `{"tweet":` + ctxGPN + `}`},
		{name: "cc before num", in: "ccNum=" + ctxUATP, want: "ccNum=" + uatp},
		{name: "cc camel case", in: "ccValue " + ctxUATP, want: "ccValue " + uatp},
		{name: "pan upper case", in: "PAN: " + ctxUATP, want: "PAN: " + uatp},
		{name: "cc inside account", in: "account " + ctxUATP, want: "account " + ctxUATP},
		{name: "pan inside japan", in: "japan " + ctxUATP, want: "japan " + ctxUATP},
		{name: "pan inside panel", in: "PANEL " + ctxUATP, want: "PANEL " + ctxUATP},
		{name: "card word 32 bytes before", in: "card" + strings.Repeat(" ", 28) + ctxUATP, want: "card" + strings.Repeat(" ", 28) + uatp},
		{name: "card word 33 bytes before", in: "card" + strings.Repeat(" ", 29) + ctxUATP, want: "card" + strings.Repeat(" ", 29) + ctxUATP},
		{name: "a redaction is no card word", in: "[card:visa:4242] " + ctxUATP, want: "[card:visa:4242] " + ctxUATP},
		{name: "redacted card is no card word", in: "x=[redacted:card] " + ctxUATP, want: "x=[redacted:card] " + ctxUATP},
		{name: "no context from inside a finding", in: "card 4242424242424242 " + ctxUATP, want: "card [card:visa:4242] " + ctxUATP},
		{name: "other numbers need none", in: "ref 2200000000000004", want: "ref [card:mir:0004]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := string(Text([]byte(tc.in)))
			if got != tc.want {
				t.Fatalf("Text(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if again := string(Text([]byte(got))); again != got {
				t.Errorf("not idempotent: %q then %q", got, again)
			}
			if want := tc.want != tc.in && strings.Contains(tc.want, "[card:"); ContainsPAN([]byte(tc.in)) != want {
				t.Errorf("ContainsPAN(%q) = %v, want %v", tc.in, !want, want)
			}
		})
	}
}

// TestCardContextStructured: JSON, Form and URL judge a value by the output written before
// it, so they take a number exactly where a text scan of their output would.
func TestCardContextStructured(t *testing.T) {
	s := Default()
	json := func(in string) string {
		out, err := s.JSONBytes([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	for _, tc := range []struct {
		name, got, want string
	}{
		{name: "json key card", got: json(`{"card":"` + ctxUATP + `"}`), want: `{"card":"[card:uatp:0009]"}`},
		{name: "json key cc, bare number", got: json(`{"cc":` + ctxUATP + `}`), want: `{"cc":"[card:uatp:0009]"}`},
		{name: "json key pan", got: json(`{"pan":"` + ctxMaestro + `"}`), want: `{"pan":"[card:maestro:0009]"}`},
		{name: "json word in an earlier value", got: json(`["card",` + ctxUATP + `]`), want: `["card","[card:uatp:0009]"]`},
		{name: "json no context", got: json(`{"id":` + ctxUATP + `,"ref":"` + ctxGPN + `"}`), want: `{"id":` + ctxUATP + `,"ref":"` + ctxGPN + `"}`},
		{name: "form key card", got: s.Form("card=" + ctxUATP), want: "card=%5Bcard%3Auatp%3A0009%5D"},
		{name: "form word in an earlier pair", got: s.Form("note=card&x=" + ctxUATP), want: "note=card&x=%5Bcard%3Auatp%3A0009%5D"},
		{name: "form no context", got: s.Form("booking=" + ctxUATP), want: "booking=" + ctxUATP},
		{name: "url query", got: s.URL("/pay?card=" + ctxMaestro), want: "/pay?card=%5Bcard%3Amaestro%3A0009%5D"},
		{name: "url path after card segment", got: s.URL("/card/" + ctxUATP), want: "/card/%5Bcard%3Auatp%3A0009%5D"},
		{name: "url no context", got: s.URL("/orders/" + ctxUATP), want: "/orders/" + ctxUATP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
			if panIn([]byte(tc.got)) {
				t.Errorf("a text scan of %q finds a card", tc.got)
			}
		})
	}
}

// TestCardContextScanReader: the stream scanner sees the context of a number at the start of
// a buffer, carried from the previous one.
func TestCardContextScanReader(t *testing.T) {
	in := strings.Repeat("x", 100) + " card " + ctxUATP + "\n"
	var found []Finding
	err := Default().scanReader(strings.NewReader(in), func(_ int64, f Finding) error {
		found = append(found, f)
		return nil
	}, streamSizes{chunk: 112, overlap: 8, context: 64})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].Brand != UATP {
		t.Errorf("findings %+v, want one uatp card", found)
	}
	if !bytes.Contains(Text([]byte(in)), []byte("[card:uatp:0009]")) {
		t.Error("Text missed it")
	}
}
