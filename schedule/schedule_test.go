package schedule

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	_ "time/tzdata" // Europe/Berlin where the system has no zone database

	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/store"
	"github.com/authtriage/authtriage/triage"
)

// The tests run in a synctest bubble, where synctest.Wait tells when every
// goroutine of the Scheduler is blocked (on the fake clock, mostly): advance
// moves the fake clock and waits for that after each step.

var start = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

func hourly(hosts ...string) Schedule {
	return Schedule{Name: "fleet", Spec: "0 * * * *", Channel: "C0FLEET", Hosts: hosts}
}

// advance moves clk by d in steps of at most step, letting the bubble settle
// after each.
func advance(clk *fakeClock, d, step time.Duration) {
	for d > 0 {
		s := min(step, d)
		clk.Advance(s)
		synctest.Wait()
		d -= s
	}
}

// logBuffer collects log output safely across goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type replica struct {
	*Scheduler
	notifier *recordingNotifier
	triager  *scriptedTriager
	logs     *logBuffer
}

func newReplica(t *testing.T, holder string, clk Clock, st Store, tr *scriptedTriager, scs ...Schedule) replica {
	t.Helper()
	if tr == nil {
		tr = newScriptedTriager()
	}
	r := replica{notifier: &recordingNotifier{}, triager: tr, logs: &logBuffer{}}
	s, err := New(Options{
		Schedules: scs, Triager: tr, Store: st, Notifier: r.notifier, Holder: holder, Clock: clk,
		Log: slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	r.Scheduler = s
	return r
}

// runInBackground starts s.Run and returns a function that stops it and checks
// that it returned nil.
func runInBackground(t *testing.T, s *Scheduler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	synctest.Wait()
	return func() {
		t.Helper()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v; want nil after cancel", err)
		}
	}
}

type causeLine struct {
	Host  string
	Cause triage.CauseID
}

func causeLines(cs []CauseChange) []causeLine {
	var out []causeLine
	for _, c := range cs {
		out = append(out, causeLine{c.Host, c.Cause})
	}
	return out
}

type changeLine struct {
	Host     string
	From, To triage.Status
}

func changeLines(cs []Change) []changeLine {
	var out []changeLine
	for _, c := range cs {
		out = append(out, changeLine{c.Host, c.From, c.To})
	}
	return out
}

func TestRunPostsOneSummaryPerTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock(start)
		st := newFakeStore(clk)
		r := newReplica(t, "replica-1", clk, st, nil, hourly("a", "b", "c"))
		r.triager.set("a", triage.StatusCritical, triage.SPNDuplicate)
		r.triager.set("b", triage.StatusWarning, triage.ClockSkew)
		stop := runInBackground(t, r.Scheduler)
		defer stop()

		type tickWant struct {
			New, Resolved []causeLine
			Worse, Better []changeLine
			first         bool
			setup         func()
		}
		ticks := []tickWant{
			{first: true},
			{
				setup: func() {
					r.triager.set("a", triage.StatusCritical, triage.SPNDuplicate, triage.DCUnreachable)
					r.triager.set("b", triage.StatusOK)
					r.triager.set("c", triage.StatusWarning, triage.ClockSkew)
				},
				New:      []causeLine{{"a", triage.DCUnreachable}, {"c", triage.ClockSkew}},
				Resolved: []causeLine{{"b", triage.ClockSkew}},
				Worse:    []changeLine{{"c", triage.StatusOK, triage.StatusWarning}},
				Better:   []changeLine{{"b", triage.StatusWarning, triage.StatusOK}},
			},
			{
				setup: func() {
					r.triager.set("a", triage.StatusOK)
				},
				Resolved: []causeLine{{"a", triage.DCUnreachable}, {"a", triage.SPNDuplicate}},
				Better:   []changeLine{{"a", triage.StatusCritical, triage.StatusOK}},
			},
		}
		for i, tw := range ticks {
			if tw.setup != nil {
				tw.setup()
			}
			before := 30 * time.Minute // to 10:00 for the first tick
			if i > 0 {
				before = time.Hour
			}
			advance(clk, before, time.Minute)
			posted := r.notifier.posted()
			if len(posted) != i+1 {
				t.Fatalf("after tick %d: %d summaries posted; want %d", i+1, len(posted), i+1)
			}
			s := posted[i]
			wantTick := start.Add(30*time.Minute + time.Duration(i)*time.Hour)
			if !s.Run.Tick.Equal(wantTick) {
				t.Errorf("tick %d: Run.Tick = %v; want %v", i+1, s.Run.Tick, wantTick)
			}
			if (s.Previous == nil) != tw.first || !s.Changed || s.Problems != nil {
				t.Errorf("tick %d: Previous = %v, Changed = %v, Problems = %q; want first run %v, changed, no problems",
					i+1, s.Previous, s.Changed, s.Problems, tw.first)
			}
			if diff := cmp.Diff(tw.New, causeLines(s.New)); diff != "" {
				t.Errorf("tick %d: New mismatch (-want +got):\n%s", i+1, diff)
			}
			if diff := cmp.Diff(tw.Resolved, causeLines(s.Resolved)); diff != "" {
				t.Errorf("tick %d: Resolved mismatch (-want +got):\n%s", i+1, diff)
			}
			if diff := cmp.Diff(tw.Worse, changeLines(s.Worse)); diff != "" {
				t.Errorf("tick %d: Worse mismatch (-want +got):\n%s", i+1, diff)
			}
			if diff := cmp.Diff(tw.Better, changeLines(s.Better)); diff != "" {
				t.Errorf("tick %d: Better mismatch (-want +got):\n%s", i+1, diff)
			}
			run, err := st.Run(t.Context(), "fleet", wantTick)
			if err != nil || !strings.HasPrefix(run.Posted, "C0FLEET/") || len(run.Hosts) != 3 {
				t.Errorf("tick %d: stored run = %+v, %v; want 3 hosts and where the summary is", i+1, run, err)
			}
			if got := r.notifier.detailed(); len(got) != i+1 || string(got[i]) != run.Posted {
				t.Errorf("tick %d: details posted with %v; want one per tick, the last with %s", i+1, got, run.Posted)
			}
			if !st.leaseDone(leaseKey("fleet", wantTick)) {
				t.Errorf("tick %d: lease not finished", i+1)
			}
		}
		reports := st.savedReports()
		if got := len(reports); got != 9 {
			t.Errorf("%d reports saved; want 9 (3 hosts, 3 ticks)", got)
		}
		for id, rec := range reports {
			if rec.RequestedBy != "schedule:fleet" {
				t.Errorf("report %s: RequestedBy = %q; want schedule:fleet", id, rec.RequestedBy)
			}
		}
	})
}

