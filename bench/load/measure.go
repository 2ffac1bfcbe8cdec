package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/tokenwall/tokenwall/config"
)

// Protocols measured.
const (
	protoH1 = "HTTP/1.1"
	protoH2 = "HTTP/2"
)

// settings are the load run's shape.
type settings struct {
	rounds   int
	duration time.Duration
	// conns is the pass-through connection count (wrk -c, h2load -c); streams is h2load -m.
	conns, streams int
	// tokenizeClients are the client counts of the tokenization runs.
	tokenizeClients []int
	// idleConns is how many keep-alive connections the RSS measurement holds open.
	idleConns int
	pin       bool
}

// defaultPool is tokenwall's default upstream keep-alive pool, which the baselines get too.
func defaultPool() int { return config.Default().Upstream.MaxIdleConnsPerHost }

// passSample is one pass-through run of one target.
type passSample struct {
	target, proto string
	round         int
	loadResult
	// allocsPerReq is the server's heap allocations per request (HTTP/1.1 runs of the Go
	// servers; NaN otherwise).
	allocsPerReq float64
}

// tokenizeSample is one tokenization run.
type tokenizeSample struct {
	target  string // "tokenwall" or "direct"
	clients int
	round   int
	tokenizeResult
	// parts is where tokenwall's time went in this run, from its own histograms (tokenwall
	// runs only).
	parts tokenizeParts
	// cpu is the server core's CPU time per checkout over the run, by process.
	cpu cpuShare
}

// tokenizeParts are the mean milliseconds per checkout of tokenwall's server-side time and of
// its two waits, over one run: the differences of its histograms' sums and counts.
type tokenizeParts struct {
	request, gateway, audit float64
}

// partsSeries are the histograms tokenizeParts is read from, in its order.
var partsSeries = []string{
	`tokenwall_request_duration_seconds{route="/checkout/submit"}`,
	"tokenwall_gateway_duration_seconds",
	"tokenwall_audit_write_duration_seconds",
}

// histogramTotals reads the sums and counts of partsSeries from tokenwall's /metrics.
func histogramTotals(ctx context.Context, s *server) ([][2]float64, error) {
	text, err := adminText(ctx, s)
	if err != nil {
		return nil, err
	}
	out := make([][2]float64, len(partsSeries))
	for i, series := range partsSeries {
		// Before the route's first checkout its series is not there yet: zeros.
		if out[i], err = parseSumCount(text, series); err != nil && !errors.Is(err, errNoSeries) {
			return nil, err
		}
	}
	return out, nil
}

// partsBetween turns two readings of histogramTotals into means per observation.
func partsBetween(before, after [][2]float64) tokenizeParts {
	mean := func(i int) float64 {
		n := after[i][1] - before[i][1]
		if n <= 0 {
			return nan()
		}
		return 1000 * (after[i][0] - before[i][0]) / n
	}
	return tokenizeParts{request: mean(0), gateway: mean(1), audit: mean(2)}
}

// cpuPids are the processes of cpuRoles, in its order.
func (st *stack) cpuPids() []int {
	return []int{st.tw.pids()[0], st.stripe.Pid(), os.Getpid(), st.upstream.pids()[0]}
}

// runWrk runs wrk pinned to the load core against u for d.
func (st *stack) runWrk(ctx context.Context, s settings, u string, d time.Duration) (loadResult, error) {
	secs := strconv.Itoa(max(1, int(d.Seconds())))
	ctx, cancel := context.WithTimeout(ctx, 4*d+30*time.Second)
	defer cancel()
	cmd := pinned(s.pin, loadCPU, "wrk", "-t1", "-c"+strconv.Itoa(s.conns), "-d"+secs+"s", "--latency", "--timeout", "10s", u)
	out, err := run(ctx, cmd)
	if err != nil {
		return loadResult{}, fmt.Errorf("wrk %s: %w\n%s", u, err, out)
	}
	return parseWrk(out)
}

// runH2load runs h2load pinned to the load core against u for about d; the percentiles come
// from its per-request log. h2load 1.52's timing mode (-D) can hang for good after a run
// against nginx ("Stopped all clients" and no summary), so it runs a request count (-n):
// the last run's rate against u times d.
func (st *stack) runH2load(ctx context.Context, s settings, u string, d time.Duration) (loadResult, error) {
	logFile := filepath.Join(st.dir, "h2load-requests.tsv")
	defer os.Remove(logFile)
	n := 2000
	if rate := st.h2rate[u]; rate > 0 {
		n = int(rate * d.Seconds())
	}
	n = min(max(n, 1000), 5_000_000)
	ctx, cancel := context.WithTimeout(ctx, 4*d+30*time.Second)
	defer cancel()
	cmd := pinned(s.pin, loadCPU, "h2load", "-t1", "-c"+strconv.Itoa(s.conns), "-m"+strconv.Itoa(s.streams), "-n"+strconv.Itoa(n),
		"--log-file="+logFile, u)
	out, err := run(ctx, cmd)
	if err != nil {
		return loadResult{}, fmt.Errorf("h2load %s: %w\n%s", u, err, out)
	}
	r, err := parseH2load(out)
	if err != nil {
		return r, fmt.Errorf("%w\n%s", err, out)
	}
	b, err := os.ReadFile(logFile)
	if err != nil {
		return r, fmt.Errorf("h2load log: %w", err)
	}
	lat, err := h2loadLatencies(string(b))
	if err != nil {
		return r, err
	}
	r.P50ms, r.P99ms = percentile(lat, 50), percentile(lat, 99)
	if r.RPS > 0 {
		st.h2rate[u] = r.RPS
	}
	return r, nil
}

