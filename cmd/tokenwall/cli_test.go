package main

import (
	"context"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// runScan is `tokenwall scan` with args.
func runScan(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runWith(ctx, append([]string{"scan"}, args...), nil, stdout, stderr)
}

// scrubFiles is `tokenwall scrub` with args and stdin passed in.
func scrubFiles(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return runWith(ctx, append([]string{"scrub"}, args...), stdin, stdout, stderr)
}

// blackhole is a listener that accepts connections and never answers: a Vault (or
// anything) that a command reaching for it would wait on. It counts the connections.
func blackhole(t *testing.T) (addr string, conns *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns = &atomic.Int64{}
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			held = append(held, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range held {
			c.Close()
		}
	})
	return ln.Addr().String(), conns
}

// cliCase is one subcommand with arguments that make a valid call (besides --config).
type cliCase struct {
	cmd  []string // the command path: "audit", "verify"
	args []string // arguments after --config FILE that make the call valid
	// noConfig: the command takes no --config (scrub, scan, version, healthcheck).
	noConfig bool
	// noArgs: the command takes no positional argument, so one extra is refused.
	noArgs bool
}

// every command, with what makes a call to it valid.
var cliCases = []cliCase{
	{cmd: []string{"serve"}, noArgs: true},
	{cmd: []string{"check-config"}, noArgs: true},
	{cmd: []string{"migrate"}, noArgs: true},
	{cmd: []string{"scrub"}, noConfig: true},
	{cmd: []string{"scan"}, args: []string{"."}, noConfig: true},
	{cmd: []string{"audit", "verify"}, noArgs: true},
	{cmd: []string{"audit", "export"}, noArgs: true},
	{cmd: []string{"audit", "prune"}, noArgs: true},
	{cmd: []string{"audit", "rotate-key"}, noArgs: true},
	{cmd: []string{"audit", "restore"}, args: []string{"--reason", "restored the nightly backup"}, noArgs: true},
	{cmd: []string{"webhooks", "list"}, noArgs: true},
	{cmd: []string{"webhooks", "replay"}, args: []string{"evt_1"}},
	{cmd: []string{"keys", "create"}, args: []string{"--scopes", "payments"}, noArgs: true},
	{cmd: []string{"keys", "list"}, noArgs: true},
	{cmd: []string{"keys", "revoke"}, args: []string{"0123456789abcdef"}},
	{cmd: []string{"customers", "erase"}, args: []string{"cus_1"}},
	{cmd: []string{"report"}, args: []string{"-o", "/nonexistent/report.html"}, noArgs: true},
	{cmd: []string{"report", "generate"}, args: []string{"-o", "/nonexistent/report.html"}, noArgs: true},
	{cmd: []string{"report", "verify"}, args: []string{"/nonexistent/report.html"}},
	{cmd: []string{"pages", "list"}, noArgs: true},
	{cmd: []string{"pages", "check"}, noArgs: true},
	{cmd: []string{"pages", "baseline"}, args: []string{"/checkout", "--reason", "launch review"}},
	{cmd: []string{"pages", "approve"}, args: []string{"/checkout", "--reason", "new widget"}},
	{cmd: []string{"version"}, noConfig: true, noArgs: true},
	{cmd: []string{"healthcheck"}, noArgs: true},
}

// TestEveryCommandAnswersHelp: every command and command group answers --help (and -h, and
// `tokenwall help CMD`) with exit 0 and its usage on stdout, nothing on stderr.
func TestEveryCommandAnswersHelp(t *testing.T) {
	paths := [][]string{{}, {"audit"}, {"webhooks"}, {"keys"}, {"customers"}, {"pages"}}
	for _, tc := range cliCases {
		paths = append(paths, tc.cmd)
	}
	for _, path := range paths {
		name := strings.Join(append([]string{"tokenwall"}, path...), " ")
		for _, form := range [][]string{append(append([]string(nil), path...), "--help"), append(append([]string(nil), path...), "-h"),
			append([]string{"help"}, path...)} {
			t.Run(strings.Join(form, " "), func(t *testing.T) {
				code, out, errb := runCmd(t, form...)
				if code != 0 || errb != "" {
					t.Fatalf("exit %d, stderr %q: want 0 and nothing on stderr", code, errb)
				}
				if !strings.HasPrefix(out, "usage: "+name) {
					t.Errorf("stdout does not start with %q:\n%s", "usage: "+name, out)
				}
			})
		}
	}
}

