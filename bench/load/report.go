package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Target names as the report shows them.
const (
	nameNginx     = "nginx"
	nameBare      = "bare Go"
	nameTokenwall = "tokenwall"
)

// The targets.
const (
	targetVsBare      = 0.9  // pass-through req/s ≥ 0.9× the bare Go proxy's
	targetVsNginx     = 0.5  // stretch: ≥ 0.5× nginx's
	targetAddedP50ms  = 1.0  // tokenization adds ≤ 1 ms at p50 at 4 clients
	targetRSSMiB      = 64.0 // RSS ≤ 64 MiB with 1,000 idle keep-alive connections
	targetAllocsRatio = 1.1  // allocations per pass-through request ≤ 1.1× the bare proxy's
	targetClients     = 4    // the client count of the tokenization target
)

// report is everything one run measured, and where.
type report struct {
	date     time.Time
	command  string
	quick    bool
	settings settings
	machine  machine
	// loadBefore and loadAfter are /proc/loadavg at the start and end of the run.
	loadBefore, loadAfter string
	pass                  []passSample
	tokenize              []tokenizeSample
	rss                   []rssSample
	// notes are things that went wrong or that a reader must know; shown as they are.
	notes []string
}

// machine describes where the figures were taken.
type machine struct {
	nproc              int
	cpu, kernel, goVer string
	tools              []string
}

func nan() float64 { return math.NaN() }

// passStats are the medians over rounds of one target and protocol.
type passStats struct {
	rps, rpsMin, rpsMax, p50, p99, allocs float64
	errors, runs                          int
}

func (r *report) passStats(target, proto string) passStats {
	var rps, p50, p99, allocs []float64
	st := passStats{allocs: nan()}
	for _, s := range r.pass {
		if s.target != target || s.proto != proto {
			continue
		}
		st.runs++
		st.errors += s.Errors
		rps, p50, p99 = append(rps, s.RPS), append(p50, s.P50ms), append(p99, s.P99ms)
		if !math.IsNaN(s.allocsPerReq) {
			allocs = append(allocs, s.allocsPerReq)
		}
	}
	st.rps, st.p50, st.p99 = median(rps), median(p50), median(p99)
	if len(allocs) > 0 {
		st.allocs = median(allocs)
	}
	st.rpsMin, st.rpsMax = nan(), nan()
	if rps = slices.DeleteFunc(rps, math.IsNaN); len(rps) > 0 {
		st.rpsMin, st.rpsMax = slices.Min(rps), slices.Max(rps)
	}
	return st
}

// roundRatio is the median over rounds of a's req/s over b's in the same round. The machine's
// speed drifts from round to round (other work shares it); a and b measured back to back in
// one round share that round's speed, so this ratio moves less than the ratio of medians.
func (r *report) roundRatio(a, b, proto string) float64 {
	byRound := map[int]map[string]float64{}
	for _, s := range r.pass {
		if s.proto == proto && (s.target == a || s.target == b) {
			if byRound[s.round] == nil {
				byRound[s.round] = map[string]float64{}
			}
			byRound[s.round][s.target] = s.RPS
		}
	}
	var ratios []float64
	for _, m := range byRound {
		if ra, rb := m[a], m[b]; rb > 0 && !math.IsNaN(ra) {
			ratios = append(ratios, ra/rb)
		}
	}
	if len(ratios) == 0 {
		return nan()
	}
	return median(ratios)
}

// roundAdded is the median over rounds of tokenwall's p50 (p99 with p99) minus the direct
// calls' in the same round, at one client count: as roundRatio, the two paths of one round
// share its speed.
func (r *report) roundAdded(clients int, p99 bool) float64 {
	byRound := map[int]map[string]float64{}
	for _, s := range r.tokenize {
		if s.clients != clients || s.Errors > 0 || s.Requests == 0 {
			continue
		}
		if byRound[s.round] == nil {
			byRound[s.round] = map[string]float64{}
		}
		v := s.P50ms
		if p99 {
			v = s.P99ms
		}
		byRound[s.round][s.target] = v
	}
	var added []float64
	for _, m := range byRound {
		tw, okT := m[modeTokenwall]
		d, okD := m[modeDirect]
		if okT && okD {
			added = append(added, tw-d)
		}
	}
	if len(added) == 0 {
		return nan()
	}
	return median(added)
}

