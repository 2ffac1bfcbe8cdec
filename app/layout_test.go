package app_test

import (
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/devstack"
)

const module = "github.com/tokenwall/tokenwall"

// allowed is DESIGN.md's table "Packages": which of the project's packages each may import
// (a folder's subpackages belong to it: audit/report is audit, proxy/api is proxy). "*"
// means any project package; the test-support packages (testkit, */storetest, */pgtest) are
// checked apart: no production package may import them.
var allowed = map[string][]string{
	"scrub":     {},
	"config":    {"scrub"},
	"vault":     {"scrub"},
	"gateway":   {"scrub"},
	"store":     {},
	"signature": {},
	"audit":     {"store", "vault", "scrub"},
	"apikey":    {"vault", "scrub"},
	"payments":  {"gateway", "store", "audit", "scrub"},
	"webhooks":  {"store", "vault", "audit", "scrub", "signature"},
	"evidence":  {"audit", "store", "vault", "scrub", "config"},
	"logging":   {"scrub", "config"},
	"proxy": {"scrub", "config", "vault", "gateway", "store", "signature", "audit", "apikey", "payments", "webhooks",
		"evidence", "logging"},
	"app": {"scrub", "config", "vault", "gateway", "store", "signature", "audit", "apikey", "payments", "webhooks",
		"evidence", "logging", "proxy"},
	"cmd/tokenwall": {"app", "scrub", "config", "vault", "gateway", "store", "signature", "audit", "apikey", "payments",
		"webhooks", "evidence", "logging"},
	"cmd/tokenwall-dev": {"*"},
	"devstack":          {"scrub"},
	"examples":          {"signature", "webhooks", "scrub"},
	"bench":             {"*"},
	"testkit":           {"*"},
	"e2e":               {"*"},
}

// family is the table row a package belongs to: its top folder, or cmd/NAME.
func family(rel string) string {
	parts := strings.Split(rel, "/")
	if parts[0] == "cmd" && len(parts) > 1 {
		return "cmd/" + parts[1]
	}
	return parts[0]
}

// testSupport reports whether a package exists only for tests.
func testSupport(rel string) bool {
	return family(rel) == "testkit" || strings.HasSuffix(rel, "storetest") || strings.HasSuffix(rel, "pgtest")
}

type listedPackage struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// goList runs `go list -json` with args in the repository and decodes its packages.
func goList(t *testing.T, args ...string) []listedPackage {
	t.Helper()
	root, err := devstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", append([]string{"list", "-json"}, args...)...)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list %v: %v\n%s", args, err, ee.Stderr)
		}
		t.Fatalf("go list %v: %v", args, err)
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// TestImportRules reads the package graph and fails on every import of one of the
// project's packages that DESIGN.md's table does not allow (tests' own imports aside).
func TestImportRules(t *testing.T) {
	pkgs := goList(t, "./...")
	if len(pkgs) < 20 {
		t.Fatalf("go list found %d packages; the test reads the wrong thing", len(pkgs))
	}
	checked := 0
	for _, p := range pkgs {
		rel, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if !ok {
			continue
		}
		fam := family(rel)
		rules, known := allowed[fam]
		if !known {
			t.Errorf("%s: package family %q is not in DESIGN.md's table (add it there and here)", rel, fam)
			continue
		}
		for _, imp := range p.Imports {
			dep, ok := strings.CutPrefix(imp, module+"/")
			if !ok {
				continue
			}
			checked++
			depFam := family(dep)
			switch {
			case depFam == fam:
				// within a family (audit/report → audit)
			case strings.HasPrefix(dep, "cmd/"):
				t.Errorf("%s imports %s: nothing imports a command", rel, dep)
			case testSupport(dep) && !testSupport(rel) && fam != "bench" && fam != "e2e":
				t.Errorf("%s imports the test-support package %s", rel, dep)
			case slices.Contains(rules, "*"), testSupport(rel) && (depFam == "testkit" || depFam == "devstack"):
			case !slices.Contains(rules, depFam):
				t.Errorf("%s imports %s: DESIGN.md allows %s only %v", rel, dep, fam, rules)
			}
		}
	}
	if checked < 50 {
		t.Fatalf("only %d project imports checked; the test reads the wrong thing", checked)
	}
}