func TestRunQuietPostsOnlyChanges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock(start)
		st := newFakeStore(clk)
		sc := hourly("a", "b")
		sc.Quiet = true
		r := newReplica(t, "replica-1", clk, st, nil, sc)
		r.triager.set("a", triage.StatusWarning, triage.ClockSkew)
		stop := runInBackground(t, r.Scheduler)
		defer stop()

		advance(clk, 30*time.Minute, time.Minute) // 10:00, the first run: posts
		advance(clk, time.Hour, time.Minute)      // 11:00, unchanged: quiet
		if n := len(r.notifier.posted()); n != 1 {
			t.Fatalf("after an unchanged run: %d summaries; want 1", n)
		}
		quiet, err := st.Run(t.Context(), "fleet", start.Add(90*time.Minute))
		if err != nil || quiet.Posted != "" {
			t.Errorf("quiet run stored as %+v, %v; want saved as not posted", quiet, err)
		}
		r.triager.set("b", triage.StatusCritical, triage.DCUnreachable)
		advance(clk, time.Hour, time.Minute) // 12:00, b got worse: posts
		posted := r.notifier.posted()
		if len(posted) != 2 {
			t.Fatalf("after a change: %d summaries; want 2", len(posted))
		}
		if s := posted[1]; len(s.Worse) != 1 || s.Worse[0].Host != "b" || s.Previous == nil || !s.Previous.Tick.Equal(quiet.Tick) {
			t.Errorf("second summary: Worse = %v, Previous = %v; want b, compared with the quiet run", s.Worse, s.Previous)
		}
	})
}

func TestTwoReplicasPostOncePerTick(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock(start)
		st := newFakeStore(clk)
		tr := newScriptedTriager()
		sc := hourly("a", "b", "c")
		r1 := newReplica(t, "replica-1", clk, st, tr, sc)
		r2 := newReplica(t, "replica-2", clk, st, tr, sc)
		stop1 := runInBackground(t, r1.Scheduler)
		stop2 := runInBackground(t, r2.Scheduler)

		advance(clk, 30*time.Minute, 10*time.Second)
		for range 2 {
			tr.set("a", triage.StatusCritical, triage.SPNDuplicate)
			advance(clk, time.Hour, 10*time.Second)
		}
		stop1()
		stop2()
		all := append(r1.notifier.posted(), r2.notifier.posted()...)
		ticks := map[time.Time]int{}
		for _, s := range all {
			ticks[s.Run.Tick]++
		}
		if len(all) != 3 || len(ticks) != 3 {
			t.Errorf("%d summaries for ticks %v; want one for each of 3 ticks", len(all), ticks)
		}
		if tr.callCount() != 9 {
			t.Errorf("%d triages; want 9 (each host once per tick)", tr.callCount())
		}
	})
}

