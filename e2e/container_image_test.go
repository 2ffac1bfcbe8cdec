package e2e_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	// testImage and baseImage are the tags the test builds under, in its own Podman storage.
	testImage = "localhost/tokenwall:container-test"
	baseImage = "localhost/tokenwall-test-base:scratch"
	// imageVersion and imageCommit are stamped into the test's binary and passed as the
	// image's build arguments; `tokenwall version` in the container must print them.
	imageVersion = "v0.0.0-container-test"
	imageCommit  = "container-test-commit"
	// imageUser is the numeric user and group the image runs as (distroless's nonroot).
	imageUser = "65532:65532"
	// ctrDataDir is the image's volume, the default SQLite folder.
	ctrDataDir = "/var/lib/tokenwall"
	// caBundle is where the base image keeps the CA bundle (Debian's path, distroless's too).
	caBundle = "/etc/ssl/certs/ca-certificates.crt"
)

// versionLDFlags are the -X flags that stamp a build, the same as the Makefile's `build`
// target and the Dockerfile's build stage use (checked by checkDockerfileStamps).
func versionLDFlags(version, commit string) string {
	return "-X github.com/tokenwall/tokenwall/app.version=" + version +
		" -X github.com/tokenwall/tokenwall/app.commit=" + commit
}

// buildImage builds the image as a platform team without registry access would: a static
// binary built here (CGO_ENABLED=0, stamped), deploy/Dockerfile's "prebuilt" stage on a base
// built FROM scratch that stands in for distroless static, both built offline (no network,
// no pull). It returns how long the two podman builds took.
func buildImage(t *testing.T, p *podman, root string) time.Duration {
	t.Helper()
	work := t.TempDir()
	baseCtx, imageCtx := filepath.Join(work, "base"), filepath.Join(work, "image")
	writeStandInBase(t, baseCtx)
	buildStaticTokenwall(t, root, filepath.Join(imageCtx, "tokenwall"))
	start := time.Now()
	p.must(t, "build", "--format", "docker", "--network", "none", "--pull=never", "-t", baseImage, baseCtx)
	p.must(t, "build", "--format", "docker", "--network", "none", "--pull=never",
		"--build-arg", "BASE="+baseImage,
		"--build-arg", "ROOTFS=prebuilt",
		"--build-arg", "VERSION="+imageVersion,
		"--build-arg", "COMMIT="+imageCommit,
		"-f", filepath.Join(root, "deploy", "Dockerfile"),
		"-t", testImage, imageCtx)
	return time.Since(start)
}

