package scrub

import "testing"

// refLuhn is an independent Luhn check, written from the definition, so that the fixtures
// below are known to be what their names say before they test the code.
func refLuhn(d string) bool {
	sum := 0
	for i := 0; i < len(d); i++ {
		n := int(d[len(d)-1-i] - '0')
		if i%2 == 1 {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return sum%10 == 0
}

// brandCase is one number with what BrandOf and IsPAN should say about it.
type brandCase struct {
	name   string
	number string
	brand  Brand // BrandOf's answer, "" when it has none
	luhn   bool  // the fixture passes Luhn
	pan    bool  // IsPAN's answer
}

var brandCases = []brandCase{
	{name: "visa 16", number: "4242424242424242", brand: Visa, luhn: true, pan: true},
	{name: "visa debit 16", number: "4000056655665556", brand: Visa, luhn: true, pan: true},
	{name: "visa 13", number: "4222222222222", brand: Visa, luhn: true, pan: true},
	{name: "visa 19", number: "4000000000000000006", brand: Visa, luhn: true, pan: true},
	{name: "mastercard 5-series", number: "5555555555554444", brand: Mastercard, luhn: true, pan: true},
	{name: "mastercard 2-series", number: "2223003122003222", brand: Mastercard, luhn: true, pan: true},
	{name: "mastercard debit", number: "5200828282828210", brand: Mastercard, luhn: true, pan: true},
	{name: "amex 37", number: "378282246310005", brand: Amex, luhn: true, pan: true},
	{name: "amex 37 second", number: "371449635398431", brand: Amex, luhn: true, pan: true},
	{name: "discover 6011", number: "6011111111111117", brand: Discover, luhn: true, pan: true},
	{name: "discover 6011 second", number: "6011000990139424", brand: Discover, luhn: true, pan: true},
	{name: "diners 16", number: "3056930009020004", brand: Diners, luhn: true, pan: true},
	{name: "diners 14", number: "36227206271667", brand: Diners, luhn: true, pan: true},
	{name: "jcb 16", number: "3566002020360505", brand: JCB, luhn: true, pan: true},
	{name: "unionpay 16", number: "6200000000000005", brand: UnionPay, luhn: true, pan: true},
	{name: "unionpay 19", number: "6205500000000000004", brand: UnionPay, luhn: true, pan: true},
	{name: "maestro 6759", number: "6759649826438453", brand: Maestro, luhn: true, pan: true},
	{name: "maestro 50", number: "5018000000000009", brand: Maestro, luhn: true, pan: true},
	{name: "maestro 12 digits", number: "501800000009", brand: Maestro, luhn: true, pan: true},
	{name: "maestro 6759 12 digits", number: "675900000000", brand: Maestro, luhn: true, pan: true},
	{name: "maestro uk 676770", number: "6767700000000005", brand: Maestro, luhn: true, pan: true},
	{name: "maestro uk 676774 12 digits", number: "676774000001", brand: Maestro, luhn: true, pan: true},
	{name: "mir 16", number: "2200000000000004", brand: Mir, luhn: true, pan: true},
	{name: "mir 19", number: "2204000000000000006", brand: Mir, luhn: true, pan: true},
	{name: "borica", number: "2205000000000009", brand: Borica, luhn: true, pan: true},
	{name: "rupay 60", number: "6000000000000007", brand: RuPay, luhn: true, pan: true},
	{name: "rupay 6521 over discover 65", number: "6521000000000007", brand: RuPay, luhn: true, pan: true},
	{name: "6521 at 17 digits is discover's", number: "65210000000000009", brand: Discover, luhn: true, pan: true},
	{name: "discover 6011 over rupay 60", number: "6011000000000004", brand: Discover, luhn: true, pan: true},
	{name: "rupay 82", number: "8200000000000001", brand: RuPay, luhn: true, pan: true},
	{name: "unionpay 81 over rupay 81", number: "8100000000000002", brand: UnionPay, luhn: true, pan: true},
	{name: "rupay 508 over maestro 50", number: "5085000000000007", brand: RuPay, luhn: true, pan: true},
	{name: "troy", number: "9792000000000003", brand: Troy, luhn: true, pan: true},
	{name: "uatp", number: "100000000000009", brand: UATP, luhn: true, pan: true},
	{name: "gpn 1946", number: "1946000000000005", brand: GPN, luhn: true, pan: true},
	{name: "gpn 61", number: "6100000000000006", brand: GPN, luhn: true, pan: true},
	{name: "gpn 63 18 digits", number: "630000000000000004", brand: GPN, luhn: true, pan: true},
	{name: "gpn 60 18 digits", number: "600000000000000007", brand: GPN, luhn: true, pan: true},
	{name: "interpayment", number: "6360000000000001", brand: InterPayment, luhn: true, pan: true},
	{name: "instapayment", number: "6370000000000009", brand: InstaPayment, luhn: true, pan: true},
	{name: "china t-union", number: "3100000000000000005", brand: ChinaTUnion, luhn: true, pan: true},
	{name: "verve 506099", number: "5060990000000008", brand: Verve, luhn: true, pan: true},
	{name: "verve 650002 over discover 65", number: "6500020000000000", brand: Verve, luhn: true, pan: true},
	{name: "verve 19", number: "5078650000000000004", brand: Verve, luhn: true, pan: true},
	{name: "dankort", number: "5019000000000008", brand: Dankort, luhn: true, pan: true},
	{name: "ukrcard", number: "6040010000000008", brand: UkrCard, luhn: true, pan: true},
	{name: "nps pridnestrovie", number: "6054740000000003", brand: NPSPridnestrovie, luhn: true, pan: true},
	{name: "lankapay over jcb", number: "3571110000000000", brand: LankaPay, luhn: true, pan: true},
	{name: "uzcard 8600", number: "8600000000000007", brand: UzCard, luhn: true, pan: true},
	{name: "uzcard 5614 over maestro 56", number: "5614000000000007", brand: UzCard, luhn: true, pan: true},
	{name: "humo", number: "9860000000000000", brand: Humo, luhn: true, pan: true},
	{name: "napas 16", number: "9704000000000000", brand: Napas, luhn: true, pan: true},
	{name: "napas 19", number: "9704000000000000008", brand: Napas, luhn: true, pan: true},
	{name: "afrigo", number: "564456000000000004", brand: AfriGo, luhn: true, pan: true},

	{name: "visa luhn off by one", number: "4242424242424241", brand: Visa, luhn: false, pan: false},
	{name: "mastercard luhn off by one", number: "5555555555554445", brand: Mastercard, luhn: false, pan: false},
	{name: "amex luhn off by one", number: "378282246310006", brand: Amex, luhn: false, pan: false},

	{name: "visa 15 digits", number: "424242424242424", brand: "", luhn: true, pan: false},
	{name: "visa 17 digits", number: "40000000000000006", brand: "", luhn: true, pan: false},
	{name: "visa 18 digits", number: "424242424242424242", brand: "", luhn: true, pan: false},
	{name: "mastercard 17 digits", number: "55555555555555552", brand: "", luhn: true, pan: false},
	{name: "amex 16 digits", number: "3782822463100052", brand: "", luhn: true, pan: false},
	{name: "jcb 14 digits", number: "35660020203600", brand: "", luhn: true, pan: false},
	{name: "diners 13 digits", number: "3622720627163", brand: "", luhn: true, pan: false},
	{name: "visa 12 digits", number: "424242424242", brand: "", luhn: true, pan: false},
	{name: "uatp 16 digits", number: "1000000000000008", brand: "", luhn: true, pan: false},
	{name: "mir 15 digits", number: "220000000000004", brand: "", luhn: true, pan: false},
	{name: "rupay 60 17 digits", number: "60000000000000004", brand: "", luhn: true, pan: false},
	{name: "maestro 11 digits", number: "50180000007", brand: "", luhn: true, pan: false},
	{name: "visa 20 digits", number: "40000000000000000002", brand: "", luhn: true, pan: false},

	{name: "unknown issuer 9", number: "9111111111111110", brand: "", luhn: true, pan: false},
	{name: "unknown issuer 1 timestamp", number: "1732800000000", brand: "", luhn: false, pan: false},
	{name: "unknown issuer 7", number: "7000000000000007", brand: "", luhn: false, pan: false},
}

func TestFixturesLuhn(t *testing.T) {
	for _, tc := range brandCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := refLuhn(tc.number); got != tc.luhn {
				t.Fatalf("fixture ending %s: reference Luhn = %v, fixture says %v", tc.number[len(tc.number)-4:], got, tc.luhn)
			}
			if got := Luhn(tc.number); got != tc.luhn {
				t.Errorf("Luhn(…%s) = %v, want %v", tc.number[len(tc.number)-4:], got, tc.luhn)
			}
			if got := Luhn([]byte(tc.number)); got != tc.luhn {
				t.Errorf("Luhn([]byte …%s) = %v, want %v", tc.number[len(tc.number)-4:], got, tc.luhn)
			}
		})
	}
}

