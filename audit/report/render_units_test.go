package report

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestNiceStep(t *testing.T) {
	tests := []struct {
		peak, want int64
	}{
		{peak: 0, want: 1}, {peak: 1, want: 1}, {peak: 5, want: 1}, {peak: 6, want: 2},
		{peak: 87, want: 20}, {peak: 100, want: 20}, {peak: 187, want: 50}, {peak: 1201, want: 500},
		{peak: 10_000_000, want: 2_000_000},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.peak), func(t *testing.T) {
			got := niceStep(tc.peak)
			if got != tc.want {
				t.Fatalf("niceStep(%d) = %d, want %d", tc.peak, got, tc.want)
			}
			if top := got * ((tc.peak + got - 1) / got); top/got > 5 {
				t.Errorf("%d grid lines for peak %d, want at most 5", top/got, tc.peak)
			}
		})
	}
}

func TestFormatters(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{name: "int 0", got: formatInt(0), want: "0"},
		{name: "int 999", got: formatInt(999), want: "999"},
		{name: "int 1201", got: formatInt(1201), want: "1,201"},
		{name: "int negative", got: formatInt(-1234567), want: "-1,234,567"},
		{name: "ms", got: formatDurationMS(850), want: "850 ms"},
		{name: "seconds", got: formatDurationMS(12_300), want: "12.3 s"},
		{name: "minutes", got: formatDurationMS(725_000), want: "12 min 05 s"},
		{name: "hours", got: formatDurationMS(int64(49*time.Hour/time.Millisecond) + 30*60_000), want: "49 h 30 min"},
		{name: "bytes small", got: formatBytes(512), want: "512 B"},
		{name: "bytes mib", got: formatBytes(7_340_033), want: "7.0 MiB (7,340,033 bytes)"},
		{name: "zero time", got: formatTime(time.Time{}), want: "—"},
		{name: "time in utc", got: formatTime(time.Date(2026, 11, 1, 1, 0, 0, 0, time.FixedZone("CET", 3600))), want: "2026-11-01 00:00:00 UTC"},
		{name: "nil time", got: formatTimePtr(nil, "never"), want: "never"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
}

func TestWrap(t *testing.T) {
	long := "/checkout: card_number, exp_month, exp_year, cvc, postal_code, cardholder_name"
	lines := wrapText(long, 30)
	if len(lines) < 3 {
		t.Fatalf("%q wrapped into %d lines", long, len(lines))
	}
	var joined []string
	for _, l := range lines {
		if n := utf8.RuneCountInString(l); n > 30 {
			t.Errorf("line %q has %d runes, limit 30", l, n)
		}
		joined = append(joined, strings.TrimSpace(l))
	}
	if got := strings.ReplaceAll(strings.Join(joined, " "), "  ", " "); strings.ReplaceAll(got, " ", "") != strings.ReplaceAll(long, " ", "") {
		t.Errorf("wrapping lost text: %q", got)
	}
	unbroken := strings.Repeat("x", 70)
	for _, l := range wrapText(unbroken, 30) {
		if utf8.RuneCountInString(l) > 30 {
			t.Errorf("unbroken word line %q is too long", l)
		}
	}
}

func TestDateTicks(t *testing.T) {
	days := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i).Format("2006-01-02")
		}
		return out
	}
	tests := []struct {
		n           int
		wantTicks   int
		wantMonthly bool
	}{
		{n: 0, wantTicks: 0}, {n: 1, wantTicks: 1}, {n: 7, wantTicks: 7}, {n: 30, wantTicks: 8},
		{n: 62, wantTicks: 8}, {n: 366, wantTicks: 12, wantMonthly: true},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.n), func(t *testing.T) {
			ticks, monthly := dateTicks(days(tc.n))
			if len(ticks) != tc.wantTicks || monthly != tc.wantMonthly {
				t.Errorf("dateTicks(%d days) = %d ticks, monthly %v; want %d, %v", tc.n, len(ticks), monthly, tc.wantTicks, tc.wantMonthly)
			}
		})
	}
}

func TestFindChromiumMissing(t *testing.T) {
	_, err := findChromium("/nonexistent/tokenwall-test/chromium", "tokenwall-no-such-browser")
	if !errors.Is(err, ErrNoChromium) {
		t.Fatalf("findChromium: %v, want ErrNoChromium", err)
	}
	if !strings.Contains(err.Error(), "apt-get install chromium") {
		t.Errorf("error %q does not say how to install chromium", err)
	}
}
