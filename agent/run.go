package agent

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"runtime/debug"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// grace is how long the runner waits past a check's timeout for it to notice its
// context, as triage.Runner does.
const grace = 250 * time.Millisecond

// A runner runs the checks of one triage request and streams each result as soon as
// its check finishes. It keeps triage.Runner's semantics for one check: a timeout per
// check, a deadline for all, panics recovered, what a failed check saw kept.
type runner struct {
	checkTimeout time.Duration
	deadline     time.Duration
	log          *slog.Logger
}

// finished is what a check's goroutine hands back.
type finished struct {
	i     int
	res   triage.Result
	err   error
	took  time.Duration
	fired string // the limit that had passed when the check returned (triage.FiredLimit)
}

// run runs every check of cs concurrently against t and calls emit with each result in
// the order the checks finish. A check still running when its timeout or the deadline
// has passed (plus grace) is emitted as an error and abandoned: its goroutine ends
// when the check returns, which a check that honours its context does at once. When
// emit fails, because the client went away, run cancels the checks and returns the
// error. run returns the results it emitted.
func (r runner) run(ctx context.Context, t triage.Target, cs []triage.Check, emit func(Line) error) ([]triage.CheckResult, error) {
	ctx, cancel := context.WithTimeout(ctx, r.deadline)
	defer cancel()

	done := make(chan finished, len(cs)) // buffered: an abandoned check never blocks
	for i, c := range cs {
		go func() {
			cctx, ccancel := context.WithTimeout(ctx, r.checkTimeout)
			defer ccancel()
			f := finished{i: i}
			began := time.Now()
			defer func() {
				if p := recover(); p != nil {
					r.log.ErrorContext(ctx, "check panicked", "check", c.Name(), "host", t.Host, "panic", p, "stack", string(debug.Stack()))
					f.err = fmt.Errorf("internal error: %v", p)
				}
				f.took = time.Since(began)
				done <- f
			}()
			f.res, f.err = c.Run(cctx, t)
			f.fired = triage.FiredLimit(ctx, cctx, r.checkTimeout, r.deadline)
		}()
	}

	late := fmt.Sprintf("did not finish within its %s timeout", r.checkTimeout)
	if r.deadline < r.checkTimeout {
		late = fmt.Sprintf("did not finish within the %s deadline", r.deadline)
	}
	limit := time.NewTimer(min(r.checkTimeout, r.deadline) + grace)
	defer limit.Stop()

	var out []triage.CheckResult
	send := func(l Line) error {
		out = append(out, *l.Check)
		return emit(l)
	}
	reported := make([]bool, len(cs))
	for left := len(cs); left > 0; {
		select {
		case f := <-done:
			reported[f.i], left = true, left-1
			if err := send(r.line(cs[f.i].Name(), f)); err != nil {
				return out, err
			}
		case <-limit.C:
			// Results that are ready win over the timer that fired with them.
			for drained := false; !drained; {
				select {
				case f := <-done:
					reported[f.i] = true
					if err := send(r.line(cs[f.i].Name(), f)); err != nil {
						return out, err
					}
				default:
					drained = true
				}
			}
			for i, c := range cs {
				if !reported[i] {
					cr := triage.CheckResult{Name: c.Name(), Status: triage.CheckError, Detail: late,
						Duration: wholeMillis(min(r.checkTimeout, r.deadline))}
					if err := send(Line{Check: &cr}); err != nil {
						return out, err
					}
				}
			}
			left = 0
		}
	}
	return out, nil
}

// line turns a finished check into its line of the stream.
func (r runner) line(name string, f finished) Line {
	cr := triage.CheckResult{Name: name, Duration: wholeMillis(f.took)}
	switch reason, skipped := triage.IsSkip(f.err); {
	case f.err == nil:
		cr.Status, cr.Detail = triage.CheckPass, f.res.Detail
	case skipped:
		cr.Status, cr.Detail = triage.CheckSkipped, reason
	default:
		cr.Status, cr.Detail = triage.CheckError, triage.DescribeErr(f.err, f.fired)
	}
	l := Line{Check: &cr}
	if !reflect.ValueOf(f.res.Obs).IsZero() {
		l.Observations = &f.res.Obs
	}
	return l
}

// wholeMillis truncates d to whole milliseconds, as the stream carries it.
func wholeMillis(d time.Duration) time.Duration { return d.Truncate(time.Millisecond) }
