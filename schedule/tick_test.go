package schedule

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/store"
	"github.com/authtriage/authtriage/triage"
)

// A host whose agent cannot be reached is not "fixed": its causes are neither
// resolved now nor new when it is triaged again.
func TestUntriagedHostIsNotResolved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock(start)
		st := newFakeStore(clk)
		r := newReplica(t, "replica-1", clk, st, nil, hourly("a", "b"))
		var mu sync.Mutex
		unreachable := false
		r.triager.before = func(ctx context.Context, host string) error {
			mu.Lock()
			defer mu.Unlock()
			if host == "a" && unreachable {
				return errors.New("agent on a: connection refused")
			}
			return nil
		}
		setUnreachable := func(v bool) { mu.Lock(); unreachable = v; mu.Unlock() }
		r.triager.set("a", triage.StatusCritical, triage.SPNDuplicate)
		ticks := []time.Time{start, start.Add(time.Hour), start.Add(2 * time.Hour)}

		if err := r.RunTick(t.Context(), hourly("a", "b"), ticks[0]); err != nil {
			t.Fatal(err)
		}
		setUnreachable(true)
		if err := r.RunTick(t.Context(), hourly("a", "b"), ticks[1]); err != nil {
			t.Fatal(err)
		}
		s := r.notifier.posted()[1]
		if len(s.Resolved) != 0 || len(s.Better) != 0 || len(s.Worse) != 0 || !s.Changed {
			t.Errorf("tick 2: Resolved %v, Better %v, Worse %v, Changed %v; want no change but a host not checked",
				s.Resolved, s.Better, s.Worse, s.Changed)
		}
		if diff := cmp.Diff([]changeLine{{"a", triage.StatusCritical, triage.StatusUnknown}}, changeLines(s.NotChecked)); diff != "" {
			t.Errorf("tick 2: NotChecked mismatch (-want +got):\n%s", diff)
		}
		if h := s.Run.Hosts[0]; h.Error == "" || len(h.Causes) != 0 {
			t.Errorf("tick 2: posted host a = %+v; want the error and no causes", h)
		}
		saved, err := st.Run(t.Context(), "fleet", ticks[1])
		if err != nil {
			t.Fatal(err)
		}
		if h := saved.Hosts[0]; h.Error == "" || h.Status != triage.StatusUnknown ||
			!cmp.Equal(h.Causes, []triage.CauseID{triage.SPNDuplicate}) {
			t.Errorf("tick 2: saved host a = %+v; want unknown with its error and the causes last known", h)
		}

		setUnreachable(false)
		if err := r.RunTick(t.Context(), hourly("a", "b"), ticks[2]); err != nil {
			t.Fatal(err)
		}
		s = r.notifier.posted()[2]
		if len(s.New) != 0 || len(s.Resolved) != 0 || len(s.NotChecked) != 0 {
			t.Errorf("tick 3: New %v, Resolved %v, NotChecked %v; want none: a has the causes it had",
				s.New, s.Resolved, s.NotChecked)
		}
	})
}

// When the summary cannot be posted, the run is not the next one's baseline:
// the next run announces the change, also on a quiet schedule.
func TestFailedPostIsAnnouncedLater(t *testing.T) {
	for _, quiet := range []bool{false, true} {
		t.Run(map[bool]string{false: "loud", true: "quiet"}[quiet], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				clk := newFakeClock(start)
				st := newFakeStore(clk)
				sc := hourly("a", "b")
				sc.Quiet = quiet
				r := newReplica(t, "replica-1", clk, st, nil, sc)
				ticks := []time.Time{start, start.Add(time.Hour), start.Add(2 * time.Hour)}
				if err := r.RunTick(t.Context(), sc, ticks[0]); err != nil {
					t.Fatal(err)
				}

				r.triager.set("b", triage.StatusCritical, triage.DCUnreachable)
				r.notifier.before = func(Summary) error { return errors.New("slack: rate_limited") }
				if err := r.RunTick(t.Context(), sc, ticks[1]); err == nil || !strings.Contains(err.Error(), "rate_limited") {
					t.Errorf("tick 2: RunTick = %v; want the post's error", err)
				}
				if !st.leaseDone(leaseKey("fleet", ticks[1])) {
					t.Error("tick 2: lease not finished")
				}
				if _, err := st.Run(t.Context(), "fleet", ticks[1]); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("tick 2: run saved (%v); want it not saved", err)
				}

				r.notifier.before = nil
				if err := r.RunTick(t.Context(), sc, ticks[2]); err != nil {
					t.Fatal(err)
				}
				posted := r.notifier.posted()
				if len(posted) != 2 {
					t.Fatalf("%d summaries; want 2 (the first run, and the third announcing the change)", len(posted))
				}
				s := posted[1]
				if s.Previous == nil || !s.Previous.Tick.Equal(ticks[0]) || len(s.Worse) != 1 || len(s.New) != 1 {
					t.Errorf("tick 3: Previous %v, Worse %v, New %v; want b worse with a new cause since tick 1",
						s.Previous, s.Worse, s.New)
				}
			})
		})
	}
}

