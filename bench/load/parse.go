package main

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// loadResult is one load generator run: throughput and latency of the answered requests.
type loadResult struct {
	Requests int
	// Errors counts failed requests and answers other than 2xx/3xx.
	Errors  int
	Seconds float64
	RPS     float64
	P50ms   float64
	P99ms   float64
}

var (
	wrkRequests = regexp.MustCompile(`(?m)^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)`)
	wrkRPS      = regexp.MustCompile(`(?m)^Requests/sec:\s+([\d.]+)`)
	wrkPct      = regexp.MustCompile(`(?m)^\s+(50|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$`)
	wrkNon2xx   = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses:\s+(\d+)`)
	wrkSocket   = regexp.MustCompile(`(?m)^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// wrkUnitMS converts wrk's time units to milliseconds.
func wrkUnitMS(unit string) float64 {
	switch unit {
	case "us":
		return 1e-3
	case "ms":
		return 1
	case "s":
		return 1e3
	case "m":
		return 60e3
	case "h":
		return 3600e3
	}
	return math.NaN()
}

// parseWrk reads the output of `wrk --latency`. Read errors on keep-alive connections that
// the server closed at the end are counted as errors like the others: a clean run has none.
func parseWrk(out string) (loadResult, error) {
	var r loadResult
	m := wrkRequests.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("wrk: no request count in output")
	}
	r.Requests, _ = strconv.Atoi(m[1])
	d, _ := strconv.ParseFloat(m[2], 64)
	r.Seconds = d * wrkUnitMS(m[3]) / 1000
	m = wrkRPS.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("wrk: no Requests/sec in output")
	}
	r.RPS, _ = strconv.ParseFloat(m[1], 64)
	found := 0
	for _, m := range wrkPct.FindAllStringSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		v *= wrkUnitMS(m[3])
		if m[1] == "50" {
			r.P50ms = v
		} else {
			r.P99ms = v
		}
		found++
	}
	if found != 2 {
		return r, fmt.Errorf("wrk: no latency distribution in output (run with --latency)")
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		n, _ := strconv.Atoi(m[1])
		r.Errors += n
	}
	if m := wrkSocket.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.Atoi(s)
			r.Errors += n
		}
	}
	return r, nil
}

var (
	h2Finished = regexp.MustCompile(`(?m)^finished in ([\d.]+)(s|ms), ([\d.]+) req/s`)
	h2Requests = regexp.MustCompile(`(?m)^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout`)
	h2Status   = regexp.MustCompile(`(?m)^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx`)
)

// parseH2load reads h2load's summary. It prints no percentiles: they come from its
// --log-file (h2loadLatencies).
func parseH2load(out string) (loadResult, error) {
	var r loadResult
	m := h2Finished.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("h2load: no 'finished in' line in output")
	}
	r.Seconds, _ = strconv.ParseFloat(m[1], 64)
	if m[2] == "ms" {
		r.Seconds /= 1000
	}
	r.RPS, _ = strconv.ParseFloat(m[3], 64)
	m = h2Requests.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("h2load: no 'requests:' line in output")
	}
	succeeded, _ := strconv.Atoi(m[4])
	failed, _ := strconv.Atoi(m[5])
	errored, _ := strconv.Atoi(m[6])
	timeout, _ := strconv.Atoi(m[7])
	r.Requests = succeeded
	r.Errors = failed + errored + timeout
	if m := h2Status.FindStringSubmatch(out); m != nil {
		for _, s := range m[3:] {
			n, _ := strconv.Atoi(s)
			r.Errors += n
		}
	}
	return r, nil
}

// h2loadLatencies reads h2load's --log-file: per request, tab separated, the start time in
// µs since the epoch, the status code and the µs until the response ended. It returns the
// latencies in ms of the 2xx and 3xx answers.
func h2loadLatencies(log string) ([]float64, error) {
	var lat []float64
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		f := strings.Split(strings.TrimSpace(sc.Text()), "\t")
		if len(f) < 3 {
			continue
		}
		status, err1 := strconv.Atoi(f[1])
		us, err2 := strconv.ParseFloat(f[2], 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("h2load log: bad line %q", sc.Text())
		}
		if status >= 200 && status < 400 {
			lat = append(lat, us/1000)
		}
	}
	return lat, sc.Err()
}

// percentile is the p-th percentile (nearest rank) of v, NaN when v is empty. It sorts v.
func percentile(v []float64, p float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	rank := int(math.Ceil(p / 100 * float64(len(v))))
	return v[min(max(rank, 1), len(v))-1]
}

// median is the median of v's figures (the mean of the middle two for an even count); NaNs,
// runs that measured nothing, are left out. NaN when nothing is left.
func median(v []float64) float64 {
	s := slices.DeleteFunc(slices.Clone(v), math.IsNaN)
	if len(s) == 0 {
		return math.NaN()
	}
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// parseMallocs finds the cumulative heap allocation count in a Prometheus text exposition
// (go_memstats_mallocs_total) or in the bare proxy's "mallocs N" answer.
func parseMallocs(text string) (float64, error) {
	for _, name := range []string{"go_memstats_mallocs_total", "mallocs"} {
		if v, err := parseGauge(text, name); !errors.Is(err, errNoSeries) {
			return v, err
		}
	}
	return 0, fmt.Errorf("no go_memstats_mallocs_total or mallocs line")
}

// parseSumCount finds series' _sum and _count in a Prometheus text exposition; series is a
// metric name, with its labels in braces when it has any (as the exposition writes them).
// A labelled series appears with its first observation: errNoSeries until then.
func parseSumCount(text, series string) ([2]float64, error) {
	name, labels, _ := strings.Cut(series, "{")
	if labels != "" {
		labels = "{" + labels
	}
	var out [2]float64
	found := 0
	for line := range strings.SplitSeq(text, "\n") {
		for i, suffix := range []string{"_sum", "_count"} {
			if v, ok := strings.CutPrefix(line, name+suffix+labels+" "); ok {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil {
					return out, fmt.Errorf("%s%s: %w", series, suffix, err)
				}
				out[i] = f
				found++
			}
		}
	}
	if found != 2 {
		return out, fmt.Errorf("%w: %s", errNoSeries, series)
	}
	return out, nil
}

// parseGauge finds an unlabelled series' value in a Prometheus text exposition.
func parseGauge(text, name string) (float64, error) {
	for line := range strings.SplitSeq(text, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("%w: %s", errNoSeries, name)
}

// errNoSeries is parseSumCount's answer for a series the exposition does not hold.
var errNoSeries = errors.New("no _sum and _count in the metrics")

// parseStatusKiB reads a field in KiB (VmRSS, RssAnon, RssFile) from /proc/PID/status text.
func parseStatusKiB(status, field string) (int, error) {
	for line := range strings.SplitSeq(status, "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(rest)
			if len(f) >= 1 {
				return strconv.Atoi(f[0])
			}
		}
	}
	return 0, fmt.Errorf("no %s line", field)
}
