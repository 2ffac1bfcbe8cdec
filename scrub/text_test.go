package scrub

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// masked returns s with every run of twelve or more digits (single spaces, dashes or pluses
// allowed between them) cut to its last four, so a failure message never prints a card
// number even when the code under test failed to hide one. It does not use the package.
func masked(s string) string {
	b := []byte(s)
	digit := func(c byte) bool { return c >= '0' && c <= '9' }
	for i := 0; i < len(b); {
		if !digit(b[i]) {
			i++
			continue
		}
		j, n := i, 0
		for j < len(b) && (digit(b[j]) || ((b[j] == ' ' || b[j] == '-' || b[j] == '+') && j+1 < len(b) && digit(b[j+1]))) {
			if digit(b[j]) {
				n++
			}
			j++
		}
		if n >= 12 {
			seen := 0
			for k := j - 1; k >= i; k-- {
				if digit(b[k]) {
					if seen++; seen > 4 {
						b[k] = '*'
					}
				}
			}
		}
		i = j
	}
	return string(b)
}

func TestMasked(t *testing.T) {
	// The helper that guards failure messages must itself hide numbers.
	for _, tc := range []struct {
		name, in, want string
	}{
		{name: "plain", in: "x 4242424242424242 y", want: "x ************4242 y"},
		{name: "grouped", in: "4242 4242-4242+4242", want: "**** ****-****+4242"},
		{name: "short run kept", in: "order 12345", want: "order 12345"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := masked(tc.in); got != tc.want {
				t.Errorf("masked = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMask(t *testing.T) {
	for _, tc := range []struct {
		name   string
		brand  Brand
		digits string
		want   string
	}{
		{name: "visa", brand: Visa, digits: "4242424242424242", want: "[card:visa:4242]"},
		{name: "amex", brand: Amex, digits: "378282246310005", want: "[card:amex:0005]"},
		{name: "unionpay 19", brand: UnionPay, digits: "6205500000000000004", want: "[card:unionpay:0004]"},
		{name: "diners 14", brand: Diners, digits: "36227206271667", want: "[card:diners:1667]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(Mask(tc.brand, []byte(tc.digits))); got != tc.want {
				t.Errorf("Mask = %q, want %q", masked(got), tc.want)
			}
		})
	}
}

// textCases are inputs holding card numbers, with the exact scrubbed output.
var textCases = []struct {
	name string
	in   string
	want string
}{
	{name: "plain visa", in: "4242424242424242", want: "[card:visa:4242]"},
	{name: "plain in words", in: "pan 4242424242424242 end", want: "pan [card:visa:4242] end"},
	{name: "grouped spaces", in: "card 4242 4242 4242 4242 ok", want: "card [card:visa:4242] ok"},
	{name: "grouped dashes", in: "card 5555-5555-5555-4444 ok", want: "card [card:mastercard:4444] ok"},
	{name: "grouped mixed separators", in: "2223-0031 2200-3222", want: "[card:mastercard:3222]"},
	{name: "amex 4-6-5", in: "amex 3782 822463 10005", want: "amex [card:amex:0005]"},
	{name: "amex plain", in: "371449635398431", want: "[card:amex:8431]"},
	{name: "diners 4-6-4", in: "3622 720627 1667", want: "[card:diners:1667]"},
	{name: "visa 19 as 4-4-4-4-3", in: "4000 0000 0000 0000 006", want: "[card:visa:0006]"},
	{name: "unionpay 19 as 4-4-4-4-3", in: "6205 5000 0000 0000 004", want: "[card:unionpay:0004]"},
	{name: "visa 13", in: "n=4222222222222", want: "n=[card:visa:2222]"},
	{name: "discover", in: "6011111111111117", want: "[card:discover:1117]"},
	{name: "discover second", in: "6011-0009-9013-9424", want: "[card:discover:9424]"},
	{name: "jcb", in: "3566 0020 2036 0505", want: "[card:jcb:0505]"},
	{name: "diners 16", in: "3056930009020004", want: "[card:diners:0004]"},
	{name: "unionpay 16", in: "6200000000000005", want: "[card:unionpay:0005]"},
	{name: "mastercard debit", in: "5200828282828210", want: "[card:mastercard:8210]"},
	{name: "visa debit", in: "4000056655665556", want: "[card:visa:5556]"},
	{name: "json string", in: `{"number":"4242424242424242","cvc":"123"}`, want: `{"number":"[card:visa:4242]","cvc":"[redacted:cvc]"}`},
	{name: "json number", in: `{"number":4242424242424242,"amount":1999}`, want: `{"number":"[card:visa:4242]","amount":1999}`},
	{name: "sentence", in: "Customer wrote: my card is 6011111111111117, please charge it.", want: "Customer wrote: my card is [card:discover:1117], please charge it."},
	{name: "glued to letters", in: "card:4242424242424242;cvc", want: "card:[card:visa:4242];cvc"},
	{name: "two cards in one line", in: "a 4242424242424242 b 5555555555554444 c", want: "a [card:visa:4242] b [card:mastercard:4444] c"},
	{name: "two cards one space apart", in: "4242424242424242 5555555555554444", want: "[card:visa:4242] [card:mastercard:4444]"},
	{name: "two grouped cards one space apart", in: "4242 4242 4242 4242 5555 5555 5555 4444", want: "[card:visa:4242] [card:mastercard:4444]"},
	{name: "after an order number", in: "order 12345 4242 4242 4242 4242", want: "order 12345 [card:visa:4242]"},
	{name: "after a date", in: "2026-11-28 4242424242424242", want: "2026-11-28 [card:visa:4242]"},
	{name: "two lines", in: "4242424242424242\n378282246310005\n", want: "[card:visa:4242]\n[card:amex:0005]\n"},
}

// cleanCases hold digits that are not card numbers; Text must leave them alone.
var cleanCases = []struct {
	name string
	in   string
}{
	{name: "empty", in: ""},
	{name: "no digits", in: "hello world"},
	{name: "ms timestamp", in: `{"ts":1732800000000,"level":"info"}`},
	{name: "ms timestamp in text", in: "at 1732800000000 ms"},
	{name: "uuid", in: "request 550e8400-e29b-41d4-a716-446655440000 done"},
	{name: "uuid two", in: "f47ac10b-58cc-4372-a567-0e02b2c3d479"},
	{name: "phone us", in: "call +1 415 555 0132"},
	{name: "phone uk", in: "call +44 20 7946 0958"},
	{name: "ipv4", in: "from 192.168.100.200:8443"},
	{name: "ipv6", in: "from [2001:db8::4242:4242]:443"},
	{name: "amount", in: "amount=4242.42 EUR, total $1,234,567.89"},
	{name: "amount cents", in: `{"amount":424242424242}`},
	{name: "version strings", in: "go1.26.8 echo/v4.16.0 zerolog v1.35.1"},
	{name: "dotted version", in: "4242.4242.4242.4242"},
	{name: "luhn invalid", in: "4242424242424241"},
	{name: "luhn invalid grouped", in: "4242 4242 4242 4241"},
	{name: "visa 15 digits", in: "424242424242424"},
	{name: "unknown issuer", in: "9111111111111110"},
	{name: "25 digit run", in: "4000000000000000000000006"},
	{name: "20 digit run", in: "40000000000000000002"},
	{name: "two spaces between groups", in: "4242  4242  4242  4241"},
	{name: "mask itself", in: "[card:visa:4242]"},
}

func TestText(t *testing.T) {
	for _, tc := range textCases {
		t.Run(tc.name, func(t *testing.T) {
			got := string(Text([]byte(tc.in)))
			if got != tc.want {
				t.Errorf("Text = %q, want %q", masked(got), tc.want)
			}
		})
	}
}

func TestContainsPAN(t *testing.T) {
	for _, tc := range textCases {
		t.Run("card/"+tc.name, func(t *testing.T) {
			if !ContainsPAN([]byte(tc.in)) {
				t.Errorf("ContainsPAN(%q) = false, want true", masked(tc.in))
			}
		})
	}
	for _, tc := range cleanCases {
		t.Run("clean/"+tc.name, func(t *testing.T) {
			if ContainsPAN([]byte(tc.in)) {
				t.Errorf("ContainsPAN(%q) = true, want false", tc.in)
			}
		})
	}
}

func TestTextLeavesCleanInputAlone(t *testing.T) {
	for _, tc := range cleanCases {
		t.Run(tc.name, func(t *testing.T) {
			src := []byte(tc.in)
			got := Text(src)
			if string(got) != tc.in {
				t.Fatalf("Text = %q, want the input unchanged", got)
			}
			// Documented: no copy when there is nothing to scrub.
			if len(src) > 0 && &got[0] != &src[0] {
				t.Errorf("Text copied a clean input")
			}
		})
	}
}

func TestTextIdempotent(t *testing.T) {
	inputs := make([]string, 0, len(textCases)+len(cleanCases))
	for _, tc := range textCases {
		inputs = append(inputs, tc.in)
	}
	for _, tc := range cleanCases {
		inputs = append(inputs, tc.in)
	}
	for i, in := range inputs {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			once := Text([]byte(in))
			twice := Text(once)
			if !bytes.Equal(once, twice) {
				t.Errorf("Text(Text(x)) = %q, Text(x) = %q", masked(string(twice)), masked(string(once)))
			}
		})
	}
}

