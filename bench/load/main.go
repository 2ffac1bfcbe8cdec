// Command load is tokenwall's load benchmark (`make bench-load`): tokenwall against nginx and
// a bare Go reverse proxy, measured interleaved in one run on loopback, servers and load
// generators pinned to different cores. It prints the figures with their ratios and writes
// them, with the targets marked PASS or FAIL, to BENCHMARKS.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/tokenwall/tokenwall/scrub"
)

func main() { os.Exit(mainRun(os.Args[1:], os.Stdout, os.Stderr)) }

func mainRun(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case roleUpstream:
			return serveUpstream(args[1:])
		case roleBare:
			return serveBare(args[1:])
		case roleTokenize:
			return runTokenizeClient(args[1:])
		}
	}
	fset := flag.NewFlagSet("bench-load", flag.ContinueOnError)
	fset.SetOutput(stderr)
	quick := fset.Bool("quick", os.Getenv("BENCH_LOAD_QUICK") == "1", "1 round of 2 s per run (also BENCH_LOAD_QUICK=1): a smoke test")
	rounds := fset.Int("rounds", 3, "rounds; each measures every target once")
	dur := fset.Duration("duration", 5*time.Second, "length of each load run (whole seconds)")
	out := fset.String("out", "BENCHMARKS.md", "the report's file; empty: print only")
	keep := fset.Bool("keep", os.Getenv("KEEP") == "1", "keep the temp dir (also KEEP=1); its files are scrubbed of card numbers")
	pin := fset.Bool("pin", true, "pin servers and load generators to different cores with taskset")
	idle := fset.Int("idle-conns", 1000, "keep-alive connections held open for the RSS figure")
	if err := fset.Parse(args); err != nil {
		return 2
	}
	s := settings{rounds: *rounds, duration: *dur, conns: 64, streams: 10, tokenizeClients: []int{4, 64}, idleConns: *idle, pin: *pin}
	if *quick {
		s.rounds, s.duration = 1, 2*time.Second
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := benchmark(ctx, s, *keep, stderr)
	if rep != nil {
		rep.quick = *quick
		rep.command = commandLine(args)
		md := rep.markdown()
		fmt.Fprint(stdout, md)
		if *out != "" {
			if werr := os.WriteFile(*out, []byte(md), 0o644); werr != nil {
				err = errors.Join(err, werr)
			} else {
				fmt.Fprintf(stderr, "bench-load: wrote %s\n", *out)
			}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "bench-load: %v\n", err)
		return 1
	}
	return 0
}

// commandLine is how the run was asked for, as the report shows it.
func commandLine(args []string) string {
	if os.Getenv("MAKELEVEL") != "" {
		c := "make bench-load"
		if os.Getenv("BENCH_LOAD_QUICK") == "1" {
			c = "BENCH_LOAD_QUICK=1 " + c
		}
		return c
	}
	return strings.TrimSpace("go run ./bench/load " + strings.Join(args, " "))
}

// benchmark starts the stack in a temp dir, measures, and stops everything. It returns the
// report of what was measured, even when a later step failed.
func benchmark(ctx context.Context, s settings, keep bool, log io.Writer) (rep *report, err error) {
	for _, tool := range []string{"wrk", "h2load"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s not found: `make bench-load` installs it", tool)
		}
	}
	rep = &report{date: time.Now(), settings: s, machine: describeMachine(), loadBefore: loadAvg()}
	if s.pin {
		if rep.machine.nproc < 2 {
			s.pin, rep.settings.pin = false, false
			rep.notes = append(rep.notes, "fewer than 2 cores: nothing pinned")
		} else if err := pinSelf(); err != nil {
			return rep, err
		}
	}
	if !s.pin {
		rep.notes = append(rep.notes, "servers and load generators were not pinned to separate cores")
	}
	dir, err := os.MkdirTemp("", "tokenwall-bench-load-")
	if err != nil {
		return rep, err
	}
	defer func() {
		n, serr := scrubDir(dir)
		if serr != nil {
			err = errors.Join(err, serr)
		}
		if n > 0 {
			rep.notes = append(rep.notes, fmt.Sprintf("%d file(s) of the run held a card number and were scrubbed", n))
		}
		if keep {
			fmt.Fprintf(log, "bench-load: kept %s (scrubbed)\n", dir)
			return
		}
		err = errors.Join(err, os.RemoveAll(dir))
	}()
	fmt.Fprintf(log, "bench-load: starting the stack in %s\n", dir)
	st, err := startStack(ctx, dir, s.pin)
	if err != nil {
		return rep, err
	}
	defer func() { err = errors.Join(err, st.close()) }()
	err = measureAll(ctx, st, s, rep, log)
	rep.loadAfter = loadAvg()
	return rep, err
}

