package scrub

import (
	"fmt"
	"math/rand/v2"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// The benchmark corpora are log lines as tokenwall and the services behind it write them,
// generated from a fixed seed. One line at a time is scrubbed, as the scrub Writer under
// zerolog receives them.

// benchUserAgents are User-Agent headers as they reach a checkout proxy.
var benchUserAgents = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
	"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36",
	"curl/8.5.0",
	"Go-http-client/1.1",
	"okhttp/4.12.0",
	"python-requests/2.32.3",
	"Stripe/1.0 (+https://stripe.com/docs/webhooks)",
	"kube-probe/1.31",
}

// benchIP returns a client address: mostly private IPv4 behind a load balancer, some public,
// some IPv6.
func benchIP(r *rand.Rand) string {
	switch r.IntN(10) {
	case 0:
		return fmt.Sprintf("2001:db8:%x:%x::%x", r.IntN(0x10000), r.IntN(0x10000), r.IntN(0x10000))
	case 1, 2:
		return fmt.Sprintf("%d.%d.%d.%d", 1+r.IntN(223), r.IntN(256), r.IntN(256), 1+r.IntN(254))
	}
	return fmt.Sprintf("10.%d.%d.%d", r.IntN(256), r.IntN(256), 1+r.IntN(254))
}

// benchPath returns a request path of the billing app behind tokenwall.
func benchPath(r *rand.Rand) string {
	switch r.IntN(9) {
	case 0:
		return "/"
	case 1:
		return fmt.Sprintf("/orders/%d", 100000+r.IntN(900000))
	case 2:
		return fmt.Sprintf("/orders/%d/items", 100000+r.IntN(900000))
	case 3:
		return fmt.Sprintf("/static/js/app.%08x.js", r.Uint32())
	case 4:
		return fmt.Sprintf("/api/v1/customers/%d/invoices", 1000+r.IntN(90000))
	case 5:
		return "/account/settings"
	case 6:
		return fmt.Sprintf("/api/v1/invoices/INV-2026-%06d", r.IntN(1000000))
	case 7:
		return "/cart"
	}
	return "/checkout"
}

func benchLatency(r *rand.Rand) string {
	return strconv.FormatFloat(float64(r.IntN(400000))/1000, 'f', -1, 64)
}

func benchRequestID(r *rand.Rand) string { return fmt.Sprintf("%016x%016x", r.Uint64(), r.Uint64()) }

// benchJSONLine returns one zerolog line as tokenwall writes it: mostly the per-request
// summary of proxy/middleware.go (pass-through or tokenizing route), some component lines.
func benchJSONLine(r *rand.Rand, ms int64) string {
	var b strings.Builder
	level := "info"
	switch k := r.IntN(100); {
	case k < 70:
		status := []int{200, 200, 200, 200, 201, 204, 301, 304, 400, 401, 404, 502}[r.IntN(12)]
		if status >= 500 {
			level = "error"
		}
		method := []string{"GET", "GET", "GET", "POST", "PUT", "DELETE"}[r.IntN(6)]
		fmt.Fprintf(&b, `{"level":%q,"request_id":%q,"route":"passthrough","method":%q,"path":%q,"status":%d,"latency_ms":%s,"remote_ip":%q,"user_agent":%q,"bytes_in":%d,"bytes_out":%d`,
			level, benchRequestID(r), method, benchPath(r), status, benchLatency(r), benchIP(r),
			benchUserAgents[r.IntN(len(benchUserAgents))], r.IntN(4000), r.IntN(200000))
		if r.IntN(4) == 0 {
			b.WriteString(`,"query_keys":["page","sort"]`)
		}
		if status == 502 {
			b.WriteString(`,"error":"upstream: dial tcp 10.0.4.12:8080: connect: connection refused"`)
		}
	case k < 90:
		brand, last4 := "visa", fmt.Sprintf("%04d", r.IntN(10000))
		if r.IntN(3) == 0 {
			brand = "mastercard"
		}
		errorCode := ""
		if r.IntN(10) == 0 {
			errorCode = "card_declined"
		}
		fmt.Fprintf(&b, `{"level":"info","request_id":%q,"route":"/checkout/submit","method":"POST","path":"/checkout/submit","status":200,"latency_ms":%s,"remote_ip":%q,"user_agent":%q,"bytes_in":%d,"bytes_out":%d,"gateway_latency_ms":%s,"token":"pm_1Q%s","brand":%q,"last4":%q,"error_code":%q,"upstream_status":200`,
			benchRequestID(r), benchLatency(r), benchIP(r), benchUserAgents[r.IntN(5)], 300+r.IntN(400), r.IntN(20000),
			benchLatency(r), benchAlnum(r, 22), brand, last4, errorCode)
	default:
		switch r.IntN(3) {
		case 0:
			fmt.Fprintf(&b, `{"level":"info","component":"vault","secret_name":"stripe_key","version":%d`, 1+r.IntN(40))
		case 1:
			fmt.Fprintf(&b, `{"level":"warn","component":"reverseproxy","error":"http: proxy error: context deadline exceeded","path":%q`, benchPath(r))
		default:
			fmt.Fprintf(&b, `{"level":"debug","component":"http","addr":"0.0.0.0:8443","admin_addr":"127.0.0.1:9090","uptime":%d`, r.IntN(1000000000))
		}
	}
	fmt.Fprintf(&b, `,"time":%d,"message":"request"}`, ms)
	return b.String()
}

