package composetest

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// versionTag is a tag that names a version: digits, not a moving name such as latest.
var versionTag = regexp.MustCompile(`^[0-9]+(\.[0-9]+)+(-[a-z0-9.]+)?$`)

// TestImagesPinned: an image that is pulled names a version (no latest, no bare major); one
// that is built here is tagged :local and built from the repository with a Dockerfile and
// target that exist.
func TestImagesPinned(t *testing.T) {
	p := loadProject(t)
	root := repoRoot(t)
	for _, name := range sortedKeys(p.Services) {
		s := p.Services[name]
		// The tag follows the last colon after the last slash (a registry may have a port).
		repo, tag := s.Image, ""
		if i := strings.LastIndex(s.Image, ":"); i > strings.LastIndex(s.Image, "/") {
			repo, tag = s.Image[:i], s.Image[i+1:]
		}
		if s.Build != nil {
			if tag != "local" {
				t.Errorf("%s: built here as %q, want a :local tag", name, s.Image)
			}
			if s.Build.Context != root {
				t.Errorf("%s: build context %s, want the repository (%s)", name, s.Build.Context, root)
			}
			df, err := os.ReadFile(filepath.Join(s.Build.Context, s.Build.Dockerfile))
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if s.Build.Target != "" && !regexp.MustCompile(`(?m)^FROM \S+ AS `+regexp.QuoteMeta(s.Build.Target)+`$`).Match(df) {
				t.Errorf("%s: %s has no stage %s", name, s.Build.Dockerfile, s.Build.Target)
			}
			continue
		}
		if tag == "latest" || !versionTag.MatchString(tag) {
			t.Errorf("%s: image %q (%s) is not pinned to a version", name, s.Image, repo)
		}
	}
}

// TestDemoImagesMatchThePins: the locally built stripe-mock is the version the tests run
// (tools/go.mod) and vault-init's Vault is the vault service's.
func TestDemoImagesMatchThePins(t *testing.T) {
	demo := readRepo(t, "deploy", "compose", "demo.Dockerfile")
	tools := regexp.MustCompile(`github.com/stripe/stripe-mock (v[0-9.]+)`).FindStringSubmatch(readRepo(t, "tools", "go.mod"))
	built := regexp.MustCompile(`github.com/stripe/stripe-mock@(v[0-9.]+)`).FindStringSubmatch(demo)
	if tools == nil || built == nil || tools[1] != built[1] {
		t.Errorf("stripe-mock: demo.Dockerfile builds %v, tools/go.mod pins %v", built, tools)
	}
	vaultArg := regexp.MustCompile(`(?m)^ARG VAULT_IMAGE=(\S+)$`).FindStringSubmatch(demo)
	if vaultArg == nil || vaultArg[1] != service(t, "vault").Image {
		t.Errorf("vault-init builds on %v, the vault service runs %s", vaultArg, service(t, "vault").Image)
	}
}

// TestMountedFilesExist: every file the stack mounts is in the repository, but the secrets
// folder, which deploy/compose/secrets.sh writes (and .gitignore and .dockerignore keep out of
// the history and of every image build, whose context is the repository).
func TestMountedFilesExist(t *testing.T) {
	p := loadProject(t)
	root := repoRoot(t)
	secrets := filepath.Join(root, "deploy", secretsDir) + string(filepath.Separator)
	check := func(what, path string) {
		if strings.HasPrefix(path, secrets) {
			return
		}
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s: %v", what, err)
		}
	}
	for _, name := range sortedKeys(p.Configs) {
		check("config "+name, p.Configs[name].File)
	}
	for _, name := range sortedKeys(p.Services) {
		for _, v := range p.Services[name].Volumes {
			if v.Type == "bind" {
				check(name+" bind mount "+v.Target, v.Source)
			}
		}
	}
	if !strings.Contains(readRepo(t, "deploy", "compose", ".gitignore"), "/secrets/") {
		t.Error("deploy/compose/.gitignore does not keep secrets/ out of git")
	}
	dockerignore := readRepo(t, ".dockerignore")
	if !regexp.MustCompile(`(?m)^/?deploy/compose/secrets/?$`).MatchString(dockerignore) {
		t.Error(".dockerignore does not keep deploy/compose/secrets out of the build context: the image builds (context: the repository) would copy the stack's secrets into their build stages")
	}
}