// measureAll warms every path up, then runs the rounds (targets rotated each round), then
// reads each server's RSS with idle connections held open.
func measureAll(ctx context.Context, st *stack, s settings, rep *report, log io.Writer) error {
	fmt.Fprintln(log, "bench-load: warm-up")
	warm := s
	for _, t := range st.targets() {
		if _, err := st.runWrk(ctx, warm, t.url+"/", time.Second); err != nil {
			return err
		}
		if _, err := st.runH2load(ctx, warm, t.url+"/", time.Second); err != nil {
			return err
		}
	}
	for _, mode := range []string{modeTokenwall, modeDirect} {
		if _, err := st.tokenize(ctx, s, mode, s.tokenizeClients[0], time.Second); err != nil {
			return err
		}
	}
	targets := st.targets()
	for round := range s.rounds {
		order := make([]*server, len(targets))
		for i := range targets {
			order[i] = targets[(i+round)%len(targets)]
		}
		for _, t := range order {
			for _, proto := range []string{protoH1, protoH2} {
				smp, err := st.passThrough(ctx, s, t, proto)
				if err != nil {
					return err
				}
				smp.round = round
				if smp.Requests == 0 {
					// Seen on an overloaded machine: no handshake finished within the run.
					smp.RPS, smp.P50ms, smp.P99ms = nan(), nan(), nan()
					rep.notes = append(rep.notes, fmt.Sprintf("round %d: %s over %s answered no request in %s; left out", round+1, t.name, proto, s.duration))
				}
				rep.pass = append(rep.pass, smp)
				fmt.Fprintf(log, "round %d/%d  %-9s %-8s %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms  failed %d  allocs/req %s\n",
					round+1, s.rounds, t.name, proto, smp.RPS, smp.P50ms, smp.P99ms, smp.Errors, num(smp.allocsPerReq, 1))
			}
		}
		modes := []string{modeTokenwall, modeDirect}
		if round%2 == 1 {
			modes = []string{modeDirect, modeTokenwall}
		}
		for _, c := range s.tokenizeClients {
			for _, mode := range modes {
				smp, err := st.tokenize(ctx, s, mode, c, s.duration)
				if err != nil {
					return err
				}
				smp.round = round
				rep.tokenize = append(rep.tokenize, smp)
				fmt.Fprintf(log, "round %d/%d  tokenize %-9s c=%-3d %7.0f req/s  p50 %6.2f ms  p99 %6.2f ms  failed %d %s\n",
					round+1, s.rounds, mode, c, float64(smp.Requests)/max(smp.Seconds, 1e-9), smp.P50ms, smp.P99ms, smp.Errors, smp.FirstError)
			}
		}
	}
	for _, t := range targets {
		m, err := st.measureRSS(ctx, t, s.idleConns)
		if err != nil {
			rep.notes = append(rep.notes, fmt.Sprintf("RSS of %s: %v", t.name, err))
			continue
		}
		rep.rss = append(rep.rss, m)
		fmt.Fprintf(log, "rss  %-9s idle %6.1f MiB  with %d idle connections %6.1f MiB  (Go heap in use %s -> %s MiB, stacks %s -> %s MiB)\n",
			t.name, float64(m.idleRSS.all)/1024, m.held, float64(m.heldRSS.all)/1024,
			num(m.goIdle.heapInuse/(1<<20), 1), num(m.goHeld.heapInuse/(1<<20), 1), num(m.goIdle.stackInuse/(1<<20), 1), num(m.goHeld.stackInuse/(1<<20), 1))
	}
	return nil
}

// pinSelf pins the harness (every thread) to the server core: the children it starts —
// Vault, stripe-mock — inherit it, and the stripe-mock scenario front it runs sits with the
// servers; the load generators are started pinned to the other core.
func pinSelf() error {
	out, err := exec.Command("taskset", "-a", "-cp", serverCPU, strconv.Itoa(os.Getpid())).CombinedOutput()
	if err != nil {
		return fmt.Errorf("taskset: %w: %s", err, out)
	}
	return nil
}

// describeMachine reads the core count, CPU model, kernel and tool versions.
func describeMachine() machine {
	m := machine{goVer: runtime.Version(), cpu: "unknown", kernel: "unknown"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			switch strings.TrimSpace(k) {
			case "processor":
				m.nproc++
			case "model name":
				m.cpu = strings.TrimSpace(v)
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = strings.TrimSpace(string(b))
	}
	if ng, err := nginxBinary(); err == nil {
		m.tools = append(m.tools, toolVersion(ng, "-v"))
	}
	m.tools = append(m.tools, toolVersion("wrk", "-v"), toolVersion("h2load", "--version"))
	return m
}

// toolVersion is the first line a tool prints about its version.
func toolVersion(bin string, arg string) string {
	out, _ := exec.Command(bin, arg).CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	line = strings.TrimPrefix(line, "nginx version: ")
	line, _, _ = strings.Cut(line, " Copyright")
	if line == "" {
		return filepath.Base(bin) + " (version unknown)"
	}
	return line
}

// loadAvg is /proc/loadavg's three averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// scrubDir rewrites the run's text files that hold a card number through scrub.Text and
// returns how many did. The database is not rewritten; one holding a card is an error.
func scrubDir(dir string) (int, error) {
	n := 0
	var errs error
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		if fi, err := d.Info(); err != nil || fi.Size() > 256<<20 {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil || !scrub.ContainsPAN(b) {
			return nil
		}
		n++
		if strings.Contains(filepath.Base(p), ".db") {
			errs = errors.Join(errs, fmt.Errorf("%s holds a card number", p))
			return nil
		}
		return os.WriteFile(p, scrub.Text(b), 0o600)
	})
	return n, errors.Join(err, errs)
}
