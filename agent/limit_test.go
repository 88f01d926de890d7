package agent

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	l := newLimiter(30, 5, func() time.Time { return now }) // one token every 2s
	type step struct {
		advance  time.Duration
		key      string
		wantOK   bool
		wantWait time.Duration
	}
	steps := []step{
		{0, "bot", true, 0}, {0, "bot", true, 0}, {0, "bot", true, 0}, {0, "bot", true, 0}, {0, "bot", true, 0},
		{0, "bot", false, 2 * time.Second}, // the burst is spent
		{0, "bot2", true, 0},               // another client has its own bucket
		{500 * time.Millisecond, "bot", false, 1500 * time.Millisecond},
		{1500 * time.Millisecond, "bot", true, 0}, // one token back after 2s
		{0, "bot", false, 2 * time.Second},
		{time.Hour, "bot", true, 0}, // refills to the burst, no more
		{0, "bot", true, 0}, {0, "bot", true, 0}, {0, "bot", true, 0}, {0, "bot", true, 0},
		{0, "bot", false, 2 * time.Second},
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		ok, wait := l.allow(s.key)
		if ok != s.wantOK || wait.Round(time.Millisecond) != s.wantWait {
			t.Errorf("step %d: allow(%q) = %v, %s; want %v, %s", i, s.key, ok, wait, s.wantOK, s.wantWait)
		}
	}
}