func TestTakeOverFromDeadHolder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tick := start
		clk := newFakeClock(tick)
		st := newFakeStore(clk)
		sc := hourly("a", "b")

		// The first holder hangs in its sweep until its process "dies".
		hung := newScriptedTriager()
		hung.before = func(ctx context.Context, host string) error {
			<-ctx.Done()
			return ctx.Err()
		}
		first := newReplica(t, "replica-1", clk, st, hung, sc)
		second := newReplica(t, "replica-2", clk, st, nil, sc)

		ctx1, die := context.WithCancel(t.Context())
		err1 := make(chan error, 1)
		go func() { err1 <- first.RunTick(ctx1, sc, tick) }()
		synctest.Wait()
		err2 := make(chan error, 1)
		go func() { err2 <- second.RunTick(t.Context(), sc, tick) }()
		synctest.Wait()

		advance(clk, 90*time.Second, 5*time.Second) // the first renews its lease every 20s
		select {
		case err := <-err2:
			t.Fatalf("second replica returned %v while the first held the lease", err)
		default:
		}
		die()
		synctest.Wait()
		if err := <-err1; !errors.Is(err, context.Canceled) {
			t.Errorf("dead holder's RunTick = %v; want context.Canceled", err)
		}
		if len(second.notifier.posted()) != 0 {
			t.Fatal("second replica posted before the dead holder's lease expired")
		}
		advance(clk, 2*time.Minute, 5*time.Second) // its lease, renewed at 80s, expires at 2m20s
		if err := <-err2; err != nil {
			t.Errorf("second replica's RunTick = %v; want nil", err)
		}
		if n := len(first.notifier.posted()); n != 0 {
			t.Errorf("dead holder posted %d summaries; want 0", n)
		}
		posted := second.notifier.posted()
		if len(posted) != 1 || len(posted[0].Run.Hosts) != 2 || posted[0].Run.Hosts[0].Status != triage.StatusOK {
			t.Errorf("second replica posted %+v; want one summary of 2 ok hosts", posted)
		}
		if !st.leaseDone(leaseKey("fleet", tick)) {
			t.Error("lease not finished")
		}
		if !strings.Contains(second.logs.String(), "taking the run over") {
			t.Errorf("second replica's log does not say it took the run over:\n%s", second.logs)
		}
	})
}

// partitionedStore fails Lease while down: its replica cannot renew.
type partitionedStore struct {
	*fakeStore
	down *atomic.Bool
}

func (s partitionedStore) Lease(ctx context.Context, key, holder string, ttl time.Duration) (store.LeaseState, error) {
	if s.down.Load() {
		return 0, errors.New("store unreachable")
	}
	return s.fakeStore.Lease(ctx, key, holder, ttl)
}

// A holder cut off from the store loses its lease; when it comes back it must
// not post what the replica that took over has posted.
func TestLostLeaseIsNotPosted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tick := start
		clk := newFakeClock(tick)
		st := newFakeStore(clk)
		sc := hourly("a")
		var down atomic.Bool
		release := make(chan struct{})
		slow := newScriptedTriager()
		slow.before = func(ctx context.Context, host string) error { <-release; return nil }
		first := newReplica(t, "replica-1", clk, partitionedStore{st, &down}, slow, sc)
		second := newReplica(t, "replica-2", clk, st, nil, sc)

		err1 := make(chan error, 1)
		go func() { err1 <- first.RunTick(t.Context(), sc, tick) }()
		synctest.Wait()
		down.Store(true)
		err2 := make(chan error, 1)
		go func() { err2 <- second.RunTick(t.Context(), sc, tick) }()
		advance(clk, 2*time.Minute, 5*time.Second)
		if err := <-err2; err != nil || len(second.notifier.posted()) != 1 {
			t.Fatalf("second replica: RunTick = %v, %d summaries; want it to take over and post", err, len(second.notifier.posted()))
		}
		down.Store(false)
		close(release)
		synctest.Wait()
		advance(clk, 20*time.Second, 5*time.Second)
		if err := <-err1; !errors.Is(err, errLeaseLost) {
			t.Errorf("first replica's RunTick = %v; want errLeaseLost", err)
		}
		if n := len(first.notifier.posted()); n != 0 {
			t.Errorf("first replica posted %d summaries; want 0", n)
		}
	})
}

func TestTakeOverAfterPostOnlyFinishes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tick := start
		clk := newFakeClock(tick)
		st := newFakeStore(clk)
		sc := hourly("a")
		// The first holder posted and saved the run, then died before Finish.
		if _, err := st.Lease(t.Context(), leaseKey("fleet", tick), "replica-1", time.Minute); err != nil {
			t.Fatal(err)
		}
		if err := st.SaveRun(t.Context(), triage.FleetRun{Schedule: "fleet", Tick: tick, Posted: "C0FLEET/1.2"}); err != nil {
			t.Fatal(err)
		}
		second := newReplica(t, "replica-2", clk, st, nil, sc)
		errc := make(chan error, 1)
		go func() { errc <- second.RunTick(t.Context(), sc, tick) }()
		synctest.Wait()
		advance(clk, 2*time.Minute, 10*time.Second)
		if err := <-errc; err != nil {
			t.Errorf("RunTick = %v; want nil", err)
		}
		if n, calls := len(second.notifier.posted()), second.triager.callCount(); n != 0 || calls != 0 {
			t.Errorf("posted %d summaries after %d triages; want none of either", n, calls)
		}
		if !st.leaseDone(leaseKey("fleet", tick)) {
			t.Error("lease not finished")
		}
	})
}

