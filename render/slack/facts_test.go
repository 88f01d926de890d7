package slackrender

import (
	"testing"
	"time"
)

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		200 * time.Microsecond:  "<1ms",
		120 * time.Millisecond:  "120ms",
		4567 * time.Millisecond: "4.57s",
		123 * time.Second:       "2m3s",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q; want %q", d, got, want)
		}
	}
}
