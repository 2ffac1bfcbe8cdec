package proxy_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"github.com/tokenwall/tokenwall/apikey"
	"github.com/tokenwall/tokenwall/evidence"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/app"
	"github.com/tokenwall/tokenwall/audit/report"
	"github.com/tokenwall/tokenwall/vault"
)

// buildReport builds a report for today over h's real sources (its store, log file, Vault
// cache, transit key and TLS listener), with edit applied to the sources first.
func buildReport(t *testing.T, h *harness, edit func(*evidence.Sources)) report.Report {
	t.Helper()
	src := evidence.Sources{Config: h.cfg, Store: h.store, Transit: h.transit, Anchor: h.app.Anchor(), ProbeAddr: h.url[len("https://"):],
		ReadSecret: func(_ context.Context, name, _ string) (vault.Secret, error) { return h.cache.Get(name) }}
	if h.cfg.API.Enabled {
		src.APIKeys = func(context.Context) ([]report.KeyInfo, error) {
			s, err := h.cache.Get(vault.SecretAPIKeys)
			if err != nil {
				return nil, err
			}
			ks, err := apikey.ParseKeySet(s.Reveal())
			return app.KeyInfos(ks), err
		}
	}
	if edit != nil {
		edit(&src)
	}
	now := time.Now()
	if src.Now != nil {
		now = src.Now()
	}
	r, err := evidence.Build(context.Background(), src, now.Add(-24*time.Hour), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func statuses(r report.Report) map[string]string {
	m := map[string]string{}
	for _, q := range r.Requirements {
		m[q.ID] = q.Status
	}
	return m
}

// TestReportRequirementsFollowTheEvidence: on a tokenwall that did its work properly every
// requirement passes (or is N/A for a reason the evidence gives); each one turns FAIL when its
// evidence is broken: a card number planted in the log, an edited audit row, secrets past
// their cryptoperiod, a listener that accepts TLS 1.1.
func TestReportRequirementsFollowTheEvidence(t *testing.T) {
	h := newHarness(t, options{api: true, webhooks: true})
	if ok := driveTransactions(t, h, 40); ok < 20 {
		t.Fatalf("only %d tokenizations", ok)
	}
	if resp, _ := h.api("GET", "/v1/admin/webhooks", "admin", nil, ""); resp.StatusCode != 200 {
		t.Fatalf("admin call: %d", resp.StatusCode)
	}
	t.Run("every requirement passes on proper work", func(t *testing.T) {
		// What checkpoint_interval does within a minute: sign and anchor the head.
		if err := h.app.Trail().Checkpoint(context.Background()); err != nil {
			t.Fatal(err)
		}
		r := buildReport(t, h, nil)
		checkProperReport(t, r)
		// The trail was compared with its anchor in Vault, which the signed report carries.
		if a := r.Evidence.Chain.Anchor; a == nil || a.Version < 1 || a.Seq < 1 || a.Signature == "" {
			t.Fatalf("report without the audit anchor: %+v", a)
		}
	})
	t.Run("TLS 1.1 allowed", func(t *testing.T) {
		addr := tls11Listener(t, h)
		r := buildReport(t, h, func(s *evidence.Sources) { s.ProbeAddr = addr })
		if got := statuses(r)["4.2.1"]; got != report.Fail {
			t.Fatalf("4.2.1 = %s with TLS 1.1 accepted", got)
		}
	})
	t.Run("secrets past their cryptoperiod", func(t *testing.T) {
		r := buildReport(t, h, func(s *evidence.Sources) {
			s.Now = func() time.Time { return time.Now().Add(400 * 24 * time.Hour) }
		})
		if got := statuses(r)["3.6/3.7"]; got != report.Fail {
			t.Fatalf("3.6/3.7 = %s with secrets 400 days old", got)
		}
	})
	t.Run("card number planted in the log", func(t *testing.T) {
		f, err := os.OpenFile(h.logPath, os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		// Written around the scrubbing writer, as a careless component might; removed below.
		_, _ = f.WriteString(`{"level":"info","note":"card ` + testCards[1].number + `"}` + "\n")
		_ = f.Close()
		t.Cleanup(func() { unplant(t, h.logPath, testCards[1].number) })
		r := buildReport(t, h, nil)
		s := statuses(r)
		if s["3.5.1"] != report.Fail || s["3.4.1"] != report.Fail || s["3.5.1.1"] != report.Fail {
			t.Fatalf("with a card in the log: 3.5.1 %s, 3.4.1 %s, 3.5.1.1 %s", s["3.5.1"], s["3.4.1"], s["3.5.1.1"])
		}
	})
	t.Run("edited audit row", func(t *testing.T) {
		if err := h.store.RawExec(context.Background(), `UPDATE audit_records SET outcome = 'failure' WHERE seq = 3`); err != nil {
			t.Fatal(err)
		}
		r := buildReport(t, h, nil)
		s := statuses(r)
		if s["10.3"] != report.Fail || r.Evidence.Chain.FirstBad != 3 {
			t.Fatalf("after editing seq 3: 10.3 %s, first bad %d", s["10.3"], r.Evidence.Chain.FirstBad)
		}
		if err := h.store.RawExec(context.Background(), `UPDATE audit_records SET outcome = 'success' WHERE seq = 3`); err != nil {
			t.Fatal(err)
		}
		if s := statuses(buildReport(t, h, nil)); s["10.3"] != report.Pass {
			t.Fatalf("after restoring seq 3: 10.3 %s", s["10.3"])
		}
	})
}

// checkProperReport checks the report of a tokenwall that did its work properly: every
// requirement passes but 3.5.1.1 (N/A), and the summary counts the tokenizations, the card
// escapes refused and the one admin call.
func checkProperReport(t *testing.T, base report.Report) {
	t.Helper()
	want := map[string]string{"3.3.1": report.Pass, "3.4.1": report.Pass, "3.5.1": report.Pass, "3.5.1.1": report.NA,
		"3.6/3.7": report.Pass, "4.2.1": report.Pass, "7.2": report.Pass, "8.2/8.6": report.Pass, "10.2.1": report.Pass,
		"10.2.2": report.Pass, "10.3": report.Pass, "10.5.1": report.Pass,
		"6.4.3": report.NA, "11.6.1": report.NA} // no payment page configured here
	got := statuses(base)
	for id, st := range want {
		if got[id] != st {
			for _, q := range base.Requirements {
				if q.ID == id {
					t.Errorf("%s = %s, want %s: %v", id, got[id], st, q.Evidence)
				}
			}
		}
	}
	if base.Summary.TokenizationsSucceeded < 20 || base.Summary.CardEscapesRefused == 0 || base.Summary.AdminAccess != 1 {
		t.Errorf("summary %+v", base.Summary)
	}
}

// tls11Listener serves h's certificate on a loopback listener that accepts TLS 1.1, closed
// when t ends, and returns its address.
func tls11Listener(t *testing.T, h *harness) string {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(h.cfg.Listen.CertFile, h.cfg.Listen.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS11})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) { _ = c.(*tls.Conn).Handshake(); _ = c.Close() }(c)
		}
	}()
	return ln.Addr().String()
}

