package api

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/apikey"
	"github.com/tokenwall/tokenwall/config"
	"github.com/tokenwall/tokenwall/proxy"
)

// openAPIDocument is the part of the OpenAPI document the sync tests read.
type openAPIDocument struct {
	OpenAPI      string                                `json:"openapi"`
	Paths        map[string]map[string]json.RawMessage `json:"paths"`
	ProblemTypes []string                              `json:"x-problem-types"`
}

func loadOpenAPI(t *testing.T) openAPIDocument {
	t.Helper()
	var doc openAPIDocument
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q, want 3.x", doc.OpenAPI)
	}
	return doc
}

// TestOpenAPIMatchesRoutes: every /v1 route the server registers is in the document with the
// same scope, and the document has no operation the server lacks.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	a := New(Deps{Config: config.Default().API})
	e := echo.New()
	a.Register(e.Group("/v1"))
	scopes := map[string]string{"GET /admin/webhooks": apikey.ScopeAdmin, "POST /admin/webhooks/{id}/replay": apikey.ScopeAdmin,
		"GET /reports": apikey.ScopeReports, "GET /openapi.json": ""}
	for _, r := range a.routes() {
		scopes[r.method+" "+openAPIPath(r.path)] = r.scope
	}
	served := map[string]bool{}
	for _, r := range e.Routes() {
		if !strings.HasPrefix(r.Path, "/v1/") || r.Path == "/v1/*" {
			continue
		}
		served[r.Method+" "+openAPIPath(strings.TrimPrefix(r.Path, "/v1"))] = true
	}
	doc := loadOpenAPI(t)
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			op := strings.ToUpper(method) + " " + path
			documented[op] = true
			var o struct {
				Scope string `json:"x-scope"`
			}
			_ = json.Unmarshal(raw, &o)
			if want, ok := scopes[op]; ok && o.Scope != want {
				t.Errorf("%s: x-scope %q, the server requires %q", op, o.Scope, want)
			}
		}
	}
	for op := range served {
		if !documented[op] {
			t.Errorf("%s is served but not in openapi.json", op)
		}
	}
	for op := range documented {
		if !served[op] {
			t.Errorf("%s is in openapi.json but not served", op)
		}
	}
	if len(served) < 10 {
		t.Fatalf("only %d routes found; the test reads the wrong thing", len(served))
	}
}

// openAPIPath turns Echo's "/payments/:id" into OpenAPI's "/payments/{id}".
func openAPIPath(p string) string {
	return regexp.MustCompile(`:([a-z]+)`).ReplaceAllString(p, "{$1}")
}

// TestOpenAPIListsEveryProblemType: the document's x-problem-types are exactly the problem
// types of the proxy's error table.
func TestOpenAPIListsEveryProblemType(t *testing.T) {
	inSource := proxy.ProblemTypes()
	if len(inSource) < 20 {
		t.Fatalf("only %d problem types in the error table; the test reads the wrong thing", len(inSource))
	}
	doc := loadOpenAPI(t)
	got := slices.Sorted(slices.Values(doc.ProblemTypes))
	if !slices.Equal(got, inSource) {
		t.Fatalf("x-problem-types differ from the error table:\ndocument %v\ntable    %v", got, inSource)
	}
}

// TestOpenAPIDocumentValid: the document is valid OpenAPI 3.1 as kin-openapi reads it (3.1,
// not 3.0: the mutualTLS security scheme exists only since 3.1), with every $ref resolved
// and no schema keyword 3.1 removed.
func TestOpenAPIDocumentValid(t *testing.T) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(OpenAPI)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if !doc.IsOpenAPI31OrLater() || doc.IsOpenAPI32OrLater() {
		t.Fatalf("openapi %q, want 3.1.x", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if ss := doc.Components.SecuritySchemes["mutualTLS"]; ss == nil || ss.Value.Type != "mutualTLS" {
		t.Errorf("no mutualTLS security scheme: %+v", ss)
	}
}
