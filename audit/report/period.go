package report

import (
	"bytes"
	"context"
	"fmt"
	"time"
)

// RenderSigned renders r in format (html, json or pdf) and signs it: HTML and JSON carry their signature, a PDF
// gets a detached one.
func RenderSigned(ctx context.Context, s Signer, r Report, format string) (file, detached []byte, err error) {
	switch format {
	case "json":
		file, err = SignJSON(ctx, s, r)
		return file, nil, err
	case "pdf":
		var html bytes.Buffer
		if err := HTML(&html, r); err != nil {
			return nil, nil, err
		}
		pdf, err := PDF(ctx, html.Bytes())
		if err != nil {
			return nil, nil, err
		}
		sig, err := SignDetached(ctx, s, pdf)
		return pdf, sig, err
	}
	var html bytes.Buffer
	if err := HTML(&html, r); err != nil {
		return nil, nil, err
	}
	file, err = SignHTML(ctx, s, html.Bytes())
	return file, nil, err
}

// Period parses the bounds of a report: dates (YYYY-MM-DD) are UTC days and to is
// inclusive; RFC 3339 times are taken as they are. Empty to is today; empty from is 30 days
// before to.
func Period(fromText, toText string, now time.Time) (time.Time, time.Time, error) {
	to := now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	if toText != "" {
		t, day, err := parseWhen(toText)
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("to: %w", err)
		}
		if day {
			t = t.Add(24 * time.Hour)
		}
		to = t
	}
	from := to.Add(-30 * 24 * time.Hour)
	if fromText != "" {
		t, _, err := parseWhen(fromText)
		if err != nil {
			return time.Time{}, time.Time{}, fmt.Errorf("from: %w", err)
		}
		from = t
	}
	if !from.Before(to) {
		return time.Time{}, time.Time{}, fmt.Errorf("from %s is not before to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	return from, to, nil
}

// parseWhen parses YYYY-MM-DD (day true) or RFC 3339.
func parseWhen(s string) (time.Time, bool, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.UTC(), true, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("%q is neither YYYY-MM-DD nor RFC 3339", s)
	}
	return t.UTC(), false, nil
}
