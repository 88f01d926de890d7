package schedule

import "time"

// A Clock tells the time and waits for it. The Scheduler does all its timing
// through one (ticks, lease renewal, waiting for another replica, the run's
// deadline), so that tests can drive it with a fake clock.
type Clock interface {
	Now() time.Time
	// After returns a channel that receives the time once d has passed; at once
	// when d <= 0.
	After(d time.Duration) <-chan time.Time
}

// realClock is the system clock.
type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }
