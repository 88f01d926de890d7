package bot

import (
	"math"
	"strings"
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