// A panic in one host's triage makes that host unknown and keeps the others'
// results; a panic elsewhere in a run abandons the run as a crash would; and
// Run goes on with the next tick either way.
func TestRunRecoversPanics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock(start)
		st := newFakeStore(clk)
		r := newReplica(t, "replica-1", clk, st, nil, hourly("a", "b", "c"))
		var mu sync.Mutex
		phase := 1
		r.triager.before = func(ctx context.Context, host string) error {
			mu.Lock()
			defer mu.Unlock()
			if phase == 1 && host == "b" {
				panic("triager bug")
			}
			return nil
		}
		r.notifier.before = func(s Summary) error {
			mu.Lock()
			defer mu.Unlock()
			if phase == 2 {
				panic("renderer bug")
			}
			return nil
		}
		r.triager.set("c", triage.StatusCritical, triage.SPNDuplicate)
		setPhase := func(p int) { mu.Lock(); phase = p; mu.Unlock() }
		stop := runInBackground(t, r.Scheduler)
		defer stop()

		// Tick 1: the triage of b panics; b is unknown and the summary says why,
		// and a and c are as their triages found them, their reports saved.
		advance(clk, 30*time.Minute, time.Minute)
		posted := r.notifier.posted()
		if len(posted) != 1 {
			t.Fatalf("tick 1: %d summaries; want 1", len(posted))
		}
		// The panic is an internal error: the summary has the Notifier's words
		// for it, and the log the panic with the same reference.
		s := posted[0]
		if want := []string{"triage of b panicked: an internal error (reference r1)"}; !slices.Equal(s.Problems, want) {
			t.Errorf("tick 1: Problems = %q; want %q", s.Problems, want)
		}
		if b := s.Run.Hosts[1]; b.Status != triage.StatusUnknown || b.Error != "an internal error (reference r1)" || b.ReportID != "" {
			t.Errorf("tick 1: host b = %+v; want unknown, with the panic's reference", b)
		}
		if log := r.logs.String(); !regexp.MustCompile(`recovered from a panic.*panic="triager bug".*host=b ref=r1`).MatchString(log) {
			t.Errorf("tick 1: the log lacks the panic with its reference:\n%s", log)
		}
		reports := st.savedReports()
		for i, want := range []triage.Status{triage.StatusOK, "", triage.StatusCritical} {
			h := s.Run.Hosts[i]
			if want == "" {
				continue
			}
			if rec, ok := reports[h.ReportID]; h.Status != want || !ok || rec.Report.Host != h.Host {
				t.Errorf("tick 1: host %s = %+v (report saved: %v); want %s with its report saved", h.Host, h, ok, want)
			}
		}
		tick1, tick2 := start.Add(30*time.Minute), start.Add(90*time.Minute)
		if _, err := st.Run(t.Context(), "fleet", tick1); err != nil {
			t.Errorf("tick 1: run not saved: %v", err)
		}

		// Tick 2: the notifier panics: the run is abandoned as if the replica had
		// died posting it: not saved, its lease left to expire for another
		// replica to take over.
		r.triager.set("c", triage.StatusOK)
		setPhase(2)
		advance(clk, time.Hour, time.Minute)
		if n := len(r.notifier.posted()); n != 1 {
			t.Errorf("tick 2: %d summaries; want still 1", n)
		}
		if _, err := st.Run(t.Context(), "fleet", tick2); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("tick 2: run saved (%v); want it abandoned", err)
		}
		if st.leaseDone(leaseKey("fleet", tick2)) {
			t.Error("tick 2: lease finished; want it left to expire")
		}

		// Tick 3: all is well again: Run kept going, and compares with tick 1.
		setPhase(3)
		advance(clk, time.Hour, time.Minute)
		posted = r.notifier.posted()
		if len(posted) != 2 {
			t.Fatalf("tick 3: %d summaries; want 2", len(posted))
		}
		if p := posted[1].Previous; p == nil || !p.Tick.Equal(tick1) || len(posted[1].Better) != 2 {
			t.Errorf("tick 3: Previous = %v, Better = %v; want the run of tick 1, the last announced, and b and c better",
				p, posted[1].Better)
		}
		logs := r.logs.String()
		if n := strings.Count(logs, "recovered from a panic"); n != 2 || !strings.Contains(logs, "goroutine ") {
			t.Errorf("%d recovered panics logged; want 2, with their stacks; log:\n%s", n, logs)
		}
	})
}

// panickyStore panics in LastRun: a panic in the run itself, outside the
// Triager and the Notifier.
type panickyStore struct{ *fakeStore }

func (panickyStore) LastRun(context.Context, string, time.Time) (triage.FleetRun, error) {
	panic("store bug")
}

