// Package human words numbers and durations the way the reports, the command line and
// Slack show them to people.
package human

import (
	"strconv"
	"strings"
	"time"
)

// Span writes a window or a period as people give one: two or more whole days as "7d",
// whole hours as "24h" or "36h", whole minutes under two hours as "90m", and anything
// else as Go does without zero tails ("3h7m", "1m30s"). Every form parses back, as the
// configuration and --since read it.
func Span(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d >= 2*day && d%day == 0:
		return strconv.FormatInt(int64(d/day), 10) + "d"
	case d != 0 && d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d != 0 && d%time.Minute == 0 && d < 2*time.Hour:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	}
	s := d.String()
	if t, ok := strings.CutSuffix(s, "m0s"); ok {
		s = t + "m"
	}
	return s
}

// Elapsed writes how long something took: "<1ms", "120ms", "4.5s", "2m3s".
func Elapsed(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return "<1ms"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// Plural returns one when n is 1 and many otherwise.
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Count writes n with its noun: "1 host", "3 hosts".
func Count(n int, one, many string) string {
	return strconv.Itoa(n) + " " + Plural(n, one, many)
}

// List joins words as a sentence does: "a", "a and b", "a, b and c".
func List(words []string) string {
	switch len(words) {
	case 0:
		return ""
	case 1:
		return words[0]
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}
