package kerberos

import (
	"context"
	"fmt"
	"time"
)

// A runner makes gokrb5 calls, which take no context, one at a time on a goroutine of
// its own, so that a caller can stop waiting for a call without stopping the call. One
// at a time, because a gokrb5 client shuffles its configuration's KDC list in place on
// every exchange: overlapping calls on one client would race.
//
// The goroutine exits when stop has been called and the call in progress, if any, has
// returned. gokrb5 bounds each call: it dials a KDC with a 5 s timeout and gives each
// connection a 5 s deadline, per KDC and transport (client/network.go), and resolves
// names with the system resolver's own timeouts.
type runner struct {
	jobs chan func()
	done chan struct{} // closed when the goroutine has exited
}

// startRunner starts a runner's goroutine. The goroutine calls cleanup as it exits,
// after the last call has returned.
func startRunner(cleanup func()) *runner {
	r := &runner{jobs: make(chan func()), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		defer cleanup()
		for job := range r.jobs {
			job()
		}
	}()
	return r
}

// stop lets the goroutine exit once the call in progress returns. It does not wait;
// r.done says when the goroutine has gone. Calling run after stop panics.
func (r *runner) stop() { close(r.jobs) }

// A timeoutError says that a call was abandoned because it had not returned in time.
type timeoutError struct{ after time.Duration }

func (e *timeoutError) Error() string {
	return fmt.Sprintf("no answer from the KDC within %v", e.after)
}

// Timeout reports true, as net.Error's method does.
func (e *timeoutError) Timeout() bool { return true }

// Unwrap makes errors.Is(err, context.DeadlineExceeded) true, as for a dial or read
// whose deadline passed.
func (e *timeoutError) Unwrap() error { return context.DeadlineExceeded }

// run makes the call f on r's goroutine and waits for its result until ctx is done or
// timeout has passed, whichever comes first; it then returns ctx.Err() or a
// *timeoutError. The wait includes any time spent behind an earlier call that was
// abandoned but is still running. An abandoned call runs on; its result is dropped.
func run[T any](ctx context.Context, r *runner, timeout time.Duration, f func() (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1) // buffered: an abandoned call must not block on it
	job := func() {
		v, err := f()
		done <- result{v, err}
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case r.jobs <- job:
	case <-ctx.Done():
		return zero, ctx.Err()
	case <-timer.C:
		return zero, &timeoutError{timeout}
	}
	select {
	case res := <-done:
		return res.v, res.err
	case <-ctx.Done():
		return zero, ctx.Err()
	case <-timer.C:
		return zero, &timeoutError{timeout}
	}
}
