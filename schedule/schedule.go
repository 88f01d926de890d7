// Package schedule runs fleet health sweeps on cron schedules, once per tick across
// all replicas, and hands each run's summary, compared with the run before, to a
// Notifier.
//
// The timer loop is our own rather than robfig/cron's Cron runner: Cron reads
// time.Now directly, so it cannot be driven by a fake clock in tests, and its
// default chain does not recover panics (a panicking job ends the process). We
// use only cron's parser and its Schedule.Next, and time everything through a
// Clock.
package schedule

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/authtriage/authtriage/store"
	"github.com/authtriage/authtriage/triage"
)

// A Schedule is one recurring sweep of a list of hosts.
type Schedule struct {
	// Name identifies the schedule in the store, in lease keys and in the
	// summary's header. It must be unique.
	Name string
	// Spec is a cron spec: 5 fields ("0 7 * * 1-5") or a descriptor ("@hourly",
	// "@every 1h"). It may start with CRON_TZ=Zone, which then overrides Location.
	// "@every D" ticks fall on multiples of D since the zero time (for D dividing
	// a day: since midnight UTC), not D after the process started, so that all
	// replicas agree on them.
	//
	// When Location's clocks change, a spec whose hour field does not name every
	// hour (a daily "30 2 * * *", not an hourly "30 * * * *") fires once per
	// matching wall-clock time: a time skipped by the spring change fires at the
	// end of the gap (02:30 becomes 03:00 in Europe/Berlin), and a time the
	// autumn change repeats fires the first time only.
	Spec string
	// Location is the zone the spec is read in; nil means UTC.
	Location *time.Location
	// Channel is the Slack channel ID the summary goes to.
	Channel string
	// Hosts are the host names to sweep, already resolved by the caller.
	// Duplicates are swept once.
	Hosts []string
	// Quiet posts a summary only when something changed since the previous run
	// (or the run failed); the first run always posts.
	Quiet bool
	// Concurrency bounds the hosts triaged at once; 0 means 16.
	Concurrency int
	// Deadline bounds the sweep of a whole run; 0 means 10 minutes. A host not
	// triaged by then is reported unknown. A tick that Run finds more than
	// Deadline in the past (the machine slept, or its clock jumped) is dropped.
	Deadline time.Duration
}

// Defaults for a Schedule's and the Options' zero values.
const (
	DefaultConcurrency = 16
	DefaultDeadline    = 10 * time.Minute
	DefaultLeaseTTL    = time.Minute
)

// A Triager triages one host. An error means the host could not be triaged at
// all (a report with unknown status is not an error). It must return soon after
// ctx is done; one that does not is abandoned when the run's deadline passes.
type Triager interface {
	Triage(ctx context.Context, host string) (triage.Report, error)
}

// A BatchTriager is a Triager that also triages groups of hosts in one go: the
// hosts behind one agent, through its batch requests rather than a request each. A
// Scheduler whose Triager is one sweeps each group with Sweep, every group at once
// and beside the schedule's Concurrency, and the other hosts with Triage; each
// host's outcome counts as Triage's would (its state, signatures, saved report, and
// an error as the host's Error in the Notifier's words).
type BatchTriager interface {
	Triager
	// Batches groups those of hosts it triages together, by a name of the group
	// (the agent's); a host in no group, or named again in another, is triaged
	// with Triage, and a name that is not one of hosts is ignored.
	Batches(ctx context.Context, hosts []string) map[string][]string
	// Sweep triages hosts, of group, and calls onReport once for each host as its
	// triage ends, never two calls at once, with what Triage would return for it.
	// It must return soon after ctx is done. Its error says why it could not
	// triage the hosts it has not reported, which the Scheduler then reports
	// unknown with that error; a host it reported keeps its outcome.
	Sweep(ctx context.Context, group string, hosts []string, onReport func(host string, rep triage.Report, err error)) error
}