// unplant removes the planted line so the artifacts scan at the end of make test stays clean.
func unplant(t *testing.T, path, card string) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Error(err)
		return
	}
	var kept [][]byte
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if !bytes.Contains(line, []byte(card)) {
			kept = append(kept, line)
		}
	}
	if err := os.WriteFile(path, bytes.Join(kept, nil), 0o600); err != nil {
		t.Error(err)
	}
}

// TestReportOverTheAPI: GET /v1/reports with a reports key answers the signed report (HTML or
// JSON) that `tokenwall report verify` accepts, writes report_generated, and is refused to a
// key without the scope.
func TestReportOverTheAPI(t *testing.T) {
	h := newHarness(t, options{api: true})
	driveTransactions(t, h, 10)
	resp, body := h.api("GET", "/v1/reports?format=html", "auditor", nil, "")
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Fatalf("html: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if _, err := report.Verify(context.Background(), h.transit, []byte(body), nil); err != nil {
		t.Fatalf("the HTML report does not verify: %v", err)
	}
	resp, body = h.api("GET", "/v1/reports?format=json&from=2026-01-01", "auditor", nil, "")
	if resp.StatusCode != 200 {
		t.Fatalf("json: %d %s", resp.StatusCode, body)
	}
	if _, err := report.Verify(context.Background(), h.transit, []byte(body), nil); err != nil {
		t.Fatalf("the JSON report does not verify: %v", err)
	}
	r, err := report.ParseJSON([]byte(body))
	if err != nil || r.Summary.TokenizationsSucceeded == 0 || len(r.Requirements) != 14 {
		t.Fatalf("json report: %+v %v", r.Summary, err)
	}
	for _, bad := range []string{"format=pdf", "from=yesterday", "from=2026-11-28&to=2026-01-01"} {
		resp, body := h.api("GET", "/v1/reports?"+bad, "auditor", nil, "")
		if typ, _ := problemOf(t, resp, body); resp.StatusCode != 422 || typ != "invalid-parameter" {
			t.Errorf("%s: %d %s", bad, resp.StatusCode, body)
		}
	}
	if resp, _ := h.api("GET", "/v1/reports", "payments", nil, ""); resp.StatusCode != 403 {
		t.Errorf("a payments key: %d, want 403", resp.StatusCode)
	}
	evs := h.events("report_generated")
	if len(evs) != 2 || !strings.HasPrefix(evs[0].Actor, apikey.ActorPrefix) {
		t.Fatalf("report_generated records %+v", evs)
	}
}
