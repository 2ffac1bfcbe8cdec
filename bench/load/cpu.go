package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// A clock tick of /proc/PID/stat and /proc/stat (USER_HZ, 100 on Linux), in milliseconds.
const tickMS = 10.0

// cpuRoles are the server core's processes a tokenization touches, in cpuShare.procMS order:
// tokenwall, stripe-mock, this harness (which runs the scenario front before stripe-mock) and
// the upstream app.
var cpuRoles = []string{"tokenwall", "stripe-mock", "scenario front", "upstream"}

// cpuShare is the server core's CPU time over one tokenization run, per checkout: each of
// cpuRoles, and the rest of the core's busy time (the kernel's threads, among them the
// writeback of each fsync, interrupts, any other process), with the core's busy fraction.
type cpuShare struct {
	procMS  []float64
	otherMS float64
	busy    float64
}

// totalMS is the core's busy time per checkout.
func (c cpuShare) totalMS() float64 {
	t := c.otherMS
	for _, v := range c.procMS {
		t += v
	}
	return t
}

// cpuReading is what cpuShare is the difference of: each role's CPU ticks so far, and the
// server core's busy and total ticks.
type cpuReading struct {
	procs       []int64
	busy, total int64
}

// readCPU reads the ticks of the processes pids (in cpuRoles order) and of core cpu.
func readCPU(pids []int, cpu string) (cpuReading, error) {
	r := cpuReading{procs: make([]int64, len(pids))}
	for i, pid := range pids {
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
		if err != nil {
			return r, err
		}
		if r.procs[i], err = parseProcTicks(string(b)); err != nil {
			return r, fmt.Errorf("pid %d: %w", pid, err)
		}
	}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return r, err
	}
	r.busy, r.total, err = parseCoreTicks(string(b), "cpu"+cpu)
	return r, err
}

// shareBetween turns two readings around a run of n checkouts into a cpuShare.
func shareBetween(before, after cpuReading, n int) cpuShare {
	c := cpuShare{procMS: make([]float64, len(after.procs)), otherMS: nan(), busy: nan()}
	if n <= 0 || len(before.procs) != len(after.procs) {
		for i := range c.procMS {
			c.procMS[i] = nan()
		}
		return c
	}
	var procs int64
	for i := range after.procs {
		d := after.procs[i] - before.procs[i]
		procs += d
		c.procMS[i] = float64(d) * tickMS / float64(n)
	}
	busy, total := after.busy-before.busy, after.total-before.total
	c.otherMS = float64(max(busy-procs, 0)) * tickMS / float64(n)
	if total > 0 {
		c.busy = float64(busy) / float64(total)
	}
	return c
}

// parseProcTicks reads utime + stime from /proc/PID/stat text. The command name, in
// parentheses, may hold spaces: fields are counted after its closing one.
func parseProcTicks(stat string) (int64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("no command name in /proc/PID/stat")
	}
	f := strings.Fields(stat[i+1:])
	// After the name: state (field 3 of proc(5)) ... utime (14), stime (15).
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/PID/stat has %d fields after the name", len(f))
	}
	u, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return 0, err
	}
	s, err := strconv.ParseInt(f[12], 10, 64)
	return u + s, err
}

// parseCoreTicks reads one core's line of /proc/stat: busy is user, nice, system, irq and
// softirq time (guest time is already in user and nice), total that with idle, iowait and
// steal (time the hypervisor gave to another machine).
func parseCoreTicks(stat, core string) (busy, total int64, err error) {
	for line := range strings.SplitSeq(stat, "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || f[0] != core {
			continue
		}
		for i, v := range f[1:9] { // user nice system idle iowait irq softirq steal
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return 0, 0, fmt.Errorf("/proc/stat %s: %w", core, err)
			}
			total += n
			if i != 3 && i != 4 && i != 7 {
				busy += n
			}
		}
		return busy, total, nil
	}
	return 0, 0, fmt.Errorf("/proc/stat has no %s line", core)
}