// writeStandInBase writes the build context of the stand-in for distroless static: what
// tokenwall needs of a base and distroless provides (passwd and group entries for 65532, the
// host's CA bundle, a root-owned /var/lib), FROM scratch.
func writeStandInBase(t *testing.T, dir string) {
	t.Helper()
	rootfs := filepath.Join(dir, "rootfs")
	for _, d := range []string{"etc/ssl/certs", "var/lib"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ca, err := os.ReadFile(caBundle)
	if err != nil {
		t.Fatalf("CA bundle for the image: %v (apt-get install ca-certificates)", err)
	}
	files := map[string]string{
		"Containerfile": "# The test's stand-in for " + "gcr.io/distroless/static-debian12, which cannot be pulled here.\n" +
			"FROM scratch\nCOPY rootfs/ /\n",
		"rootfs/etc/passwd": "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
		"rootfs/etc/group":  "root:x:0:\nnonroot:x:65532:\n",
		"rootfs" + caBundle: string(ca),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// buildStaticTokenwall builds ./cmd/tokenwall as a static binary at out, stamped with
// imageVersion and imageCommit.
func buildStaticTokenwall(t *testing.T, root, out string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath",
		"-ldflags", "-s -w "+versionLDFlags(imageVersion, imageCommit),
		"-o", out, "./cmd/tokenwall")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build (static) ./cmd/tokenwall: %v\n%s", err, b)
	}
}

// imageInspect is what the test reads of `podman image inspect`.
type imageInspect struct {
	Config struct {
		User       string
		Entrypoint []string
		Cmd        []string
		Volumes    map[string]struct{}
		Labels     map[string]string
		StopSignal string
	}
	Healthcheck *struct {
		Test []string
	}
}

// checkImageConfig checks the image's configuration: the numeric user, the volume, the
// healthcheck through `tokenwall healthcheck`, serve as the default command, the version
// labels.
func checkImageConfig(t *testing.T, p *podman) {
	t.Helper()
	var got []imageInspect
	if err := json.Unmarshal([]byte(p.must(t, "image", "inspect", testImage)), &got); err != nil || len(got) != 1 {
		t.Fatalf("podman image inspect: %v (%d images)", err, len(got))
	}
	c := got[0].Config
	if c.User != imageUser {
		t.Errorf("image user %q; want %q (numeric, for runAsNonRoot)", c.User, imageUser)
	}
	if _, ok := c.Volumes[ctrDataDir]; !ok || len(c.Volumes) != 1 {
		t.Errorf("image volumes %v; want only %s", c.Volumes, ctrDataDir)
	}
	if want := []string{"/usr/local/bin/tokenwall"}; !slices.Equal(c.Entrypoint, want) {
		t.Errorf("entrypoint %q; want %q", c.Entrypoint, want)
	}
	if len(c.Cmd) == 0 || c.Cmd[0] != "serve" {
		t.Errorf("command %q; want serve", c.Cmd)
	}
	if c.StopSignal != "SIGTERM" {
		t.Errorf("stop signal %q; want SIGTERM", c.StopSignal)
	}
	if c.Labels["org.opencontainers.image.version"] != imageVersion || c.Labels["org.opencontainers.image.revision"] != imageCommit {
		t.Errorf("labels %v; want the version %s and revision %s", c.Labels, imageVersion, imageCommit)
	}
	hc := got[0].Healthcheck
	if hc == nil || len(hc.Test) < 3 || hc.Test[0] != "CMD" || hc.Test[1] != "/usr/local/bin/tokenwall" || hc.Test[2] != "healthcheck" {
		t.Errorf("healthcheck %+v; want CMD /usr/local/bin/tokenwall healthcheck … (built with --format docker?)", hc)
	}
}

// checkImageFiles mounts the image and checks who owns what: the binary and /var/lib are
// root's and not writable by others, the data folder is 65532's.
func checkImageFiles(t *testing.T, p *podman) {
	t.Helper()
	mnt := p.must(t, "image", "mount", testImage)
	t.Cleanup(func() { _, _ = p.run(context.Background(), "image", "unmount", testImage) })
	for _, f := range []struct {
		path     string
		uid, gid uint32
		dir      bool
	}{
		{path: "/usr/local/bin/tokenwall", uid: 0, gid: 0},
		{path: "/var/lib", uid: 0, gid: 0, dir: true},
		{path: ctrDataDir, uid: 65532, gid: 65532, dir: true},
	} {
		fi, err := os.Stat(filepath.Join(mnt, f.path))
		if err != nil {
			t.Errorf("image: %v", err)
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != f.uid || st.Gid != f.gid || fi.IsDir() != f.dir {
			t.Errorf("image %s: owner %d:%d, folder %t; want %d:%d, folder %t", f.path, st.Uid, st.Gid, fi.IsDir(), f.uid, f.gid, f.dir)
		}
		if fi.Mode().Perm()&0o022 != 0 {
			t.Errorf("image %s: mode %s is writable by group or others", f.path, fi.Mode())
		}
	}
	entries, err := os.ReadDir(filepath.Join(mnt, ctrDataDir))
	if err != nil || len(entries) != 0 {
		t.Errorf("image %s: %d entries (%v); want it empty", ctrDataDir, len(entries), err)
	}
}

// checkVersion runs `tokenwall version` in a container of the image: it prints the stamps.
func checkVersion(t *testing.T, p *podman) {
	t.Helper()
	out := p.must(t, "run", "--rm", "--read-only", "--network", "none", testImage, "version")
	if !strings.Contains(out, imageVersion) || !strings.Contains(out, imageCommit) {
		t.Errorf("tokenwall version in the container printed %q; want %s and %s", out, imageVersion, imageCommit)
	}
}

// checkDockerfileStamps checks that the Dockerfile's build stage and the Makefile stamp the
// version with the same -X flags the test stamped its binary with (and `tokenwall version`
// printed back): the build stage itself cannot run here.
func checkDockerfileStamps(t *testing.T, root string) {
	t.Helper()
	for file, want := range map[string]string{
		"deploy/Dockerfile": versionLDFlags("${VERSION}", "${COMMIT}"),
		"Makefile":          versionLDFlags("$(VERSION)", "$(COMMIT)"),
	} {
		b, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), want) {
			t.Errorf("%s does not stamp the version with %q", file, want)
		}
	}
}

// checkDockerignore builds an image that copies its whole build context, a folder laid out
// like the repository with the repository's .dockerignore, and checks that the builder kept
// out what must never reach an image (the VCS folder, built binaries, the dev stack's data
// with its Vault token, test artifacts) and nothing the Go build needs.
func checkDockerignore(t *testing.T, p *podman, root string) {
	t.Helper()
	ignore, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatalf(".dockerignore: %v", err)
	}
	work := t.TempDir()
	ctxDir := filepath.Join(work, "context")
	excluded := []string{".git/HEAD", "bin/tokenwall", "bin/vault", ".dev/vault-token", ".artifacts/TestX/vault.log", ".artifacts-image/TestX/log"}
	kept := []string{"go.mod", "go.sum", "cmd/tokenwall/main.go", "deploy/Dockerfile", "scrub/testdata/iin.csv"}
	for _, name := range append(slices.Clone(excluded), kept...) {
		path := filepath.Join(ctxDir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The Containerfile sits beside the context, as deploy/Dockerfile is named with -f.
	cf := filepath.Join(work, "Containerfile")
	if err := os.WriteFile(filepath.Join(ctxDir, ".dockerignore"), ignore, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cf, []byte("FROM scratch\nCOPY . /context/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	const tag = "localhost/tokenwall-test-context:latest"
	p.must(t, "build", "--network", "none", "--pull=never", "-f", cf, "-t", tag, ctxDir)
	mnt := p.must(t, "image", "mount", tag)
	defer func() { _, _ = p.run(context.Background(), "image", "unmount", tag) }()
	for _, name := range excluded {
		if _, err := os.Stat(filepath.Join(mnt, "context", name)); err == nil {
			t.Errorf(".dockerignore lets %s into the build context", name)
		}
	}
	for _, name := range kept {
		if _, err := os.Stat(filepath.Join(mnt, "context", name)); err != nil {
			t.Errorf(".dockerignore keeps %s out of the build context; the build needs it", name)
		}
	}
}
