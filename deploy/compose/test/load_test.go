package composetest

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

// wantServices is the whole stack; tokenwall-admin is in the admin profile.
var wantServices = []string{"billing", "lb", "postgres", "stripe-mock", "tokenwall-1", "tokenwall-2", "tokenwall-admin", "vault", "vault-init"}

// replicas are the tokenwall services that serve.
var replicas = []string{"tokenwall-1", "tokenwall-2"}

var (
	projectOnce sync.Once
	project     *types.Project
	projectErr  error
)

// repoRoot is the repository's root: this module lives in deploy/compose/test.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "go.mod")); err != nil || !strings.Contains(string(b), "module github.com/tokenwall/tokenwall\n") {
		t.Fatalf("%s is not tokenwall's repository root (%v)", root, err)
	}
	return root
}

// composeFile is deploy/compose.yaml.
func composeFile(t testing.TB) string {
	t.Helper()
	return filepath.Join(repoRoot(t), "deploy", "compose.yaml")
}

// loadProject loads deploy/compose.yaml as `docker compose` would, strictly: the compose
// schema validates it (an unknown key fails), the project must be consistent (every network,
// volume, config and secret a service names is declared), every profile is on, and the
// environment is empty, so that nothing depends on who runs it. Paths are resolved.
func loadProject(t testing.TB) *types.Project {
	t.Helper()
	projectOnce.Do(func() {
		opts, err := cli.NewProjectOptions([]string{composeFile(t)},
			cli.WithWorkingDirectory(filepath.Dir(composeFile(t))),
			cli.WithEnv(nil),
			cli.WithProfiles([]string{"*"}),
			cli.WithInterpolation(true),
			cli.WithNormalization(true),
			cli.WithConsistency(true),
			cli.WithResolvedPaths(true),
		)
		if err != nil {
			projectErr = err
			return
		}
		project, projectErr = opts.LoadProject(context.Background())
	})
	if projectErr != nil {
		t.Fatalf("load deploy/compose.yaml: %v", projectErr)
	}
	return project
}

// service returns the named service of the project.
func service(t testing.TB, name string) types.ServiceConfig {
	t.Helper()
	s, ok := loadProject(t).Services[name]
	if !ok {
		t.Fatalf("deploy/compose.yaml has no service %q", name)
	}
	return s
}

// interpolated finds a $ that is not $$: a variable compose would fill from the environment of
// whoever runs it.
var interpolated = regexp.MustCompile(`\$[^$]`)

// TestComposeLoadsStrictly: the file loads with validation and consistency checks, holds
// exactly the stack's services and takes nothing from the environment.
func TestComposeLoadsStrictly(t *testing.T) {
	p := loadProject(t)
	if p.Name != "tokenwall" {
		t.Errorf("project name %q, want tokenwall (volume and network names depend on it)", p.Name)
	}
	got := slices.Sorted(func(yield func(string) bool) {
		for name := range p.Services {
			if !yield(name) {
				return
			}
		}
	})
	if !slices.Equal(got, wantServices) {
		t.Errorf("services %v, want %v", got, wantServices)
	}
	if s, ok := p.Services["tokenwall-admin"]; ok && !slices.Equal(s.Profiles, []string{"admin"}) {
		t.Errorf("tokenwall-admin profiles %v, want [admin]: it must not start with the stack", s.Profiles)
	}
	raw, err := os.ReadFile(composeFile(t))
	if err != nil {
		t.Fatal(err)
	}
	if m := interpolated.FindAllString(strings.ReplaceAll(string(raw), "$$", ""), -1); len(m) > 0 {
		t.Errorf("deploy/compose.yaml interpolates %v: the stack must not depend on the caller's environment", m)
	}
}

