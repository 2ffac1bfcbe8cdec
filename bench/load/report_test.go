package main

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// wrkOutput is wrk 4.1.0's output with --latency.
const wrkOutput = `Running 5s test @ https://127.0.0.1:40001/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.21ms    1.10ms  30.52ms   88.12%
    Req/Sec    15.28k   512.33    16.01k    72.00%
  Latency Distribution
     50%    3.98ms
     75%    4.51ms
     90%    5.20ms
     99%  850.00us
  76012 requests in 5.00s, 88.80MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:  15201.77
Transfer/sec:     17.76MB
`

// h2loadOutput is h2load 1.52.0's summary.
const h2loadOutput = `starting benchmark...
spawning thread #0: 64 total client(s). Timing-based test with 0s of warm-up time and 5s of main duration for thread #0.
Main benchmark duration is started for thread #0.
finished in 5.00s, 20123.40 req/s, 22.10MB/s
requests: 100617 total, 100681 started, 100617 done, 100610 succeeded, 7 failed, 0 errored, 0 timeout
status codes: 100610 2xx, 0 3xx, 3 4xx, 0 5xx
traffic: 110.52MB (115887416) total, 1.02MB (1066521) headers (space savings 91.23%), 98.26MB (103031808) data
                     min         max         mean         sd        +/- sd
time for request:      312us     45.12ms     31.70ms      3.01ms    80.11%
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(wrkOutput)
	if err != nil {
		t.Fatal(err)
	}
	want := loadResult{Requests: 76012, Errors: 7, Seconds: 5, RPS: 15201.77, P50ms: 3.98, P99ms: 0.85}
	if !approxEqual(r.RPS, want.RPS) || !approxEqual(r.P50ms, want.P50ms) || !approxEqual(r.P99ms, want.P99ms) || !approxEqual(r.Seconds, want.Seconds) ||
		r.Requests != want.Requests || r.Errors != want.Errors {
		t.Errorf("parseWrk = %+v, want %+v", r, want)
	}
}

func TestParseWrkRefusesOutputWithoutLatency(t *testing.T) {
	for _, tc := range []struct {
		name, out string
	}{
		{name: "no distribution", out: strings.Replace(wrkOutput, "     50%    3.98ms\n", "", 1)},
		{name: "no requests", out: "unable to connect to 127.0.0.1:1 Connection refused\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseWrk(tc.out); err == nil {
				t.Error("parseWrk accepted incomplete output")
			}
		})
	}
}

func TestParseH2load(t *testing.T) {
	r, err := parseH2load(h2loadOutput)
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 100610 || r.Errors != 10 || !approxEqual(r.RPS, 20123.40) || !approxEqual(r.Seconds, 5) {
		t.Errorf("parseH2load = %+v", r)
	}
	if _, err := parseH2load("no server\n"); err == nil {
		t.Error("parseH2load accepted output without a summary")
	}
}

func TestH2loadLatencies(t *testing.T) {
	var b strings.Builder
	// 100 answered requests of 1..100 ms, and one 502 of 900 ms that must not count.
	for i := 1; i <= 100; i++ {
		b.WriteString("1764770000000000\t200\t" + strconv.Itoa(i*1000) + "\n")
	}
	b.WriteString("1764770000000000\t502\t900000\n")
	lat, err := h2loadLatencies(b.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(lat) != 100 {
		t.Fatalf("%d latencies, want 100", len(lat))
	}
	if p50, p99 := percentile(lat, 50), percentile(lat, 99); p50 != 50 || p99 != 99 {
		t.Errorf("p50 %v p99 %v, want 50 and 99", p50, p99)
	}
	if _, err := h2loadLatencies("1\tOK\t2\n"); err == nil {
		t.Error("accepted a bad line")
	}
}

func TestPercentileAndMedian(t *testing.T) {
	if !math.IsNaN(percentile(nil, 50)) || !math.IsNaN(median(nil)) {
		t.Error("empty input is not NaN")
	}
	if got := percentile([]float64{5}, 99); got != 5 {
		t.Errorf("percentile of one = %v", got)
	}
	if got := median([]float64{3, 1, 2, 10}); got != 2.5 {
		t.Errorf("median = %v, want 2.5", got)
	}
	if got := median([]float64{math.NaN(), 4, 1, 7}); got != 4 {
		t.Errorf("median with a run that measured nothing = %v, want 4", got)
	}
}

func TestParseMallocsAndRSS(t *testing.T) {
	prom := "# HELP go_memstats_mallocs_total Total number of heap objects allocated.\n# TYPE go_memstats_mallocs_total counter\ngo_memstats_mallocs_total 1.234567e+06\n"
	for _, tc := range []struct {
		name, text string
		want       float64
	}{
		{name: "prometheus", text: prom, want: 1234567},
		{name: "bare proxy", text: "mallocs 42\n", want: 42},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseMallocs(tc.text)
			if err != nil || got != tc.want {
				t.Errorf("parseMallocs = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	if v, err := parseGauge("go_memstats_heap_inuse_bytes_total 1\ngo_memstats_heap_inuse_bytes 2.5e+07\n", "go_memstats_heap_inuse_bytes"); err != nil || v != 25e6 {
		t.Errorf("parseGauge = %v, %v; want the series itself, not one whose name it begins", v, err)
	}
	if _, err := parseMallocs("go_gc_duration_seconds 1\n"); err == nil {
		t.Error("parseMallocs found a count that is not there")
	}
	kib, err := parseStatusKiB("Name:\tnginx\nVmPeak:\t  100 kB\nVmRSS:\t   12345 kB\n", "VmRSS")
	if err != nil || kib != 12345 {
		t.Errorf("parseStatusKiB(VmRSS) = %d, %v", kib, err)
	}
}

// sampleReport is a run in which tokenwall meets some targets and misses others.
func sampleReport() *report {
	r := &report{date: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC), command: "make bench-load",
		settings:   settings{rounds: 1, duration: 5 * time.Second, conns: 64, streams: 10, tokenizeClients: []int{4, 64}, idleConns: 1000},
		machine:    machine{nproc: 2, cpu: "Test CPU", kernel: "6.1.0", goVer: "go1.26.0", tools: []string{"wrk 4.1.0"}},
		loadBefore: "0.10 0.20 0.30", loadAfter: "1.00 1.10 1.20"}
	add := func(target, proto string, rps, p50, p99, allocs float64) {
		r.pass = append(r.pass, passSample{target: target, proto: proto, allocsPerReq: allocs,
			loadResult: loadResult{Requests: int(rps * 5), Seconds: 5, RPS: rps, P50ms: p50, P99ms: p99}})
	}
	add(nameNginx, protoH1, 40000, 1.5, 3, nan())
	add(nameBare, protoH1, 20000, 3, 6, 60)
	add(nameTokenwall, protoH1, 19000, 3.2, 7, 90)
	add(nameNginx, protoH2, 50000, 10, 20, nan())
	add(nameBare, protoH2, 30000, 20, 40, nan())
	add(nameTokenwall, protoH2, 20000, 30, 60, nan())
	for _, c := range []int{4, 64} {
		r.tokenize = append(r.tokenize,
			tokenizeSample{target: modeTokenwall, clients: c, tokenizeResult: tokenizeResult{Requests: 1000, Seconds: 5, P50ms: 2.5, P99ms: 6},
				cpu: cpuShare{procMS: []float64{0.6, 0.3, 0.3, 0.1}, otherMS: 0.2, busy: 0.97}},
			tokenizeSample{target: modeDirect, clients: c, tokenizeResult: tokenizeResult{Requests: 1500, Seconds: 5, P50ms: 2, P99ms: 4},
				cpu: cpuShare{procMS: []float64{0, 0.35, 0.3, 0.1}, otherMS: 0.15, busy: 0.99}})
	}
	r.rss = []rssSample{{target: nameTokenwall, idleRSS: rssKinds{all: 40 << 10}, heldRSS: rssKinds{all: 70 << 10, anon: 50 << 10, file: 20 << 10},
		held: 1000, goHeld: goMemory{30 << 20, 8 << 20, 5 << 20}},
		{target: nameBare, idleRSS: rssKinds{all: 10 << 10}, heldRSS: rssKinds{all: 40 << 10}, held: 1000, goHeld: goMemory{20 << 20, 8 << 20, 1 << 20},
			goIdle: goMemory{10 << 20, 1 << 20, 2 << 20}}}
	return r
}

func TestMarkdownRatiosAndVerdicts(t *testing.T) {
	md := sampleReport().markdown()
	for _, want := range []string{
		"| HTTP/1.1 | req/s | 19,000 (19,000–19,000) | 20,000 (20,000–20,000) | 40,000 (40,000–40,000) | 0.95× | 0.47× |",
		"| HTTP/1.1 | heap allocs/request | 90.0 | 60.0 | n/a | 1.50× | n/a |",
		"| pass-through ≥ 0.9× bare Go (HTTP/1.1 req/s) | 0.95× within each round (0.95× of the medians) | PASS |",
		"| pass-through ≥ 0.9× bare Go (HTTP/2 req/s) | 0.67× within each round (0.67× of the medians) | FAIL |",
		"| stretch: pass-through ≥ 0.5× nginx (HTTP/1.1 req/s) | 0.47× within each round (0.47× of the medians) | FAIL |",
		"| HTTP/1.1 | req/s ratio within each round (median) | | | | 0.95× | 0.47× |",
		"| 4 | **added by tokenwall** | 0.67× | **+0.50** | **+2.00** | |",
		"| tokenization adds ≤ 1 ms at p50 over the direct calls, 4 clients (p99 reported) | +0.50 ms at p50, +2.00 ms at p99 within each round (+0.50 and +2.00 of the medians) | PASS |",
		"| 4 | added, within each round (median) | | +0.50 | +2.00 | |",
		"| RSS ≤ 64 MiB with 1000 idle keep-alive connections | 70.0 MiB | FAIL |",
		"| nginx | n/a | n/a | 0 | n/a | n/a |",
		"| heap allocations per pass-through request ≤ 1.1× the bare proxy's | 90.0 / 60.0 = 1.50× | FAIL |",
		"| tokenwall | connections held | 30.0 | 8.0 | 5.0 |",
		"| clients | path | tokenwall ms | stripe-mock ms | scenario front ms | upstream ms | kernel and other ms | core busy per checkout ms | core busy |",
		"| 4 | tokenwall | 0.600 | 0.300 | 0.300 | 0.100 | 0.200 | 1.500 | 97% |",
		"| 64 | direct | 0.000 | 0.350 | 0.300 | 0.100 | 0.150 | 0.900 | 99% |",
		"| tokenwall | 70.0 | 50.0 | 20.0 |",
		"| bare Go | connections held | 20.0 | 8.0 | 1.0 |",
		"| bare Go | idle | 10.0 | 1.0 | 2.0 |",
		"| date | 2026-12-03 12:00 UTC |",
		"| CPU | Test CPU |",
		"**These are not final figures.**",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q\n%s", want, md)
		}
	}
}

// TestRoundRatio: when the machine is slower in one round, the ratio within each round holds
// while the ratio of the medians follows whichever target ran in the slow round.
func TestRoundRatio(t *testing.T) {
	r := &report{}
	add := func(round int, target string, rps float64) {
		r.pass = append(r.pass, passSample{target: target, proto: protoH1, round: round, loadResult: loadResult{RPS: rps}})
	}
	add(0, nameTokenwall, 9000)
	add(0, nameBare, 10000)
	add(1, nameTokenwall, 2700) // a slow round: both slower by the same factor
	add(1, nameBare, 3000)
	add(2, nameTokenwall, 8100)
	add(2, nameBare, 9000)
	if got := r.roundRatio(nameTokenwall, nameBare, protoH1); math.Abs(got-0.9) > 1e-9 {
		t.Errorf("roundRatio = %v, want 0.90", got)
	}
	if got := r.roundRatio(nameTokenwall, nameBare, protoH2); !math.IsNaN(got) {
		t.Errorf("roundRatio without HTTP/2 runs = %v, want NaN", got)
	}
	add(3, nameTokenwall, nan()) // a run that answered nothing is left out
	add(3, nameBare, 5000)
	if got := r.roundRatio(nameTokenwall, nameBare, protoH1); math.Abs(got-0.9) > 1e-9 {
		t.Errorf("roundRatio with a run that measured nothing = %v, want 0.90", got)
	}
}

// TestRoundAdded: tokenwall's latency minus the direct calls' in the same round, the median
// over rounds; a run with failures, or a round with one path only, is left out.
func TestRoundAdded(t *testing.T) {
	r := &report{}
	add := func(round int, target string, p50, p99 float64, errs int) {
		r.tokenize = append(r.tokenize, tokenizeSample{target: target, clients: 4, round: round,
			tokenizeResult: tokenizeResult{Requests: 100, Errors: errs, Seconds: 1, P50ms: p50, P99ms: p99}})
	}
	add(0, modeTokenwall, 5, 20, 0)
	add(0, modeDirect, 3, 10, 0)
	add(1, modeTokenwall, 12, 40, 0) // a slow round: both slower
	add(1, modeDirect, 9, 30, 0)
	add(2, modeTokenwall, 6, 25, 0)
	add(2, modeDirect, 2, 20, 0)
	add(3, modeTokenwall, 1, 1, 5) // failures: left out
	add(3, modeDirect, 9, 9, 0)
	add(4, modeDirect, 1, 1, 0) // no tokenwall run in this round
	if got := r.roundAdded(4, false); got != 3 {
		t.Errorf("roundAdded p50 = %v, want 3 (the median of 2, 3 and 4)", got)
	}
	if got := r.roundAdded(4, true); got != 10 {
		t.Errorf("roundAdded p99 = %v, want 10", got)
	}
	if got := r.roundAdded(64, false); !math.IsNaN(got) {
		t.Errorf("roundAdded without runs = %v, want NaN", got)
	}
}

func TestMarkdownWithoutFiguresSaysNotMeasured(t *testing.T) {
	r := sampleReport()
	r.pass, r.tokenize, r.rss = nil, nil, nil
	r.notes = []string{"RSS of nginx: refused"}
	md := r.markdown()
	if n := strings.Count(md, "| NOT MEASURED |"); n != 7 {
		t.Errorf("%d targets NOT MEASURED, want all 7\n%s", n, md)
	}
	if strings.Contains(md, "| PASS |") || strings.Contains(md, "| FAIL |") {
		t.Errorf("a verdict without figures\n%s", md)
	}
	if !strings.Contains(md, "- RSS of nginx: refused") {
		t.Error("notes missing")
	}
}

func approxEqual(a, b float64) bool { return math.Abs(a-b) < 1e-9*math.Max(1, math.Abs(b)) }

func TestParseSumCountAndParts(t *testing.T) {
	prom := `tokenwall_request_duration_seconds_sum{route="/"} 9
