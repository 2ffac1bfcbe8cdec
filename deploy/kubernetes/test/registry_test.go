package k8stest

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// modulePath is tokenwall's main module.
const modulePath = "github.com/tokenwall/tokenwall"

// promPackage is client_golang's prometheus package, where every metric is declared.
const promPackage = "github.com/prometheus/client_golang/prometheus"

// metricFamily is one metric tokenwall declares.
type metricFamily struct {
	name   string
	kind   string   // counter, gauge, histogram, summary; "" for a bare Desc (a custom collector)
	labels []string // nil when the declaration's labels could not be read
	where  string   // file:line
}

// series are the names a family is exposed under: a histogram's or summary's also end in
// _bucket (histograms), _sum and _count.
func (f metricFamily) series() []string {
	switch f.kind {
	case "histogram":
		return []string{f.name, f.name + "_bucket", f.name + "_sum", f.name + "_count"}
	case "summary":
		return []string{f.name, f.name + "_sum", f.name + "_count"}
	}
	return []string{f.name}
}

// registry is what tokenwall's source declares: families by every series name, and the
// declarations whose name could not be worked out.
type registry struct {
	bySeries   map[string]metricFamily
	unresolved []string
	// literals are the string literals of the packages: a label value an alert matches
	// (outcome="dead") must be one of them.
	literals map[string]bool
}

var (
	registryOnce sync.Once
	registryVal  registry
	registryErr  error
)

// tokenwallMetrics reads the metrics tokenwall declares from the source of every tokenwall
// package linked into cmd/tokenwall (`go list -deps`), test files left out. A metric's
// declaration is where its name is, whether or not a scrape has seen it yet (a vector with
// no child is absent from /metrics, so scraping a fresh tokenwall would miss most of them).
func tokenwallMetrics(t testing.TB) registry {
	t.Helper()
	registryOnce.Do(func() { registryVal, registryErr = readRegistry(repoRoot(t)) })
	if registryErr != nil {
		t.Fatal(registryErr)
	}
	return registryVal
}

// readRegistry parses the packages and collects their metric declarations.
func readRegistry(root string) (registry, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "list", "-deps",
		"-f", `{{if .Module}}{{if eq .Module.Path "`+modulePath+`"}}{{.ImportPath}}{{"\t"}}{{.Dir}}{{"\t"}}{{join .GoFiles " "}}{{end}}{{end}}`,
		"./cmd/tokenwall")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return registry{}, fmt.Errorf("go list -deps ./cmd/tokenwall: %w", err)
	}
	fset := token.NewFileSet()
	pkgs := map[string]*sourcePackage{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		parts := strings.SplitN(line, "\t", 3)
		if len(parts) != 3 {
			continue
		}
		sp := &sourcePackage{path: parts[0], consts: map[string]ast.Expr{}}
		for name := range strings.FieldsSeq(parts[2]) {
			f, err := parser.ParseFile(fset, filepath.Join(parts[1], name), nil, parser.SkipObjectResolution)
			if err != nil {
				return registry{}, err
			}
			sp.files = append(sp.files, f)
			collectConsts(f, sp.consts)
		}
		pkgs[sp.path] = sp
	}
	if len(pkgs) == 0 {
		return registry{}, fmt.Errorf("go list found no tokenwall package in cmd/tokenwall's dependencies")
	}
	reg := registry{bySeries: map[string]metricFamily{}, literals: map[string]bool{}}
	for _, sp := range pkgs {
		for _, f := range sp.files {
			scanFile(fset, f, sp, pkgs, &reg)
			ast.Inspect(f, func(n ast.Node) bool {
				if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil {
						reg.literals[s] = true
					}
				}
				return true
			})
		}
	}
	return reg, nil
}

// sourcePackage is one parsed tokenwall package.
type sourcePackage struct {
	path   string
	files  []*ast.File
	consts map[string]ast.Expr // package-level constants and variables with one value
}