func benchAlnum(r *rand.Rand, n int) string {
	const set = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = set[r.IntN(len(set))]
	}
	return string(b)
}

// benchTextLine returns one plain-text application log line: an ISO timestamp, a level, a
// logger or thread, a message with ids, paths, durations and counts.
func benchTextLine(r *rand.Rand, sec int64) string {
	ts := fmt.Sprintf("2026-11-%02dT%02d:%02d:%02d.%03dZ", 1+sec/86400%28, sec/3600%24, sec/60%60, sec%60, r.IntN(1000))
	level := []string{"INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"}[r.IntN(6)]
	var msg string
	switch r.IntN(8) {
	case 0:
		msg = fmt.Sprintf("[worker-%d] order %d shipped to warehouse %d in %dms", r.IntN(16), 100000+r.IntN(900000), 1+r.IntN(40), r.IntN(3000))
	case 1:
		msg = fmt.Sprintf("GET %s 200 %dms user=%s ip=%s", benchPath(r), r.IntN(900), []string{"ada", "grace", "linus", "ken"}[r.IntN(4)], benchIP(r))
	case 2:
		msg = fmt.Sprintf("com.shop.payments.InvoiceService - retry %d/5 for invoice INV-2026-%06d after 503 from https://api.example.com/v1/charges", 1+r.IntN(5), r.IntN(1000000))
	case 3:
		msg = fmt.Sprintf("db pool stats: open=%d idle=%d wait_count=%d wait_duration=%.3fs", r.IntN(50), r.IntN(20), r.IntN(10000), r.Float64()*10)
	case 4:
		msg = fmt.Sprintf("trace_id=%016x%016x span_id=%016x cache miss for key customer:%d", r.Uint64(), r.Uint64(), r.Uint64(), r.IntN(1000000))
	case 5:
		msg = fmt.Sprintf("cron job nightly-report finished: %d rows, %d.%02d MB written to s3://reports/2026/11/%02d/report-%d.csv.gz", r.IntN(5000000), r.IntN(900), r.IntN(100), 1+r.IntN(28), r.IntN(100000))
	case 6:
		msg = fmt.Sprintf("session %s renewed for user %d, expires at %d", benchUUID(r), r.IntN(10000000), 1795000000+r.IntN(10000000))
	default:
		msg = fmt.Sprintf("charged %d.%02d EUR for order %d (attempt %d), gateway latency %dms", r.IntN(1000), r.IntN(100), 100000+r.IntN(900000), 1+r.IntN(3), r.IntN(2000))
	}
	return ts + " " + level + " " + msg
}

func benchUUID(r *rand.Rand) string {
	x, y := r.Uint64(), r.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", x>>32, x>>16&0xffff, x&0xfff, 0x8000|y>>48&0x3fff, y&0xffffffffffff)
}

// benchCards are test card numbers as a customer might paste them into a free-text field.
var benchCards = []string{"4242424242424242", "4000 0566 5566 5556", "5555-5555-5555-4444", "3782 822463 10005", "6011111111111117", "3566 0020 2036 0505"}

