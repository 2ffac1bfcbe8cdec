package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/testkit"
)

// decodeLines decodes each line of out into a new T.
func decodeLines[T any](t *testing.T, what, out string) []T {
	t.Helper()
	var all []T
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var v T
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s: line %q is not the JSON object it should be: %v", what, line, err)
		}
		all = append(all, v)
	}
	return all
}

// TestJSONOutputs: the commands that list or report things print JSON with --json: keys
// list (never a hash), audit verify, report and report verify, check-config.
func TestJSONOutputs(t *testing.T) {
	_, cfgPath, _ := provisioned(t)
	code, out, errb := runCmd(t, "keys", "create", "--scopes", "payments", "--name", "billing-app", "--config", cfgPath)
	if code != 0 {
		t.Fatalf("keys create: exit %d %q", code, errb)
	}
	secret := strings.TrimSpace(out)
	code, out, _ = runCmd(t, "keys", "list", "--json", "--config", cfgPath)
	keys := decodeLines[keyJSON](t, "keys list --json", out)
	if code != 0 || len(keys) != 1 || keys[0].Name != "billing-app" || keys[0].Scopes[0] != "payments" || keys[0].RevokedAt != nil ||
		!strings.Contains(secret, keys[0].ID) || strings.Contains(out, "sha256") || strings.Contains(out, secret[21:]) {
		t.Errorf("keys list --json: exit %d\n%s", code, out)
	}

	code, out, _ = runCmd(t, "audit", "verify", "--json", "--config", cfgPath)
	res := decodeLines[verifyJSON](t, "audit verify --json", out)
	if code != 0 || len(res) != 1 || !res[0].OK || res[0].Records < 1 || res[0].AnchorVersion < 1 || res[0].AnchorPath != "secret/tokenwall/audit-anchor" {
		t.Errorf("audit verify --json: exit %d\n%s", code, out)
	}

	file := filepath.Join(testkit.ArtifactsDir(t), "report.json")
	code, out, errb = runCmd(t, "report", "--format", "json", "-o", file, "--json", "--config", cfgPath)
	sums := decodeLines[reportSummary](t, "report --json", out)
	if code != 0 || len(sums) != 1 || sums[0].Output != file || sums[0].ID == "" || sums[0].Failed == nil {
		t.Errorf("report --json: exit %d\n%s\n%s", code, out, errb)
	}
	code, out, _ = runCmd(t, "report", "verify", "--json", "--config", cfgPath, file)
	ver := decodeLines[verifyResult](t, "report verify --json", out)
	if code != 0 || len(ver) != 1 || !ver[0].OK || ver[0].Key == "" || len(ver[0].SHA256) != 64 || ver[0].File != file {
		t.Errorf("report verify --json: exit %d\n%s", code, out)
	}

	code, out, _ = runCmd(t, "check-config", "--json", "--config", cfgPath)
	var cfg map[string]any
	if err := json.Unmarshal([]byte(out), &cfg); code != 0 || err != nil || cfg["listen"] == nil || cfg["routes"] == nil {
		t.Errorf("check-config --json: exit %d %v\n%s", code, err, out)
	}
}