// A panic in the run abandons it as a crash would: nothing is posted or saved,
// and the replica that takes the run over once the lease expires posts it.
func TestRunTickRecoversPanicInRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock(start)
		st := newFakeStore(clk)
		sc := hourly("a")
		first := newReplica(t, "replica-1", clk, panickyStore{st}, nil, sc)
		err := first.RunTick(t.Context(), sc, start)
		var p *panicError
		if !errors.As(err, &p) || err.Error() != "run panicked: store bug" {
			t.Errorf("RunTick = %v; want the panic", err)
		}
		if n := len(first.notifier.posted()); n != 0 {
			t.Errorf("posted %d summaries; want none", n)
		}
		if run, err := st.Run(t.Context(), "fleet", start); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("stored run = %+v, %v; want none", run, err)
		}
		if st.leaseDone(leaseKey("fleet", start)) {
			t.Error("lease finished; want it left to expire")
		}

		second := newReplica(t, "replica-2", clk, st, nil, sc)
		errc := make(chan error, 1)
		go func() { errc <- second.RunTick(t.Context(), sc, start) }()
		advance(clk, 2*DefaultLeaseTTL, 10*time.Second)
		if err := <-errc; err != nil {
			t.Errorf("second replica: RunTick = %v; want nil", err)
		}
		if n := len(second.notifier.posted()); n != 1 || !st.leaseDone(leaseKey("fleet", start)) {
			t.Errorf("second replica posted %d summaries, lease finished %v; want 1 and finished", n, st.leaseDone(leaseKey("fleet", start)))
		}
	})
}

// renewalPanicStore panics when a lease is renewed.
type renewalPanicStore struct{ *fakeStore }

func (s renewalPanicStore) Lease(ctx context.Context, key, holder string, ttl time.Duration) (store.LeaseState, error) {
	s.mu.Lock()
	l := s.leases[key]
	renewing := l != nil && l.holder == holder && !l.done
	s.mu.Unlock()
	if renewing {
		panic("lease bug")
	}
	return s.fakeStore.Lease(ctx, key, holder, ttl)
}

// A panic while renewing the lease abandons the run, as losing the lease does.
func TestRenewalPanicAbandonsTheRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock(start)
		st := newFakeStore(clk)
		sc := hourly("a")
		tr := newScriptedTriager()
		tr.before = func(ctx context.Context, host string) error {
			<-ctx.Done() // triaging until the run is abandoned
			return ctx.Err()
		}
		r := newReplica(t, "replica-1", clk, renewalPanicStore{st}, tr, sc)
		errc := make(chan error, 1)
		go func() { errc <- r.RunTick(t.Context(), sc, start) }()
		synctest.Wait()                              // sweeping
		advance(clk, DefaultLeaseTTL/3, time.Second) // the first renewal is due
		err := <-errc
		var p *panicError
		if !errors.As(err, &p) || err.Error() != "lease renewal panicked: lease bug" {
			t.Errorf("RunTick = %v; want the renewal's panic; log:\n%s", err, r.logs.String())
		}
		if n := len(r.notifier.posted()); n != 0 {
			t.Errorf("posted %d summaries; want none", n)
		}
		if !strings.Contains(r.logs.String(), "recovered from a panic") {
			t.Errorf("the panic is not logged:\n%s", r.logs.String())
		}
	})
}

func TestRunTickDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock(start)
		st := newFakeStore(clk)
		sc := hourly("fast", "polite", "stubborn")
		sc.Deadline = time.Minute
		release := make(chan struct{})
		defer close(release)
		tr := newScriptedTriager()
		tr.before = func(ctx context.Context, host string) error {
			switch host {
			case "polite": // gives up when told
				<-ctx.Done()
				return ctx.Err()
			case "stubborn": // ignores its context
				<-release
				return errors.New("too late")
			}
			return nil
		}
		r := newReplica(t, "replica-1", clk, st, tr, sc)
		errc := make(chan error, 1)
		go func() { errc <- r.RunTick(t.Context(), sc, start) }()
		synctest.Wait()
		advance(clk, 59*time.Second, 10*time.Second)
		select {
		case err := <-errc:
			t.Fatalf("RunTick returned %v before the deadline", err)
		default:
		}
		advance(clk, time.Second, time.Second)
		if err := <-errc; err != nil {
			t.Fatalf("RunTick = %v; want nil", err)
		}
		posted := r.notifier.posted()
		if len(posted) != 1 {
			t.Fatalf("%d summaries; want 1", len(posted))
		}
		got := map[string]string{}
		for _, h := range posted[0].Run.Hosts {
			got[h.Host] = string(h.Status) + " " + h.Error
		}
		want := map[string]string{
			"fast":     "ok ",
			"polite":   "unknown " + DeadlineError,
			"stubborn": "unknown " + DeadlineError,
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("hosts mismatch (-want +got):\n%s", diff)
		}
		if got := posted[0].Run.Finished.Sub(posted[0].Run.Started); got != time.Minute {
			t.Errorf("run took %v; want the deadline, 1m", got)
		}
	})
}

func TestRunTickBoundsConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock(start)
		st := newFakeStore(clk)
		sc := hourly("h0", "h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "h9", "h9")
		sc.Concurrency = 3
		var mu sync.Mutex
		inFlight, peak := 0, 0
		release := make(chan struct{})
		tr := newScriptedTriager()
		tr.before = func(ctx context.Context, host string) error {
			mu.Lock()
			inFlight++
			peak = max(peak, inFlight)
			mu.Unlock()
			<-release
			mu.Lock()
			inFlight--
			mu.Unlock()
			return nil
		}
		r := newReplica(t, "replica-1", clk, st, tr, sc)
		errc := make(chan error, 1)
		go func() { errc <- r.RunTick(t.Context(), sc, start) }()
		synctest.Wait() // every triage that may start has started
		mu.Lock()
		waiting := inFlight
		mu.Unlock()
		close(release)
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if calls := tr.callCount(); waiting != 3 || peak != 3 || calls != 10 {
			t.Errorf("%d triages started at once (peak %d), %d in all; want 3 and 10 (duplicates swept once)", waiting, peak, calls)
		}
	})
}

