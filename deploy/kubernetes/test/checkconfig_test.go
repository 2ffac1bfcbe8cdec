package k8stest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

// configKey is the ConfigMap key that holds tokenwall's config, and configMapName its name
// before Kustomize's hash suffix.
const (
	configKey     = "tokenwall.yaml"
	configMapName = "tokenwall-config"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

// tokenwallBinary builds cmd/tokenwall from the main module once per test binary (the go
// build cache makes repeats cheap) and returns its path. It is built from source, not taken
// from bin/, so that a stale binary never judges a new config.
func tokenwallBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "tokenwall-k8stest-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "tokenwall")
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", binPath, "./cmd/tokenwall")
		cmd.Dir = repoRoot(t)
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = &buildError{err: err, out: string(out)}
		}
	})
	if binErr != nil {
		t.Fatalf("go build ./cmd/tokenwall: %v", binErr)
	}
	return binPath
}

// buildError carries the compiler's output.
type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// TestMain removes the binary built for the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// effective is a pod's effective tokenwall config, as `tokenwall check-config` printed it
// (defaults and the container's TOKENWALL_* variables applied), decoded loosely: raw keeps
// every key for the generic checks, the fields the ones the policy reads.
type effective struct {
	raw    map[string]any
	Listen struct {
		Addr          string `json:"addr"`
		ShutdownGrace string `json:"shutdown_grace"`
	} `json:"listen"`
	Admin struct {
		Addr             string `json:"addr"`
		AllowNonLoopback bool   `json:"allow_non_loopback"`
	} `json:"admin"`
	Upstream struct {
		URL string `json:"url"`
	} `json:"upstream"`
	Vault struct {
		Address string `json:"address"`
		Timeout string `json:"timeout"`
	} `json:"vault"`
	Gateway struct {
		Stripe struct {
			APIURL string `json:"api_url"`
		} `json:"stripe"`
	} `json:"gateway"`
	Webhooks struct {
		Enabled bool   `json:"enabled"`
		Timeout string `json:"timeout"`
	} `json:"webhooks"`
	Store struct {
		Driver      string `json:"driver"`
		SQLitePath  string `json:"sqlite_path"`
		PostgresURL string `json:"postgres_url"`
	} `json:"store"`
}

var (
	checkMu    sync.Mutex
	checkCache = map[string]checkResult{}
)

type checkResult struct {
	cfg *effective
	out string
	err error
}

// checkConfig runs `tokenwall check-config` on the config the pod spec mounts from the
// overlay's ConfigMap, in an environment of the container's literal env values alone (what
// Kubernetes gives the process, service links being off), and returns the effective config.
// It fails the test when check-config does.
func checkConfig(t testing.TB, b *bundle, spec *corev1.PodSpec) *effective {
	t.Helper()
	cm, ok := b.configMap(configMapName)
	if !ok {
		t.Fatalf("no ConfigMap %s in the %s overlay", configMapName, b.overlay)
	}
	text, ok := cm.Data[configKey]
	if !ok {
		t.Fatalf("ConfigMap %s has no key %s", cm.Name, configKey)
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}
	if len(spec.Containers) > 0 {
		for _, e := range spec.Containers[0].Env {
			if e.ValueFrom == nil {
				env = append(env, e.Name+"="+e.Value)
			}
		}
	}
	key := b.overlay + "\x00" + text + "\x00" + strings.Join(env, "\x00")
	checkMu.Lock()
	res, ok := checkCache[key]
	checkMu.Unlock()
	if !ok {
		res = runCheckConfig(t, text, env)
		checkMu.Lock()
		checkCache[key] = res
		checkMu.Unlock()
	}
	if res.err != nil {
		t.Fatalf("%s overlay: tokenwall check-config refuses the ConfigMap's %s: %v\n%s", b.overlay, configKey, res.err, res.out)
	}
	return res.cfg
}