// tokenizeStats are the medians over rounds of one path at one client count.
type tokenizeStats struct {
	rps, p50, p99 float64
	errors, runs  int
	firstError    string
	parts         tokenizeParts // tokenwall's: medians of each part's mean
	cpu           cpuShare      // medians of each figure
}

func (r *report) tokenizeStats(target string, clients int) tokenizeStats {
	var rps, p50, p99, req, gw, aud, other, busy []float64
	procs := make([][]float64, len(cpuRoles))
	var st tokenizeStats
	for _, s := range r.tokenize {
		if s.target != target || s.clients != clients {
			continue
		}
		st.runs++
		st.errors += s.Errors
		if st.firstError == "" {
			st.firstError = s.FirstError
		}
		if s.Seconds > 0 {
			rps = append(rps, float64(s.Requests)/s.Seconds)
		}
		p50, p99 = append(p50, s.P50ms), append(p99, s.P99ms)
		req, gw, aud = append(req, s.parts.request), append(gw, s.parts.gateway), append(aud, s.parts.audit)
		for i := range procs {
			if i < len(s.cpu.procMS) {
				procs[i] = append(procs[i], s.cpu.procMS[i])
			}
		}
		other, busy = append(other, s.cpu.otherMS), append(busy, s.cpu.busy)
	}
	st.rps, st.p50, st.p99 = median(rps), median(p50), median(p99)
	st.parts = tokenizeParts{request: median(req), gateway: median(gw), audit: median(aud)}
	st.cpu = cpuShare{procMS: make([]float64, len(procs)), otherMS: median(other), busy: median(busy)}
	for i, v := range procs {
		st.cpu.procMS[i] = median(v)
	}
	return st
}

func (r *report) rssOf(target string) (rssSample, bool) {
	for _, s := range r.rss {
		if s.target == target {
			return s, true
		}
	}
	return rssSample{}, false
}

