package api

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tokenwall/tokenwall/apikey"
	"github.com/tokenwall/tokenwall/store/sqlite"
	"github.com/tokenwall/tokenwall/testkit"
	"github.com/tokenwall/tokenwall/vault"
)

// benchSecrets serves one key set from memory.
type benchSecrets map[string]vault.Secret

func (b benchSecrets) Get(name string) (vault.Secret, error) { return b[name], nil }

// BenchmarkAPIParts measures what each /v1 request pays before its handler runs:
// authentication (parse, hash, constant-time compare), the rate limit, and the idempotency
// check (request hash and a store lookup on SQLite), next to a bare Echo request in the same
// run; it prints each part's ns/op and its share of the bare request.
func BenchmarkAPIParts(b *testing.B) {
	k, full, err := apikey.New("bench", apikey.Scopes, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	set, _ := apikey.KeySet{Keys: []apikey.Key{k}}.Marshal()
	ring := apikey.NewRing(benchSecrets{vault.SecretAPIKeys: vault.NewSecret(vault.SecretAPIKeys, set, 1)})
	header := "Bearer " + full
	res := map[string]float64{}
	run := func(name string, f func(b *testing.B)) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			f(b)
			res[name] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		})
	}
	run("bare-echo-request", func(b *testing.B) {
		e := echo.New()
		e.GET("/v1/ping", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
		for range b.N {
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/ping", nil))
		}
	})
	run("authenticate", func(b *testing.B) {
		for range b.N {
			if _, err := ring.Authenticate(header, ""); err != nil {
				b.Fatal(err)
			}
		}
	})
	run("rate-limit", func(b *testing.B) {
		l := apikey.NewLimiter(1_000_000_000, 1_000_000_000)
		now := time.Now()
		for range b.N {
			if ok, _ := l.Allow(k.ID, now); !ok {
				b.Fatal("limited")
			}
		}
	})
	run("idempotency-check", func(b *testing.B) {
		p := filepath.Join(testkit.ArtifactsDir(b), "idem.db")
		for _, sfx := range []string{"", "-wal", "-shm"} {
			_ = os.Remove(p + sfx)
		}
		st, err := sqlite.Open(context.Background(), p)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		body := []byte(`{"amount":2000,"currency":"usd","token":"pm_1BenchStandIn"}`)
		now := time.Now()
		b.ResetTimer()
		for i := range b.N {
			h := sha256.New()
			h.Write([]byte("POST\n/v1/payments\n/v1/payments\n"))
			h.Write(body)
			_ = h.Sum(nil)
			if _, err := st.GetIdempotency(context.Background(), fmt.Sprintf("%s:k%d", k.ID, i), now); err == nil {
				b.Fatal("found")
			}
		}
	})
	if bare := res["bare-echo-request"]; bare > 0 {
		for _, name := range []string{"authenticate", "rate-limit", "idempotency-check"} {
			fmt.Printf("BenchmarkAPIParts: %s %.0f ns/op, %.2fx a bare Echo request (%.0f ns)\n", name, res[name], res[name]/bare, bare)
		}
	}
}