// Store is what the Scheduler keeps: leases, reports and runs. *store.DB
// implements it.
type Store interface {
	Lease(ctx context.Context, key, holder string, ttl time.Duration) (store.LeaseState, error)
	Finish(ctx context.Context, key, holder string) error
	SaveRun(ctx context.Context, run triage.FleetRun) error
	// LastRun returns the schedule's latest run with a tick before before; its
	// error wraps store.ErrNotFound when there is none.
	LastRun(ctx context.Context, schedule string, before time.Time) (triage.FleetRun, error)
	// Run returns the schedule's run for a tick; its error wraps
	// store.ErrNotFound when there is none.
	Run(ctx context.Context, schedule string, tick time.Time) (triage.FleetRun, error)
	// AddReport saves a report under an ID the Store gives it (its own when
	// that is free) and returns that ID.
	AddReport(ctx context.Context, r store.Record) (string, error)
	// AddReports saves reports as AddReport does, all in one transaction, and
	// returns their IDs in order; on an error it saved none of them.
	AddReports(ctx context.Context, rs []store.Record) ([]string, error)
}

// A Notifier posts a run's summary in two steps, so that the Scheduler can
// record the run between them: once the run is saved with where its summary
// is, a replica that takes the run over does not post it again. It also words
// the run's errors for the people who read the summary.
type Notifier interface {
	// PostSummary posts the summary's parent message in s.Schedule.Channel and
	// returns where it is, never "". An error means the parent was not posted.
	PostSummary(ctx context.Context, s Summary) (Posted, error)
	// PostDetails posts the per-host details with the parent that PostSummary
	// posted at at (in its thread), and refreshes what else shows the fleet
	// (the App Home tabs). An error means some of it was not posted.
	PostDetails(ctx context.Context, s Summary, at Posted) error
	// Explain words an error of the run for people: a phrase of plain text,
	// which the Scheduler keeps as a host's Error (in the summary and in the
	// run the Store keeps) or puts after its own words in the summary's
	// Problems. An error whose text must not be shown (an internal one) is
	// worded with a short reference instead of its text, and ref is that
	// reference; the Scheduler logs the error in full with it. ref is ""
	// otherwise. A reference names one occurrence: two runs failing the same
	// way get different ones, and Diff does not read them (it compares
	// whether a host was triaged, not why it was not).
	Explain(err error) (text, ref string)
}

// Posted is where a Notifier posted a summary, in the Notifier's own terms: the
// Scheduler keeps it with the run (triage.FleetRun.Posted) and hands it back to
// PostDetails, and reads nothing in it.
type Posted string

// Options configure a Scheduler.
type Options struct {
	Schedules []Schedule
	Triager   Triager
	Store     Store
	Notifier  Notifier
	// Holder identifies this replica in leases; every replica needs its own.
	Holder string
	// LeaseTTL is how long a run's lease lasts unless renewed; 0 means 1 minute.
	// The holder renews it every LeaseTTL/3, and another replica takes a run over
	// once its holder has not renewed it for LeaseTTL.
	LeaseTTL time.Duration
	// Signatures reduces a host's report to its findings' signatures
	// (correlate.Signatures): a run keeps them, not the report, for
	// Correlate, and the Store keeps them with the report. nil keeps none.
	Signatures func(triage.Report) []triage.Signature
	// Correlate finds a run's incidents (Summary.Incidents) in the signatures
	// of its hosts' reports, each naming its host (as the schedule names it)
	// and its saved report; checked are the hosts triaged, by name. nil finds
	// none.
	Correlate func(sigs []triage.Signature, checked []string) []triage.Incident
	// Clock is nil for the system clock.
	Clock Clock
	// Log is nil for no logging.
	Log *slog.Logger
}

// A Scheduler runs schedules. Several replicas may run the same schedules over
// one shared Store: each tick is run, and its summary posted, by one of them.
type Scheduler struct {
	entries  []entry
	triager  Triager
	store    Store
	notifier Notifier
	holder   string
	leaseTTL time.Duration
	// signatures and correlate are Options.Signatures and Options.Correlate.
	signatures func(triage.Report) []triage.Signature
	correlate  func(sigs []triage.Signature, checked []string) []triage.Incident
	clock      Clock
	log        *slog.Logger
}

// entry is a schedule with its parsed spec.
type entry struct {
	sc   Schedule
	spec cron.Schedule
}