tokenwall_request_duration_seconds_count{route="/"} 9
tokenwall_request_duration_seconds_sum{route="/checkout/submit"} 0.5
tokenwall_request_duration_seconds_count{route="/checkout/submit"} 100
tokenwall_gateway_duration_seconds_sum 0.2
tokenwall_gateway_duration_seconds_count 100
tokenwall_audit_write_duration_seconds_sum 0.1
tokenwall_audit_write_duration_seconds_count 100
`
	got, err := parseSumCount(prom, `tokenwall_request_duration_seconds{route="/checkout/submit"}`)
	if err != nil || got != [2]float64{0.5, 100} {
		t.Errorf("parseSumCount of the route = %v, %v; want the route's own series, not another route's", got, err)
	}
	if _, err := parseSumCount(prom, "tokenwall_missing_duration_seconds"); !errors.Is(err, errNoSeries) {
		t.Errorf("parseSumCount of a series that is not there: %v, want errNoSeries", err)
	}
	before := [][2]float64{{0.5, 100}, {0.2, 100}, {0.1, 100}}
	after := [][2]float64{{1.5, 200}, {0.7, 200}, {0.3, 200}}
	p := partsBetween(before, after)
	if math.Abs(p.request-10) > 1e-9 || math.Abs(p.gateway-5) > 1e-9 || math.Abs(p.audit-2) > 1e-9 {
		t.Errorf("partsBetween = %+v, want 10, 5 and 2 ms", p)
	}
	if p := partsBetween(before, before); !math.IsNaN(p.audit) {
		t.Errorf("a run without checkouts has parts %+v, want n/a", p)
	}
	if got := percent(2, 10); got != "20%" {
		t.Errorf("percent(2, 10) = %s", got)
	}
}

func TestCPUTicksParse(t *testing.T) {
	// A command name with a space and a parenthesis, as proc(5) allows.
	stat := "4242 (tokenwall (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0 100 1000 500\n"
	if got, err := parseProcTicks(stat); err != nil || got != 325 {
		t.Errorf("parseProcTicks = %d, %v; want 250 + 75", got, err)
	}
	if _, err := parseProcTicks("4242 (short) S 1 2\n"); err == nil {
		t.Error("parseProcTicks read a line too short to hold the times")
	}
	procStat := "cpu  900 0 300 5000 100 0 0 0 0 0\ncpu0 400 0 100 2500 50 0 0 0 0 0\ncpu1 500 10 200 2500 50 20 30 40 0 0\n"
	busy, total, err := parseCoreTicks(procStat, "cpu1")
	if err != nil || busy != 500+10+200+20+30 || total != 3350 {
		t.Errorf("parseCoreTicks(cpu1) = %d, %d, %v; want 760 of 3350 (idle, iowait and steal not busy)", busy, total, err)
	}
	if _, _, err := parseCoreTicks(procStat, "cpu2"); err == nil {
		t.Error("parseCoreTicks found a core that is not there")
	}
}

func TestShareBetween(t *testing.T) {
	before := cpuReading{procs: []int64{100, 50, 10, 5}, busy: 1000, total: 4000}
	after := cpuReading{procs: []int64{160, 80, 30, 15}, busy: 1150, total: 4200}
	c := shareBetween(before, after, 1000)
	want := []float64{0.6, 0.3, 0.2, 0.1} // ticks × 10 ms / 1000 checkouts
	for i, w := range want {
		if math.Abs(c.procMS[i]-w) > 1e-9 {
			t.Errorf("procMS[%d] = %v; want %v", i, c.procMS[i], w)
		}
	}
	// The core was busy 150 ticks; the processes used 120 of them.
	if math.Abs(c.otherMS-0.3) > 1e-9 || math.Abs(c.totalMS()-1.5) > 1e-9 || math.Abs(c.busy-0.75) > 1e-9 {
		t.Errorf("other %v, total %v, busy %v; want 0.3, 1.5, 0.75", c.otherMS, c.totalMS(), c.busy)
	}
	if c := shareBetween(before, after, 0); !math.IsNaN(c.procMS[0]) || !math.IsNaN(c.otherMS) {
		t.Errorf("a run without checkouts gave figures: %+v", c)
	}
}