func TestRunTickTriagerErrorAndUnsavedReports(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock(start)
		st := newFakeStore(clk)
		st.failReports = true
		sc := hourly("a", "b")
		tr := newScriptedTriager()
		tr.before = func(ctx context.Context, host string) error {
			if host == "b" {
				return errors.New("agent on b: connection refused")
			}
			return nil
		}
		r := newReplica(t, "replica-1", clk, st, tr, sc)
		if err := r.RunTick(t.Context(), sc, start); err != nil {
			t.Fatal(err)
		}
		// Neither error's text is in the summary or the run kept: the
		// Notifier's words are, and the log has each error with the reference
		// of its words.
		s := r.notifier.posted()[0]
		if b := s.Run.Hosts[1]; b.Status != triage.StatusUnknown || b.Error != "an internal error (reference r1)" || b.ReportID != "" {
			t.Errorf("host b = %+v; want unknown with the Notifier's words for the triager's error", b)
		}
		if want := []string{"1 of 1 reports could not be saved: an internal error (reference r2)"}; !slices.Equal(s.Problems, want) {
			t.Errorf("Problems = %q; want %q", s.Problems, want)
		}
		saved, err := st.Run(t.Context(), "fleet", start)
		if err != nil {
			t.Fatal(err)
		}
		if b := saved.Hosts[1]; b.Error != "an internal error (reference r1)" {
			t.Errorf("saved host b = %+v; want the Notifier's words for the triager's error", b)
		}
		log := r.logs.String()
		for _, want := range []string{
			`level=ERROR msg="host not triaged" .* host=b err="agent on b: connection refused" ref=r1\n`,
			`level=ERROR msg="1 of 1 reports could not be saved" .* err="add report of a: disk full" ref=r2\n`,
		} {
			if !regexp.MustCompile(want).MatchString(log) {
				t.Errorf("the log lacks %s:\n%s", want, log)
			}
		}
	})
}

// A host not in the inventory is said to be, and no reference is made for it;
// a host failing the same way in two runs is no change, though each run's
// words for an internal error carry their own reference, so that a quiet
// schedule stays quiet.
func TestRunTickSameErrorTwiceIsNoChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock(start)
		st := newFakeStore(clk)
		sc := hourly("a", "b", "c")
		sc.Quiet = true
		tr := newScriptedTriager()
		tr.before = func(ctx context.Context, host string) error {
			switch host {
			case "a":
				return fmt.Errorf("plan a: %w", triage.ErrNotInInventory)
			case "b":
				return errors.New("agent on b: connection refused")
			}
			return nil
		}
		r := newReplica(t, "replica-1", clk, st, tr, sc)
		ticks := []time.Time{start, start.Add(time.Hour)}
		for _, tick := range ticks {
			if err := r.RunTick(t.Context(), sc, tick); err != nil {
				t.Fatal(err)
			}
		}
		if n := len(r.notifier.posted()); n != 1 {
			t.Errorf("%d summaries posted; want the first run's alone", n)
		}
		first, err := st.Run(t.Context(), "fleet", ticks[0])
		if err != nil {
			t.Fatal(err)
		}
		second, err := st.Run(t.Context(), "fleet", ticks[1])
		if err != nil {
			t.Fatal(err)
		}
		if a := second.Hosts[0]; a.Error != "not in the inventory" {
			t.Errorf("host a = %+v; want it not in the inventory", a)
		}
		if b1, b2 := first.Hosts[1].Error, second.Hosts[1].Error; b1 != "an internal error (reference r1)" || b2 != "an internal error (reference r2)" {
			t.Errorf("host b's errors = %q, %q; want each run's own reference", b1, b2)
		}
		if s := Diff(&first, second); s.Changed || len(s.NotChecked) != 0 {
			t.Errorf("Diff of the two runs: Changed %v, NotChecked %v; want no change", s.Changed, s.NotChecked)
		}
		if log := r.logs.String(); !regexp.MustCompile(`level=WARN msg="host not triaged" .* host=a err="plan a: not in the inventory"\n`).MatchString(log) {
			t.Errorf("the log lacks host a's error without a reference:\n%s", log)
		}
	})
}