// New checks the options and parses every spec. Its errors name the schedule.
func New(o Options) (*Scheduler, error) {
	s := &Scheduler{
		triager: o.Triager, store: o.Store, notifier: o.Notifier, holder: o.Holder,
		leaseTTL: o.LeaseTTL, clock: o.Clock, log: o.Log,
		signatures: o.Signatures, correlate: o.Correlate,
	}
	var errs []error
	for _, missing := range []struct {
		what string
		nil  bool
	}{
		{"no triager", o.Triager == nil},
		{"no store", o.Store == nil},
		{"no notifier", o.Notifier == nil},
		{"no holder ID", o.Holder == ""},
	} {
		if missing.nil {
			errs = append(errs, errors.New(missing.what))
		}
	}
	if o.LeaseTTL < 0 {
		errs = append(errs, fmt.Errorf("lease TTL %v is negative", o.LeaseTTL))
	}
	s.leaseTTL = cmp.Or(s.leaseTTL, DefaultLeaseTTL)
	if s.clock == nil {
		s.clock = realClock{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	names := map[string]bool{}
	for i, sc := range o.Schedules {
		e, err := newEntry(sc)
		if err != nil {
			name := fmt.Sprintf("schedule %q", sc.Name)
			if sc.Name == "" {
				name = fmt.Sprintf("schedule %d", i+1)
			}
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		if names[sc.Name] {
			errs = append(errs, fmt.Errorf("schedule %q: name used twice", sc.Name))
			continue
		}
		names[sc.Name] = true
		if e.next(s.clock.Now()).IsZero() {
			errs = append(errs, fmt.Errorf("schedule %q: spec %q never fires", sc.Name, sc.Spec))
			continue
		}
		s.entries = append(s.entries, e)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	return s, nil
}

// newEntry checks sc, fills in its defaults and parses its spec with cron's
// standard parser (5 fields, descriptors, CRON_TZ=).
func newEntry(sc Schedule) (entry, error) {
	sc, err := withDefaults(sc)
	if err != nil {
		return entry{}, err
	}
	spec, err := cron.ParseStandard(sc.Spec)
	if err != nil {
		return entry{}, fmt.Errorf("spec %q: %w", sc.Spec, err)
	}
	return entry{sc: sc, spec: spec}, nil
}

// withDefaults checks what a run needs of sc and fills in its defaults.
func withDefaults(sc Schedule) (Schedule, error) {
	switch {
	case sc.Name == "":
		return sc, errors.New("no name")
	case sc.Channel == "":
		return sc, errors.New("no channel")
	case sc.Concurrency < 0:
		return sc, fmt.Errorf("concurrency %d is negative", sc.Concurrency)
	case sc.Deadline < 0:
		return sc, fmt.Errorf("deadline %v is negative", sc.Deadline)
	}
	sc.Location = cmp.Or(sc.Location, time.UTC)
	sc.Concurrency = cmp.Or(sc.Concurrency, DefaultConcurrency)
	sc.Deadline = cmp.Or(sc.Deadline, DefaultDeadline)
	return sc, nil
}

// next returns the schedule's first tick after t, in its Location; zero when
// there is none within five years. See Schedule.Spec for clock changes.
func (e entry) next(t time.Time) time.Time {
	t = t.In(e.sc.Location)
	switch spec := e.spec.(type) {
	case cron.ConstantDelaySchedule:
		// Aligned to multiples of the delay, so that every replica computes the
		// same ticks (cron counts from whenever Next is first called).
		return t.Truncate(spec.Delay).Add(spec.Delay)
	case *cron.SpecSchedule:
		if spec.Hour&allHours != allHours {
			return nextOncePerWallClock(spec, t)
		}
	}
	return e.spec.Next(t)
}

// allHours is a cron hour field that names every hour.
const allHours = 1<<24 - 1

// nextOncePerWallClock is spec.Next, except across clock changes: a tick cron
// would skip because its wall-clock time falls in a spring gap fires at the
// end of the gap, and a tick at a wall-clock time that already occurred (the
// hour an autumn change repeats) is skipped.
func nextOncePerWallClock(spec *cron.SpecSchedule, t time.Time) time.Time {
	loc := spec.Location
	if loc == time.Local { // as cron reads it: the zone of the time given
		loc = t.Location()
	}
	for from := t; ; {
		n := spec.Next(from)
		if n.IsZero() {
			return n
		}
		if g := gapTick(spec, from.In(loc), n); !g.IsZero() {
			return g.In(t.Location())
		}
		if !repeated(n.In(loc)) {
			return n
		}
		from = n
	}
}

// gapTick returns the end of the first spring gap after from and no later than
// n in from's zone during which spec would have fired, or zero when there is
// none. A gap is a change to a greater UTC offset: the wall-clock times between
// the old and the new offset do not exist.
func gapTick(spec *cron.SpecSchedule, from, n time.Time) time.Time {
	for at := from; ; {
		_, end := at.ZoneBounds()
		if end.IsZero() || end.After(n) {
			return time.Time{}
		}
		_, before := at.Zone()
		_, after := end.Zone()
		if after > before {
			// The gap's wall-clock times are, read with the offset before the
			// change, the instants [end, end + the change).
			old := *spec
			old.Location = time.FixedZone("", before)
			// Next looks from the whole second after its argument: from end.
			if g := old.Next(end.Add(-time.Second)); !g.IsZero() && g.Before(end.Add(time.Duration(after-before)*time.Second)) {
				return end
			}
		}
		at = end
	}
}

// repeated reports whether t's wall-clock time already occurred earlier: t is in
// the hour (or so) an autumn change repeats. It assumes no two changes of t's
// zone lie within 12 hours, as none do.
func repeated(t time.Time) bool {
	_, off := t.Zone()
	_, earlier := t.Add(-12 * time.Hour).Zone()
	shift := time.Duration(earlier-off) * time.Second
	if shift <= 0 {
		return false
	}
	// The same wall-clock time, shift earlier, under the earlier offset.
	_, o := t.Add(-shift).Zone()
	return o == earlier
}

// Run runs the schedules until ctx is done: for each, it waits for the spec's
// next tick and calls RunTick, one tick at a time. A run that overruns the next
// ticks makes the schedule skip them. Run returns nil once ctx is done and the
// runs in progress have returned (their sweeps are abandoned, unposted, for
// another replica to take over).
//
// It waits at most maxSleep at a time and then reads the Clock again, so that a
// tick is not late when the wall clock jumped (a suspended machine wakes, NTP
// steps the clock) while it waited; a tick found more than the schedule's
// Deadline in the past is dropped, and logged, rather than run late.
func (s *Scheduler) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, e := range s.entries {
		wg.Go(func() { s.loop(ctx, e) })
	}
	wg.Wait()
	return nil
}

// maxSleep is the longest Run waits before it reads the Clock again.
const maxSleep = time.Minute

func (s *Scheduler) loop(ctx context.Context, e entry) {
	log := s.log.With("schedule", e.sc.Name)
	tick := e.next(s.clock.Now())
	for {
		if tick.IsZero() {
			log.ErrorContext(ctx, "schedule never fires again", "spec", e.sc.Spec)
			return
		}
		if !s.sleepUntil(ctx, tick) {
			return
		}
		now := s.clock.Now()
		if late := now.Sub(tick); late > e.sc.Deadline {
			log.WarnContext(ctx, "dropping a tick found too late (the machine slept or its clock jumped)",
				"tick", tick, "late", late, "deadline", e.sc.Deadline)
			tick = e.next(now)
			continue
		}
		if err := s.RunTick(ctx, e.sc, tick); err != nil && ctx.Err() == nil {
			log.ErrorContext(ctx, "scheduled run failed", "tick", tick, "err", err)
		}
		now = s.clock.Now()
		if after := e.next(tick); !after.IsZero() && !after.After(now) {
			log.WarnContext(ctx, "run overran the next tick; skipping to the one after now",
				"tick", tick, "missed", after)
		}
		tick = e.next(now)
	}
}

// sleepUntil waits until the Clock reads t or later, at most maxSleep at a
// time; false when ctx is done first.
func (s *Scheduler) sleepUntil(ctx context.Context, t time.Time) bool {
	for {
		d := t.Sub(s.clock.Now())
		if d <= 0 {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-s.clock.After(min(d, maxSleep)):
		}
	}
}