func TestTextDoesNotModifyInput(t *testing.T) {
	src := []byte("a 4242424242424242 b")
	keep := append([]byte(nil), src...)
	_ = Text(src)
	if !bytes.Equal(src, keep) {
		t.Errorf("Text modified its input")
	}
}

// A run of more than 24 digit groups joined by single spaces (a list of numbers, a hex
// dump) must not hide a card that comes after the 24th group.
func TestTextFindsCardAfterManyDigitGroups(t *testing.T) {
	for _, tc := range []struct {
		name   string
		groups int
	}{
		{name: "23 groups before", groups: 23},
		{name: "24 groups before", groups: 24},
		{name: "30 groups before", groups: 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := strings.Repeat("7 ", tc.groups) + "4242424242424242"
			if !ContainsPAN([]byte(in)) {
				t.Errorf("ContainsPAN = false after %d single-digit groups, want true", tc.groups)
			}
			got := string(Text([]byte(in)))
			want := strings.Repeat("7 ", tc.groups) + "[card:visa:4242]"
			if got != want {
				t.Errorf("Text after %d groups = %q, want %q", tc.groups, masked(got), want)
			}
		})
	}
}

func TestWriter(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want string
	}{
		{name: "clean line passes unchanged", in: `{"level":"info","ts":1732800000000,"msg":"ok"}` + "\n", want: `{"level":"info","ts":1732800000000,"msg":"ok"}` + "\n"},
		{name: "card line scrubbed", in: `{"level":"info","msg":"card 4242 4242 4242 4242"}` + "\n", want: `{"level":"info","msg":"card [card:visa:4242]"}` + "\n"},
		{name: "empty write", in: "", want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var dst bytes.Buffer
			w := NewWriter(&dst)
			n, err := w.Write([]byte(tc.in))
			if err != nil {
				t.Fatalf("Write: %v", err)
			}
			if n != len(tc.in) {
				t.Errorf("Write returned %d, want len(p) = %d", n, len(tc.in))
			}
			if got := dst.String(); got != tc.want {
				t.Errorf("wrote %q, want %q", masked(got), tc.want)
			}
		})
	}
}

