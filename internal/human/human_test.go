package human

import (
	"testing"
	"time"
)

func TestSpan(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"}, {7 * 24 * time.Hour, "7d"}, {24 * time.Hour, "24h"}, {48 * time.Hour, "2d"}, {36 * time.Hour, "36h"},
		{90 * time.Minute, "90m"}, {3*time.Hour + 7*time.Minute, "3h7m"}, {25*time.Hour + 30*time.Minute, "25h30m"}, {2 * time.Minute, "2m"}, {90 * time.Second, "1m30s"}, {1500 * time.Millisecond, "1.5s"},
	} {
		if got := Span(tc.d); got != tc.want {
			t.Errorf("Span(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestElapsed(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "<1ms"}, {999 * time.Microsecond, "<1ms"}, {120*time.Millisecond + 400*time.Microsecond, "120ms"},
		{4512 * time.Millisecond, "4.51s"}, {123 * time.Second, "2m3s"},
	} {
		if got := Elapsed(tc.d); got != tc.want {
			t.Errorf("Elapsed(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestWords(t *testing.T) {
	if got := Count(1, "host", "hosts"); got != "1 host" {
		t.Errorf("Count(1) = %q", got)
	}
	if got := Count(3, "host", "hosts"); got != "3 hosts" {
		t.Errorf("Count(3) = %q", got)
	}
	for n, want := range map[int]string{0: "", 1: "a", 2: "a and b", 3: "a, b and c"} {
		if got := List([]string{"a", "b", "c"}[:n]); got != want {
			t.Errorf("List(%d words) = %q, want %q", n, got, want)
		}
	}
}
