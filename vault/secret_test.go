package vault

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

const secretValue = "sk_test_51HhX9vQ2eZvKYlo2C0ffeeBadC0de"

func testSecret() Secret { return NewSecret(SecretStripeKey, []byte(secretValue), 7) }

// leaks reports whether out shows the secret's value, as text or as its bytes in decimal.
func leaks(out string) bool {
	return strings.Contains(out, secretValue) || strings.Contains(out, fmt.Sprint([]byte(secretValue)))
}

func TestSecretFormatsMask(t *testing.T) {
	s := testSecret()
	for _, tc := range []struct {
		name   string
		format string
		arg    any
		mask   bool // the output shows the mask
	}{
		{name: "s", format: "%s", arg: s, mask: true},
		{name: "v", format: "%v", arg: s, mask: true},
		{name: "plus v", format: "%+v", arg: s, mask: true},
		{name: "sharp v", format: "%#v", arg: s, mask: true},
		{name: "q", format: "%q", arg: s, mask: true},
		{name: "pointer v", format: "%v", arg: &s, mask: true},
		{name: "pointer plus v", format: "%+v", arg: &s, mask: true},
		{name: "in a struct plus v", format: "%+v", arg: struct{ Key Secret }{s}, mask: true},
		{name: "in a struct sharp v", format: "%#v", arg: struct{ Key Secret }{s}, mask: true},
		{name: "in a map", format: "%v", arg: map[string]Secret{"k": s}, mask: true},
		{name: "x", format: "%x", arg: s},
		{name: "d", format: "%d", arg: s},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := fmt.Sprintf(tc.format, tc.arg)
			if leaks(out) {
				t.Errorf("%s output shows the secret value", tc.format)
			}
			if tc.mask && !strings.Contains(out, "secret(stripe_key v7 ********)") {
				t.Errorf("%s output = %q, want the mask", tc.format, out)
			}
		})
	}
}

func TestSecretJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
	}{
		{name: "value", v: testSecret()},
		{name: "pointer", v: func() *Secret { s := testSecret(); return &s }()},
		{name: "struct field", v: struct {
			Key Secret `json:"key"`
		}{testSecret()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := json.Marshal(tc.v)
			if err != nil {
				t.Fatalf("json.Marshal: %v", err)
			}
			if leaks(string(out)) {
				t.Errorf("JSON shows the secret value")
			}
			if !bytes.Contains(out, []byte(`"secret(stripe_key v7 ********)"`)) {
				t.Errorf("JSON = %s, want the mask as a string", out)
			}
		})
	}
}

// MarshalJSON must produce valid JSON whatever the name holds.
func TestSecretJSONEscapesName(t *testing.T) {
	for _, tc := range []struct {
		name       string
		secretName string
	}{
		{name: "quote", secretName: `stripe"key`},
		{name: "backslash", secretName: `stripe\key`},
		{name: "newline", secretName: "stripe\nkey"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := json.Marshal(NewSecret(tc.secretName, []byte(secretValue), 1))
			if err != nil {
				t.Fatalf("json.Marshal: %v", err)
			}
			var back string
			if err := json.Unmarshal(out, &back); err != nil {
				t.Fatalf("output is not a JSON string: %v", err)
			}
			if !strings.Contains(back, tc.secretName) || leaks(back) {
				t.Errorf("decoded %q, want the name and the mask", back)
			}
		})
	}
}

func TestSecretZerolog(t *testing.T) {
	type holder struct {
		Key  Secret `json:"key"`
		Note string `json:"note"`
	}
	for _, tc := range []struct {
		name string
		log  func(l zerolog.Logger)
		want string // a fragment the line must hold
	}{
		{name: "Object", log: func(l zerolog.Logger) { l.Info().Object("secret", testSecret()).Msg("loaded") }, want: `"secret":{"name":"stripe_key","version":7,"value":"********"}`},
		{name: "Interface", log: func(l zerolog.Logger) { l.Info().Interface("secret", testSecret()).Msg("loaded") }, want: `"value":"********"`},
		{name: "Any", log: func(l zerolog.Logger) { l.Info().Any("secret", testSecret()).Msg("loaded") }, want: `"value":"********"`},
		{name: "Any struct field", log: func(l zerolog.Logger) { l.Info().Any("cfg", holder{Key: testSecret(), Note: "n"}).Msg("loaded") }, want: `"key":"secret(stripe_key v7 ********)"`},
		{name: "Stringer", log: func(l zerolog.Logger) { l.Info().Stringer("secret", testSecret()).Msg("loaded") }, want: `"secret":"secret(stripe_key v7 ********)"`},
		{name: "Msgf v", log: func(l zerolog.Logger) { l.Info().Msgf("loaded %v", testSecret()) }, want: `loaded secret(stripe_key v7 ********)`},
		{name: "EmbedObject", log: func(l zerolog.Logger) { l.Info().EmbedObject(testSecret()).Msg("loaded") }, want: `"value":"********"`},
		{name: "logger context", log: func(l zerolog.Logger) {
			ll := l.With().Object("secret", testSecret()).Logger()
			ll.Info().Msg("loaded")
		}, want: `"value":"********"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			tc.log(zerolog.New(&buf))
			out := buf.String()
			if leaks(out) {
				t.Errorf("log line shows the secret value")
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("log line = %s, want it to hold %s", out, tc.want)
			}
		})
	}
}

func TestSecretAccessors(t *testing.T) {
	s := testSecret()
	if got := string(s.Reveal()); got != secretValue {
		t.Errorf("Reveal returned a different value (%d bytes, want %d)", len(got), len(secretValue))
	}
	if s.Name() != SecretStripeKey || s.Version() != 7 {
		t.Errorf("Name, Version = %q, %d; want %q, 7", s.Name(), s.Version(), SecretStripeKey)
	}
	if !s.Created().IsZero() {
		t.Errorf("Created = %v, want zero for NewSecret", s.Created())
	}
	for _, tc := range []struct {
		name string
		s    Secret
		zero bool
	}{
		{name: "with value", s: s, zero: false},
		{name: "zero value", s: Secret{}, zero: true},
		{name: "empty value", s: NewSecret("x", nil, 1), zero: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.IsZero(); got != tc.zero {
				t.Errorf("IsZero = %v, want %v", got, tc.zero)
			}
		})
	}
}