// TestImportRulesMatchDesign compares the table above with DESIGN.md's, when the design
// document is beside the repository (../shared/DESIGN.md), so neither drifts from the other.
func TestImportRulesMatchDesign(t *testing.T) {
	root, err := devstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "..", "shared", "DESIGN.md"))
	if errors.Is(err, fs.ErrNotExist) {
		t.Log("../shared/DESIGN.md is not beside this checkout: the table above is the rule")
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z/.-]+)/`[^|]*\\|[^|]*\\| ([^|\\n]*)\\|\\s*$")
	quoted := regexp.MustCompile("`([a-z]+)`")
	rows := 0
	for _, m := range row.FindAllStringSubmatch(string(b), -1) {
		name, rule := m[1], strings.TrimSpace(m[2])
		want, ok := allowed[name]
		// Rows that name no package list ("the domain packages above", "everything above",
		// "anything", "never linked into …") are checked by the other tests.
		if !ok || strings.Contains(rule, "domain") || (rule != "nothing" && !strings.Contains(rule, "`")) {
			continue
		}
		rows++
		var got []string
		for _, q := range quoted.FindAllStringSubmatch(rule, -1) {
			got = append(got, q[1])
		}
		if rule == "nothing" {
			got = nil
		}
		if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
			t.Errorf("%s: DESIGN.md allows %v, the test %v", name, got, want)
		}
	}
	if rows < 10 {
		t.Fatalf("read %d rows of DESIGN.md's table; the test reads the wrong thing", rows)
	}
}

// TestProductionBinaryLinksNoTestMachinery: the release binary links neither the dev stack
// (with its fault-injecting proxy), the demo app, nor any test support.
func TestProductionBinaryLinksNoTestMachinery(t *testing.T) {
	pkgs := goList(t, "-deps", "./cmd/tokenwall")
	var own []string
	for _, p := range pkgs {
		if rel, ok := strings.CutPrefix(p.ImportPath, module+"/"); ok {
			own = append(own, rel)
		}
	}
	if !slices.Contains(own, "app") || !slices.Contains(own, "proxy") {
		t.Fatalf("cmd/tokenwall links %v; the test reads the wrong thing", own)
	}
	for _, rel := range own {
		if family(rel) == "devstack" || family(rel) == "examples" || testSupport(rel) {
			t.Errorf("the production binary links %s", rel)
		}
	}
	t.Logf("cmd/tokenwall links %d of the project's packages: %v", len(own), own)
}

// TestProductionBinaryLinksOnlyTheStripeResourcesItCalls: the gateway builds stripe-go's
// client of each resource it calls, not client.API, which holds every resource and links all
// of stripe-go (some 60 more packages, 2.8 MB of code, read-only data and function tables
// that a running tokenwall maps into memory).
func TestProductionBinaryLinksOnlyTheStripeResourcesItCalls(t *testing.T) {
	const stripeGo = "github.com/stripe/stripe-go/v76"
	wanted := []string{"", "/customer", "/paymentintent", "/paymentmethod", "/refund", "/setupintent", "/webhook"}
	var linked []string
	for _, p := range goList(t, "-deps", "./cmd/tokenwall") {
		if rest, ok := strings.CutPrefix(p.ImportPath, stripeGo); ok && (rest == "" || rest[0] == '/') {
			linked = append(linked, rest)
		}
	}
	if !slices.Contains(linked, "/paymentmethod") {
		t.Fatalf("cmd/tokenwall links %v of stripe-go; the test reads the wrong thing", linked)
	}
	for _, rest := range linked {
		if !slices.Contains(wanted, rest) && !strings.HasPrefix(rest, "/form") {
			t.Errorf("the production binary links %s%s: call the resource's own client (gateway/stripe's services)", stripeGo, rest)
		}
	}
}

// TestOnlyAppBuildsTheServer: outside app/, no file (tests included) calls proxy.New, so
// every test runs the wiring production runs.
func TestOnlyAppBuildsTheServer(t *testing.T) {
	root, err := devstack.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	call := regexp.MustCompile(`\bproxy\.New\(|\bproxy\.Deps\{`)
	inside := regexp.MustCompile(`\bNew\(Deps\{|&Server\{|\bServer\{`) // in package proxy's own tests
	files := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if rel == "tools" || rel == ".git" || rel == "bin" || strings.HasPrefix(rel, ".") && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		files++
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		ownTest := filepath.Dir(rel) == "proxy" && strings.HasSuffix(rel, "_test.go")
		if (call.Match(b) || ownTest && inside.Match(b)) && filepath.Dir(rel) != "app" {
			t.Errorf("%s builds the proxy server itself; use app.Build", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("walked %d Go files; the test reads the wrong thing", files)
	}
}