// run runs cmd and returns its combined output.
func run(ctx context.Context, cmd *exec.Cmd) (string, error) {
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return buf.String(), err
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-done
		return buf.String(), ctx.Err()
	}
}

// mallocs reads a Go server's cumulative heap allocation count from its admin endpoint.
func mallocs(ctx context.Context, s *server) (float64, error) {
	text, err := adminText(ctx, s)
	if err != nil {
		return 0, err
	}
	return parseMallocs(text)
}

// adminText GETs a Go server's admin endpoint (tokenwall's /metrics, the bare proxy's
// /mallocs) and returns the answer.
func adminText(ctx context.Context, s *server) (string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.admin, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// passThrough measures one target over one protocol, with its allocations per request on
// HTTP/1.1 for the Go servers.
func (st *stack) passThrough(ctx context.Context, s settings, t *server, proto string) (passSample, error) {
	smp := passSample{target: t.name, proto: proto, allocsPerReq: nan()}
	var before float64
	withAllocs := proto == protoH1 && t.admin != ""
	if withAllocs {
		var err error
		if before, err = mallocs(ctx, t); err != nil {
			return smp, fmt.Errorf("%s allocations: %w", t.name, err)
		}
	}
	var err error
	if proto == protoH1 {
		smp.loadResult, err = st.runWrk(ctx, s, t.url+"/", s.duration)
	} else {
		smp.loadResult, err = st.runH2load(ctx, s, t.url+"/", s.duration)
	}
	if err != nil {
		return smp, err
	}
	if withAllocs && smp.Requests > 0 {
		after, err := mallocs(ctx, t)
		if err != nil {
			return smp, fmt.Errorf("%s allocations: %w", t.name, err)
		}
		smp.allocsPerReq = (after - before) / float64(smp.Requests)
	}
	return smp, nil
}

// tokenize runs the tokenization client (pinned to the load core) against tokenwall, or
// against Stripe and the app directly.
func (st *stack) tokenize(ctx context.Context, s settings, target string, clients int, d time.Duration) (tokenizeSample, error) {
	args := []string{roleTokenize, "-mode", target, "-c", strconv.Itoa(clients), "-d", d.String()}
	if target == modeTokenwall {
		args = append(args, "-target", st.tw.url, "-ca", st.cert)
	} else {
		args = append(args, "-stripe", st.stripe.URL, "-stripe-key", st.stripeKey, "-upstream", st.upstream.url)
	}
	ctx, cancel := context.WithTimeout(ctx, 4*d+30*time.Second)
	defer cancel()
	var before [][2]float64
	if target == modeTokenwall {
		var err error
		if before, err = histogramTotals(ctx, st.tw); err != nil {
			return tokenizeSample{}, fmt.Errorf("tokenwall's histograms: %w", err)
		}
	}
	pids := st.cpuPids()
	cpuBefore, err := readCPU(pids, serverCPU)
	if err != nil {
		return tokenizeSample{}, fmt.Errorf("CPU time: %w", err)
	}
	out, err := run(ctx, pinned(s.pin, loadCPU, st.selfBin, args...))
	if err != nil {
		return tokenizeSample{}, fmt.Errorf("tokenize client %s: %w\n%s", target, err, out)
	}
	cpuAfter, err := readCPU(pids, serverCPU)
	if err != nil {
		return tokenizeSample{}, fmt.Errorf("CPU time: %w", err)
	}
	var r tokenizeResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		return tokenizeSample{}, fmt.Errorf("tokenize client %s: %w\n%s", target, err, out)
	}
	// Requests cut short at the run's end did CPU work too; the figure per checkout divides by
	// the answered ones (failures included), so it is a little high, for both paths alike.
	smp := tokenizeSample{target: target, clients: clients, tokenizeResult: r, cpu: shareBetween(cpuBefore, cpuAfter, r.Requests+r.Errors)}
	if target == modeTokenwall {
		after, err := histogramTotals(ctx, st.tw)
		if err != nil {
			return tokenizeSample{}, fmt.Errorf("tokenwall's histograms: %w", err)
		}
		smp.parts = partsBetween(before, after)
	}
	return smp, nil
}
