package app

import (
	"runtime"
	"runtime/debug"
)

// Stamped at link time by `make build` (and the image build):
//
//	go build -ldflags "-X github.com/tokenwall/tokenwall/app.version=v1.4.0 -X github.com/tokenwall/tokenwall/app.commit=0123abc" ./cmd/tokenwall
//
// Unstamped, BuildInfo falls back on what the Go toolchain recorded.
var (
	version string
	commit  string
)

// BuildInfo says which build is running: `tokenwall version` prints it and /metrics
// exports it as tokenwall_build_info.
type BuildInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	GoVersion string `json:"go_version"`
}

// Version is the running build: the -ldflags -X stamps when present, otherwise the module
// version and VCS revision the Go toolchain recorded ("dev" and "unknown" when it recorded
// none, as with -buildvcs=false).
func Version() BuildInfo {
	b := BuildInfo{Version: version, Commit: commit, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if b.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			b.Version = bi.Main.Version
		}
		if b.Commit == "" {
			b.Commit = vcsRevision(bi.Settings)
		}
	}
	if b.Version == "" {
		b.Version = "dev"
	}
	if b.Commit == "" {
		b.Commit = "unknown"
	}
	return b
}

// vcsRevision is the recorded VCS revision, with "-dirty" when the tree had changes.
func vcsRevision(settings []debug.BuildSetting) string {
	var rev, dirty string
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev == "" {
		return ""
	}
	return rev + dirty
}
