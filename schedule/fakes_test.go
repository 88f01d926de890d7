package schedule

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/authtriage/authtriage/store"
	"github.com/authtriage/authtriage/triage"
)

// fakeClock is a Clock that moves only when Advance or Jump is called. Like the
// system's, its waits run on elapsed (monotonic) time, which a jump of the wall
// clock does not move.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	elapsed time.Duration // monotonic time since the start
	waiters []waiter
}

type waiter struct {
	at time.Duration // elapsed time when it is due
	ch chan time.Time
}

func newFakeClock(now time.Time) *fakeClock { return &fakeClock{now: now} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, waiter{c.elapsed + d, ch})
	return ch
}

// Advance moves the clock by d and wakes the waiters that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.elapsed += d
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at > c.elapsed {
			kept = append(kept, w)
			continue
		}
		w.ch <- c.now
	}
	clear(c.waiters[len(kept):])
	c.waiters = kept
}

// Jump moves the wall clock by d and nothing else, as a machine that was
// suspended (whose monotonic clock stood still) or whose clock was stepped
// sees it: no waiter is woken.
func (c *fakeClock) Jump(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fakeStore keeps leases, runs and reports in memory, with store.DB's lease
// semantics on a Clock.
type fakeStore struct {
	clock Clock

	mu      sync.Mutex
	leases  map[string]*fakeLease
	runs    map[string][]triage.FleetRun // by schedule, in tick order
	reports map[string]store.Record
	// failReports makes SaveReport fail.
	failReports bool
}

type fakeLease struct {
	holder  string
	expires time.Time
	done    bool
}

func newFakeStore(c Clock) *fakeStore {
	return &fakeStore{clock: c, leases: map[string]*fakeLease{}, runs: map[string][]triage.FleetRun{},
		reports: map[string]store.Record{}}
}

func (s *fakeStore) Lease(ctx context.Context, key, holder string, ttl time.Duration) (store.LeaseState, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	l := s.leases[key]
	switch {
	case l != nil && l.done:
		return store.Done, nil
	case l != nil && l.holder != holder && l.expires.After(now):
		return store.Held, nil
	}
	s.leases[key] = &fakeLease{holder: holder, expires: now.Add(ttl)}
	return store.Acquired, nil
}

func (s *fakeStore) Finish(ctx context.Context, key, holder string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.leases[key]
	if l == nil || l.holder != holder {
		return fmt.Errorf("finish %s: not held by %s", key, holder)
	}
	l.done = true
	return nil
}

func (s *fakeStore) SaveRun(ctx context.Context, run triage.FleetRun) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	runs := s.runs[run.Schedule]
	i := slices.IndexFunc(runs, func(r triage.FleetRun) bool { return r.Tick.Equal(run.Tick) })
	if i >= 0 {
		runs[i] = run
		return nil
	}
	runs = append(runs, run)
	slices.SortFunc(runs, func(a, b triage.FleetRun) int { return a.Tick.Compare(b.Tick) })
	s.runs[run.Schedule] = runs
	return nil
}

func (s *fakeStore) LastRun(ctx context.Context, schedule string, before time.Time) (triage.FleetRun, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	runs := s.runs[schedule]
	for i := len(runs) - 1; i >= 0; i-- {
		if runs[i].Tick.Before(before) {
			return runs[i], nil
		}
	}
	return triage.FleetRun{}, fmt.Errorf("last run of %s: %w", schedule, store.ErrNotFound)
}

func (s *fakeStore) Run(ctx context.Context, schedule string, tick time.Time) (triage.FleetRun, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.runs[schedule] {
		if r.Tick.Equal(tick) {
			return r, nil
		}
	}
	return triage.FleetRun{}, fmt.Errorf("run of %s at %s: %w", schedule, tick, store.ErrNotFound)
}

// AddReport saves r under its ID when no report has it, and otherwise under a
// new one, as store.DB does.
func (s *fakeStore) AddReport(ctx context.Context, r store.Record) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failReports {
		return "", fmt.Errorf("add report of %s: disk full", r.Report.Host)
	}
	for _, taken := s.reports[r.Report.ID]; r.Report.ID == "" || taken; _, taken = s.reports[r.Report.ID] {
		r.Report.ID = triage.NewID()
	}
	s.reports[r.Report.ID] = r
	return r.Report.ID, nil
}

// AddReports saves rs as AddReport does, or none of them when failReports is
// set.
func (s *fakeStore) AddReports(ctx context.Context, rs []store.Record) ([]string, error) {
	s.mu.Lock()
	fail := s.failReports
	s.mu.Unlock()
	if fail {
		return nil, fmt.Errorf("add %d reports: disk full", len(rs))
	}
	ids := make([]string, len(rs))
	for i, r := range rs {
		id, err := s.AddReport(ctx, r)
		if err != nil {
			return nil, err
		}
		ids[i] = id
	}
	return ids, nil
}