type failingWriter struct{ err error }

func (f failingWriter) Write([]byte) (int, error) { return 0, f.err }

func TestWriterReportsError(t *testing.T) {
	boom := errors.New("disk full")
	w := NewWriter(failingWriter{err: boom})
	n, err := w.Write([]byte("line\n"))
	if !errors.Is(err, boom) {
		t.Errorf("Write error = %v, want %v", err, boom)
	}
	if n != 0 {
		t.Errorf("Write returned %d on error, want 0", n)
	}
}

func TestWriterConcurrent(t *testing.T) {
	// bytes.Buffer is not safe for concurrent use: the Writer's lock must make it so (-race).
	var dst bytes.Buffer
	w := NewWriter(&dst)
	const goroutines, lines = 8, 50
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range lines {
				line := "g" + fmt.Sprint(g) + " 4242424242424242\n"
				if _, err := w.Write([]byte(line)); err != nil {
					t.Errorf("Write: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	out := dst.String()
	if got := strings.Count(out, "[card:visa:4242]\n"); got != goroutines*lines {
		t.Errorf("%d scrubbed lines, want %d", got, goroutines*lines)
	}
	if ContainsPAN([]byte(out)) {
		t.Errorf("output still holds a card number")
	}
}

// TestContainsPANUnderOtherKeys: a card number that is the value of another sensitive key is
// redacted as that key's kind, and is still reported as a card.
func TestContainsPANUnderOtherKeys(t *testing.T) {
	card := strings.Repeat("4242", 4)
	for _, in := range []string{
		`{"token":"` + card + `"}`,
		`{"amount":100,"token":"` + card + `","currency":"usd"}`,
		`password=` + card,
		`api_key: ` + card,
		`Authorization: Bearer ` + card,
	} {
		if !ContainsPAN([]byte(in)) {
			t.Errorf("ContainsPAN(%q) = false", masked(in))
		}
	}
	for _, in := range []string{`{"token":"pm_card_visa"}`, `password=hunter2hunter2`, `{"token":"123456789012"}`} {
		if ContainsPAN([]byte(in)) {
			t.Errorf("ContainsPAN(%q) = true", in)
		}
	}
}
