package report_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tokenwall/tokenwall/audit/report"
)

// TestSignAndVerify: each signed form verifies, and one changed byte anywhere in the signed
// content makes verification fail; a file without a signature is named as such.
func TestSignAndVerify(t *testing.T) {
	ctx := context.Background()
	s := newSigner(t)
	r := report.Report{FormatVersion: report.FormatVersion, ID: "rep_sign", From: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		To: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), Summary: report.Summary{Records: 42, Charges: 7}}
	html, err := report.SignHTML(ctx, s, []byte("<!DOCTYPE html><html><body><p>42 records, 7 charges</p></body></html>\n"))
	if err != nil {
		t.Fatal(err)
	}
	js, err := report.SignJSON(ctx, s, r)
	if err != nil {
		t.Fatal(err)
	}
	pdf := []byte("%PDF-1.7 a report\n%%EOF\n")
	sig, err := report.SignDetached(ctx, s, pdf)
	if err != nil {
		t.Fatal(err)
	}
	forms := []struct {
		name           string
		file, detached []byte
		// edit is the offset of a byte inside the signed content
		edit int
	}{
		{"html", html, nil, bytes.Index(html, []byte("42"))},
		{"json", js, nil, bytes.Index(js, []byte(`"records":42`)) + len(`"records":`)},
		{"pdf with detached signature", pdf, sig, 10},
	}
	for _, f := range forms {
		if _, err := report.Verify(ctx, s, f.file, f.detached); err != nil {
			t.Errorf("%s: %v", f.name, err)
		}
		edited := bytes.Clone(f.file)
		edited[f.edit]++
		if _, err := report.Verify(ctx, s, edited, f.detached); !errors.Is(err, report.ErrBadSignature) {
			t.Errorf("%s after a one-byte edit: %v, want ErrBadSignature", f.name, err)
		}
		if _, err := report.Verify(ctx, newSigner(t), f.file, f.detached); !errors.Is(err, report.ErrBadSignature) {
			t.Errorf("%s with another key: %v, want ErrBadSignature", f.name, err)
		}
	}
	if got, err := report.ParseJSON(js); err != nil || got.Summary.Records != 42 || got.ID != "rep_sign" {
		t.Errorf("ParseJSON: %+v %v", got.Summary, err)
	}
	if _, err := report.Verify(ctx, s, []byte("<html>no signature</html>"), nil); !errors.Is(err, report.ErrUnsigned) {
		t.Errorf("unsigned: %v", err)
	}
	if _, err := report.Verify(ctx, s, pdf, []byte("not json")); !errors.Is(err, report.ErrUnsigned) {
		t.Errorf("malformed detached signature: %v", err)
	}
}

// TestPeriod: dates are UTC days, to inclusive; bad input is named.
func TestPeriod(t *testing.T) {
	now := time.Date(2026, 11, 28, 15, 0, 0, 0, time.UTC)
	from, to, err := report.Period("2026-11-01", "2026-11-27", now)
	if err != nil || from != time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC) || to != time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC) {
		t.Fatalf("dates: %s %s %v", from, to, err)
	}
	from, to, err = report.Period("", "", now)
	if err != nil || to != time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC) || to.Sub(from) != 30*24*time.Hour {
		t.Fatalf("defaults: %s %s %v", from, to, err)
	}
	for _, bad := range [][2]string{{"2026-13-01", ""}, {"", "yesterday"}, {"2026-11-28", "2026-11-01"}} {
		if _, _, err := report.Period(bad[0], bad[1], now); err == nil {
			t.Errorf("Period(%q, %q) accepted", bad[0], bad[1])
		}
	}
}
