package apikey

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNewAPIKey(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	k, full, err := New("billing", []string{ScopePayments, ScopeRefunds}, now)
	if err != nil {
		t.Fatal(err)
	}
	id, secret, ok := split(full)
	if !ok || id != k.ID || len(full) != len("twk_")+16+1+64 {
		t.Fatalf("key %d chars, split ok %v", len(full), ok)
	}
	sum := sha256.Sum256([]byte(secret))
	if k.SHA256 != hex.EncodeToString(sum[:]) || k.CreatedAt != now || k.Name != "billing" || !k.Has(ScopeRefunds) || k.Has(ScopeAdmin) {
		t.Fatalf("record %+v", k)
	}
	b, _ := KeySet{Keys: []Key{k}}.Marshal()
	if strings.Contains(string(b), secret) {
		t.Fatal("the stored key set holds the secret")
	}
	k2, full2, _ := New("", []string{ScopeAdmin}, now)
	if k2.ID == k.ID || full2 == full {
		t.Fatal("two keys alike")
	}
}

func TestValidScopes(t *testing.T) {
	for name, tc := range map[string]struct {
		scopes []string
		want   string
	}{
		"none":     {nil, "no scope"},
		"unknown":  {[]string{"payments", "charge"}, `unknown scope "charge"`},
		"repeated": {[]string{"erase", "erase"}, `scope "erase" listed twice`},
		"all":      {Scopes, ""},
	} {
		err := ValidScopes(tc.scopes)
		if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}

func TestParseKeySet(t *testing.T) {
	good := `{"keys":[{"id":"abcdefghijklmnop","sha256":"` + strings.Repeat("ab", 32) + `","scopes":["admin"],"created_at":"2026-11-28T00:00:00Z"}]}`
	if ks, err := ParseKeySet([]byte(good)); err != nil || len(ks.Keys) != 1 {
		t.Fatalf("good set: %v", err)
	}
	for name, bad := range map[string]string{
		"not JSON":       `{"keys":`,
		"short id":       strings.Replace(good, "abcdefghijklmnop", "abcd", 1),
		"upper-case id":  strings.Replace(good, "abcdefghijklmnop", "ABCDEFGHIJKLMNOP", 1),
		"hex id":         strings.Replace(good, "abcdefghijklmnop", "0123456789abcdef", 1),
		"short hash":     strings.Replace(good, strings.Repeat("ab", 32), "abab", 1),
		"unknown scope":  strings.Replace(good, `["admin"]`, `["root"]`, 1),
		"no scope":       strings.Replace(good, `["admin"]`, `[]`, 1),
		"id twice":       strings.Replace(good, `}]}`, `},`+good[9:len(good)-1], 1),
		"unknown fields": `[1,2]`,
	} {
		if _, err := ParseKeySet([]byte(bad)); !errors.Is(err, ErrKeySet) {
			t.Errorf("%s: %v, want ErrKeySet", name, err)
		}
	}
}

func TestSplitAPIKey(t *testing.T) {
	id, secret := "abcdefghijklmnop", strings.Repeat("f", 64)
	for name, tc := range map[string]struct {
		in string
		ok bool
	}{
		"valid":           {"twk_" + id + "_" + secret, true},
		"no prefix":       {id + "_" + secret, false},
		"other prefix":    {"sk_live_" + id + "_" + secret, false},
		"short secret":    {"twk_" + id + "_" + secret[:63], false},
		"long secret":     {"twk_" + id + "_" + secret + "f", false},
		"upper-case":      {"twk_" + strings.ToUpper(id) + "_" + secret, false},
		"hex id":          {"twk_0123456789abcdef_" + secret, false},
		"no separator":    {"twk_" + id + secret, false},
		"empty":           {"", false},
		"trailing suffix": {"twk_" + id + "_" + secret + "_x", false},
	} {
		gotID, gotSecret, ok := split(tc.in)
		if ok != tc.ok || (ok && (gotID != id || gotSecret != secret)) {
			t.Errorf("%s: ok %v", name, ok)
		}
	}
}

func TestKeySetRevoke(t *testing.T) {
	k, _, _ := New("x", []string{ScopeAdmin}, time.Now())
	ks := KeySet{Keys: []Key{k}}
	now := time.Now()
	if err := ks.Revoke(k.ID, now); err != nil || !ks.Keys[0].Revoked() {
		t.Fatalf("revoke: %v", err)
	}
	if err := ks.Revoke(k.ID, now); err == nil || !strings.Contains(err.Error(), "revoked already") {
		t.Fatalf("second revoke: %v", err)
	}
	if err := ks.Revoke("ffffffffffffffff", now); err == nil || !strings.Contains(err.Error(), "no key") {
		t.Fatalf("unknown id: %v", err)
	}
}

// TestRateLimiter: a bucket starts full, refills at the rate, never above the burst, and
// says how long until the next token.
func TestRateLimiter(t *testing.T) {
	l := NewLimiter(2, 3)
	t0 := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for i := range 3 {
		if ok, _ := l.Allow("a", t0); !ok {
			t.Fatalf("token %d of the burst refused", i)
		}
	}
	ok, wait := l.Allow("a", t0)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("past the burst: ok %v wait %s, want refused for 500ms", ok, wait)
	}
	if ok, _ := l.Allow("b", t0); !ok {
		t.Fatal("another key shares the bucket")
	}
	if ok, _ := l.Allow("a", t0.Add(500*time.Millisecond)); !ok {
		t.Fatal("no token after 500ms at 2/s")
	}
	// A long pause refills to the burst, not beyond.
	later := t0.Add(time.Hour)
	for i := range 3 {
		if ok, _ := l.Allow("a", later); !ok {
			t.Fatalf("after a pause, token %d refused", i)
		}
	}
	if ok, _ := l.Allow("a", later); ok {
		t.Fatal("the bucket filled beyond its burst")
	}
}
