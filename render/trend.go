package render

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// sparkLevels are the eight heights of a sparkline, lowest first.
var sparkLevels = [...]rune{'▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'}

// Sparkline draws counts as a line of Unicode block characters, one per count,
// scaled so that the largest is █: a count c > 0 gets level ⌈8c/max⌉, so that any
// non-zero count shows at least ▁. A zero (or negative) count is a space, so that
// "none" differs from "a few"; in Slack, put the line in a code span to keep the
// spaces. No counts give "".
func Sparkline(counts []int) string {
	peak := 0
	for _, c := range counts {
		peak = max(peak, c)
	}
	var b strings.Builder
	for _, c := range counts {
		if c <= 0 {
			b.WriteByte(' ')
			continue
		}
		// In floating point: 8c overflows an int near its maximum.
		level := int(math.Ceil(float64(c)*float64(len(sparkLevels))/float64(peak))) - 1
		level = min(max(level, 0), len(sparkLevels)-1)
		b.WriteRune(sparkLevels[level])
	}
	return b.String()
}

// trendNames are the words shown after each error a trend counts.
var trendNames = map[int]string{
	17806: "SSPI handshake failed",
	18452: "untrusted domain",
	18456: "login failed",
}

// TrendLines returns a report's trend as text for a monospaced font: the span it
// covers, "2026-11-23 09:00 -05:00 to 2026-11-24 09:54 -05:00" (from the start of its oldest
// hour to its end, in zone), and one line per error with entries in it, in the order
// of triage.TrendErrors:
//
//	17806 SSPI handshake failed |                      ▁█| total 63, peak 60 at 09:00
//
// with the sparkline of its hours between bars (one character an hour, a space for
// none), its total and its busiest hour (the first of equals), in zone. Only the
// last triage.TrendHours hours are shown, and negative counts count as none. It
// returns no lines when tr is nil or holds no entry.
func TrendLines(tr *triage.Trend, zone *time.Location) (span string, lines []string) {
	if tr == nil || len(tr.Hours) == 0 {
		return "", nil
	}
	hours := tr.Hours[max(0, len(tr.Hours)-triage.TrendHours):]
	type row struct {
		id, total, peak int
		peakAt          time.Time
		counts          []int
	}
	var rows []row
	width := 0
	for _, id := range triage.TrendErrors() {
		r := row{id: id, counts: make([]int, len(hours))}
		for i, h := range hours {
			n := max(h.Count(id), 0)
			r.counts[i] = n
			r.total = addCapped(r.total, n)
			if n > r.peak {
				r.peak, r.peakAt = n, h.Start
			}
		}
		if r.total > 0 {
			rows = append(rows, r)
			width = max(width, len(trendNames[id]))
		}
	}
	if len(rows) == 0 {
		return "", nil
	}
	for _, r := range rows {
		lines = append(lines, fmt.Sprintf("%d %-*s |%s| total %d, peak %d at %s",
			r.id, width, trendNames[r.id], Sparkline(r.counts), r.total, r.peak, r.peakAt.In(zone).Format("15:04")))
	}
	return hourSpan(hours[0].Start.In(zone), tr.End.In(zone)), lines
}

// hourSpan writes a span of minutes with the date once when both ends are on the same
// day: "2026-11-24 08:00 to 09:54 -05:00".
func hourSpan(from, to time.Time) string {
	if from.Format("2006-01-02 -07:00") == to.Format("2006-01-02 -07:00") {
		return fmt.Sprintf("%s to %s", from.Format("2006-01-02 15:04"), to.Format("15:04 -07:00"))
	}
	return fmt.Sprintf("%s to %s", from.Format("2006-01-02 15:04 -07:00"), to.Format("2006-01-02 15:04 -07:00"))
}

// addCapped returns a+b for non-negative a and b, or math.MaxInt when that overflows.
func addCapped(a, b int) int {
	if a > math.MaxInt-b {
		return math.MaxInt
	}
	return a + b
}