// TestMisuseIsRefusedBeforeAnyConnection: for every command an unknown flag, an extra
// argument, a missing argument or --config, and a bad flag value print the usage and the
// problem on stderr and exit 2, at once: the config points at a Vault that accepts
// connections and never answers, and it is never connected to.
func TestMisuseIsRefusedBeforeAnyConnection(t *testing.T) {
	t.Setenv("TOKENWALL_CONFIG", "") // restored after the test; unset meanwhile, so --config is missing where left out
	os.Unsetenv("TOKENWALL_CONFIG")
	addr, conns := blackhole(t)
	cfg := writeConfig(t, "http://"+addr, writeToken(t, "hvs.not-a-token"))
	type misuse struct {
		name string
		args []string
		want string // in stderr, besides the usage
	}
	var cases []misuse
	for _, tc := range cliCases {
		valid := append(append([]string(nil), tc.cmd...), tc.args...)
		if !tc.noConfig {
			valid = append(valid, "--config", cfg)
		}
		name := strings.Join(tc.cmd, " ")
		cases = append(cases, misuse{name + " with an unknown flag", append(append([]string(nil), valid...), "--frobnicate"), "unknown flag --frobnicate"})
		if tc.noArgs {
			cases = append(cases, misuse{name + " with an extra argument", append(append([]string(nil), valid...), "extra"), `unexpected argument extra`})
		}
		if !tc.noConfig && tc.cmd[0] != "healthcheck" {
			cases = append(cases, misuse{name + " without --config", append(append([]string(nil), tc.cmd...), tc.args...), "missing flags: --config=FILE"})
		}
	}
	cases = append(cases,
		misuse{"no command", nil, "expected one of"},
		misuse{"unknown command", []string{"nonsense"}, "unexpected argument nonsense"},
		misuse{"audit without a subcommand", []string{"audit"}, "expected one of"},
		misuse{"audit --config without a subcommand", []string{"audit", "--config", cfg}, "unknown flag --config"},
		misuse{"webhooks replay without an id", []string{"webhooks", "replay", "--config", cfg}, `expected "<event-id>"`},
		misuse{"webhooks replay with two ids", []string{"webhooks", "replay", "--config", cfg, "evt_1", "evt_2"}, "unexpected argument evt_2"},
		misuse{"webhooks list --status lost", []string{"webhooks", "list", "--status", "lost", "--config", cfg}, `--status "lost" is not one of`},
		misuse{"webhooks list --limit 0", []string{"webhooks", "list", "--limit", "0", "--config", cfg}, "--limit must be at least 1"},
		misuse{"webhooks list --limit x", []string{"webhooks", "list", "--limit", "x", "--config", cfg}, "--limit"},
		misuse{"keys create without scopes", []string{"keys", "create", "--config", cfg}, "--scopes: no scope"},
		misuse{"keys create with an unknown scope", []string{"keys", "create", "--scopes", "root", "--config", cfg}, `unknown scope "root"`},
		misuse{"keys revoke with two ids", []string{"keys", "revoke", "--config", cfg, "a", "b"}, "unexpected argument b"},
		misuse{"audit verify --legacy-key-version -1", []string{"audit", "verify", "--legacy-key-version=-1", "--config", cfg}, "must be a KV version"},
		misuse{"audit verify --from x", []string{"audit", "verify", "--from", "x", "--config", cfg}, "--from"},
		misuse{"audit restore without a reason", []string{"audit", "restore", "--config", cfg}, "--reason"},
		misuse{"pages baseline without a reason", []string{"pages", "baseline", "/checkout", "--config", cfg}, "--reason"},
		misuse{"pages approve without a page", []string{"pages", "approve", "--reason", "x", "--config", cfg}, `expected "<page>"`},
		misuse{"pages approve with an overlong reason", []string{"pages", "approve", "/checkout", "--reason", strings.Repeat("x", 501), "--config", cfg}, "--reason"},
		misuse{"report without -o", []string{"report", "--config", cfg}, "missing flags: --output"},
		misuse{"report --format docx", []string{"report", "--format", "docx", "-o", "x", "--config", cfg}, `--format "docx" is not html, json or pdf`},
		misuse{"report --from 2026-13-01", []string{"report", "--from", "2026-13-01", "-o", "x", "--config", cfg}, "2026-13-01"},
		misuse{"customers erase without an id", []string{"customers", "erase", "--config", cfg}, `expected "<customer-id>"`},
		misuse{"scan without a path", []string{"scan"}, `expected "<path> ..."`},
		misuse{"scrub --card-mask everything", []string{"scrub", "--card-mask", "everything"}, "--card-mask"},
		misuse{"healthcheck without a config or URL", []string{"healthcheck"}, "pass --config FILE"},
		misuse{"healthcheck --url ftp://x", []string{"healthcheck", "--url", "ftp://x"}, "want http://HOST:PORT/PATH"},
		misuse{"healthcheck --timeout 0s", []string{"healthcheck", "--url", "http://127.0.0.1:1/readyz", "--timeout", "0s"}, "--timeout"},
	)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Refused before anything connects: the silent Vault's connection count below
			// proves it (no wall-clock bound: this machine is shared).
			code, out, errb := runCmd(t, tc.args...)
			if code != 2 || out != "" {
				t.Errorf("exit %d, stdout %q: want 2 and nothing on stdout", code, out)
			}
			if !strings.HasPrefix(errb, "usage: tokenwall") || !strings.Contains(errb, tc.want) {
				t.Errorf("stderr does not hold the usage and %q:\n%s", tc.want, errb)
			}
		})
	}
	if n := conns.Load(); n != 0 {
		t.Errorf("the Vault was connected to %d times by misused commands", n)
	}
	// The same config, used correctly, does reach for that Vault: the test can fail.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var out, errb strings.Builder
	if code := run(ctx, []string{"keys", "list", "--config", cfg}, &out, &errb); code == 0 || conns.Load() == 0 {
		t.Errorf("keys list against the silent Vault: exit %d, %d connections; want a failure after connecting", code, conns.Load())
	}
}

// TestVersion: tokenwall version prints the version, the commit and the Go version; --json
// the same as an object.
func TestVersion(t *testing.T) {
	code, out, _ := runCmd(t, "version")
	if code != 0 || !strings.HasPrefix(out, "tokenwall ") || !strings.Contains(out, "(commit ") || !strings.Contains(out, "go1.") {
		t.Errorf("version: exit %d %q", code, out)
	}
	code, out, _ = runCmd(t, "version", "--json")
	if code != 0 || !strings.Contains(out, `"version":`) || !strings.Contains(out, `"commit":`) || !strings.Contains(out, `"go_version":"go1.`) {
		t.Errorf("version --json: exit %d %q", code, out)
	}
}
