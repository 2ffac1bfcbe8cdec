package report

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// timeLayout is how the report prints an instant: always UTC, to the second.
const timeLayout = "2006-01-02 15:04:05 UTC"

// formatTime prints t in UTC, or a dash for the zero time.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(timeLayout)
}

// formatTimePtr prints *t, or none when t is nil.
func formatTimePtr(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return formatTime(*t)
}

// formatPeriod prints the period, From inclusive and To exclusive, with its length.
func formatPeriod(from, to time.Time) string {
	s := formatTime(from) + " – " + formatTime(to)
	if from.IsZero() || to.IsZero() || !to.After(from) {
		return s
	}
	days := to.Sub(from).Hours() / 24
	if days == float64(int64(days)) {
		return fmt.Sprintf("%s (%s days)", s, formatInt(int64(days)))
	}
	return fmt.Sprintf("%s (%s days)", s, strconv.FormatFloat(days, 'f', 1, 64))
}

// formatNum prints an integer of any of the report's integer types with thousands separators.
func formatNum(v any) string {
	switch n := v.(type) {
	case int:
		return formatInt(int64(n))
	case int64:
		return formatInt(n)
	default:
		return fmt.Sprint(v)
	}
}

// formatInt prints n with commas between thousands: 1201 is "1,201".
func formatInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// formatBytes prints a size in binary units, with the exact count when it is rounded.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return formatInt(n) + " B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB (%s bytes)", float64(n)/float64(div), "KMGTP"[exp], formatInt(n))
}

// formatDurationMS prints a duration given in milliseconds for a reader who compares it with
// 48 hours: hours and minutes beyond an hour, down to milliseconds below a second.
func formatDurationMS(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	switch {
	case ms < 0:
		return "—"
	case d < time.Second:
		return fmt.Sprintf("%d ms", ms)
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%d min %02d s", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%d h %02d min", int(d.Hours()), int(d.Minutes())%60)
	}
}

// wrapText splits s into lines of at most width runes, breaking after spaces and commas where it
// can and inside a word where it must. Continuation lines are indented by two spaces.
func wrapText(s string, width int) []string {
	width = max(width, 8)
	if utf8.RuneCountInString(s) <= width {
		return []string{s}
	}
	var lines []string
	rest := []rune(s)
	limit := width
	for len(rest) > limit {
		cut := -1
		for i := limit; i > limit/2; i-- {
			if rest[i-1] == ' ' || rest[i-1] == ',' || rest[i-1] == '/' {
				cut = i
				break
			}
		}
		if cut < 0 {
			cut = limit
		}
		lines = append(lines, strings.TrimRight(string(rest[:cut]), " "))
		rest = []rune(strings.TrimLeft(string(rest[cut:]), " "))
		limit = width - 2
	}
	if len(rest) > 0 || len(lines) == 0 {
		lines = append(lines, string(rest))
	}
	for i := 1; i < len(lines); i++ {
		lines[i] = "  " + lines[i]
	}
	return lines
}

// joinOrNone joins field names with ", ", or says "(none)".
func joinOrNone(fields []string) string {
	if len(fields) == 0 {
		return "(none)"
	}
	return strings.Join(fields, ", ")
}