func (s *fakeStore) leaseDone(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.leases[key]
	return l != nil && l.done
}

func (s *fakeStore) savedReports() map[string]store.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.reports)
}

// scriptedTriager answers with the status and causes set for each host; hosts
// not set are ok. The causes' findings are warnings when the status is, and
// critical otherwise. Its hooks, when set, run first.
type scriptedTriager struct {
	mu     sync.Mutex
	hosts  map[string]hostScript
	calls  int
	before func(ctx context.Context, host string) error // an error is returned as is
	id     func() string                                // the reports' IDs; nil for triage.NewID
}

type hostScript struct {
	status triage.Status
	causes []triage.CauseID
}

func newScriptedTriager() *scriptedTriager { return &scriptedTriager{hosts: map[string]hostScript{}} }

func (t *scriptedTriager) set(host string, status triage.Status, causes ...triage.CauseID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.hosts[host] = hostScript{status, causes}
}

func (t *scriptedTriager) callCount() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.calls
}

func (t *scriptedTriager) Triage(ctx context.Context, host string) (triage.Report, error) {
	t.mu.Lock()
	t.calls++
	sc, ok := t.hosts[host]
	before, newID := t.before, t.id
	t.mu.Unlock()
	if newID == nil {
		newID = triage.NewID
	}
	if before != nil {
		if err := before(ctx, host); err != nil {
			return triage.Report{}, err
		}
	}
	if !ok {
		sc.status = triage.StatusOK
	}
	rep := triage.Report{ID: newID(), Host: host, Status: sc.status}
	sev := triage.Critical
	if sc.status == triage.StatusWarning {
		sev = triage.Warning
	}
	for _, c := range sc.causes {
		rep.Findings = append(rep.Findings, triage.Finding{Cause: c, Severity: sev})
	}
	return rep, nil
}

// recordingNotifier records the summaries it is given. Its hooks, when set, run
// first and may panic or fail.
type recordingNotifier struct {
	mu        sync.Mutex
	summaries []Summary
	details   []Posted // where the summaries whose details were posted are
	before    func(s Summary) error
	// beforeDetails runs before the details are posted.
	beforeDetails func(ctx context.Context, s Summary, at Posted) error
	// all, when set, hears of each summary posted (several notifiers may share it).
	all  *events[Summary]
	refs int // references given by Explain
}

func (n *recordingNotifier) PostSummary(ctx context.Context, s Summary) (Posted, error) {
	n.mu.Lock()
	before := n.before
	n.mu.Unlock()
	if before != nil {
		if err := before(s); err != nil {
			return "", err
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.summaries = append(n.summaries, s)
	if n.all != nil {
		n.all.add(s)
	}
	return Posted(fmt.Sprintf("%s/1700000000.%06d", s.Schedule.Channel, len(n.summaries))), nil
}

func (n *recordingNotifier) PostDetails(ctx context.Context, s Summary, at Posted) error {
	n.mu.Lock()
	before := n.beforeDetails
	n.mu.Unlock()
	if before != nil {
		if err := before(ctx, s, at); err != nil {
			return err
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.details = append(n.details, at)
	return nil
}

// Explain words errors as the bot does, by kind: a host not in the inventory
// in words, anything else as an internal error with a reference of its own
// ("r1", "r2"…), never with its text.
func (n *recordingNotifier) Explain(err error) (text, ref string) {
	if errors.Is(err, triage.ErrNotInInventory) {
		return "not in the inventory", ""
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.refs++
	ref = fmt.Sprintf("r%d", n.refs)
	return "an internal error (reference " + ref + ")", ref
}

func (n *recordingNotifier) posted() []Summary {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.summaries)
}

func (n *recordingNotifier) detailed() []Posted {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.details)
}

// events collects what happens, for a test to wait for. In a synctest bubble
// waiting blocks durably, so that the bubble's time passes meanwhile (SQLite
// waiting for another handle's lock sleeps in it).
type events[T any] struct {
	mu      sync.Mutex
	seen    []T
	changed chan struct{} // closed and replaced at each add
}

func newEvents[T any]() *events[T] { return &events[T]{changed: make(chan struct{})} }

func (e *events[T]) add(v T) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seen = append(e.seen, v)
	close(e.changed)
	e.changed = make(chan struct{})
}

// wait returns what was seen once cond holds for it.
func (e *events[T]) wait(cond func([]T) bool) []T {
	for {
		e.mu.Lock()
		seen, changed := slices.Clone(e.seen), e.changed
		e.mu.Unlock()
		if cond(seen) {
			return seen
		}
		<-changed
	}
}