// num formats a figure, "n/a" when missing.
func num(v float64, prec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	s := fmt.Sprintf("%.*f", prec, v)
	if prec == 0 && v >= 1000 {
		// Thousands separated, for req/s.
		var b strings.Builder
		for i, c := range s {
			if i > 0 && (len(s)-i)%3 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		return b.String()
	}
	return s
}

// ratio formats a/b as "0.85×".
func ratio(a, b float64) string {
	if b == 0 {
		return "n/a"
	}
	return num(a/b, 2) + "×"
}

// times formats a ratio as "0.85×".
func times(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return num(v, 2) + "×"
}

// percent formats a/b as "23%".
func percent(a, b float64) string {
	if b == 0 || math.IsNaN(a/b) {
		return "n/a"
	}
	return num(100*a/b, 0) + "%"
}

// verdict is PASS, FAIL or NOT MEASURED.
func verdict(ok bool, measured bool) string {
	switch {
	case !measured:
		return "NOT MEASURED"
	case ok:
		return "PASS"
	}
	return "FAIL"
}

func measured(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// markdown renders the report: the machine, the command, the tables with their ratios,
// the targets with PASS or FAIL, and where each figure comes from.
func (r *report) markdown() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	s := r.settings
	w("# Load benchmarks\n\n")
	w("Written by `make bench-load` (bench/load). tokenwall against two baselines measured in the same run,\n")
	w("interleaved round by round: nginx as a TLS reverse proxy and a bare Go `httputil.ReverseProxy` with\n")
	w("tokenwall's TLS, transport, copy-buffer pool, timeout and HTTP/2 settings. All on 127.0.0.1; the servers (and the upstream,\n")
	w("Vault, stripe-mock) pinned to CPU %s, the load generators to CPU %s.\n\n", serverCPU, loadCPU)
	if r.quick {
		w("**Quick setting (smoke test): 1 round of %s per run. Not figures to quote.**\n\n", s.duration)
	}
	w("**These are not final figures.** Absolute numbers on a shared 2-core machine are noise; the ratios,\n")
	w("taken in one run, are what to compare, and even they move with the machine's other load: a load average\n")
	w("(below) above about 1 before the run is other work sharing the two cores with the servers and the load generators.\n\n")

	w("## Machine and run\n\n| | |\n| --- | --- |\n")
	w("| date | %s |\n", r.date.UTC().Format("2006-01-02 15:04 UTC"))
	w("| command | `%s` |\n", r.command)
	w("| cores (nproc) | %d |\n| CPU | %s |\n| kernel | %s |\n| Go | %s |\n", r.machine.nproc, r.machine.cpu, r.machine.kernel, r.machine.goVer)
	w("| tools | %s |\n", strings.Join(r.machine.tools, ", "))
	w("| load average (1, 5, 15 min) before / after | %s / %s |\n", r.loadBefore, r.loadAfter)
	w("| shape | %d round(s), %s per run; pass-through `wrk -t1 -c%d --latency` and `h2load -t1 -c%d -m%d -n` (the last rate × the run length); tokenization at %s clients; RSS with %d idle keep-alive connections |\n\n",
		s.rounds, s.duration, s.conns, s.conns, s.streams, joinInts(s.tokenizeClients), s.idleConns)

	w("## Pass-through (GET /, 1 KiB answer from the upstream, %d connections)\n\n", s.conns)
	w("Medians over the rounds; req/s with the rounds' min–max.\n\n")
	w("| protocol | figure | %s | %s | %s | tokenwall / bare Go | tokenwall / nginx |\n| --- | --- | ---: | ---: | ---: | ---: | ---: |\n",
		nameTokenwall, nameBare, nameNginx)
	for _, proto := range []string{protoH1, protoH2} {
		tw, bare, ng := r.passStats(nameTokenwall, proto), r.passStats(nameBare, proto), r.passStats(nameNginx, proto)
		rpsCell := func(p passStats) string {
			return fmt.Sprintf("%s (%s–%s)", num(p.rps, 0), num(p.rpsMin, 0), num(p.rpsMax, 0))
		}
		w("| %s | req/s | %s | %s | %s | %s | %s |\n", proto, rpsCell(tw), rpsCell(bare), rpsCell(ng), ratio(tw.rps, bare.rps), ratio(tw.rps, ng.rps))
		w("| %s | req/s ratio within each round (median) | | | | %s | %s |\n", proto,
			times(r.roundRatio(nameTokenwall, nameBare, proto)), times(r.roundRatio(nameTokenwall, nameNginx, proto)))
		w("| %s | p50 ms | %s | %s | %s | %s | %s |\n", proto, num(tw.p50, 2), num(bare.p50, 2), num(ng.p50, 2), ratio(tw.p50, bare.p50), ratio(tw.p50, ng.p50))
		w("| %s | p99 ms | %s | %s | %s | %s | %s |\n", proto, num(tw.p99, 2), num(bare.p99, 2), num(ng.p99, 2), ratio(tw.p99, bare.p99), ratio(tw.p99, ng.p99))
		if proto == protoH1 {
			w("| %s | heap allocs/request | %s | %s | n/a | %s | n/a |\n", proto, num(tw.allocs, 1), num(bare.allocs, 1), ratio(tw.allocs, bare.allocs))
		}
		w("| %s | failed requests (all rounds) | %d | %d | %d | | |\n", proto, tw.errors, bare.errors, ng.errors)
	}

	w("\n## Tokenization (checkout form POST with Stripe's test Visa to /checkout/submit)\n\n")
	w("`direct` is the same work without tokenwall, by the same client: `POST /v1/payment_methods` with the card to\n")
	w("stripe-mock (through the dev stack's scenario front, which tokenwall uses too), then the tokenized form to the\n")
	w("upstream; its latency is the pair's.\n\n")
	w("| clients | path | req/s | p50 ms | p99 ms | failed |\n| ---: | --- | ---: | ---: | ---: | ---: |\n")
	for _, c := range s.tokenizeClients {
		tw, d := r.tokenizeStats(modeTokenwall, c), r.tokenizeStats(modeDirect, c)
		w("| %d | tokenwall | %s | %s | %s | %d |\n", c, num(tw.rps, 0), num(tw.p50, 2), num(tw.p99, 2), tw.errors)
		w("| %d | direct | %s | %s | %s | %d |\n", c, num(d.rps, 0), num(d.p50, 2), num(d.p99, 2), d.errors)
		w("| %d | **added by tokenwall** | %s | **%s** | **%s** | |\n", c, ratio(tw.rps, d.rps), signed(tw.p50-d.p50), signed(tw.p99-d.p99))
		w("| %d | added, within each round (median) | | %s | %s | |\n", c, signed(r.roundAdded(c, false)), signed(r.roundAdded(c, true)))
	}
	w("\nWhere tokenwall's time goes: means per checkout from its own histograms over each tokenwall run\n")
	w("(`tokenwall_request_duration_seconds` of the route, `tokenwall_gateway_duration_seconds`,\n")
	w("`tokenwall_audit_write_duration_seconds`), medians over the rounds. The rest is reading and parsing the\n")
	w("form, the card checks, signing, and forwarding to the app with its answer; TLS and queueing for the\n")
	w("server core are outside the server's own clock.\n\n")
	w("| clients | in tokenwall ms | gateway call ms | durable audit write ms | audit write share | rest ms |\n| ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, c := range s.tokenizeClients {
		p := r.tokenizeStats(modeTokenwall, c).parts
		w("| %d | %s | %s | %s | %s | %s |\n", c, num(p.request, 2), num(p.gateway, 2), num(p.audit, 2),
			percent(p.audit, p.request), num(p.request-p.gateway-p.audit, 2))
	}

	w("\nThe server core's CPU time per checkout, by process, from `/proc/PID/stat` and `/proc/stat` over each run\n")
	w("(10 ms ticks; medians over the rounds). Kernel and other is the rest of the core's busy time: the kernel's\n")
	w("own threads (among them the writeback of each fsync), interrupts, and any other process. In a closed loop\n")
	w("on a busy core, each client waits for the others' work too: a checkout's latency comes near the clients\n")
	w("times the core time per checkout, so every 0.1 ms of CPU per checkout is about 0.4 ms of latency at 4 clients.\n\n")
	w("| clients | path |")
	for _, role := range cpuRoles {
		w(" %s ms |", role)
	}
	w(" kernel and other ms | core busy per checkout ms | core busy |\n| ---: | --- |%s ---: | ---: | ---: |\n", strings.Repeat(" ---: |", len(cpuRoles)))
	for _, c := range s.tokenizeClients {
		for _, mode := range []string{modeTokenwall, modeDirect} {
			cs := r.tokenizeStats(mode, c).cpu
			w("| %d | %s |", c, mode)
			for _, v := range cs.procMS {
				w(" %s |", num(v, 3))
			}
			w(" %s | %s | %s |\n", num(cs.otherMS, 3), num(cs.totalMS(), 3), percent(cs.busy, 1))
		}
	}

	w("\n## Memory (VmRSS; nginx: master + worker)\n\n")
	w("| server | RSS idle MiB | RSS with idle keep-alive connections MiB | connections held | KiB per connection | tokenwall / this |\n| --- | ---: | ---: | ---: | ---: | ---: |\n")
	twRSS, twOK := r.rssOf(nameTokenwall)
	for _, name := range []string{nameTokenwall, nameBare, nameNginx} {
		m, ok := r.rssOf(name)
		if !ok {
			w("| %s | n/a | n/a | 0 | n/a | n/a |\n", name)
			continue
		}
		per := nan()
		if m.held > 0 {
			per = float64(m.heldRSS.all-m.idleRSS.all) / float64(m.held)
		}
		rel := "n/a"
		if twOK {
			rel = ratio(float64(twRSS.heldRSS.all), float64(m.heldRSS.all))
		}
		w("| %s | %s | %s | %d | %s | %s |\n", name, num(float64(m.idleRSS.all)/1024, 1), num(float64(m.heldRSS.all)/1024, 1), m.held, num(per, 1), rel)
	}
	w("\nVmRSS is the anonymous memory (RssAnon: the process's own, heap and stacks) and the file-backed pages\n")
	w("(RssFile: nearly all the binary's code, read-only data and function tables, which the page cache holds and\n")
	w("every process mapping the same file shares; a larger binary maps more of them). With the connections held:\n\n")
	w("| server | RSS MiB | anonymous MiB | file-backed MiB |\n| --- | ---: | ---: | ---: |\n")
	for _, name := range []string{nameTokenwall, nameBare, nameNginx} {
		if m, ok := r.rssOf(name); ok {
			k := m.heldRSS
			w("| %s | %s | %s | %s |\n", name, num(float64(k.all)/1024, 1), num(float64(k.anon)/1024, 1), num(float64(k.file)/1024, 1))
		}
	}
	w("\nWhat the Go runtime holds of it, idle and with the connections held (its own figures: heap spans in use,\n")
	w("which hold live objects and garbage not yet collected; goroutine stacks; heap memory free but not yet\n")
	w("returned to the system). The rest of RSS is the binary's pages, the runtime's own structures and memory\n")
	w("outside the Go heap (SQLite's page cache in tokenwall).\n\n")
	w("| server | when | heap in use MiB | stacks MiB | heap free, not returned MiB |\n| --- | --- | ---: | ---: | ---: |\n")
	mib := func(v float64) string { return num(v/(1<<20), 1) }
	for _, name := range []string{nameTokenwall, nameBare} {
		if m, ok := r.rssOf(name); ok {
			for _, row := range []struct {
				when string
				g    goMemory
			}{{"idle", m.goIdle}, {"connections held", m.goHeld}} {
				w("| %s | %s | %s | %s | %s |\n", name, row.when, mib(row.g.heapInuse), mib(row.g.stackInuse), mib(row.g.heapUnreturned))
			}
		}
	}

	w("\n## Targets (issue \"Performance\")\n\n| target | figure | result |\n| --- | --- | --- |\n")
	// The verdicts take the ratio within each round (roundRatio); the ratio of the medians is
	// shown beside it.
	for _, proto := range []string{protoH1, protoH2} {
		tw, bare := r.passStats(nameTokenwall, proto), r.passStats(nameBare, proto)
		rr := r.roundRatio(nameTokenwall, nameBare, proto)
		w("| pass-through ≥ %.1f× bare Go (%s req/s) | %s within each round (%s of the medians) | %s |\n", targetVsBare, proto,
			times(rr), ratio(tw.rps, bare.rps), verdict(rr >= targetVsBare, measured(rr)))
	}
	for _, proto := range []string{protoH1, protoH2} {
		tw, ng := r.passStats(nameTokenwall, proto), r.passStats(nameNginx, proto)
		rr := r.roundRatio(nameTokenwall, nameNginx, proto)
		w("| stretch: pass-through ≥ %.1f× nginx (%s req/s) | %s within each round (%s of the medians) | %s |\n", targetVsNginx, proto,
			times(rr), ratio(tw.rps, ng.rps), verdict(rr >= targetVsNginx, measured(rr)))
	}
	// As for pass-through, the verdict takes the figure within each round.
	tw, d := r.tokenizeStats(modeTokenwall, targetClients), r.tokenizeStats(modeDirect, targetClients)
	added := r.roundAdded(targetClients, false)
	w("| tokenization adds ≤ %.0f ms at p50 over the direct calls, %d clients (p99 reported) | %s ms at p50, %s ms at p99 within each round (%s and %s of the medians) | %s |\n",
		targetAddedP50ms, targetClients, signed(added), signed(r.roundAdded(targetClients, true)), signed(tw.p50-d.p50), signed(tw.p99-d.p99),
		verdict(added <= targetAddedP50ms, measured(added) && tw.errors == 0))
	rssMiB := nan()
	if twOK && twRSS.held == s.idleConns {
		rssMiB = float64(twRSS.heldRSS.all) / 1024
	}
	w("| RSS ≤ %.0f MiB with %d idle keep-alive connections | %s MiB | %s |\n", targetRSSMiB, s.idleConns, num(rssMiB, 1), verdict(rssMiB <= targetRSSMiB, measured(rssMiB)))
	twA, bareA := r.passStats(nameTokenwall, protoH1).allocs, r.passStats(nameBare, protoH1).allocs
	w("| heap allocations per pass-through request ≤ %.1f× the bare proxy's | %s / %s = %s | %s |\n", targetAllocsRatio,
		num(twA, 1), num(bareA, 1), ratio(twA, bareA), verdict(twA <= targetAllocsRatio*bareA, measured(twA, bareA) && bareA > 0))

	w("\n## Where each figure comes from\n\n")
	w("- req/s, p50, p99 over HTTP/1.1: wrk's summary and `--latency` distribution (wrk keeps its own histogram).\n")
	w("- req/s over HTTP/2: h2load's summary; p50 and p99 from its `--log-file` (one line per request), nearest rank.\n")
	w("  h2load runs a request count sized from the last rate, not `-D`: Debian's h2load 1.52 in timing mode can hang\n")
	w("  for good after a run against nginx. Both tools' req/s include the 64 TLS handshakes at the start of each run.\n")
	w("- Heap allocations per request: the server's cumulative heap allocation count (tokenwall: `go_memstats_mallocs_total`\n")
	w("  on its admin /metrics; the bare proxy: `runtime.MemStats.Mallocs` on its own admin port) read before and after each\n")
	w("  HTTP/1.1 pass-through run, divided by wrk's request count: the whole server's allocations (TLS, HTTP, logging,\n")
	w("  background work, and the one /metrics scrape) per request. nginx has no such figure. `make bench` (bench/BenchmarkCheckout)\n")
	w("  gives the in-process per-request allocations of tokenization next to a bare ReverseProxy.\n")
	w("- Tokenization: a Go client (the harness re-executed as `%s`, pinned to the load core) in closed loop, HTTP/1.1\n", roleTokenize)
	w("  keep-alive, latency of each successful request; medians of the rounds' p50 and p99.\n")
	w("- RSS: VmRSS from /proc/PID/status, before and while a Go client in the harness holds the connections open, each\n")
	w("  having made one HTTP/1.1 keep-alive request; read once, after the load rounds.\n")
	w("- Ratios: tokenwall's figure divided by the baseline's (for req/s higher is better, for latency, allocations and\n")
	w("  memory lower is better); \"added by tokenwall\" is tokenwall's figure minus the direct calls'.\n")
	w("- Within each round: tokenwall's req/s over the baseline's, and its tokenization latency minus the direct\n")
	w("  calls', measured in the same round, the median over the rounds. The machine's speed drifts from round to\n")
	w("  round (other work shares it): two targets measured in one round share its speed, so these figures move less\n")
	w("  than those of the medians. The pass-through and tokenization verdicts take them; both are shown.\n")
	if len(r.notes) > 0 {
		w("\n## Notes from this run\n\n")
		for _, n := range r.notes {
			w("- %s\n", n)
		}
	}
	return b.String()
}

// signed formats a difference in ms with its sign.
func signed(v float64) string {
	if !measured(v) {
		return "n/a"
	}
	return fmt.Sprintf("%+.2f", v)
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, " and ")
}