// benchCorpus returns n log lines (zerolog JSON when json is true, else plain text), and the
// same lines with one in a hundred carrying a card number in a free-text place. The lines of each lie one after
// another in one buffer, as in a log file or a stream's buffer.
func benchCorpus(n int, json bool) (clean, cards [][]byte) {
	r := rand.New(rand.NewPCG(2026, 11))
	ms := int64(1795880000000)
	var cleanText, cardsText []string
	for i := range n {
		ms += int64(r.IntN(400))
		var line string
		if json {
			line = benchJSONLine(r, ms)
		} else {
			line = benchTextLine(r, ms/1000)
		}
		cleanText = append(cleanText, line+"\n")
		if i%100 == 99 {
			card := benchCards[r.IntN(len(benchCards))]
			if json {
				line = strings.Replace(line, `"message":"request"`, `"message":"customer note: please use card `+card+` instead"`, 1)
			} else {
				line += " note=\"pay with " + card + " next time\""
			}
		}
		cardsText = append(cardsText, line+"\n")
	}
	return benchLines(cleanText), benchLines(cardsText)
}

// benchLines copies lines into one buffer and returns them as slices of it.
func benchLines(lines []string) [][]byte {
	buf := []byte(strings.Join(lines, ""))
	out := make([][]byte, 0, len(lines))
	for _, l := range lines {
		out = append(out, buf[:len(l):len(l)])
		buf = buf[len(l):]
	}
	return out
}

// baselineRE is what a straightforward scrubber would use: 13 to 19 digits with optional
// single spaces or dashes between them.
var baselineRE = regexp.MustCompile(`\d(?:[ -]?\d){12,18}`)

// baselineText is the straightforward scrubber the engine is compared with: the regexp, a
// Luhn check, and replacement of each match.
func baselineText(src []byte) []byte {
	locs := baselineRE.FindAllIndex(src, -1)
	if locs == nil {
		return src
	}
	var out []byte
	last := 0
	var digits []byte
	for _, l := range locs {
		digits = digits[:0]
		for _, c := range src[l[0]:l[1]] {
			if c >= '0' && c <= '9' {
				digits = append(digits, c)
			}
		}
		if !refLuhn(string(digits)) {
			continue
		}
		out = append(out, src[last:l[0]]...)
		out = append(out, "[card:"...)
		out = append(out, digits[len(digits)-4:]...)
		out = append(out, ']')
		last = l[1]
	}
	if out == nil {
		return src
	}
	return append(out, src[last:]...)
}

var benchSink []byte

// BenchmarkScrub compares the scrubber with the regexp baseline on each corpus, line by
// line, and prints MB/s of both and the ratio.
func BenchmarkScrub(b *testing.B) {
	jsonClean, jsonCards := benchCorpus(2000, true)
	textClean, textCards := benchCorpus(4000, false)
	corpora := []struct {
		name  string
		lines [][]byte
	}{
		{name: "json-clean", lines: jsonClean},
		{name: "json-1pct-cards", lines: jsonCards},
		{name: "text-clean", lines: textClean},
		{name: "text-1pct-cards", lines: textCards},
	}
	impls := []struct {
		name string
		fn   func([]byte) []byte
	}{
		{name: "scrub", fn: Text},
		{name: "regexp", fn: baselineText},
	}
	mbps := map[string]float64{}
	for _, c := range corpora {
		size := 0
		for _, l := range c.lines {
			size += len(l)
		}
		for _, impl := range impls {
			b.Run(c.name+"/"+impl.name, func(b *testing.B) {
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					for _, l := range c.lines {
						benchSink = impl.fn(l)
					}
				}
				mbps[c.name+"/"+impl.name] = float64(size) * float64(b.N) / b.Elapsed().Seconds() / 1e6
			})
		}
	}
	for _, c := range corpora {
		s, re := mbps[c.name+"/scrub"], mbps[c.name+"/regexp"]
		if re > 0 {
			fmt.Printf("BenchmarkScrub: %-16s scrub %7.0f MB/s, regexp baseline %5.1f MB/s, ratio %.1fx\n", c.name, s, re, s/re)
		}
	}
}

// BenchmarkTextCleanLine is one clean tokenwall summary line: it must not allocate.
func BenchmarkTextCleanLine(b *testing.B) {
	lines, _ := benchCorpus(1, true)
	line := lines[0]
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		benchSink = Text(line)
	}
	runtime.ReadMemStats(&after)
	if n := after.Mallocs - before.Mallocs; n > uint64(b.N)/100 {
		b.Errorf("Text allocated %d times in %d calls on a clean line", n, b.N)
	}
}

func TestTextCleanLineAllocs(t *testing.T) {
	json, _ := benchCorpus(50, true)
	text, _ := benchCorpus(50, false)
	for i, line := range append(json, text...) {
		if allocs := testing.AllocsPerRun(20, func() { benchSink = Text(line) }); allocs != 0 {
			t.Errorf("line %d: Text allocated %.1f times per call on a clean line, want 0: %s", i, allocs, line)
		}
	}
}
