package triage_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// fakeCheck is a check whose behaviour the test chooses.
type fakeCheck struct {
	name string
	run  func(ctx context.Context) (triage.Result, error)
}

func (c fakeCheck) Name() string { return c.name }
func (c fakeCheck) Run(ctx context.Context, _ triage.Target) (triage.Result, error) {
	return c.run(ctx)
}

func logResult(id int) triage.Result {
	return triage.Result{Detail: "read", Obs: triage.Observations{Logs: []triage.LogEvent{{Source: triage.SourceErrorlog, ID: id, Count: 1}}}}
}

// ruleFunc makes a rule from a function.
type ruleFunc func(triage.Observations) []triage.Finding

func (ruleFunc) Name() string { return "test" }
func (f ruleFunc) Apply(_ triage.Target, obs triage.Observations) []triage.Finding {
	return f(obs)
}

// findEach returns one finding of the given severity per log event with that ID.
func findEach(id int, cause triage.CauseID, sev triage.Severity) ruleFunc {
	return func(obs triage.Observations) []triage.Finding {
		var out []triage.Finding
		for _, e := range obs.Logs {
			if e.ID == id {
				f := triage.NewFinding(cause, nil)
				f.Severity = sev
				f.Evidence = []triage.Evidence{e.Evidence("seen")}
				out = append(out, f)
			}
		}
		return out
	}
}

