package stripe

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	stripego "github.com/stripe/stripe-go/v76"
)

// paymentMethodJSON is a PaymentMethod as stripe-mock answers POST /v1/payment_methods (the
// card's number is never in it: Stripe answers last4).
func paymentMethodJSON(tb testing.TB) []byte {
	tb.Helper()
	b, err := os.ReadFile("testdata/payment_method.json")
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestCreatedCardReadsWhatPaymentMethodOfReads decodes one answer both ways: the fields
// Tokenize reads into createdCard are the ones paymentMethodOf takes of stripe-go's whole
// PaymentMethod, for a card answer, one without card facts, and one with nulls.
func TestCreatedCardReadsWhatPaymentMethodOfReads(t *testing.T) {
	for name, body := range map[string][]byte{
		"stripe-mock answer": paymentMethodJSON(t),
		"no card":            []byte(`{"id":"pm_1NoCard","object":"payment_method","type":"sepa_debit"}`),
		"null card":          []byte(`{"id":"pm_1Null","card":null}`),
		"card of nulls":      []byte(`{"id":"pm_1Nulls","card":{"brand":null,"last4":null,"exp_month":null,"exp_year":null,"fingerprint":null}}`),
	} {
		t.Run(name, func(t *testing.T) {
			var full stripego.PaymentMethod
			if err := json.Unmarshal(body, &full); err != nil {
				t.Fatal(err)
			}
			var lite createdCard
			if err := json.Unmarshal(body, &lite); err != nil {
				t.Fatal(err)
			}
			if got, want := lite.paymentMethod(), paymentMethodOf(&full); got != want {
				t.Errorf("createdCard gives %+v, paymentMethodOf %+v", got, want)
			}
		})
	}
	if got := decodeLite(t, paymentMethodJSON(t)); got.Brand != "visa" || got.Last4 != "4242" || got.ExpYear != 2034 || got.Fingerprint == "" {
		t.Errorf("the stripe-mock answer decodes to %+v", got)
	}
}

func decodeLite(tb testing.TB, body []byte) (out struct {
	Brand, Last4, Fingerprint string
	ExpYear                   int
}) {
	var lite createdCard
	if err := json.Unmarshal(body, &lite); err != nil {
		tb.Fatal(err)
	}
	pm := lite.paymentMethod()
	out.Brand, out.Last4, out.Fingerprint, out.ExpYear = pm.Brand, pm.Last4, pm.Fingerprint, pm.ExpYear
	return out
}

// BenchmarkTokenizeDecode decodes stripe-mock's PaymentMethod answer as stripe-go's backend
// does (json.Unmarshal into the value Call is given) into stripe-go's whole PaymentMethod,
// what paymentmethod.Client.New decodes, and into createdCard, what Tokenize decodes, and
// prints the ratio.
func BenchmarkTokenizeDecode(b *testing.B) {
	body := paymentMethodJSON(b)
	perOp := map[string]float64{}
	for _, c := range []struct {
		name string
		v    func() any
	}{
		{"stripe-go-PaymentMethod", func() any { return &stripego.PaymentMethod{} }},
		{"createdCard", func() any { return &createdCard{} }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if err := json.Unmarshal(body, c.v()); err != nil {
					b.Fatal(err)
				}
			}
			perOp[c.name] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		})
	}
	if full := perOp["stripe-go-PaymentMethod"]; full > 0 {
		fmt.Printf("BenchmarkTokenizeDecode: createdCard %.0f ns/op, stripe-go PaymentMethod %.0f ns/op, ratio %.2fx\n",
			perOp["createdCard"], full, perOp["createdCard"]/full)
	}
}
