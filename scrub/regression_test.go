package scrub

import (
	"strings"
	"testing"
)

// TestSecretBeforeDigitsDoesNotHideACard: a bearer token or Vault token ending inside a run of
// digit groups must not hide a card number later in that run (a leak found by fuzzing).
func TestSecretBeforeDigitsDoesNotHideACard(t *testing.T) {
	cases := []struct{ name, in string }{
		{name: "bearer then card groups", in: "Bearer x424242424242 4242 4242 4242 4242"},
		{name: "vault token then card", in: "hvb.00000000000a000aa000 4242 4242 4242 4242"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := Text([]byte(tc.in))
			if ContainsPAN(out) || strings.Contains(string(out), "4242 4242 4242 4242") {
				t.Fatal("a card number survived Text")
			}
			if again := Text(out); string(again) != string(out) {
				t.Fatal("Text is not idempotent here")
			}
		})
	}
}

// TestLongestKeyRuleWins: when two suffix rules match a key, the longer (more specific) one
// decides, every time (it depended on map order before).
func TestLongestKeyRuleWins(t *testing.T) {
	for range 50 {
		s := New(Options{})
		kind, ok := s.KeyKind("billing_primary_account_number")
		if !ok || kind != KindCard {
			t.Fatalf("KeyKind = %q, %v; want card", kind, ok)
		}
		if got := string(s.Text([]byte(`{"billing_primary_account_number":"000123456789"}`))); strings.Contains(got, "000123456789") {
			t.Fatalf("value left in clear: %s", got)
		}
	}
}

// TestHexStringsAreNotCards: digit runs inside hashes, UUIDs and request ids are not card
// numbers (false positives that made the audit trail refuse a request id), while a card glued
// to ordinary letters still is.
func TestHexStringsAreNotCards(t *testing.T) {
	for _, in := range []string{
		"request_id 01552e07dcb93f6f4464006545762f62",
		"id 0b1b6d2c-3ed0-4651-9197-25272715cd55",
		`\x5e5bfd4464006545762f62aa`,
		"sha 0x4464006545762fa2",
	} {
		if got := string(Text([]byte(in))); got != in {
			t.Errorf("Text(%q) = %q, want it unchanged", in, got)
		}
	}
	for _, in := range []string{"card4242424242424242", "pan=4242424242424242&x=1", "x%3A4242424242424242"} {
		if !ContainsPAN(Text([]byte(in))) && !strings.Contains(string(Text([]byte(in))), "[card:visa:4242]") {
			t.Errorf("a card was missed in a %d-byte input", len(in))
		}
	}
}

// TestHexIsNotARoutingNumber: hex that spells "aba" before nine digits with a valid ABA
// checksum is a hash, not a routing number (a false positive seen in a pg_dump).
func TestHexIsNotARoutingNumber(t *testing.T) {
	in := `\x3aabaed021000021c7e8f`
	if got := string(Text([]byte(in))); got != in {
		t.Fatalf("Text(%q) = %q, want it unchanged", in, got)
	}
	if got := string(Text([]byte("routing number 021000021 ok"))); got != "routing number [redacted:routing_number] ok" {
		t.Fatalf("a real routing number was missed: %q", got)
	}
}

// TestCardsAfterAnEscapedSpace: a card whose digits follow a URL-escaped space ("%20") was
// read with the escape's "20" in front of it and missed, and in a chain of such cards every
// other one survived (a raw query or path logged as sent). Every card is masked now, its
// groups joined by "%20" or not, and the escape is left as it was.
func TestCardsAfterAnEscapedSpace(t *testing.T) {
	cards := []string{"4242424242424242", "4000056655665556", "5555555555554444", "378282246310005", "6011111111111117"}
	for _, grouped := range []bool{false, true} {
		var b strings.Builder
		b.WriteString("q=foo")
		for _, c := range cards {
			b.WriteString("%20")
			if !grouped {
				b.WriteString(c)
				continue
			}
			for i := 0; i < len(c); i += 4 {
				if i > 0 {
					b.WriteString("%20")
				}
				b.WriteString(c[i:min(i+4, len(c))])
			}
		}
		in := b.String()
		out := string(Text([]byte(in)))
		if n := strings.Count(out, "[card:"); n != len(cards) {
			t.Errorf("grouped=%v: %d of %d cards masked: %q", grouped, n, len(cards), out)
		}
		if !strings.HasPrefix(out, "q=foo%20[card:") || !ContainsPAN([]byte(in)) {
			t.Errorf("grouped=%v: %q (ContainsPAN %v)", grouped, out, ContainsPAN([]byte(in)))
		}
	}
	if out := string(Text([]byte("GET /a%2020240101%20b"))); out != "GET /a%2020240101%20b" {
		t.Errorf("a date after an escaped space changed: %q", out)
	}
}