func TestRun(t *testing.T) {
	ok := func(id int) func(context.Context) (triage.Result, error) {
		return func(context.Context) (triage.Result, error) { return logResult(id), nil }
	}
	tests := []struct {
		name       string
		checks     []triage.Check
		rules      []triage.Rule
		wantStatus triage.Status
		wantChecks map[string]triage.CheckStatus
		wantDetail map[string]string // substrings
		wantCauses []triage.CauseID
	}{
		{
			name:       "no findings is ok",
			checks:     []triage.Check{fakeCheck{"a", ok(1)}},
			rules:      []triage.Rule{findEach(99, triage.DCUnreachable, triage.Critical)},
			wantStatus: triage.StatusOK,
			wantChecks: map[string]triage.CheckStatus{"a": triage.CheckPass},
		},
		{
			name:       "critical finding fails the check it rests on",
			checks:     []triage.Check{fakeCheck{"a", ok(1)}, fakeCheck{"b", ok(2)}},
			rules:      []triage.Rule{findEach(1, triage.DCUnreachable, triage.Critical), findEach(2, triage.LoginFailed, triage.Warning)},
			wantStatus: triage.StatusCritical,
			wantChecks: map[string]triage.CheckStatus{"a": triage.CheckFail, "b": triage.CheckWarn},
			wantCauses: []triage.CauseID{triage.DCUnreachable, triage.LoginFailed},
		},
		{
			name:       "info finding leaves the check passing and the report ok",
			checks:     []triage.Check{fakeCheck{"a", ok(1)}},
			rules:      []triage.Rule{findEach(1, triage.SPNRegistrationFailed, triage.Info)},
			wantStatus: triage.StatusOK,
			wantChecks: map[string]triage.CheckStatus{"a": triage.CheckPass},
			wantCauses: []triage.CauseID{triage.SPNRegistrationFailed},
		},
		{
			name: "a skipped check says why and does not make the report unknown",
			checks: []triage.Check{fakeCheck{"a", func(context.Context) (triage.Result, error) {
				return triage.Result{}, triage.Skip("no ERRORLOG source: give --errorlog")
			}}},
			wantStatus: triage.StatusOK,
			wantChecks: map[string]triage.CheckStatus{"a": triage.CheckSkipped},
			wantDetail: map[string]string{"a": "give --errorlog"},
		},
		{
			name: "an erroring check makes the report unknown and keeps its partial results",
			checks: []triage.Check{fakeCheck{"a", func(context.Context) (triage.Result, error) {
				return logResult(2), errors.New("read ERRORLOG.1: permission denied")
			}}},
			rules:      []triage.Rule{findEach(2, triage.LoginFailed, triage.Warning)},
			wantStatus: triage.StatusUnknown,
			wantChecks: map[string]triage.CheckStatus{"a": triage.CheckError},
			wantDetail: map[string]string{"a": "permission denied"},
			wantCauses: []triage.CauseID{triage.LoginFailed},
		},
		{
			name: "a critical finding outranks a check error",
			checks: []triage.Check{
				fakeCheck{"a", ok(1)},
				fakeCheck{"b", func(context.Context) (triage.Result, error) { return triage.Result{}, errors.New("boom") }},
			},
			rules:      []triage.Rule{findEach(1, triage.DCUnreachable, triage.Critical)},
			wantStatus: triage.StatusCritical,
			wantChecks: map[string]triage.CheckStatus{"a": triage.CheckFail, "b": triage.CheckError},
			wantCauses: []triage.CauseID{triage.DCUnreachable},
		},
		{
			name: "a panicking check becomes an error, not a crash",
			checks: []triage.Check{fakeCheck{"a", func(context.Context) (triage.Result, error) {
				panic(errors.New("assignment to entry in nil map"))
			}}},
			wantStatus: triage.StatusUnknown,
			wantChecks: map[string]triage.CheckStatus{"a": triage.CheckError},
			wantDetail: map[string]string{"a": "internal error"},
		},
		{
			name:       "a panicking rule is recorded as an errored diagnosis",
			checks:     []triage.Check{fakeCheck{"a", ok(1)}},
			rules:      []triage.Rule{ruleFunc(func(triage.Observations) []triage.Finding { panic("bug") })},
			wantStatus: triage.StatusUnknown,
			wantChecks: map[string]triage.CheckStatus{"a": triage.CheckPass, "diagnosis": triage.CheckError},
			wantDetail: map[string]string{"diagnosis": "bug"},
		},
		{
			name: "a check that honours its context times out as an error",
			checks: []triage.Check{fakeCheck{"slow", func(ctx context.Context) (triage.Result, error) {
				<-ctx.Done()
				return triage.Result{}, ctx.Err()
			}}},
			wantStatus: triage.StatusUnknown,
			wantChecks: map[string]triage.CheckStatus{"slow": triage.CheckError},
			wantDetail: map[string]string{"slow": "timed out at the check's limit of 1s"},
		},
		{
			name: "an operation's own shorter timeout is not reported as the check's limit",
			checks: []triage.Check{fakeCheck{"ldap", func(ctx context.Context) (triage.Result, error) {
				octx, cancel := context.WithTimeoutCause(ctx, 300*time.Millisecond,
					fmt.Errorf("no answer from dc1 within 300ms: %w", context.DeadlineExceeded))
				defer cancel()
				<-octx.Done()
				return triage.Result{}, fmt.Errorf("search: %w", context.Cause(octx))
			}}},
			wantStatus: triage.StatusUnknown,
			wantChecks: map[string]triage.CheckStatus{"ldap": triage.CheckError},
			wantDetail: map[string]string{"ldap": "timed out: search: no answer from dc1 within 300ms"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := triage.Runner{Checks: tt.checks, Rules: tt.rules, CheckTimeout: time.Second, Deadline: 2 * time.Second,
					NewID: func() string { return "testid01" }}
				rep := r.Run(t.Context(), triage.Target{Host: "sqlhost01"})
				if rep.Status != tt.wantStatus {
					t.Errorf("status = %s; want %s (checks %+v)", rep.Status, tt.wantStatus, rep.Checks)
				}
				if rep.ID != "testid01" || rep.Host != "sqlhost01" {
					t.Errorf("id, host = %q, %q; want testid01, sqlhost01", rep.ID, rep.Host)
				}
				got := map[string]triage.CheckResult{}
				for _, c := range rep.Checks {
					got[c.Name] = c
				}
				if len(got) != len(tt.wantChecks) {
					t.Errorf("checks = %+v; want %v", rep.Checks, tt.wantChecks)
				}
				for name, want := range tt.wantChecks {
					if got[name].Status != want {
						t.Errorf("check %s = %s (%s); want %s", name, got[name].Status, got[name].Detail, want)
					}
				}
				for name, sub := range tt.wantDetail {
					if !strings.Contains(got[name].Detail, sub) {
						t.Errorf("check %s detail = %q; want it to contain %q", name, got[name].Detail, sub)
					}
				}
				var causes []triage.CauseID
				for _, f := range rep.Findings {
					causes = append(causes, f.Cause)
				}
				if strings.Join(idStrings(causes), ",") != strings.Join(idStrings(tt.wantCauses), ",") {
					t.Errorf("causes = %v; want %v (worst first)", causes, tt.wantCauses)
				}
			})
		})
	}
}

func idStrings(ids []triage.CauseID) []string {
	var out []string
	for _, id := range ids {
		out = append(out, string(id))
	}
	return out
}

