package triage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync/atomic"
	"time"
)

// A Runner runs checks against a target and diagnoses what they saw.
type Runner struct {
	Checks []Check
	Rules  []Rule
	// CheckTimeout bounds each check; 0 means 30 seconds.
	CheckTimeout time.Duration
	// Deadline bounds the whole run; 0 means 60 seconds.
	Deadline time.Duration
	// Now and NewID default to time.Now and NewID; tests replace them. Now is called
	// from the checks' goroutines and must be safe for concurrent use.
	Now   func() time.Time
	NewID func() string
	Log   *slog.Logger // nil means no logging
	// Progress, when set, is called each time a check finishes (or panics), with
	// how many checks have finished so far and how many there are. It is called from
	// the checks' goroutines, possibly at the same time, so it must be quick and safe
	// for concurrent use. A check abandoned at the deadline reports when it ends,
	// which may be after Run has returned.
	Progress func(done, total int)
}

// grace is how long Run waits past a check's timeout for it to notice its context.
const grace = 250 * time.Millisecond

// Run runs every check concurrently, each with its own timeout and all within the
// overall deadline, applies the rules to what they saw and returns the report, whose
// Trend is the checks' merged Observations.Trend. It always returns a report: a check
// that fails, times out or panics is recorded as a check with status error and its
// reason, and what it returned is kept.
//
// Run returns within the deadline (plus a short grace) even if a check ignores its
// context; such a check is abandoned and its goroutine ends when the check returns.
func (r Runner) Run(ctx context.Context, t Target) Report {
	now, newID, log := r.Now, r.NewID, r.Log
	if now == nil {
		now = time.Now
	}
	if newID == nil {
		newID = NewID
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	checkTimeout := cmpOr(r.CheckTimeout, 30*time.Second)
	deadline := cmpOr(r.Deadline, 60*time.Second)

	start, began := now(), time.Now() // began is wall time for the timers; now may be a fake clock
	rep := Report{ID: newID(), Host: t.Host, StartedAt: start}
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()

	var finished atomic.Int64
	chans := make([]chan outcome, len(r.Checks))
	for i, c := range r.Checks {
		chans[i] = make(chan outcome, 1) // buffered: an abandoned check never blocks
		go func() {
			cctx, ccancel := context.WithTimeout(ctx, checkTimeout)
			defer ccancel()
			checkBegan := now()
			var o outcome
			defer func() {
				if p := recover(); p != nil {
					log.ErrorContext(ctx, "check panicked", "check", c.Name(), "host", t.Host, "panic", p, "stack", string(debug.Stack()))
					o.err = fmt.Errorf("internal error: %v", p)
				}
				o.took = now().Sub(checkBegan)
				if r.Progress != nil { // before the result is in, so Run returns after it
					r.Progress(int(finished.Add(1)), len(r.Checks))
				}
				chans[i] <- o
			}()
			o.res, o.err = c.Run(cctx, t)
			o.fired = FiredLimit(ctx, cctx, checkTimeout, deadline)
		}()
	}

	var obs Observations
	hardStop := time.NewTimer(deadline + grace)
	defer hardStop.Stop()
	for i, c := range r.Checks {
		cr := CheckResult{Name: c.Name()}
		if r, ok := c.(Remote); ok {
			cr.Agent = r.Agent()
		}
		wait := time.NewTimer(checkTimeout + grace - time.Since(began))
		o, late := await(chans[i], wait.C, hardStop.C)
		wait.Stop()
		switch reason, skipped := IsSkip(o.err); {
		case late != "":
			cr.Status, cr.Duration = CheckError, now().Sub(start)
			cr.Detail = fmt.Sprintf(late, checkTimeout, deadline)
		case o.err == nil:
			cr.Duration, cr.Detail = o.took, o.res.Detail
		case skipped:
			cr.Duration, cr.Status, cr.Detail = o.took, CheckSkipped, reason
		default:
			cr.Duration, cr.Status, cr.Detail, cr.Err = o.took, CheckError, DescribeErr(o.err, o.fired), o.err
		}
		if late == "" {
			obs.merge(o.res.Obs, c.Name())
		}
		if cr.Status == CheckError {
			log.WarnContext(ctx, "check failed", "check", cr.Name, "host", t.Host, "detail", cr.Detail)
		}
		rep.Checks = append(rep.Checks, cr)
	}

	rep.Trend = obs.Trend
	rep.Findings = r.diagnose(ctx, t, obs, &rep, log)
	if rep.Findings == nil {
		rep.Findings = []Finding{} // an empty list, not null, in JSON
	}
	sortFindings(rep.Findings)
	markChecks(rep.Checks, rep.Findings)
	rep.Status = status(rep.Findings, rep.Checks)
	rep.Duration = now().Sub(start)
	return rep
}

// diagnose applies every rule. A rule that panics is a bug; it is logged and recorded
// as an errored "diagnosis" check so the report says its verdict is incomplete.
func (r Runner) diagnose(ctx context.Context, t Target, obs Observations, rep *Report, log *slog.Logger) []Finding {
	var out []Finding
	for _, rule := range r.Rules {
		func() {
			defer func() {
				if p := recover(); p != nil {
					log.ErrorContext(ctx, "rule panicked", "rule", rule.Name(), "host", t.Host, "panic", p, "stack", string(debug.Stack()))
					rep.Checks = append(rep.Checks, CheckResult{Name: "diagnosis", Status: CheckError,
						Detail: fmt.Sprintf("rule %s failed: internal error: %v", rule.Name(), p)})
				}
			}()
			out = append(out, rule.Apply(t, obs)...)
		}()
	}
	return out
}

// markChecks sets the status of each check that ran: fail when a critical or unknown
// finding rests on its evidence, warn when a warning does, pass otherwise.
func markChecks(cs []CheckResult, fs []Finding) {
	worst := map[string]Severity{}
	for _, f := range fs {
		for _, e := range f.Evidence {
			if s, seen := worst[e.Check]; !seen || f.Severity > s {
				worst[e.Check] = f.Severity
			}
		}
	}
	for i := range cs {
		if cs[i].Status != "" {
			continue
		}
		cs[i].Status = CheckPass
		switch s, ok := worst[cs[i].Name]; {
		case !ok:
		case s >= Unknown:
			cs[i].Status = CheckFail
		case s == Warning:
			cs[i].Status = CheckWarn
		}
	}
}

// FiredLimit names the limit whose expiry ended a check, for DescribeErr: the
// run's deadline, the check's own timeout, or "" when neither has passed (an error that
// says it timed out then comes from a limit of the check's own, which its text names).
func FiredLimit(run, check context.Context, checkTimeout, deadline time.Duration) string {
	switch {
	case run.Err() == context.DeadlineExceeded:
		return fmt.Sprintf("the triage's deadline of %s", deadline)
	case check.Err() == context.DeadlineExceeded:
		return fmt.Sprintf("the check's limit of %s", checkTimeout)
	}
	return ""
}

// DescribeErr words a check's error for its detail. fired names the limit that had
// passed when the check returned (see FiredLimit); a timeout is attributed to it only
// then, so an operation that gave up on a shorter limit of its own is never reported
// under the check's limit.
func DescribeErr(err error, fired string) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded) && fired != "":
		return fmt.Sprintf("timed out at %s: %v", fired, err)
	case errors.Is(err, context.DeadlineExceeded):
		return "timed out: " + err.Error()
	case errors.Is(err, context.Canceled):
		return "canceled: " + err.Error()
	}
	return err.Error()
}

func cmpOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// outcome is what a check's goroutine hands back.
type outcome struct {
	res   Result
	err   error
	took  time.Duration
	fired string // the limit that had passed when the check returned, or ""
}

// await waits for a check's outcome until its timeout or the run's deadline. A result
// that is ready wins over a timer that has also fired. When the check is late, await
// returns a format for the detail taking the timeout and the deadline.
func await(ch <-chan outcome, timeout, deadline <-chan time.Time) (outcome, string) {
	select {
	case o := <-ch:
		return o, ""
	default:
	}
	select {
	case o := <-ch:
		return o, ""
	case <-timeout:
		return outcome{}, "did not finish within its %[1]s timeout"
	case <-deadline:
		return outcome{}, "did not finish within the %[2]s deadline"
	}
}
