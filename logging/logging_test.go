package logging

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/tokenwall/tokenwall/scrub"
)

func TestLoggerRedactsWhateverReachesIt(t *testing.T) {
	var out bytes.Buffer
	s := scrub.New(scrub.Options{ExtraKeys: []scrub.KeyRule{{Name: "loyalty_pin", Kind: scrub.KindPIN}}})
	lg, err := NewLogger(&out, "info", s)
	if err != nil {
		t.Fatal(err)
	}
	lg.Info().Str("note", "paid with 4242 4242 4242 4242").Str("card_cvc", "123").Str("loyalty_pin", "4711").
		Str("iban", "DE89370400440532013000").Msg("mistake")
	lg.Error().AnErr("error", errors.New("gateway said: card 4242424242424242 declined")).Msg("failure")
	got := out.String()
	for _, leak := range []string{"4242 4242 4242 4242", "4242424242424242", `"card_cvc":"123"`, "4711", "DE89370400440532013000"} {
		if strings.Contains(got, leak) {
			t.Errorf("log holds %q", leak)
		}
	}
	for _, want := range []string{"[card:visa:4242]", "[redacted:cvc]", "[redacted:pin]", "[redacted:iban]"} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %s:\n%s", want, got)
		}
	}
}

func TestScrubErrorMarshaller(t *testing.T) {
	got := ErrorMarshaller(errors.New("card 4242424242424242 and key sk_live_abcdefgh1234"))
	if s, _ := got.(string); strings.Contains(s, "4242424242424242") || strings.Contains(s, "sk_live_abcdefgh1234") {
		t.Fatalf("error string not scrubbed: %v", got)
	}
	if ErrorMarshaller(nil) != nil {
		t.Fatal("nil error must stay nil")
	}
}

func TestBadLogLevel(t *testing.T) {
	if _, err := NewLogger(&bytes.Buffer{}, "loud", nil); err == nil || !strings.Contains(err.Error(), "loud") {
		t.Fatalf("err = %v", err)
	}
}

// TestNewLoggerInstallsErrorMarshaller: once a logger is made here (or Setup ran, as main
// does), an error logged by any zerolog logger, even one without the scrub writer, has its
// text scrubbed.
func TestNewLoggerInstallsErrorMarshaller(t *testing.T) {
	Setup()
	if _, err := NewLogger(&bytes.Buffer{}, "info", nil); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	lg := zerolog.New(&out)
	lg.Error().Err(errors.New("declined: 4242424242424242")).Msg("x")
	if strings.Contains(out.String(), "4242424242424242") || !strings.Contains(out.String(), "[card:visa:4242]") {
		t.Fatalf("error not scrubbed by the marshaller: %s", out.String())
	}
}