// TestRunNeverHangs: a check that ignores its context is abandoned at its timeout
// and its grace; the others' results are kept.
func TestRunNeverHangs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		r := triage.Runner{
			Checks: []triage.Check{
				fakeCheck{"stuck", func(context.Context) (triage.Result, error) {
					<-release // ignores ctx
					return triage.Result{}, nil
				}},
				fakeCheck{"fine", func(context.Context) (triage.Result, error) { return logResult(1), nil }},
			},
			CheckTimeout: 10 * time.Second,
			Deadline:     time.Minute,
		}
		start := time.Now()
		rep := r.Run(t.Context(), triage.Target{Host: "h"})
		if took := time.Since(start); took != 10*time.Second+250*time.Millisecond {
			t.Errorf("Run took %s of the bubble's clock; want the 10s check timeout and the 250ms grace", took)
		}
		if rep.Checks[0].Status != triage.CheckError || rep.Checks[0].Detail != "did not finish within its 10s timeout" {
			t.Errorf("stuck check = %+v; want an error saying it did not finish", rep.Checks[0])
		}
		if rep.Checks[1].Status != triage.CheckPass {
			t.Errorf("fine check = %+v; want pass", rep.Checks[1])
		}
		if rep.Status != triage.StatusUnknown {
			t.Errorf("status = %s; want unknown", rep.Status)
		}
	})
}

// TestRunCanceled: when Run's context is canceled, the checks that honour it return
// canceled, one that ignores it is abandoned after the grace, and Run returns without
// waiting for the checks' timeout.
func TestRunCanceled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		started := make(chan struct{}, 2)
		r := triage.Runner{
			Checks: []triage.Check{
				fakeCheck{"honours", func(ctx context.Context) (triage.Result, error) {
					started <- struct{}{}
					<-ctx.Done()
					return logResult(1), ctx.Err()
				}},
				fakeCheck{"stuck", func(context.Context) (triage.Result, error) {
					started <- struct{}{}
					<-release // ignores ctx
					return triage.Result{}, nil
				}},
			},
			CheckTimeout: time.Hour,
		}
		go func() {
			<-started
			<-started
			cancel()
		}()
		start := time.Now()
		rep := r.Run(ctx, triage.Target{Host: "h"})
		if took := time.Since(start); took != 250*time.Millisecond {
			t.Errorf("Run took %s of the bubble's clock; want the 250ms grace after the cancel", took)
		}
		want := []string{"error: canceled: context canceled", "error: did not stop when the triage was canceled"}
		var got []string
		for _, cr := range rep.Checks {
			got = append(got, string(cr.Status)+": "+cr.Detail)
		}
		if !slices.Equal(got, want) {
			t.Errorf("checks %q; want %q", got, want)
		}
	})
}

// TestRunOnResult: OnResult hears of each check once, in the order the results are
// known, with what the check returned (a failed check's observations too) and the
// status the check alone decides (pass, not the warn the findings give later), and a
// late check when it is declared late; every call is made before Run returns. The
// calls touch no lock: the race detector proves they are never concurrent.
func TestRunOnResult(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		after := func(d time.Duration, res triage.Result, err error) func(context.Context) (triage.Result, error) {
			return func(ctx context.Context) (triage.Result, error) {
				select {
				case <-time.After(d):
					return res, err
				case <-ctx.Done():
					return triage.Result{}, ctx.Err()
				}
			}
		}
		type call struct {
			name, status, detail string
			logs                 int
		}
		var calls []call
		r := triage.Runner{
			Checks: []triage.Check{
				fakeCheck{"stuck", func(context.Context) (triage.Result, error) {
					<-release // ignores its context
					return triage.Result{}, nil
				}},
				fakeCheck{"second", after(2*time.Second, logResult(2), nil)},
				fakeCheck{"first", after(time.Second, triage.Result{}, triage.Skip("no source"))},
				fakeCheck{"third", after(3*time.Second, logResult(3), errors.New("read: permission denied"))},
			},
			Rules:        []triage.Rule{findEach(2, triage.LoginFailed, triage.Warning)},
			CheckTimeout: 5 * time.Second,
			OnResult: func(cr triage.CheckResult, res triage.Result) {
				calls = append(calls, call{cr.Name, string(cr.Status), cr.Detail, len(res.Obs.Logs)})
			},
		}
		rep := r.Run(t.Context(), triage.Target{Host: "h"})
		want := []call{
			{"first", "skipped", "no source", 0},
			{"second", "pass", "read", 1},
			{"third", "error", "read: permission denied", 1},
			{"stuck", "error", "did not finish within its 5s timeout", 0},
		}
		if !slices.Equal(calls, want) {
			t.Errorf("OnResult calls:\n%+v\nwant\n%+v", calls, want)
		}
		var names []string
		for _, cr := range rep.Checks {
			names = append(names, cr.Name+"="+string(cr.Status))
		}
		if got := strings.Join(names, ","); got != "stuck=error,second=warn,first=skipped,third=error" {
			t.Errorf("report checks %s; want them in the Runner's order, second judged warn by the findings", got)
		}
	})
}