func TestBrandOf(t *testing.T) {
	for _, tc := range brandCases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := BrandOf(tc.number)
			if got != tc.brand || ok != (tc.brand != "") {
				t.Errorf("BrandOf(…%s) = %q, %v; want %q, %v", tc.number[len(tc.number)-4:], got, ok, tc.brand, tc.brand != "")
			}
		})
	}
}

func TestBrandOfRefusesNonDigits(t *testing.T) {
	for _, tc := range []struct {
		name  string
		input string
	}{
		{name: "empty", input: ""},
		{name: "letters", input: "4242abcd42424242"},
		{name: "spaces", input: "4242 4242 4242 4242"},
		{name: "dashes", input: "4242-4242-4242-4242"},
		{name: "sign", input: "+4242424242424242"},
		{name: "arabic-indic digits", input: "٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if b, ok := BrandOf(tc.input); ok || b != "" {
				t.Errorf("BrandOf = %q, %v; want \"\", false", b, ok)
			}
		})
	}
}

func TestIsPAN(t *testing.T) {
	for _, tc := range brandCases {
		t.Run(tc.name, func(t *testing.T) {
			wantBrand := Brand("")
			if tc.pan {
				wantBrand = tc.brand
			}
			got, ok := IsPAN(tc.number)
			if ok != tc.pan || got != wantBrand {
				t.Errorf("IsPAN(…%s) = %q, %v; want %q, %v", tc.number[len(tc.number)-4:], got, ok, wantBrand, tc.pan)
			}
			gotB, okB := IsPAN([]byte(tc.number))
			if okB != ok || gotB != got {
				t.Errorf("IsPAN([]byte) = %q, %v; string form said %q, %v", gotB, okB, got, ok)
			}
		})
	}
}

