package billing_test

import (
	"crypto/rand"
	"encoding/json"
	"github.com/tokenwall/tokenwall/signature"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/examples/billing"
)

const formType = "application/x-www-form-urlencoded"

// newKey returns a random 32-byte signing key.
func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatalf("random key: %v", err)
	}
	return k
}

// newServer starts the app behind a real TLS server that trusts keys.
func newServer(t *testing.T, maxBody int64, keys ...[]byte) *httptest.Server {
	t.Helper()
	app := billing.New(billing.Options{
		SigningKeys: func() [][]byte { return keys },
		MaxBody:     maxBody,
	})
	srv := httptest.NewTLSServer(app)
	t.Cleanup(srv.Close)
	return srv
}

// newServerWith starts the app configured by o behind a real TLS server.
func newServerWith(t *testing.T, o billing.Options) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(billing.New(o))
	t.Cleanup(srv.Close)
	return srv
}

func sign(body string, keys ...[]byte) string {
	return signature.Sign(time.Now(), []byte(body), keys...)
}

// post sends body to path with the given signature header (none when empty) and returns the
// response and its body.
func post(t *testing.T, srv *httptest.Server, path, contentType, body, sig string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Content-Type", contentType)
	if sig != "" {
		req.Header.Set(signature.Header, sig)
	}
	return do(t, srv, req)
}

func get(t *testing.T, srv *httptest.Server, path string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	return do(t, srv, req)
}

func do(t *testing.T, srv *httptest.Server, req *http.Request) (*http.Response, string) {
	t.Helper()
	client := *srv.Client() // a copy: the server's client is shared between goroutines
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read %s: %v", req.URL.Path, err)
	}
	return res, string(b)
}

// received is one /received entry decoded with the field names the JSON must use.
type received struct {
	Path           string    `json:"path"`
	ContentType    string    `json:"content_type"`
	Body           string    `json:"body"`
	SignatureValid bool      `json:"signature_valid"`
	ReceivedAt     time.Time `json:"received_at"`
}

// getReceived fetches /received, checks every entry has exactly the documented keys, and
// decodes it.
func getReceived(t *testing.T, srv *httptest.Server) []received {
	t.Helper()
	res, body := get(t, srv, "/received")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /received: status %d", res.StatusCode)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("GET /received: Content-Type %q", ct)
	}
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &raw); err != nil {
		t.Fatalf("GET /received: %v in %s", err, body)
	}
	want := []string{"body", "content_type", "path", "received_at", "signature_valid"}
	for i, e := range raw {
		if len(e) != len(want) {
			t.Fatalf("entry %d has keys %v, want %v", i, keys(e), want)
		}
		for _, k := range want {
			if _, ok := e[k]; !ok {
				t.Fatalf("entry %d has keys %v, want %v", i, keys(e), want)
			}
		}
	}
	var out []received
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("GET /received: %v", err)
	}
	return out
}

func keys(m map[string]json.RawMessage) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// attrs parses the double-quoted attributes of one start tag.
func attrs(tag string) map[string]string {
	m := map[string]string{}
	for _, a := range regexp.MustCompile(`([a-zA-Z][\w-]*)="([^"]*)"`).FindAllStringSubmatch(tag, -1) {
		m[a[1]] = html.UnescapeString(a[2])
	}
	return m
}

// tags returns the start tags named name in doc.
func tags(doc, name string) []string {
	return regexp.MustCompile(`<`+name+`\b[^>]*>`).FindAllString(doc, -1)
}

// elementByID finds the element whose id is id and returns its attributes and its text
// (unescaped, markup-free content assumed). ok is false when there is no such element.
func elementByID(doc, id string) (map[string]string, string, bool) {
	at := strings.Index(doc, ` id="`+id+`"`)
	if at < 0 {
		return nil, "", false
	}
	open := strings.LastIndex(doc[:at], "<")
	end := strings.Index(doc[at:], ">")
	if open < 0 || end < 0 {
		return nil, "", false
	}
	tag := doc[open : at+end+1]
	name := strings.FieldsFunc(tag[1:], func(r rune) bool { return r == ' ' || r == '>' })[0]
	rest := doc[at+end+1:]
	closeAt := strings.Index(rest, "</"+name+">")
	if closeAt < 0 {
		return attrs(tag), "", true
	}
	return attrs(tag), html.UnescapeString(strings.TrimSpace(rest[:closeAt])), true
}