// TestRunRunsChecksConcurrently: three checks of 5s each finish in about 5s.
func TestRunRunsChecksConcurrently(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sleep := func(ctx context.Context) (triage.Result, error) {
			select {
			case <-time.After(5 * time.Second):
				return triage.Result{}, nil
			case <-ctx.Done():
				return triage.Result{}, ctx.Err()
			}
		}
		r := triage.Runner{Checks: []triage.Check{fakeCheck{"a", sleep}, fakeCheck{"b", sleep}, fakeCheck{"c", sleep}}}
		start := time.Now()
		rep := r.Run(t.Context(), triage.Target{Host: "h"})
		if took := time.Since(start); took != 5*time.Second {
			t.Errorf("Run took %s; want 5s (as long as the slowest check)", took)
		}
		if rep.Status != triage.StatusOK {
			t.Errorf("status = %s; want ok", rep.Status)
		}
	})
}

// TestRunDeadline: the overall deadline ends checks whose own timeout is longer; one
// that ignores its context is abandoned after the deadline's grace.
func TestRunDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		wait := func(ctx context.Context) (triage.Result, error) {
			<-ctx.Done()
			return triage.Result{}, ctx.Err()
		}
		stuck := func(context.Context) (triage.Result, error) {
			<-release
			return triage.Result{}, nil
		}
		r := triage.Runner{Checks: []triage.Check{fakeCheck{"a", wait}, fakeCheck{"stuck", stuck}}, CheckTimeout: time.Hour, Deadline: 3 * time.Second}
		start := time.Now()
		rep := r.Run(t.Context(), triage.Target{Host: "h"})
		if took := time.Since(start); took != 3*time.Second+250*time.Millisecond {
			t.Errorf("Run took %s of the bubble's clock; want the 3s deadline and the 250ms grace", took)
		}
		want := []string{"error: timed out at the triage's deadline of 3s: context deadline exceeded", "error: did not finish within the 3s deadline"}
		var got []string
		for _, cr := range rep.Checks {
			got = append(got, string(cr.Status)+": "+cr.Detail)
		}
		if !slices.Equal(got, want) {
			t.Errorf("checks %q; want %q", got, want)
		}
	})
}

// TestRunProgress: Progress hears of every finished check, a panicking one too, with
// counts that rise to the number of checks.
func TestRunProgress(t *testing.T) {
	ok := func(context.Context) (triage.Result, error) { return triage.Result{}, nil }
	boom := func(context.Context) (triage.Result, error) { panic("boom") }
	var mu sync.Mutex
	var seen []int
	r := triage.Runner{
		Checks: []triage.Check{fakeCheck{"a", ok}, fakeCheck{"b", boom}, fakeCheck{"c", ok}},
		Progress: func(done, total int) {
			mu.Lock()
			defer mu.Unlock()
			if total != 3 {
				t.Errorf("total = %d; want 3", total)
			}
			seen = append(seen, done)
		},
	}
	r.Run(t.Context(), triage.Target{Host: "h"})
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(seen)
	if !slices.Equal(seen, []int{1, 2, 3}) {
		t.Errorf("progress counts = %v; want 1, 2, 3", seen)
	}
}

// TestRunMissing: a check skipped for want of a source carries what it lacked, so that
// front ends can say how to give it; one skipped because it does not apply carries
// nothing, and neither does the JSON.
func TestRunMissing(t *testing.T) {
	r := triage.Runner{Checks: []triage.Check{
		fakeCheck{"errorlog", func(context.Context) (triage.Result, error) {
			return triage.Result{}, triage.SkipLacking(triage.MissingErrorLog, "no ERRORLOG source for h")
		}},
		fakeCheck{"lsa", func(context.Context) (triage.Result, error) {
			return triage.Result{}, triage.Skip("the LSA is probed by an agent on the host")
		}},
	}}
	rep := r.Run(t.Context(), triage.Target{Host: "h"})
	for i, want := range []triage.Missing{triage.MissingErrorLog, ""} {
		c := rep.Checks[i]
		if c.Status != triage.CheckSkipped || c.Missing != want {
			t.Errorf("%s: status %s, missing %q; want skipped, missing %q", c.Name, c.Status, c.Missing, want)
		}
	}
	if c := rep.Checks[0]; c.Detail != "no ERRORLOG source for h" {
		t.Errorf("detail %q", c.Detail)
	}
	b, err := json.Marshal(rep.Checks[0])
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "missing") {
		t.Errorf("JSON %s names what was missing; it is for front ends, not the report", b)
	}
}
