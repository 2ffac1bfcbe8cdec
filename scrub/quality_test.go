package scrub

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The quality of the detector, measured on generated corpora from a fixed seed: every card
// number of every network in testdata/iin.csv, at every length it issues, in every format
// must be redacted (recall 100%), and realistic numbers that are not card data must pass
// unchanged (false positives at most 0.1%). The table is written from the networks' ranges,
// independently of the package's table; a number that needs card context (UATP, 12-digit
// Maestro) is required only in the formats that give it.

// luhnCheckDigit returns the digit that makes payload followed by it pass Luhn.
func luhnCheckDigit(payload []byte) byte {
	sum := 0
	for i := range payload {
		d := int(payload[len(payload)-1-i] - '0')
		if i%2 == 0 { // doubled: the check digit will be to its right
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

// qualityCard returns a Luhn-valid number of length n in the range of row.
func qualityCard(r *rand.Rand, row iinRow, n int) string {
	lo, _ := strconv.Atoi(row.lo)
	hi, _ := strconv.Atoi(row.hi)
	b := []byte(fmt.Sprintf("%0*d", len(row.lo), lo+r.IntN(hi-lo+1)))
	for len(b) < n-1 {
		b = append(b, byte('0'+r.IntN(10)))
	}
	return string(append(b, luhnCheckDigit(b)))
}

// cardGroups is how a card of each length is written in groups: 4-4-4-4, Amex's 4-6-5,
// Diners' 4-6-4, 4-4-4 for 12-digit Maestro and 4-4-4-4-3 for 19 digits.
func cardGroups(n int) []int {
	switch n {
	case 12:
		return []int{4, 4, 4}
	case 13:
		return []int{4, 4, 5}
	case 14:
		return []int{4, 6, 4}
	case 15:
		return []int{4, 6, 5}
	}
	g := []int{4, 4, 4, 4}
	if n > 16 {
		g = append(g, n-16)
	}
	return g
}

func grouped(d, sep string) string {
	var parts []string
	for _, n := range cardGroups(len(d)) {
		parts = append(parts, d[:n])
		d = d[n:]
	}
	return strings.Join(parts, sep)
}

// qualityFormat writes a card number somewhere a card number turns up. context is set when
// the line gives card context (a card word or key before the number).
type qualityFormat struct {
	name    string
	write   func(r *rand.Rand, d string) (line, shown string)
	json    bool
	context bool
}

var qualityFormats = []qualityFormat{
	{name: "plain", context: true, write: func(r *rand.Rand, d string) (string, string) { return "pan " + d + " ok", d }},
	{name: "spaces", context: true, write: func(r *rand.Rand, d string) (string, string) { g := grouped(d, " "); return "card " + g + " ok", g }},
	{name: "dashes", context: true, write: func(r *rand.Rand, d string) (string, string) { g := grouped(d, "-"); return "card " + g + " ok", g }},
	{name: "url %20", write: func(r *rand.Rand, d string) (string, string) {
		g := grouped(d, "%20")
		return "POST /pay?amount=1999&number=" + g + "&exp=12%2F34", g
	}},
	{name: "url +", context: true, write: func(r *rand.Rand, d string) (string, string) {
		g := grouped(d, "+")
		return "order_id=1001&card_number=" + g + "&card_exp=12%2F34", g
	}},
	{name: "json string", json: true, write: func(r *rand.Rand, d string) (string, string) {
		return `{"level":"info","payment":{"number":"` + d + `","currency":"EUR"},"time":1795880512345}`, d
	}},
	{name: "json string grouped", json: true, context: true, write: func(r *rand.Rand, d string) (string, string) {
		g := grouped(d, " ")
		return `{"msg":"card ` + g + `","status":402}`, g
	}},
	{name: "json number", json: true, write: func(r *rand.Rand, d string) (string, string) {
		return `{"number":` + d + `,"amount":1999}`, d
	}},
	{name: "sentence", context: true, write: func(r *rand.Rand, d string) (string, string) {
		return "Customer wrote: my card is " + d + ", please charge it again.", d
	}},
	{name: "sentence grouped", write: func(r *rand.Rand, d string) (string, string) {
		g := grouped(d, " ")
		return "2026-11-28T15:43:02.123Z WARN support ticket 48213: \"use " + g + " for order 100234\"", g
	}},
}

// qualityTally counts cards and what became of them.
type qualityTally struct{ total, missed, wrongMask, badJSON int }

// qualityTallies counts the cards of TestQualityCardRecall overall, by brand and by format.
type qualityTallies struct {
	all      qualityTally
	byBrand  map[Brand]*qualityTally
	byFormat map[string]*qualityTally
	examples []string
}

// add counts one card of brand b written in format qf, and keeps a few failures as examples.
func (q *qualityTallies) add(b Brand, qf qualityFormat, missed, wrongMask, badJSON bool, example func() string) {
	if q.byFormat[qf.name] == nil {
		q.byFormat[qf.name] = &qualityTally{}
	}
	if q.byBrand[b] == nil {
		q.byBrand[b] = &qualityTally{}
	}
	for _, c := range []*qualityTally{&q.all, q.byBrand[b], q.byFormat[qf.name]} {
		c.total++
		c.missed += btoi(missed)
		c.wrongMask += btoi(wrongMask)
		c.badJSON += btoi(badJSON)
	}
	if (missed || wrongMask || badJSON) && len(q.examples) < 10 {
		q.examples = append(q.examples, example())
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestQualityCardRecall generates card numbers of every active range of testdata/iin.csv, at
// every length it issues, in every format, and requires every one of them redacted, with the
// brand the table gives and its last four. A number that needs card context is required only
// in the formats that give it.
func TestQualityCardRecall(t *testing.T) {
	rows := mustIIN(t)
	r := rand.New(rand.NewPCG(2026, 1128))
	q := qualityTallies{byBrand: map[Brand]*qualityTally{}, byFormat: map[string]*qualityTally{}}
	const rounds = 45 // × 2,256 (range, length, format) combinations = 101,520 cards
	skipped := 0
	for range rounds {
		for _, row := range rows {
			if !row.active {
				continue
			}
			for _, n := range row.lengths {
				for _, qf := range qualityFormats {
					d := qualityCard(r, row, n)
					want, _ := iinExpect(t, rows, d)
					if slices.Contains(want.context, n) && !qf.context {
						skipped++
						continue
					}
					line, shown := qf.write(r, d)
					out := Text([]byte(line))
					missed := bytes.Contains(out, []byte(shown)) || bytes.Contains(out, []byte(d)) || ContainsPAN(out)
					wrongMask := !bytes.Contains(out, []byte("[card:"+string(want.brand)+":"+d[len(d)-4:]+"]"))
					q.add(want.brand, qf, missed, wrongMask, qf.json && !json.Valid(out), func() string {
						return fmt.Sprintf("%s %s, %d digits: %q -> %q", want.brand, qf.name, n, masked(line), masked(string(out)))
					})
				}
			}
		}
	}
	q.log(t)
	t.Logf("%d numbers that need card context left out of formats without it", skipped)
	if q.all.total < 100_000 {
		t.Errorf("only %d cards generated, want at least 100,000", q.all.total)
	}
	if c := q.all; c.missed > 0 || c.wrongMask > 0 || c.badJSON > 0 {
		t.Errorf("recall %.3f%% (%d cards survived), %d wrong masks, %d invalid JSON lines: want 100%%, 0, 0",
			pct(c.total-c.missed, c.total), c.missed, c.wrongMask, c.badJSON)
	}
}

func pct(part, whole int) float64 { return 100 * float64(part) / float64(whole) }

// log writes the recall by brand and by format, and the examples.
func (q *qualityTallies) log(t *testing.T) {
	brands := make([]string, 0, len(q.byBrand))
	for b := range q.byBrand {
		brands = append(brands, string(b))
	}
	slices.Sort(brands)
	for _, b := range brands {
		c := q.byBrand[Brand(b)]
		t.Logf("brand %-17s %6d cards, recall %7.3f%%, brand and last four right %7.3f%%", b, c.total, pct(c.total-c.missed, c.total), pct(c.total-c.wrongMask, c.total))
	}
	for _, qf := range qualityFormats {
		c := q.byFormat[qf.name]
		t.Logf("format %-20s %6d cards, recall %7.3f%%, brand and last four right %7.3f%%", qf.name, c.total, pct(c.total-c.missed, c.total), pct(c.total-c.wrongMask, c.total))
	}
	t.Logf("recall: %d of %d cards redacted (%.3f%%); %d with the wrong brand or last four; %d JSON lines left invalid",
		q.all.total-q.all.missed, q.all.total, pct(q.all.total-q.all.missed, q.all.total), q.all.wrongMask, q.all.badJSON)
	for _, e := range q.examples {
		t.Log(e)
	}
}

// qualityClean is a kind of number that is not card data, written in a log line.
type qualityClean struct {
	name  string
	write func(r *rand.Rand, rows []iinRow) string
}

// qualityPhone returns a phone number in one of the formats people and systems write.
func qualityPhone(r *rand.Rand) string {
	d := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + r.IntN(10))
		}
		return string(b)
	}
	area := strconv.Itoa(200 + r.IntN(800))
	switch r.IntN(11) {
	case 0:
		return "+1 " + area + " 555 " + d(4)
	case 1:
		return "(" + area + ") 555-" + d(4)
	case 2:
		return area + "-555-" + d(4)
	case 3:
		return area + ".555." + d(4)
	case 4:
		return "+1" + area + "555" + d(4)
	case 5:
		return "+44 20 7946 " + d(4)
	case 6:
		return "+49 30 " + d(8)
	case 7:
		return "+33 1 " + d(2) + " " + d(2) + " " + d(2) + " " + d(2)
	case 8:
		return "0049 30 " + d(7)
	case 9:
		return "+61 4" + d(2) + " " + d(3) + " " + d(3)
	}
	return "+91 9" + d(4) + " " + d(5)
}

// notACardPrefixes are leading digits no active network of testdata/iin.csv issues at any
// length (TestNotACardPrefixes). 1 (UATP, GPN's 1946), 31 (China T-Union), 60 (RuPay), 61
// and 63 (GPN), 86 (UzCard) and 97–98 (Napas, Troy, Humo) are networks now.
var notACardPrefixes = []string{"0", "7", "20", "21", "28", "29", "32", "33", "590", "592", "640", "643",
	"66", "68", "69", "80", "83", "85", "87", "89", "90", "91", "95", "99"}

// notACard returns a number of minLen to maxLen digits that is no card: in an active range
// of the table but failing Luhn, or passing Luhn outside every range.
func notACard(r *rand.Rand, rows []iinRow, minLen, maxLen int) string {
	if r.IntN(2) == 0 {
		row := rows[r.IntN(len(rows))]
		var lengths []int
		for _, n := range row.lengths {
			if n >= minLen && n <= maxLen {
				lengths = append(lengths, n)
			}
		}
		if row.active && len(lengths) > 0 {
			d := []byte(qualityCard(r, row, lengths[r.IntN(len(lengths))]))
			d[len(d)-1] = '0' + (d[len(d)-1]-'0'+1+byte(r.IntN(9)))%10
			return string(d)
		}
	}
	b := []byte(notACardPrefixes[r.IntN(len(notACardPrefixes))])
	n := minLen + r.IntN(maxLen-minLen+1)
	for len(b) < n-1 {
		b = append(b, byte('0'+r.IntN(10)))
	}
	return string(append(b, luhnCheckDigit(b)))
}

// TestNotACardPrefixes: no active range of the table overlaps a prefix notACard uses, so
// its Luhn-valid numbers are no card of any network, whatever digits follow.
func TestNotACardPrefixes(t *testing.T) {
	for _, p := range notACardPrefixes {
		for _, row := range mustIIN(t) {
			if !row.active {
				continue
			}
			k := min(len(p), len(row.lo))
			if p[:k] >= row.lo[:k] && p[:k] <= row.hi[:k] {
				t.Errorf("prefix %s overlaps %s %s-%s", p, row.network, row.lo, row.hi)
			}
		}
	}
}

var qualityCleans = []qualityClean{
	{name: "ms timestamp", write: func(r *rand.Rand, rows []iinRow) string {
		return fmt.Sprintf(`{"level":"info","time":%d,"message":"request"}`, 1_600_000_000_000+r.Int64N(300_000_000_000))
	}},
	{name: "unix timestamp", write: func(r *rand.Rand, rows []iinRow) string {
		return fmt.Sprintf("session renewed, expires_at=%d (in %ds)", 1_500_000_000+r.Int64N(500_000_000), r.IntN(86400))
	}},
	{name: "order id", write: func(r *rand.Rand, rows []iinRow) string {
		return fmt.Sprintf("order %d shipped to warehouse %d", r.Int64N(1_000_000_000_000), r.IntN(100))
	}},
	{name: "invoice id", write: func(r *rand.Rand, rows []iinRow) string {
		return fmt.Sprintf(`{"invoice_id":"INV-%d-%06d","order_id":%d,"status":"paid"}`, 2020+r.IntN(7), r.IntN(1_000_000), r.Int64N(100_000_000_000))
	}},
	{name: "phone", write: func(r *rand.Rand, rows []iinRow) string {
		return "callback requested, phone: " + qualityPhone(r) + ", preferred after 17:00"
	}},
	{name: "amount", write: func(r *rand.Rand, rows []iinRow) string {
		return fmt.Sprintf("charged %d.%02d EUR (total $%d,%03d,%03d.%02d, amount=%d)", r.IntN(100000), r.IntN(100), r.IntN(100), r.IntN(1000), r.IntN(1000), r.IntN(100), r.Int64N(10_000_000_000))
	}},
	{name: "uuid", write: func(r *rand.Rand, rows []iinRow) string { return "request " + benchUUID(r) + " done" }},
	{name: "ipv4", write: func(r *rand.Rand, rows []iinRow) string {
		return fmt.Sprintf("accepted connection from %d.%d.%d.%d:%d", r.IntN(256), r.IntN(256), r.IntN(256), r.IntN(256), 1024+r.IntN(64000))
	}},
	{name: "ipv6", write: func(r *rand.Rand, rows []iinRow) string {
		return fmt.Sprintf(`{"remote_ip":"2001:db8:%x:%x:%x:%x:%x:%x","port":%d}`, r.IntN(0x10000), r.IntN(0x10000), r.IntN(0x10000), r.IntN(0x10000), r.IntN(0x10000), r.IntN(0x10000), r.IntN(65536))
	}},
	{name: "version", write: func(r *rand.Rand, rows []iinRow) string {
		return fmt.Sprintf("build go1.%d.%d echo/v4.%d.%d Chrome/%d.0.%d.%d", 20+r.IntN(7), r.IntN(10), r.IntN(20), r.IntN(10), 100+r.IntN(40), r.IntN(9999), r.IntN(300))
	}},
	{name: "iso date", write: func(r *rand.Rand, rows []iinRow) string {
		return fmt.Sprintf("%d-%02d-%02dT%02d:%02d:%02d.%03dZ INFO job finished on %d-%02d-%02d", 2020+r.IntN(7), 1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(60), r.IntN(60), r.IntN(1000), 2020+r.IntN(7), 1+r.IntN(12), 1+r.IntN(28))
	}},
	{name: "not a card", write: func(r *rand.Rand, rows []iinRow) string {
		return "reference " + notACard(r, rows, 13, 19) + " accepted"
	}},
	// Grouped as a card is, up to 16 digits: 17 to 19 digits in card groups are 4-4-4-4 and
	// more, and their first sixteen digits are a valid card number one time in ten (see
	// TestQualityLongGroupedNumbers).
	{name: "not a card grouped", write: func(r *rand.Rand, rows []iinRow) string {
		return "ref " + grouped(notACard(r, rows, 13, 16), " ") + " noted"
	}},
	{name: "not a card json", write: func(r *rand.Rand, rows []iinRow) string { return `{"tx":` + notACard(r, rows, 13, 19) + `,"ok":true}` }},
	// Numbers of the shapes that need card context, where none is given: a 15-digit booking
	// reference after 1 (UATP's shape), a 12-digit ticket number in a Maestro range, a
	// timestamp in microseconds (GPN's 1946 in 2031), a 19-digit tweet id (1946 in mid-2025).
	// All are Luhn-valid, the worst case.
	{name: "15-digit reference", write: func(r *rand.Rand, rows []iinRow) string {
		return "booking reference " + iinNumber(r, "1", 15) + " confirmed"
	}},
	{name: "12-digit ticket", write: func(r *rand.Rand, rows []iinRow) string {
		prefix := []string{"50", "56", "57", "58", "5018", "6304", "6759", "6762", "676770"}[r.IntN(9)]
		return fmt.Sprintf("ticket %s closed after %d replies", iinNumber(r, prefix, 12), r.IntN(40))
	}},
	{name: "µs timestamp", write: func(r *rand.Rand, rows []iinRow) string {
		return fmt.Sprintf(`{"ts_us":%d,"event":"tick"}`, 1_700_000_000_000_000+r.Int64N(400_000_000_000_000))
	}},
	{name: "tweet id", write: func(r *rand.Rand, rows []iinRow) string {
		return fmt.Sprintf(`{"tweet_id":"%s","lang":"en"}`, iinNumber(r, strconv.FormatInt(18_000+r.Int64N(3_500), 10), 19))
	}},
}

// TestQualityFalsePositives generates numbers that are not card data, in log lines, and
// requires Text to leave at least 99.9% of the lines unchanged.
func TestQualityFalsePositives(t *testing.T) {
	rows := mustIIN(t)
	r := rand.New(rand.NewPCG(2026, 1129))
	const perKind = 5600 // × 18 kinds = 100,800 lines
	total, changed := 0, 0
	var examples []string
	for _, qc := range qualityCleans {
		n := 0
		for range perKind {
			line := qc.write(r, rows)
			if out := Text([]byte(line)); !bytes.Equal(out, []byte(line)) {
				n++
				if len(examples) < 10 {
					examples = append(examples, fmt.Sprintf("%s: %q -> %q", qc.name, line, out))
				}
			}
		}
		total += perKind
		changed += n
		t.Logf("%-20s %5d lines, %4d changed (%.3f%%)", qc.name, perKind, n, 100*float64(n)/perKind)
	}
	t.Logf("false positives: %d of %d lines changed (%.3f%%)", changed, total, 100*float64(changed)/float64(total))
	for _, e := range examples {
		t.Log(e)
	}
	if changed*1000 > total {
		t.Errorf("false positives %.3f%% (%d of %d lines), want at most 0.1%%", 100*float64(changed)/float64(total), changed, total)
	}
}

// TestQualityLongGroupedNumbers measures what becomes of 17 to 19 digit numbers that are no
// card, written in card groups (4-4-4-4-1 to 4-4-4-4-3): the detector tries whole groups,
// so when the first sixteen digits (or another window of 13 to 16) are a valid card number
// it redacts them. That is by design, a card followed by a short number looks the same; the
// share is logged, not asserted.
func TestQualityLongGroupedNumbers(t *testing.T) {
	rows := mustIIN(t)
	r := rand.New(rand.NewPCG(2026, 1130))
	const lines = 10_000
	changed := 0
	for range lines {
		line := "ref " + grouped(notACard(r, rows, 17, 19), " ") + " noted"
		if !bytes.Equal(Text([]byte(line)), []byte(line)) {
			changed++
		}
	}
	t.Logf("17 to 19 digit non-card numbers in card groups: %d of %d lines changed (%.2f%%)", changed, lines, 100*float64(changed)/lines)
}