// runCheckConfig writes text to a file and runs check-config on it.
func runCheckConfig(t testing.TB, text string, env []string) checkResult {
	bin := tokenwallBinary(t)
	dir, err := os.MkdirTemp("", "tokenwall-config-")
	if err != nil {
		return checkResult{err: err}
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, configKey)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return checkResult{err: err}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "check-config", "--config", path)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return checkResult{err: err, out: stderr.String()}
	}
	var cfg effective
	if err := yaml.Unmarshal(stdout.Bytes(), &cfg); err != nil {
		return checkResult{err: err, out: stdout.String()}
	}
	if err := yaml.Unmarshal(stdout.Bytes(), &cfg.raw); err != nil {
		return checkResult{err: err, out: stdout.String()}
	}
	return checkResult{cfg: &cfg, out: stderr.String()}
}

// TestCheckConfig runs `tokenwall check-config` on each overlay's ConfigMap, as each pod
// that mounts it would.
func TestCheckConfig(t *testing.T) {
	for _, name := range overlayNames {
		t.Run(name, func(t *testing.T) {
			b := build(t, name)
			for _, p := range b.pods() {
				cfg := checkConfig(t, b, p.spec)
				t.Logf("%s: store %s, listen %s, admin %s", p.name, cfg.Store.Driver, cfg.Listen.Addr, cfg.Admin.Addr)
			}
		})
	}
}

// TestCheckConfigRefusesABadConfig shows that check-config is a real check: the overlay's
// config with an unknown key, or with TOKENWALL_SERVICE_* style typos in its environment,
// is refused.
func TestCheckConfigRefusesABadConfig(t *testing.T) {
	b := build(t, "production")
	cm, _ := b.configMap(configMapName)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}
	cases := []struct {
		name string
		text string
		env  []string
	}{
		{name: "unknown key", text: cm.Data[configKey] + "\nlisten_typo: true\n", env: env},
		{name: "admin on a pod address without allow_non_loopback", text: strings.Replace(cm.Data[configKey], "allow_non_loopback: true", "allow_non_loopback: false", 1), env: env},
		{name: "mistyped variable", text: cm.Data[configKey], env: append(env[:len(env):len(env)], "TOKENWALL_LISTEN_ADR=0.0.0.0:8443")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if res := runCheckConfig(t, tc.text, tc.env); res.err == nil {
				t.Fatal("check-config accepted it")
			}
		})
	}
}

// TestPodArgsParse runs each pod's command line with the real binary, its --config pointed at
// a file that does not exist: the CLI must get as far as reading the config (and say so),
// which it does only once the subcommand and every flag have parsed. Nothing connects. A
// misspelt flag, the last case, stops earlier, at the parser.
func TestPodArgsParse(t *testing.T) {
	bin := tokenwallBinary(t)
	missing := filepath.Join(t.TempDir(), "absent", configKey)
	run := func(t *testing.T, args []string) (string, bool) {
		args = slices.Clone(args)
		i := slices.Index(args, "--config")
		if i < 0 || i+1 >= len(args) {
			t.Fatalf("args %v have no --config FILE", args)
		}
		args[i+1] = missing
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}
		out, err := cmd.CombinedOutput()
		if err == nil {
			t.Fatalf("tokenwall %v succeeded without its config", args)
		}
		return string(out), strings.Contains(string(out), "read config") && strings.Contains(string(out), missing)
	}
	for _, name := range overlayNames {
		b := build(t, name)
		for _, pt := range b.pods() {
			t.Run(name+"/"+pt.name, func(t *testing.T) {
				if out, ok := run(t, pt.spec.Containers[0].Args); !ok {
					t.Fatalf("tokenwall %v did not get as far as reading its config:\n%s", pt.spec.Containers[0].Args, out)
				}
			})
		}
	}
	t.Run("misspelt flag", func(t *testing.T) {
		if out, ok := run(t, []string{"report", "--formt", "html", "-o", "/reports/r.html", "--config", "x"}); ok {
			t.Fatalf("a misspelt flag reached the config:\n%s", out)
		}
	})
}