// collectConsts records f's package-level `const X = …` and `var X = …` values, to resolve
// metric names built from them.
func collectConsts(f *ast.File, into map[string]ast.Expr) {
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST && gd.Tok != token.VAR {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if i < len(vs.Values) {
					into[name.Name] = vs.Values[i]
				}
			}
		}
	}
}

// fileScope resolves names in one file: the prometheus import's name and other tokenwall
// packages' names.
type fileScope struct {
	fset    *token.FileSet
	pkg     *sourcePackage
	pkgs    map[string]*sourcePackage
	prom    string
	imports map[string]string // local name -> import path
}

// scanFile records the metric declarations of f: prometheus.*Opts literals (Namespace,
// Subsystem, Name), with the label list of the New*Vec call they are given to, and
// prometheus.NewDesc calls.
func scanFile(fset *token.FileSet, f *ast.File, sp *sourcePackage, pkgs map[string]*sourcePackage, reg *registry) {
	fs := &fileScope{fset: fset, pkg: sp, pkgs: pkgs, imports: map[string]string{}}
	for _, imp := range f.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		name := p[strings.LastIndex(p, "/")+1:]
		if imp.Name != nil {
			name = imp.Name.Name
		}
		fs.imports[name] = p
		if p == promPackage {
			fs.prom = name
		}
	}
	if fs.prom == "" {
		return
	}
	seen := map[*ast.CompositeLit]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			fn, ok := fs.promSel(n.Fun)
			switch {
			case !ok:
			case fn == "NewDesc" && len(n.Args) >= 3:
				name, ok := fs.str(n.Args[0])
				fs.add(reg, n, metricFamily{name: name, labels: fs.strs(n.Args[2])}, ok)
			case strings.HasPrefix(fn, "New") && len(n.Args) >= 1:
				lit := compositeOf(n.Args[0])
				if lit == nil {
					return true
				}
				labels := []string{}
				if strings.HasSuffix(fn, "Vec") && len(n.Args) >= 2 {
					labels = fs.strs(n.Args[1])
				}
				if fam, ok, isOpts := fs.opts(lit, labels); isOpts {
					seen[lit] = true
					fs.add(reg, lit, fam, ok)
				}
			}
		case *ast.CompositeLit:
			if seen[n] {
				return true
			}
			// Opts declared apart from the call that takes them: the labels are unknown.
			if fam, ok, isOpts := fs.opts(n, nil); isOpts {
				fs.add(reg, n, fam, ok)
			}
		}
		return true
	})
}

// add records a family, or where its name could not be worked out.
func (fs *fileScope) add(reg *registry, at ast.Node, fam metricFamily, ok bool) {
	fam.where = fs.fset.Position(at.Pos()).String()
	if !ok || fam.name == "" {
		reg.unresolved = append(reg.unresolved, fam.where)
		return
	}
	for _, s := range fam.series() {
		reg.bySeries[s] = fam
	}
}

// optsKinds maps client_golang's option types to metric kinds.
var optsKinds = map[string]string{"CounterOpts": "counter", "GaugeOpts": "gauge", "HistogramOpts": "histogram", "SummaryOpts": "summary"}

// opts reads a prometheus.*Opts literal: the family it declares, whether its name resolved,
// and whether lit is such a literal at all. ConstLabels count as labels.
func (fs *fileScope) opts(lit *ast.CompositeLit, labels []string) (metricFamily, bool, bool) {
	typ, ok := fs.promSel(lit.Type)
	kind, isOpts := optsKinds[typ]
	if !ok || !isOpts {
		return metricFamily{}, false, false
	}
	var parts [3]string // namespace, subsystem, name
	resolved := true
	for _, elt := range lit.Elts {
		kv, ok := elt.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		key, _ := kv.Key.(*ast.Ident)
		if key == nil {
			continue
		}
		i := slices.Index([]string{"Namespace", "Subsystem", "Name"}, key.Name)
		switch {
		case i >= 0:
			s, ok := fs.str(kv.Value)
			parts[i], resolved = s, resolved && ok
		case key.Name == "ConstLabels" && labels != nil:
			if m := compositeOf(kv.Value); m != nil {
				for _, e := range m.Elts {
					if kv, ok := e.(*ast.KeyValueExpr); ok {
						if s, ok := fs.str(kv.Key); ok {
							labels = append(labels, s)
						}
					}
				}
			}
		}
	}
	var name []string
	for _, p := range parts {
		if p != "" {
			name = append(name, p)
		}
	}
	if parts[2] == "" {
		name = nil // prometheus.BuildFQName: no name, no metric
	}
	return metricFamily{name: strings.Join(name, "_"), kind: kind, labels: labels}, resolved, true
}