// TestNoPrivileges: no service is privileged or adds a capability, every one but the load
// balancer (whose master process reads its key as root, then drops to nginx) runs as uid
// 65532, and every one has a read-only root file system.
func TestNoPrivileges(t *testing.T) {
	p := loadProject(t)
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range p.Services {
			if !yield(n) {
				return
			}
		}
	})
	for _, name := range names {
		s := p.Services[name]
		t.Run(name, func(t *testing.T) {
			if s.Privileged {
				t.Error("privileged")
			}
			if len(s.CapAdd) > 0 {
				t.Errorf("cap_add %v", s.CapAdd)
			}
			if !s.ReadOnly {
				t.Error("read_only is not set")
			}
			if !slices.Contains(s.SecurityOpt, "no-new-privileges:true") {
				t.Errorf("security_opt %v lacks no-new-privileges:true", s.SecurityOpt)
			}
			if s.NetworkMode != "" || s.Pid != "" || s.Ipc != "" {
				t.Errorf("shares the host's namespaces (network_mode %q, pid %q, ipc %q)", s.NetworkMode, s.Pid, s.Ipc)
			}
			for _, v := range s.Volumes {
				if v.Type == types.VolumeTypeBind && !v.ReadOnly {
					t.Errorf("bind mount %s is writable", v.Target)
				}
				if v.Type == types.VolumeTypeBind && (v.Source == "/var/run/docker.sock" || v.Source == "/") {
					t.Errorf("mounts %s", v.Source)
				}
			}
			if name == "lb" {
				return
			}
			if s.User != "65532:65532" {
				t.Errorf("user %q, want 65532:65532", s.User)
			}
			if !slices.Contains(s.CapDrop, "ALL") {
				t.Errorf("cap_drop %v, want ALL", s.CapDrop)
			}
		})
	}
}

// TestReplicas: both replicas run the tokenwall image's serve with the stack's config, each with
// its own /var/lib/tokenwall volume, the image's healthcheck, a stop grace longer than tokenwall's
// own, and restart on failure; the load balancer's network gives them fixed addresses.
func TestReplicas(t *testing.T) {
	p := loadProject(t)
	cfg := effectiveConfig(t, nil)
	health := dockerfileHealthcheck(t)
	volumes := map[string]bool{}
	for _, name := range replicas {
		s := service(t, name)
		t.Run(name, func(t *testing.T) {
			if s.Image != "tokenwall:local" || s.Build == nil || s.Build.Dockerfile != "deploy/Dockerfile" {
				t.Errorf("image %q built from %v: want tokenwall:local from deploy/Dockerfile", s.Image, s.Build)
			}
			if want := []string{"serve", "--config", configTarget(t, s, "tokenwall-config")}; !slices.Equal(s.Command, want) {
				t.Errorf("command %v, want %v", s.Command, want)
			}
			var data string
			for _, v := range s.Volumes {
				if v.Target == "/var/lib/tokenwall" {
					data = v.Source
					if v.Type != types.VolumeTypeVolume || v.ReadOnly {
						t.Errorf("/var/lib/tokenwall is a %s mount (read only %v), want a writable named volume", v.Type, v.ReadOnly)
					}
				}
			}
			if data == "" {
				t.Error("no volume at /var/lib/tokenwall (the root file system is read-only)")
			} else if volumes[data] {
				t.Errorf("volume %s is shared by both replicas", data)
			}
			volumes[data] = true
			if s.HealthCheck == nil || s.HealthCheck.Disable || !slices.Equal(s.HealthCheck.Test, health) {
				t.Errorf("healthcheck %v, want the image's %v", s.HealthCheck, health)
			}
			if s.StopGracePeriod == nil || durationOf(*s.StopGracePeriod) < cfg.Listen.ShutdownGrace+5*time.Second {
				t.Errorf("stop_grace_period %v: want listen.shutdown_grace (%v) plus at least 5 s for the final checkpoint",
					s.StopGracePeriod, cfg.Listen.ShutdownGrace)
			}
			if s.Restart != "unless-stopped" && s.Restart != "always" {
				t.Errorf("restart %q", s.Restart)
			}
			front, ok := s.Networks["front"]
			if !ok || front == nil || front.Ipv4Address == "" {
				t.Error("no fixed address on the front network: nginx resolves the replicas once, at its start")
			}
			if _, ok := s.Networks["back"]; !ok {
				t.Error("not on the back network (Vault, PostgreSQL, the app)")
			}
			for _, dep := range []string{"vault-init", "postgres"} {
				if _, ok := s.DependsOn[dep]; !ok {
					t.Errorf("does not wait for %s", dep)
				}
			}
		})
	}
	if !p.Networks["back"].Internal {
		t.Error("the back network is not internal: Vault and PostgreSQL could reach out")
	}
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