func TestNew(t *testing.T) {
	good := hourly("a")
	tests := []struct {
		name    string
		mutate  func(o *Options)
		wantErr string // "" for none
	}{
		{name: "good", mutate: func(o *Options) {}},
		{name: "descriptor", mutate: func(o *Options) { o.Schedules[0].Spec = "@every 15m" }},
		{name: "bad spec names the schedule", mutate: func(o *Options) { o.Schedules[0].Spec = "61 * * * *" },
			wantErr: `schedule "fleet": spec "61 * * * *"`},
		{name: "six fields are not standard", mutate: func(o *Options) { o.Schedules[0].Spec = "0 0 * * * *" },
			wantErr: `schedule "fleet": spec`},
		{name: "never fires", mutate: func(o *Options) { o.Schedules[0].Spec = "0 0 30 2 *" },
			wantErr: `schedule "fleet": spec "0 0 30 2 *" never fires`},
		{name: "no channel", mutate: func(o *Options) { o.Schedules[0].Channel = "" },
			wantErr: `schedule "fleet": no channel`},
		{name: "no name", mutate: func(o *Options) { o.Schedules[0].Name = "" },
			wantErr: `schedule 1: no name`},
		{name: "name twice", mutate: func(o *Options) { o.Schedules = append(o.Schedules, good) },
			wantErr: `schedule "fleet": name used twice`},
		{name: "no holder", mutate: func(o *Options) { o.Holder = "" }, wantErr: "no holder ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock(start)
			o := Options{Schedules: []Schedule{good}, Triager: newScriptedTriager(), Store: newFakeStore(clk),
				Notifier: &recordingNotifier{}, Holder: "r1", Clock: clk}
			tt.mutate(&o)
			_, err := New(o)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("New = %v; want no error", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("New = %v; want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNextTick(t *testing.T) {
	eastern := time.FixedZone("UTC-5", -5*3600)
	tests := []struct {
		spec string
		loc  *time.Location
		now  time.Time
		want time.Time
	}{
		{"0 * * * *", nil, start, time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)},
		{"0 7 * * *", eastern, start, time.Date(2026, 3, 2, 7, 0, 0, 0, eastern)},
		{"CRON_TZ=UTC 0 7 * * *", eastern, start, time.Date(2026, 3, 3, 7, 0, 0, 0, time.UTC)},
		{"@hourly", nil, start, time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)},
		// @every ticks on multiples of its delay, wherever the replica started.
		{"@every 15m", nil, start.Add(7*time.Minute + 3*time.Second), time.Date(2026, 3, 2, 9, 45, 0, 0, time.UTC)},
		{"@every 15m", nil, start.Add(14 * time.Minute), time.Date(2026, 3, 2, 9, 45, 0, 0, time.UTC)},
		{"@every 15m", nil, start.Add(15 * time.Minute), time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		e, err := newEntry(Schedule{Name: "x", Channel: "C", Spec: tt.spec, Location: tt.loc})
		if err != nil {
			t.Fatal(err)
		}
		if got := e.next(tt.now); !got.Equal(tt.want) {
			t.Errorf("next(%q, %v) = %v; want %v", tt.spec, tt.now, got, tt.want)
		}
	}
}

func TestLeaseKey(t *testing.T) {
	tick := time.Date(2026, 3, 2, 7, 0, 0, 0, time.FixedZone("", -5*3600))
	if got, want := leaseKey("nightly", tick), "schedule/nightly/2026-03-02T12:00:00Z"; got != want {
		t.Errorf("leaseKey = %q; want %q", got, want)
	}
}

// The fake store must refuse a lease held by another until it expires, and
// refuse every lease once finished.
func TestFakeStoreLease(t *testing.T) {
	clk := newFakeClock(start)
	st := newFakeStore(clk)
	ctx := t.Context()
	steps := []struct {
		holder string
		after  time.Duration
		finish bool
		want   store.LeaseState
	}{
		{holder: "a", want: store.Acquired},
		{holder: "b", after: 59 * time.Second, want: store.Held},
		{holder: "a", want: store.Acquired}, // renewed until 1m59s
		{holder: "b", after: 59 * time.Second, want: store.Held},
		{holder: "b", after: time.Second, want: store.Acquired}, // a's expired
		{holder: "a", want: store.Held},
		{holder: "b", finish: true, want: store.Done},
		{holder: "a", after: time.Hour, want: store.Done},
	}
	for i, s := range steps {
		clk.Advance(s.after)
		if s.finish {
			if err := st.Finish(ctx, "k", s.holder); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := st.Lease(ctx, "k", s.holder, time.Minute); err != nil || got != s.want {
			t.Errorf("step %d: Lease(%s) = %v, %v; want %v", i, s.holder, got, err, s.want)
		}
	}
}

// TestNextTickAcrossClockChanges follows specs through Europe/Berlin's clock
// changes of 2026: on 29 March 02:00 CET becomes 03:00 CEST, on 25 October
// 03:00 CEST becomes 02:00 CET.
func TestNextTickAcrossClockChanges(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	cet, cest := time.FixedZone("CET", 3600), time.FixedZone("CEST", 7200)
	at := func(zone *time.Location, month time.Month, day, hour, minute int) time.Time {
		return time.Date(2026, month, day, hour, minute, 0, 0, zone)
	}
	tests := []struct {
		name string
		spec string
		loc  *time.Location
		from time.Time
		want []time.Time
	}{
		{
			name: "daily in the spring gap fires at its end",
			spec: "30 2 * * *", loc: berlin, from: at(cet, time.March, 28, 0, 0),
			want: []time.Time{at(cet, time.March, 28, 2, 30), at(cest, time.March, 29, 3, 0), at(cest, time.March, 30, 2, 30)},
		},
		{
			name: "daily repeated in autumn fires once",
			spec: "30 2 * * *", loc: berlin, from: at(cest, time.October, 24, 0, 0),
			want: []time.Time{at(cest, time.October, 24, 2, 30), at(cest, time.October, 25, 2, 30), at(cet, time.October, 26, 2, 30)},
		},
		{
			name: "several times in the gap fire once",
			spec: "*/20 2 * * *", loc: berlin, from: at(cet, time.March, 29, 1, 0),
			want: []time.Time{at(cest, time.March, 29, 3, 0), at(cest, time.March, 30, 2, 0)},
		},
		{
			name: "several times in the repeated hour fire once each",
			spec: "*/20 2 * * *", loc: berlin, from: at(cest, time.October, 25, 1, 0),
			want: []time.Time{
				at(cest, time.October, 25, 2, 0), at(cest, time.October, 25, 2, 20), at(cest, time.October, 25, 2, 40),
				at(cet, time.October, 26, 2, 0),
			},
		},
		{
			name: "a tick at the gap's end is not doubled",
			spec: "0 2,3 * * *", loc: berlin, from: at(cet, time.March, 29, 0, 0),
			want: []time.Time{at(cest, time.March, 29, 3, 0), at(cest, time.March, 30, 2, 0)},
		},
		{
			name: "from inside the repeated hour",
			spec: "30 2 * * *", loc: berlin, from: at(cet, time.October, 25, 2, 15),
			want: []time.Time{at(cet, time.October, 26, 2, 30)},
		},
		{
			name: "hourly keeps cron's real hours",
			spec: "30 * * * *", loc: berlin, from: at(cest, time.October, 25, 1, 45),
			want: []time.Time{at(cest, time.October, 25, 2, 30), at(cet, time.October, 25, 2, 30), at(cet, time.October, 25, 3, 30)},
		},
		{
			name: "hourly across the gap",
			spec: "30 * * * *", loc: berlin, from: at(cet, time.March, 29, 1, 15),
			want: []time.Time{at(cet, time.March, 29, 1, 30), at(cest, time.March, 29, 3, 30)},
		},
		{
			name: "CRON_TZ overrides Location",
			spec: "CRON_TZ=Europe/Berlin 30 2 * * *", loc: time.UTC, from: at(cet, time.March, 28, 12, 0),
			want: []time.Time{at(cest, time.March, 29, 3, 0), at(cest, time.March, 30, 2, 30)},
		},
		{
			name: "UTC has no changes",
			spec: "30 2 * * *", loc: nil, from: at(time.UTC, time.March, 29, 0, 0),
			want: []time.Time{at(time.UTC, time.March, 29, 2, 30), at(time.UTC, time.March, 30, 2, 30)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := newEntry(Schedule{Name: "x", Channel: "C", Spec: tt.spec, Location: tt.loc})
			if err != nil {
				t.Fatal(err)
			}
			var got []time.Time
			for tick := tt.from; len(got) < len(tt.want); {
				tick = e.next(tick)
				got = append(got, tick)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(time.Time.Equal)); diff != "" {
				t.Errorf("ticks of %q from %v (-want +got):\n%s", tt.spec, tt.from, diff)
			}
			keys := map[string]bool{}
			for _, tick := range got {
				if k := leaseKey("x", tick); keys[k] {
					t.Errorf("lease key %s twice", k)
				} else {
					keys[k] = true
				}
			}
		})
	}
}

// A wall clock that jumps while Run waits (a suspended machine wakes up, the
// clock is stepped) does not make the tick fire late: Run notices within
// maxSleep and drops a tick staler than the schedule's deadline.
func TestRunDropsStaleTicks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock(start) // 09:30; the first tick is 10:00
		st := newFakeStore(clk)
		r := newReplica(t, "replica-1", clk, st, nil, hourly("a"))
		stop := runInBackground(t, r.Scheduler)
		defer stop()

		clk.Jump(3 * time.Hour) // 12:30, and no waiter woken
		advance(clk, maxSleep, time.Second)
		if n := len(r.notifier.posted()); n != 0 {
			t.Errorf("%d summaries after the jump; want 0: the 10:00 tick is 2.5h stale", n)
		}
		if logs := r.logs.String(); !strings.Contains(logs, "dropping a tick") {
			t.Errorf("the dropped tick is not logged:\n%s", logs)
		}
		advance(clk, 30*time.Minute, time.Minute) // 13:01
		posted := r.notifier.posted()
		if len(posted) != 1 || !posted[0].Run.Tick.Equal(start.Add(3*time.Hour+30*time.Minute)) {
			t.Fatalf("posted %d summaries; want the 13:00 tick's", len(posted))
		}

		// A jump shorter than the deadline: the tick runs, a little late.
		clk.Jump(time.Hour) // 14:01
		advance(clk, maxSleep, time.Second)
		posted = r.notifier.posted()
		if len(posted) != 2 || !posted[1].Run.Tick.Equal(start.Add(4*time.Hour+30*time.Minute)) {
			t.Errorf("posted %d summaries; want the 14:00 tick's too", len(posted))
		}
	})
}
