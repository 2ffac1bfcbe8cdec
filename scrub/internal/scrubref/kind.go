package scrubref

// Kind names what a finding is. Redaction writes it: "[redacted:cvc]".
type Kind string

// The kinds of sensitive data scrub finds.
const (
	KindCard          Kind = "card"
	KindCVC           Kind = "cvc"
	KindExpiry        Kind = "expiry"
	KindPIN           Kind = "pin"
	KindTrack         Kind = "track"
	KindSSN           Kind = "ssn"
	KindIBAN          Kind = "iban"
	KindAccount       Kind = "account_number"
	KindRouting       Kind = "routing_number"
	KindPassword      Kind = "password"
	KindSecret        Kind = "secret"
	KindAPIKey        Kind = "api_key"
	KindToken         Kind = "token"
	KindAuthorization Kind = "authorization"
	KindCookie        Kind = "cookie"
)

// Finding is one piece of sensitive data in a text: its kind and where it is. For a card,
// Brand and Last4 say which (Last4 and First6 never hold more, PCI DSS 3.4.1).
type Finding struct {
	Kind       Kind
	Start, End int // byte offsets into the scanned text
	Brand      Brand
	First6     string
	Last4      string
	// quote: the value was a bare JSON value (a number); its redaction is written as a JSON
	// string so the line stays valid JSON.
	quote bool
}

// Kinds lists every kind, for configuration that names one.
func Kinds() []Kind {
	return []Kind{KindCard, KindCVC, KindExpiry, KindPIN, KindTrack, KindSSN, KindIBAN, KindAccount,
		KindRouting, KindPassword, KindSecret, KindAPIKey, KindToken, KindAuthorization, KindCookie}
}

// ParseKind returns the Kind named s.
func ParseKind(s string) (Kind, bool) {
	for _, k := range Kinds() {
		if string(k) == s {
			return k, true
		}
	}
	return "", false
}