// promSel returns Sel when e is prometheus.Sel.
func (fs *fileScope) promSel(e ast.Expr) (string, bool) {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return "", false
	}
	x, ok := sel.X.(*ast.Ident)
	if !ok || x.Name != fs.prom {
		return "", false
	}
	return sel.Sel.Name, true
}

// compositeOf returns the literal e is (or points to), nil when it is none.
func compositeOf(e ast.Expr) *ast.CompositeLit {
	if u, ok := e.(*ast.UnaryExpr); ok && u.Op == token.AND {
		e = u.X
	}
	lit, _ := e.(*ast.CompositeLit)
	return lit
}

// str evaluates a string expression: literals, + and constants of tokenwall's packages.
func (fs *fileScope) str(e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.ParenExpr:
		return fs.str(e.X)
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return "", false
		}
		a, ok1 := fs.str(e.X)
		b, ok2 := fs.str(e.Y)
		return a + b, ok1 && ok2
	case *ast.Ident:
		if v, ok := fs.pkg.consts[e.Name]; ok {
			return fs.str(v)
		}
	case *ast.SelectorExpr:
		if x, ok := e.X.(*ast.Ident); ok {
			if other, ok := fs.pkgs[fs.imports[x.Name]]; ok {
				if v, ok := other.consts[e.Sel.Name]; ok {
					return (&fileScope{fset: fs.fset, pkg: other, pkgs: fs.pkgs, imports: map[string]string{}}).str(v)
				}
			}
		}
	}
	return "", false
}

// strs evaluates a []string literal; nil when it is not one (labels unknown), empty for nil.
func (fs *fileScope) strs(e ast.Expr) []string {
	if id, ok := e.(*ast.Ident); ok && id.Name == "nil" {
		return []string{}
	}
	lit := compositeOf(e)
	if lit == nil {
		return nil
	}
	out := []string{}
	for _, elt := range lit.Elts {
		s, ok := fs.str(elt)
		if !ok {
			return nil
		}
		out = append(out, s)
	}
	return out
}

// TestRegistryReadsTokenwallsMetrics checks the source reader itself against metrics
// tokenwall has had from the start, so that a reader that finds nothing cannot pass the
// alert test by accident.
func TestRegistryReadsTokenwallsMetrics(t *testing.T) {
	reg := tokenwallMetrics(t)
	for _, tc := range []struct {
		series string
		kind   string
		labels []string
	}{
		{series: "tokenwall_requests_total", kind: "counter", labels: []string{"route", "status"}},
		{series: "tokenwall_request_duration_seconds_bucket", kind: "histogram", labels: []string{"route"}},
		{series: "tokenwall_secret_age_seconds", kind: "", labels: []string{"secret"}},
	} {
		fam, ok := reg.bySeries[tc.series]
		switch {
		case !ok:
			t.Errorf("%s not found in tokenwall's source", tc.series)
		case fam.kind != tc.kind || !slices.Equal(fam.labels, tc.labels):
			t.Errorf("%s: read as %s %v, want %s %v (%s)", tc.series, fam.kind, fam.labels, tc.kind, tc.labels, fam.where)
		}
	}
	if _, ok := reg.bySeries["tokenwall_requests_total_bucket"]; ok {
		t.Error("a counter read as having _bucket series")
	}
	names := map[string]bool{}
	for _, f := range reg.bySeries {
		names[f.name] = true
	}
	t.Logf("%d metric families declared; unresolved declarations: %v", len(names), reg.unresolved)
}