func TestBrandPrefix(t *testing.T) {
	for _, tc := range []struct {
		name   string
		digits string
		brand  Brand
		ok     bool
	}{
		{name: "visa one digit", digits: "4", brand: Visa, ok: true},
		{name: "visa 15 digits still visa", digits: "424242424242424", brand: Visa, ok: true},
		{name: "amex prefix", digits: "37", brand: Amex, ok: true},
		{name: "amex 16 digits still amex", digits: "3782822463100052", brand: Amex, ok: true},
		{name: "mastercard 2-series prefix", digits: "2221", brand: Mastercard, ok: true},
		{name: "mastercard 2-series top", digits: "2720", brand: Mastercard, ok: true},
		{name: "just above mastercard 2-series", digits: "2721", ok: false},
		{name: "discover 65", digits: "65", brand: Discover, ok: true},
		{name: "jcb 3528", digits: "3528", brand: JCB, ok: true},
		{name: "unionpay 62", digits: "62", brand: UnionPay, ok: true},
		{name: "diners 36", digits: "36", brand: Diners, ok: true},
		{name: "maestro 6759", digits: "6759", brand: Maestro, ok: true},
		{name: "3 alone is ambiguous", digits: "3", ok: false},
		{name: "unknown 9", digits: "9111111111111110", ok: false},
		{name: "1 is uatp's prefix", digits: "1732800000000", brand: UATP, ok: true},
		{name: "gpn 1946 over uatp 1", digits: "1946", brand: GPN, ok: true},
		{name: "mir", digits: "2201", brand: Mir, ok: true},
		{name: "rupay 60", digits: "60", brand: RuPay, ok: true},
		{name: "discover 6011 over rupay 60", digits: "6011", brand: Discover, ok: true},
		{name: "rupay 6522 over discover 65", digits: "6522", brand: RuPay, ok: true},
		{name: "troy", digits: "9792", brand: Troy, ok: true},
		{name: "maestro uk", digits: "676774", brand: Maestro, ok: true},
		{name: "6767 alone is no range", digits: "6767", ok: false},
		{name: "ukrcard needs eight digits", digits: "6040010", brand: RuPay, ok: true},
		{name: "ukrcard", digits: "60400100", brand: UkrCard, ok: true},
		{name: "letters", digits: "22x0", ok: false},
		{name: "empty", digits: "", ok: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := BrandPrefix(tc.digits)
			if got != tc.brand || ok != tc.ok {
				t.Errorf("BrandPrefix(%q) = %q, %v; want %q, %v", tc.digits, got, ok, tc.brand, tc.ok)
			}
		})
	}
}

func TestCVCLength(t *testing.T) {
	for _, tc := range []struct {
		name  string
		brand Brand
		want  int
	}{
		{name: "amex", brand: Amex, want: 4},
		{name: "visa", brand: Visa, want: 3},
		{name: "mastercard", brand: Mastercard, want: 3},
		{name: "discover", brand: Discover, want: 3},
		{name: "jcb", brand: JCB, want: 3},
		{name: "diners", brand: Diners, want: 3},
		{name: "unionpay", brand: UnionPay, want: 3},
		{name: "maestro", brand: Maestro, want: 3},
		{name: "mir", brand: Mir, want: 3},
		{name: "uatp", brand: UATP, want: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := CVCLength(tc.brand); got != tc.want {
				t.Errorf("CVCLength(%q) = %d, want %d", tc.brand, got, tc.want)
			}
		})
	}
}

func TestBrandNames(t *testing.T) {
	// The names are Stripe's; the billing app compares them with what Stripe returns.
	for _, tc := range []struct {
		name  string
		brand Brand
		want  string
	}{
		{name: "visa", brand: Visa, want: "visa"},
		{name: "mastercard", brand: Mastercard, want: "mastercard"},
		{name: "amex", brand: Amex, want: "amex"},
		{name: "discover", brand: Discover, want: "discover"},
		{name: "jcb", brand: JCB, want: "jcb"},
		{name: "diners", brand: Diners, want: "diners"},
		{name: "unionpay", brand: UnionPay, want: "unionpay"},
		{name: "maestro", brand: Maestro, want: "maestro"},
		{name: "mir", brand: Mir, want: "mir"},
		{name: "rupay", brand: RuPay, want: "rupay"},
		{name: "uatp", brand: UATP, want: "uatp"},
		{name: "china t-union", brand: ChinaTUnion, want: "china_t_union"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if string(tc.brand) != tc.want {
				t.Errorf("brand constant = %q, want %q", tc.brand, tc.want)
			}
		})
	}
}
