package htmltok_test

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tokenwall/tokenwall/proxy/pages/htmltok"
)

// xnetEntities reads the entity and entity2 tables out of x/net's entity.go in the module
// cache, the tables lookupEntity reaches through html.UnescapeString.
func xnetEntities(t *testing.T) map[string][2]rune {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "golang.org/x/net").Output()
	if err != nil {
		t.Skipf("finding golang.org/x/net: %v", err)
	}
	src, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "html", "entity.go"))
	if err != nil {
		t.Skipf("reading x/net's entity.go: %v", err)
	}
	one := regexp.MustCompile(`(?m)^\t"([A-Za-z0-9]+;?)":\s+'([^']+)',$`)
	two := regexp.MustCompile(`(?m)^\t"([A-Za-z0-9]+;?)":\s+\{'([^']+)', '([^']+)'\},$`)
	parse := func(lit string) rune {
		r, _, _, err := strconv.UnquoteChar(lit, '\'')
		if err != nil {
			t.Fatalf("rune %s: %v", lit, err)
		}
		return r
	}
	m := map[string][2]rune{}
	for _, g := range one.FindAllStringSubmatch(string(src), -1) {
		m[g[1]] = [2]rune{parse(g[2]), 0}
	}
	n1 := len(m)
	for _, g := range two.FindAllStringSubmatch(string(src), -1) {
		m[g[1]] = [2]rune{parse(g[2]), parse(g[3])}
	}
	if lines := strings.Count(string(src), "\n\t\""); n1 < 2000 || len(m)-n1 < 80 || len(m) != lines {
		t.Fatalf("read %d one-rune and %d two-rune entities from the %d entries of x/net's entity.go", n1, len(m)-n1, lines)
	}
	return m
}

// entityNames is every name in x/net's tables.
func entityNames(t *testing.T) []string {
	return slices.Sorted(maps.Keys(xnetEntities(t)))
}

// TestEntities checks lookupEntity against every name in x/net's tables, and against the
// names next to them (each one byte shorter or longer) that are not in the tables.
func TestEntities(t *testing.T) {
	table := xnetEntities(t)
	longest := 0
	for name, want := range table {
		if x, y, ok := htmltok.LookupEntity(name); !ok || [2]rune{x, y} != want {
			t.Errorf("lookupEntity(%q) = %q, %q, %t, want %q", name, x, y, ok, want)
		}
		if !strings.HasSuffix(name, ";") {
			longest = max(longest, len(name))
		}
		for _, near := range []string{name[:len(name)-1], name + "x", name + ";", name + "0", name + ";;"} {
			want, in := table[near]
			if near == "" || strings.Contains(near[:len(near)-1], ";") {
				continue // not a name unescapeEntity reads
			}
			if x, y, ok := htmltok.LookupEntity(near); ok != in || [2]rune{x, y} != want {
				t.Errorf("lookupEntity(%q) = %q, %q, %t, want %q, %t", near, x, y, ok, want, in)
			}
		}
	}
	if longest != htmltok.LongestEntityWithoutSemicolon {
		t.Errorf("the longest name without a semicolon is %d bytes, longestEntityWithoutSemicolon %d", longest, htmltok.LongestEntityWithoutSemicolon)
	}
}