// The run is saved as soon as the summary's parent is posted, before the
// details: a holder that dies while posting them is not posted over by the
// replica that takes over.
func TestRunSavedBeforeDetails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tick := start
		clk := newFakeClock(tick)
		st := newFakeStore(clk)
		sc := hourly("a", "b")
		first := newReplica(t, "replica-1", clk, st, nil, sc)
		second := newReplica(t, "replica-2", clk, st, nil, sc)
		var savedFirst error
		first.notifier.beforeDetails = func(ctx context.Context, s Summary, at Posted) error {
			run, err := st.Run(ctx, "fleet", tick)
			if err == nil && run.Posted != string(at) {
				err = errors.New("saved as posted at " + run.Posted)
			}
			savedFirst = err
			<-ctx.Done() // stuck posting the details until the process dies
			return ctx.Err()
		}
		ctx1, die := context.WithCancel(t.Context())
		err1 := make(chan error, 1)
		go func() { err1 <- first.RunTick(ctx1, sc, tick) }()
		synctest.Wait()
		if savedFirst != nil {
			t.Errorf("when the details are posted: stored run: %v; want it saved with the parent's thread", savedFirst)
		}
		if n := len(first.notifier.posted()); n != 1 {
			t.Fatalf("first replica posted %d summaries; want 1", n)
		}
		die()
		synctest.Wait()
		<-err1

		err2 := make(chan error, 1)
		go func() { err2 <- second.RunTick(t.Context(), sc, tick) }()
		advance(clk, 2*time.Minute, 10*time.Second)
		if err := <-err2; err != nil {
			t.Errorf("second replica: RunTick = %v; want nil", err)
		}
		if n, calls := len(second.notifier.posted()), second.triager.callCount(); n != 0 || calls != 0 {
			t.Errorf("second replica posted %d summaries after %d triages; want none of either", n, calls)
		}
		if !st.leaseDone(leaseKey("fleet", tick)) {
			t.Error("lease not finished")
		}
	})
}

// Report IDs can collide: a report whose ID is taken is saved under the one the
// Store gives it, which the summary then names.
func TestReportIDCollision(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock(start)
		st := newFakeStore(clk)
		sc := hourly("a", "b", "c")
		tr := newScriptedTriager()
		tr.id = func() string { return "samesame" }
		r := newReplica(t, "replica-1", clk, st, tr, sc)
		if err := r.RunTick(t.Context(), sc, start); err != nil {
			t.Fatal(err)
		}
		s := r.notifier.posted()[0]
		if s.Problems != nil {
			t.Errorf("Problems = %q; want every report saved", s.Problems)
		}
		reports := st.savedReports()
		ids := map[string]bool{}
		for _, h := range s.Run.Hosts {
			rec, ok := reports[h.ReportID]
			if !ok || rec.Report.Host != h.Host {
				t.Errorf("host %s: report %q is %+v; want the host's report under that ID", h.Host, h.ReportID, rec.Report)
			}
			ids[h.ReportID] = true
		}
		if len(reports) != 3 || len(ids) != 3 {
			t.Errorf("%d reports saved under %d IDs; want 3 of each", len(reports), len(ids))
		}
	})
}

// finishHookStore runs a hook after each Finish.
type finishHookStore struct {
	*fakeStore
	after func()
}

func (s finishHookStore) Finish(ctx context.Context, key, holder string) error {
	err := s.fakeStore.Finish(ctx, key, holder)
	s.after()
	return err
}

// A renewal due right after the lease is finished must not read the finished
// lease as lost.
func TestNoRenewalAfterFinish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock(start)
		st := newFakeStore(clk)
		sc := hourly("a")
		hooked := finishHookStore{st, func() {
			clk.Advance(DefaultLeaseTTL / 3) // a renewal is due
			synctest.Wait()
		}}
		r := newReplica(t, "replica-1", clk, hooked, nil, sc)
		if err := r.RunTick(t.Context(), sc, start); err != nil {
			t.Fatal(err)
		}
		if logs := r.logs.String(); strings.Contains(logs, "lost the run's lease") {
			t.Errorf("the log says the lease was lost after it was finished:\n%s", logs)
		}
	})
}

// slowStore's Lease and Finish block until their context is done.
type slowStore struct{ *fakeStore }

func (slowStore) Lease(ctx context.Context, key, holder string, ttl time.Duration) (store.LeaseState, error) {
	<-ctx.Done()
	return 0, ctx.Err()
}

func (slowStore) Finish(ctx context.Context, key, holder string) error {
	<-ctx.Done()
	return ctx.Err()
}

// Each Lease and Finish call has LeaseTTL/3 to answer.
func TestLeaseCallsTimeOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock(start)
		st := newFakeStore(clk)
		sc := hourly("a")
		sc.Deadline = time.Minute
		r := newReplica(t, "replica-1", clk, slowStore{st}, nil, sc)
		began := time.Now() // bubble time
		errc := make(chan error, 1)
		go func() { errc <- r.RunTick(t.Context(), sc, start) }()
		// acquire keeps trying until tick + Deadline + 2*LeaseTTL on the Clock.
		for range 20 {
			synctest.Wait()
			clk.Advance(30 * time.Second)
		}
		err := <-errc
		if err == nil || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("RunTick = %v; want the lease calls' timeout", err)
		}
		if took := time.Since(began); took > 10*DefaultLeaseTTL {
			t.Errorf("RunTick took %v of bubble time", took)
		}
	})
}
