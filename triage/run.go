package triage

import (
	"cmp"
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
	// OnResult, when set, is called once per check as soon as its result is known: when
	// the check returns, or when Run declares it late and abandons it. cr is the check's
	// entry in the report as the check alone decides it: status pass, skipped or error
	// (the findings may later make a pass warn or fail), and res what the check returned
	// (its observations kept even with an error; zero for a late check). OnResult is
	// called from Run's goroutine, one call at a time, in the order the results are
	// known, and every call returns before Run diagnoses; Run waits while it runs, so it
	// should be quick. To stop the run from OnResult, cancel Run's context.
	OnResult func(cr CheckResult, res Result)
}

// grace is how long Run waits past a check's timeout, or past the end of its context,
// for a check to notice its context and return. It is the whole of the time budget
// past the limits: a check that stops at once when its context ends, as Check
// requires, is always heard.
const grace = 250 * time.Millisecond

// Run runs every check concurrently, each with its own timeout and all within the
// overall deadline, applies the rules to what they saw and returns the report, whose
// Trend is the checks' merged Observations.Trend. It always returns a report: a check
// that fails, times out or panics is recorded as a check with status error and its
// reason, and what it returned is kept. The report lists the checks in the order of
// r.Checks.
//
// Run returns within a check's timeout, the deadline, or the end of ctx (whichever
// comes first), plus grace, even if a check ignores its context; such a check is
// abandoned and its goroutine ends when the check returns.
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
	checkTimeout := cmp.Or(max(r.CheckTimeout, 0), 30*time.Second)
	deadline := cmp.Or(max(r.Deadline, 0), 60*time.Second)

	start := now()
	rep := Report{ID: newID(), Host: t.Host, StartedAt: start}
	ctx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	timeout := time.NewTimer(checkTimeout + grace) // wall time; now may be a fake clock
	defer timeout.Stop()

	var finished atomic.Int64
	done := make(chan outcome, len(r.Checks)) // buffered: an abandoned check never blocks
	for i, c := range r.Checks {
		go func() {
			cctx, ccancel := context.WithTimeout(ctx, checkTimeout)
			defer ccancel()
			checkBegan := now()
			o := outcome{i: i}
			defer func() {
				if p := recover(); p != nil {
					log.ErrorContext(ctx, "check panicked", "check", c.Name(), "host", t.Host, "panic", p, "stack", string(debug.Stack()))
					o.err = fmt.Errorf("internal error: %v", p)
				}
				o.took = now().Sub(checkBegan)
				if r.Progress != nil { // before the result is in, so Run returns after it
					r.Progress(int(finished.Add(1)), len(r.Checks))
				}
				done <- o
			}()
			o.res, o.err = c.Run(cctx, t)
			o.fired = firedLimit(ctx, cctx, checkTimeout, deadline)
		}()
	}

	rep.Checks = make([]CheckResult, len(r.Checks))
	results := make([]Result, len(r.Checks))
	known := make([]bool, len(r.Checks))
	record := func(i int, cr CheckResult, res Result) {
		cr.Name = r.Checks[i].Name()
		if rc, ok := r.Checks[i].(Remote); ok {
			cr.Agent = rc.Agent()
		}
		if cr.Status == CheckError {
			log.WarnContext(ctx, "check failed", "check", cr.Name, "host", t.Host, "detail", cr.Detail)
		}
		rep.Checks[i], results[i], known[i] = cr, res, true
		if r.OnResult != nil {
			r.OnResult(cr, res)
		}
	}
	finish := func(o outcome) {
		cr := CheckResult{Duration: o.took, Status: CheckPass, Detail: o.res.Detail}
		switch reason, skipped := IsSkip(o.err); {
		case skipped:
			cr.Status, cr.Detail, cr.Missing = CheckSkipped, reason, Lacking(o.err)
		case o.err != nil:
			cr.Status, cr.Detail, cr.Err = CheckError, describeErr(o.err, o.fired), o.err
		}
		record(o.i, cr, o.res)
	}

	// Results are taken as they come until every check is heard of or a limit passes:
	// the checks' timeout, or the end of ctx (the deadline or a cancel).
	var late string              // the detail of the checks not heard of
	var stopped <-chan time.Time // fires grace after ctx ends
	ended := ctx.Done()
	for left := len(r.Checks); left > 0 && late == ""; {
		select {
		case o := <-done:
			finish(o)
			left--
		case <-ended:
			ended, stopped = nil, time.After(grace)
		case <-timeout.C:
			late = fmt.Sprintf("did not finish within its %s timeout", checkTimeout)
		case <-stopped:
			late = fmt.Sprintf("did not finish within the %s deadline", deadline)
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				late = "did not stop when the triage was canceled"
			}
		}
	}
	if late != "" {
		// Results that are ready win over the timer that fired with them.
		for drained := false; !drained; {
			select {
			case o := <-done:
				finish(o)
			default:
				drained = true
			}
		}
		for i := range r.Checks {
			if !known[i] {
				record(i, CheckResult{Status: CheckError, Detail: late, Duration: now().Sub(start)}, Result{})
			}
		}
	}

	var obs Observations
	for i, c := range r.Checks {
		obs.merge(results[i].Obs, c.Name())
	}
	rep.Trend = obs.Trend
	if d := obs.Delegation; d != nil && (len(d.Paths) > 0 || len(d.LinkedServers) > 0) {
		rep.Delegation = d
	}
	rep.Instances = obs.Instances
	// The rules judge the host as discovery describes it: the ports clients reach now,
	// the listeners and cluster nodes it found.
	rep.Findings = r.diagnose(ctx, t.Discovered(obs.Instances), obs, &rep, log)
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

// markChecks sets the status of each check that passed: fail when a critical or
// unknown finding rests on its evidence, warn when a warning does.
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
		if cs[i].Status != CheckPass {
			continue
		}
		switch s, ok := worst[cs[i].Name]; {
		case !ok:
		case s >= Unknown:
			cs[i].Status = CheckFail
		case s == Warning:
			cs[i].Status = CheckWarn
		}
	}
}

// firedLimit names the limit whose expiry ended a check, for describeErr: the
// run's deadline, the check's own timeout, or "" when neither has passed (an error that
// says it timed out then comes from a limit of the check's own, which its text names).
func firedLimit(run, check context.Context, checkTimeout, deadline time.Duration) string {
	switch {
	case run.Err() == context.DeadlineExceeded:
		return fmt.Sprintf("the triage's deadline of %s", deadline)
	case check.Err() == context.DeadlineExceeded:
		return fmt.Sprintf("the check's limit of %s", checkTimeout)
	}
	return ""
}

// describeErr words a check's error for its detail. fired names the limit that had
// passed when the check returned (see firedLimit); a timeout is attributed to it only
// then, so an operation that gave up on a shorter limit of its own is never reported
// under the check's limit.
func describeErr(err error, fired string) string {
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

// outcome is what a check's goroutine hands back.
type outcome struct {
	i     int // the check's index in Runner.Checks
	res   Result
	err   error
	took  time.Duration
	fired string // the limit that had passed when the check returned, or ""
}
