package schedule

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/authtriage/authtriage/store"
	"github.com/authtriage/authtriage/triage"
)

// DeadlineError is the Error of a host that was not triaged by the run's deadline.
const DeadlineError = "not triaged within the run's deadline"

// errLeaseLost cancels a run whose lease another replica has taken over.
var errLeaseLost = errors.New("the run's lease was taken over by another replica")

// errDeadline cancels the hosts' triage when the run's deadline passes.
var errDeadline = errors.New("run deadline passed")

// A panicError is a recovered panic.
type panicError struct {
	where string
	value any
	stack []byte // where it happened
}

func (e *panicError) Error() string { return fmt.Sprintf("%s panicked: %v", e.where, e.value) }

// catch calls f and returns a panic in it, nil when there was none. It is the
// one recovery of the Scheduler: a panic cannot cross goroutines, so catch
// stands at the start of each goroutine a tick runs on, the tick's own
// (RunTick), each host's triage and the lease's renewal, and nowhere else.
func catch(where string, f func()) (p *panicError) {
	defer func() {
		if v := recover(); v != nil {
			p = &panicError{where: where, value: v, stack: debug.Stack()}
		}
	}()
	f()
	return nil
}

// logPanic logs a recovered panic with its stack, and args.
func (s *Scheduler) logPanic(ctx context.Context, r *run, p *panicError, args ...any) {
	args = append([]any{"where", p.where, "panic", fmt.Sprint(p.value), "stack", string(p.stack)}, args...)
	r.log.ErrorContext(ctx, "recovered from a panic", args...)
}

// explain returns the Notifier's words for err (Notifier.Explain) and logs err
// in full under msg with args, and with the reference the words carry, when
// they carry one (an internal error, logged as an error; anything else as a
// warning).
func (s *Scheduler) explain(ctx context.Context, r *run, err error, msg string, args ...any) string {
	text, ref := s.notifier.Explain(err)
	args = append(args, "err", err)
	if ref == "" {
		r.log.WarnContext(ctx, msg, args...)
		return text
	}
	r.log.ErrorContext(ctx, msg, append(args, "ref", ref)...)
	return text
}

// leaseKey returns the key of the lease on one tick of a schedule.
func leaseKey(name string, tick time.Time) string {
	return "schedule/" + name + "/" + tick.UTC().Format(time.RFC3339)
}

// run is the state of one RunTick.
type run struct {
	sc   Schedule
	tick time.Time
	key  string
	log  *slog.Logger
	// prev is the schedule's previous run, once read; nil when there is none.
	prev *triage.FleetRun
	// fleet is the run as far as it got; its Schedule and Tick are set from
	// the start.
	fleet    triage.FleetRun
	problems []string // for the summary's Problems
	// sigs are the signatures of the hosts' reports (Options.Signatures), in
	// host order, each naming its saved report ("" when it was not saved).
	sigs []triage.Signature
	// stopRenewal stops renewing the lease; nil until the renewal starts. It
	// may be called more than once.
	stopRenewal func()
}

// RunTick runs sc once for tick, exactly once across the replicas that share the
// Store, through a lease on the tick ("schedule/NAME/TICK", TICK in RFC 3339 UTC):
//
//   - Acquired: when the Store already has the run (its holder posted the
//     summary, saved the run and died before finishing the lease), it finishes
//     the lease. Otherwise it sweeps sc.Hosts, sc.Concurrency at a time (and
//     the groups of a BatchTriager beside them, each with one Sweep), within
//     sc.Deadline (hosts not done by then are unknown, with Error
//     DeadlineError), renewing the lease every LeaseTTL/3; adds the reports to
//     the Store in batches as they come, the Store giving each its ID
//     (AddReports); compares the run with the
//     previous one (Diff); and then:
//     when sc.Quiet and nothing changed, saves the run and finishes the lease;
//     otherwise posts the summary's parent (PostSummary), saves the run with
//     where the parent is as soon as it is posted, posts the details
//     (PostDetails), and finishes the lease.
//   - Held: another replica is running the tick. It asks again every LeaseTTL/2
//     until that one finishes (Done), or its lease expires unrenewed and this
//     replica takes the run over (Acquired), or ctx is done, or tick + Deadline +
//     2*LeaseTTL has passed (an error).
//   - Done: the tick was run; it returns nil.
//
// The run is saved as the baseline the next run is compared with (see
// Baseline) only when nothing had to be announced or its summary was posted:
// when posting fails (Slack, rendering, shutdown), the lease is finished but
// the run is not saved, so that the next run reports the changes again,
// compared with the last run that was announced.
//
// When ctx is done before the summary is posted, or the lease is lost (another
// replica took over), the run is abandoned: nothing is posted, saved or
// finished, and RunTick returns the reason. A Triager error makes the host
// unknown, with the Notifier's words for the error (Notifier.Explain) as its
// Error and the error in full in the log; so does a panic in the Triager,
// which the summary's Problems also report. Any other panic (in the Notifier, the Store
// or here) is recovered here, logged with its stack and returned as an error,
// and abandons the run as if this replica had died there: the lease is left to
// expire, and another replica may take the run over. Each Lease and Finish
// call has a timeout of LeaseTTL/3.
//
// A summary whose holder dies after posting its parent and before saving the
// run is posted again by the replica that takes the run over; one whose holder
// dies after saving the run is not, and its details are then not posted.
func (s *Scheduler) RunTick(ctx context.Context, sc Schedule, tick time.Time) error {
	sc, err := withDefaults(sc)
	if err != nil {
		return fmt.Errorf("schedule %q: %w", sc.Name, err)
	}
	r := &run{sc: sc, tick: tick, key: leaseKey(sc.Name, tick), fleet: triage.FleetRun{Schedule: sc.Name, Tick: tick}}
	r.log = s.log.With("schedule", sc.Name, "tick", tick.UTC().Format(time.RFC3339))
	if p := catch("run", func() { err = s.runTick(ctx, r) }); p != nil {
		s.logPanic(ctx, r, p)
		return p
	}
	return err
}

// runTick takes the tick's lease and runs the tick under it.
func (s *Scheduler) runTick(ctx context.Context, r *run) error {
	state, err := s.acquire(ctx, r)
	if err != nil || state == store.Done {
		return err
	}
	return s.runHeld(ctx, r)
}

// lease takes or renews the run's lease, within LeaseTTL/3.
func (s *Scheduler) lease(ctx context.Context, r *run) (store.LeaseState, error) {
	ctx, cancel := context.WithTimeout(ctx, s.leaseTTL/3)
	defer cancel()
	return s.store.Lease(ctx, r.key, s.holder, s.leaseTTL)
}

// acquire takes the tick's lease, waiting while another replica holds it.
func (s *Scheduler) acquire(ctx context.Context, r *run) (store.LeaseState, error) {
	giveUp := r.tick.Add(r.sc.Deadline + 2*s.leaseTTL)
	for waited := false; ; waited = true {
		state, err := s.lease(ctx, r)
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			r.log.WarnContext(ctx, "cannot take the run's lease; trying again", "err", err)
		case state == store.Acquired:
			if waited {
				r.log.InfoContext(ctx, "taking the run over from a replica that stopped renewing its lease")
			}
			return state, nil
		case state == store.Done:
			r.log.DebugContext(ctx, "run already done by another replica")
			return state, nil
		}
		now := s.clock.Now()
		if !now.Before(giveUp) {
			if err != nil {
				return 0, fmt.Errorf("lease %s: %w", r.key, err)
			}
			return 0, fmt.Errorf("lease %s: still held by another replica at %s; giving up", r.key, now.UTC().Format(time.RFC3339))
		}
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-s.clock.After(min(s.leaseTTL/2, giveUp.Sub(now))):
		}
	}
}

// runHeld runs the tick under its lease.
func (s *Scheduler) runHeld(ctx context.Context, r *run) error {
	switch prior, err := s.store.Run(ctx, r.sc.Name, r.tick); {
	case err == nil:
		// A run is saved once nothing had to be posted or its summary's parent
		// was: the holder got that far.
		r.log.InfoContext(ctx, "run was done by a replica that did not finish its lease; finishing it",
			"posted", prior.Posted)
		return s.finish(ctx, r)
	case ctx.Err() != nil:
		return ctx.Err()
	case !errors.Is(err, store.ErrNotFound):
		// Running it again risks a second summary; not running it, none at all.
		r.log.WarnContext(ctx, "cannot tell whether the run was done; running it", "err", err)
	}

	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.stopRenewal = s.renew(runCtx, r, cancel)
	defer r.stopRenewal()

	r.fleet.Started = s.clock.Now()
	if err := s.sweep(runCtx, r); err != nil {
		r.log.WarnContext(ctx, "run abandoned", "err", err)
		return err
	}
	r.fleet.Finished = s.clock.Now()
	incidents := s.correlateRun(runCtx, r)

	switch p, err := s.store.LastRun(runCtx, r.sc.Name, r.tick); {
	case err == nil:
		r.prev = &p
	case runCtx.Err() != nil:
		return context.Cause(runCtx)
	case !errors.Is(err, store.ErrNotFound):
		const what = "cannot read the previous run, so this one is compared with none"
		r.problems = append(r.problems, what+": "+s.explain(runCtx, r, err, what))
	}
	sum := Diff(r.prev, r.fleet)
	sum.Schedule = r.sc
	sum.Problems = r.problems
	sum.Incidents = incidents
	return s.publish(runCtx, r, sum)
}

// correlateRun returns the run's incidents, worst first (see
// Summary.Incidents): what Options.Correlate finds in the signatures of the
// hosts triaged. A panic in it is reported in the summary's Problems, and the
// run goes on without incidents.
func (s *Scheduler) correlateRun(ctx context.Context, r *run) []triage.Incident {
	if s.correlate == nil {
		return nil
	}
	var checked []string
	for _, h := range r.fleet.Hosts {
		if !untriaged(h) {
			checked = append(checked, h.Host)
		}
	}
	var incidents []triage.Incident
	if p := catch("correlation", func() { incidents = s.correlate(r.sigs, checked) }); p != nil {
		text, ref := s.notifier.Explain(p)
		args := []any{"signatures", len(r.sigs)}
		if ref != "" {
			args = append(args, "ref", ref)
		}
		s.logPanic(ctx, r, p, args...)
		r.problems = append(r.problems, p.where+" panicked: "+text)
		return nil
	}
	slices.SortStableFunc(incidents, worstIncidentFirst)
	return incidents
}

// worstIncidentFirst orders incidents by severity (critical first), then by
// the number of hosts affected (most first), then by when they were first
// seen (earliest first), then by ID.
func worstIncidentFirst(a, b triage.Incident) int {
	return cmp.Or(
		cmp.Compare(b.Severity, a.Severity),
		cmp.Compare(len(b.Hosts), len(a.Hosts)),
		a.FirstSeen.First.Compare(b.FirstSeen.First),
		cmp.Compare(a.ID, b.ID),
	)
}

// publish saves the run and finishes the lease when the schedule is quiet and
// nothing changed, and otherwise announces the summary.
func (s *Scheduler) publish(ctx context.Context, r *run, sum Summary) error {
	if r.sc.Quiet && !sum.Changed && len(sum.Problems) == 0 {
		r.log.InfoContext(ctx, "nothing changed; quiet schedule posts nothing", "hosts", len(r.fleet.Hosts))
		return errors.Join(s.saveRun(ctx, r), s.finish(ctx, r))
	}
	// Posting is the one step that cannot be undone: make sure the run is
	// still ours (this also renews the lease).
	if err := s.stillHeld(ctx, r); err != nil {
		r.log.WarnContext(ctx, "run abandoned", "err", err)
		return err
	}
	return s.announce(ctx, r, sum)
}

// announce posts the summary's parent; once it is posted, saves the run with
// where it is, then posts the details; and finishes the lease, whether or not
// anything was posted.
func (s *Scheduler) announce(ctx context.Context, r *run, sum Summary) error {
	posted, err := s.notifier.PostSummary(ctx, sum)
	if err == nil && posted == "" {
		err = errors.New("the notifier posted no parent message")
	}
	if err != nil {
		r.log.ErrorContext(ctx, "cannot post the summary", "err", err)
		r.log.WarnContext(ctx, "nothing posted: the run is not saved, so the next one is compared with the last announced")
		return errors.Join(fmt.Errorf("post summary: %w", err), s.finish(ctx, r))
	}
	r.fleet.Posted = string(posted)
	r.log.InfoContext(ctx, "posted fleet summary", "hosts", len(r.fleet.Hosts), "changed", sum.Changed, "posted", posted)
	saveErr := s.saveRun(ctx, r)
	detailsErr := s.notifier.PostDetails(ctx, sum, posted)
	if detailsErr != nil {
		r.log.ErrorContext(ctx, "cannot post the summary's details", "err", detailsErr)
		detailsErr = fmt.Errorf("post the summary's details: %w", detailsErr)
	}
	return errors.Join(saveErr, detailsErr, s.finish(ctx, r))
}

// saveRun saves the run (as Baseline keeps it). It goes on when ctx is done,
// for at most LeaseTTL: once the summary is posted, a run not saved would be
// posted again by another replica.
func (s *Scheduler) saveRun(ctx context.Context, r *run) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.leaseTTL)
	defer cancel()
	if err := s.store.SaveRun(ctx, Baseline(r.prev, r.fleet)); err != nil {
		r.log.ErrorContext(ctx, "cannot save the run", "err", err)
		return fmt.Errorf("save run: %w", err)
	}
	return nil
}

// stillHeld renews the lease and returns an error when it is no longer ours. A
// Store that cannot answer is taken as a yes: better a summary twice than never.
func (s *Scheduler) stillHeld(ctx context.Context, r *run) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	state, err := s.lease(ctx, r)
	switch {
	case err != nil:
		r.log.WarnContext(ctx, "cannot confirm the run's lease before posting; posting", "err", err)
	case state != store.Acquired:
		return fmt.Errorf("%w (lease %s)", errLeaseLost, state)
	}
	return nil
}

// finish stops renewing the lease (so that no renewal finds it finished and
// reads that as lost) and marks it done, within LeaseTTL/3 even when ctx is
// done.
func (s *Scheduler) finish(ctx context.Context, r *run) error {
	if r.stopRenewal != nil {
		r.stopRenewal()
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.leaseTTL/3)
	defer cancel()
	if err := s.store.Finish(ctx, r.key, s.holder); err != nil {
		r.log.ErrorContext(ctx, "cannot finish the run's lease", "err", err)
		return fmt.Errorf("finish lease %s: %w", r.key, err)
	}
	return nil
}

// renew renews the lease every LeaseTTL/3 until stop is called or ctx is done.
// When the lease turns out to be someone else's, it cancels the run with
// errLeaseLost. stop waits for the renewal to end, and may be called more than
// once.
func (s *Scheduler) renew(ctx context.Context, r *run, cancel context.CancelCauseFunc) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		if p := catch("lease renewal", func() { s.renewEvery(ctx, r, done, cancel) }); p != nil {
			s.logPanic(ctx, r, p)
			cancel(p)
		}
	})
	return sync.OnceFunc(func() { close(done); wg.Wait() })
}

// renewEvery is renew's loop: it renews the lease every LeaseTTL/3 until done
// is closed or ctx is done, and cancels the run when the lease was lost.
func (s *Scheduler) renewEvery(ctx context.Context, r *run, done <-chan struct{}, cancel context.CancelCauseFunc) {
	for {
		select {
		case <-done:
			return
		case <-ctx.Done():
			return
		case <-s.clock.After(s.leaseTTL / 3):
		}
		state, err := s.lease(ctx, r)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			r.log.WarnContext(ctx, "cannot renew the run's lease", "err", err)
		case state != store.Acquired:
			r.log.WarnContext(ctx, "lost the run's lease to another replica; abandoning the run", "lease", state)
			cancel(errLeaseLost)
			return
		}
	}
}

// hostResult is one host's outcome in a sweep.
type hostResult struct {
	i       int // the host's place in the sweep's hosts
	state   triage.HostState
	report  *triage.Report     // nil when there is none
	sigs    []triage.Signature // the report's (Options.Signatures)
	problem string             // a panic in the Triager, for the summary's Problems
}

// saveBatch is how many reports a sweep hands the Store at a time (AddReports,
// one transaction each).
const saveBatch = 100

// sweep triages the schedule's hosts, sc.Concurrency at a time (a
// BatchTriager's groups each on its own, beside them: see sweepGroup), and sets
// r.fleet.Hosts to their states in host order, r.sigs to their signatures,
// and r.problems to what went wrong with them. It keeps no host's report:
// each goes to the Store as it comes (see saver), in batches of saveBatch,
// and is dropped once saved, so that what a sweep holds grows with its hosts,
// not with their reports. It returns by the run's deadline (and the save of
// the reports handed over by then), even when a Triager ignores its context:
// its goroutine is then abandoned and its result dropped. It returns an
// error when ctx is done first; the reports saved by then stay saved.
func (s *Scheduler) sweep(ctx context.Context, r *run) error {
	hosts := slices.Compact(slices.Sorted(slices.Values(r.sc.Hosts)))
	// The deadline is kept on the Clock; the context's own timeout gives
	// Triagers a ctx.Deadline to plan by (with a real clock they agree).
	hostsCtx, cancelHosts := context.WithCancelCause(ctx)
	defer cancelHosts(nil)
	hostsCtx, cancelTimeout := context.WithTimeout(hostsCtx, r.sc.Deadline)
	defer cancelTimeout()
	stopTimer := make(chan struct{})
	defer close(stopTimer)
	go func() {
		select {
		case <-s.clock.After(r.sc.Deadline):
			cancelHosts(errDeadline)
		case <-stopTimer:
		}
	}()

	// The groups of a BatchTriager are swept each on its own; a fixed pool of
	// sc.Concurrency workers takes the other hosts in order. Each hands a host's
	// result over as soon as it has it.
	groups, rest := s.batches(hostsCtx, r, hosts)
	jobs := make(chan int, len(rest))
	for _, i := range rest {
		jobs <- i
	}
	close(jobs)
	out := make(chan hostResult, saveBatch)
	var wg sync.WaitGroup
	var gp groupProblems
	for _, g := range groups {
		wg.Go(func() { s.sweepGroup(hostsCtx, r, g, hosts, out, &gp) })
	}
	for range min(r.sc.Concurrency, len(rest)) {
		wg.Go(func() {
			for i := range jobs {
				if hostsCtx.Err() != nil {
					return
				}
				res := s.triageHost(hostsCtx, r, hosts[i])
				res.i = i
				select {
				case out <- res:
				case <-hostsCtx.Done(): // too late: the host is not triaged
					return
				}
			}
		})
	}
	go func() { wg.Wait(); close(out) }()

	// This goroutine keeps each host's compact state and hands the reports to
	// the saver; the saver names the reports it saved in states and sigs.
	states := make([]triage.HostState, len(hosts))
	sigs := make([][]triage.Signature, len(hosts))
	problems := make([]string, len(hosts))
	done := make([]bool, len(hosts))
	sv := s.startSaver(ctx, r, states, sigs)
	var batch []pending
	take := func(res hostResult) {
		states[res.i], sigs[res.i], problems[res.i], done[res.i] = res.state, res.sigs, res.problem, true
		if res.report == nil {
			return
		}
		batch = append(batch, pending{i: res.i, rec: store.Record{Report: *res.report, RequestedBy: "schedule:" + r.sc.Name, Signatures: res.sigs}})
		if len(batch) == saveBatch {
			sv.batches <- batch
			batch = nil
		}
	}
collect:
	for {
		select {
		case res, ok := <-out:
			if !ok {
				break collect
			}
			take(res)
		case <-hostsCtx.Done():
			for { // what was handed over in time
				select {
				case res, ok := <-out:
					if !ok {
						break collect
					}
					take(res)
				default:
					break collect
				}
			}
		}
	}
	if len(batch) > 0 {
		sv.batches <- batch
	}
	close(sv.batches)
	sv.wait()
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}

	late := 0
	for i, ok := range done {
		if !ok {
			states[i] = unknownState(hosts[i], r.fleet.Started, DeadlineError)
			late++
		}
	}
	if late > 0 {
		r.log.WarnContext(ctx, "hosts not triaged within the run's deadline", "hosts", late, "deadline", r.sc.Deadline)
	}
	r.fleet.Hosts = states
	for i := range hosts {
		r.sigs = append(r.sigs, sigs[i]...)
		if problems[i] != "" {
			r.problems = append(r.problems, problems[i])
		}
	}
	r.problems = append(r.problems, gp.list()...)
	if sv.failed > 0 {
		what := fmt.Sprintf("%d of %d reports could not be saved", sv.failed, sv.total)
		r.problems = append(r.problems, what+": "+s.explain(ctx, r, sv.first, what))
	}
	return nil
}

// pending is a report waiting to be saved, and its host's place in the sweep.
type pending struct {
	i   int
	rec store.Record
}

// A saver saves the batches of reports a sweep hands it, one at a time, while
// the sweep goes on, and names each report saved (the ID the Store gave it) in
// its host's state and signatures. A batch the Store refuses is saved again
// one report at a time, so that one report that cannot be saved does not take
// the others with it; the reports that still cannot be saved are counted, and
// logged, never dropped unsaid.
type saver struct {
	batches chan []pending
	wait    func()
	// Set when wait returns.
	failed, total int
	first         error // the first report's error
}

func (s *Scheduler) startSaver(ctx context.Context, r *run, states []triage.HostState, sigs [][]triage.Signature) *saver {
	sv := &saver{batches: make(chan []pending, 1)}
	var wg sync.WaitGroup
	wg.Go(func() {
		for batch := range sv.batches {
			if ctx.Err() != nil {
				continue // the run is abandoned; let the sweep finish
			}
			ids, err := s.saveBatch(ctx, r, batch)
			if sv.first == nil {
				sv.first = err
			}
			for k, p := range batch {
				sv.total++
				id := ids[k]
				if id == "" { // no report to name
					if ctx.Err() == nil {
						sv.failed++
					}
					states[p.i].ReportID = ""
					for j := range sigs[p.i] {
						sigs[p.i][j].ReportID = ""
					}
					continue
				}
				if id != p.rec.Report.ID {
					r.log.DebugContext(ctx, "report saved under an ID the store gave it", "host", states[p.i].Host, "report", id)
				}
				states[p.i].ReportID = id
				for j := range sigs[p.i] {
					sigs[p.i][j].ReportID = id
				}
			}
		}
	})
	sv.wait = wg.Wait
	return sv
}

// saveBatch saves batch in one transaction (AddReports) and, when the Store
// refuses it, one report at a time (AddReport). It returns the IDs the reports
// were saved under, in batch's order, "" for a report not saved (each logged),
// and the first report's error when one was not saved (nil when ctx is done:
// the run is abandoned).
func (s *Scheduler) saveBatch(ctx context.Context, r *run, batch []pending) ([]string, error) {
	recs := make([]store.Record, len(batch))
	for k, p := range batch {
		recs[k] = p.rec
	}
	ids, err := s.store.AddReports(ctx, recs)
	if err == nil && len(ids) == len(batch) {
		return ids, nil
	}
	if err == nil {
		err = fmt.Errorf("the store returned %d IDs for %d reports", len(ids), len(batch))
	}
	ids = make([]string, len(batch))
	if ctx.Err() != nil {
		return ids, nil
	}
	r.log.WarnContext(ctx, "cannot save a batch of reports; saving them one at a time", "reports", len(batch), "err", err)
	var first error
	for k, rec := range recs {
		id, err := s.store.AddReport(ctx, rec)
		switch {
		case err == nil:
			ids[k] = id
		case ctx.Err() != nil:
			return ids, nil
		default:
			r.log.WarnContext(ctx, "cannot save report", "host", rec.Report.Host, "report", rec.Report.ID, "err", err)
			if first == nil {
				first = err
			}
		}
	}
	return ids, first
}

// triageHost triages one host with its own context. A panic in the Triager
// makes the host unknown, and is reported in the summary's Problems, both in
// the Notifier's words; the log has it with its stack.
func (s *Scheduler) triageHost(ctx context.Context, r *run, host string) hostResult {
	started := s.clock.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var res hostResult
	if p := catch("triage of "+host, func() { res = s.triage(ctx, r, host, started) }); p != nil {
		text, ref := s.notifier.Explain(p)
		args := []any{"host", host}
		if ref != "" {
			args = append(args, "ref", ref)
		}
		s.logPanic(ctx, r, p, args...)
		return hostResult{state: unknownState(host, started, text), problem: p.where + " panicked: " + text}
	}
	return res
}

// triage asks the Triager for host's report (see outcome).
func (s *Scheduler) triage(ctx context.Context, r *run, host string, started time.Time) hostResult {
	rep, err := s.triager.Triage(ctx, host)
	return s.outcome(ctx, r, host, started, rep, err)
}

// outcome is host's result from what its triage returned, rep or err. A host
// that could not be triaged gets the Notifier's words for err, or
// DeadlineError when ctx (the run's deadline) ended first.
func (s *Scheduler) outcome(ctx context.Context, r *run, host string, started time.Time, rep triage.Report, err error) hostResult {
	if err != nil {
		why := DeadlineError
		if ctx.Err() == nil {
			why = s.explain(ctx, r, err, "host not triaged", "host", host)
		}
		return hostResult{state: unknownState(host, started, why)}
	}
	st := triage.StateOf(rep)
	st.Host = host // the name the schedule knows it by, which the diff compares
	if st.StartedAt.IsZero() {
		st.StartedAt = started
	}
	res := hostResult{state: st, report: &rep}
	if s.signatures == nil {
		return res
	}
	if p := catch("signatures of "+host, func() { res.sigs = s.signatures(rep) }); p != nil {
		text, ref := s.notifier.Explain(p)
		args := []any{"host", host}
		if ref != "" {
			args = append(args, "ref", ref)
		}
		s.logPanic(ctx, r, p, args...)
		res.sigs, res.problem = nil, p.where+" panicked: "+text
	}
	for i := range res.sigs {
		res.sigs[i].Host, res.sigs[i].ReportID = host, rep.ID
	}
	return res
}

func unknownState(host string, started time.Time, why string) triage.HostState {
	return triage.HostState{Host: host, Status: triage.StatusUnknown, StartedAt: started, Error: why}
}

// A group is hosts a BatchTriager sweeps together, by their places in the
// sweep's hosts.
// A Group is hosts a BatchTriager sweeps together: its name and the hosts' places in
// the list Partition was given, in order.
type Group struct {
	Name  string
	Hosts []int
}

// Partition splits hosts, by their places, into the groups named (a BatchTriager's
// Batches: group name to host names) and the rest, each in host order, groups by
// name. Every host is in exactly one of them, whatever named holds: names not among
// hosts are ignored, and a host named twice goes to the first group by name.
func Partition(hosts []string, named map[string][]string) (groups []Group, rest []int) {
	index := make(map[string]int, len(hosts))
	for i, h := range hosts {
		index[h] = i
	}
	taken := make([]bool, len(hosts))
	for _, name := range slices.Sorted(maps.Keys(named)) {
		g := Group{Name: name}
		for _, h := range named[name] {
			if i, ok := index[h]; ok && !taken[i] {
				taken[i] = true
				g.Hosts = append(g.Hosts, i)
			}
		}
		if len(g.Hosts) > 0 {
			slices.Sort(g.Hosts)
			groups = append(groups, g)
		}
	}
	for i, t := range taken {
		if !t {
			rest = append(rest, i)
		}
	}
	return groups, rest
}

// batches splits hosts, by their places, into the groups of a BatchTriager and
// the rest, for the worker pool, in host order. Every host is in exactly one of
// them, whatever Batches returned. Without a BatchTriager, or when Batches
// panics (reported in the log), every host is in the rest.
func (s *Scheduler) batches(ctx context.Context, r *run, hosts []string) ([]Group, []int) {
	all := func() []int {
		out := make([]int, len(hosts))
		for i := range out {
			out[i] = i
		}
		return out
	}
	bt, ok := s.triager.(BatchTriager)
	if !ok {
		return nil, all()
	}
	var named map[string][]string
	if p := catch("batches", func() { named = bt.Batches(ctx, hosts) }); p != nil {
		s.logPanic(ctx, r, p)
		return nil, all()
	}
	groups, rest := Partition(hosts, named)
	for _, g := range groups {
		r.log.DebugContext(ctx, "sweeping a group of hosts together", "group", g.Name, "hosts", len(g.Hosts))
	}
	return groups, rest
}

// groupProblems are what went wrong with groups as a whole, for the summary's
// Problems; safe for concurrent use.
type groupProblems struct {
	mu   sync.Mutex
	seen []string
}

func (g *groupProblems) add(p string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.seen = append(g.seen, p)
}

func (g *groupProblems) list() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.seen)
}

// sweepGroup sweeps g with the BatchTriager and hands out each of its hosts'
// results as the worker pool's are (see outcome), until ctx is done. A host
// that Sweep did not report (its error, a panic in it, or a Sweep that
// forgot it) is unknown with the Notifier's words for why, or DeadlineError
// when ctx ended first. Reports of hosts not in g, or of a host again, are
// dropped.
func (s *Scheduler) sweepGroup(ctx context.Context, r *run, g Group, hosts []string, out chan<- hostResult, gp *groupProblems) {
	bt := s.triager.(BatchTriager)
	started := s.clock.Now()
	names := make([]string, len(g.Hosts))
	member := make(map[string]int, len(g.Hosts))
	for k, i := range g.Hosts {
		names[k] = hosts[i]
		member[hosts[i]] = i
	}
	send := func(res hostResult) {
		select {
		case out <- res:
		case <-ctx.Done(): // too late: the host is not triaged
		}
	}
	var (
		mu       sync.Mutex
		over     bool // Sweep returned: later reports are dropped
		reported = make(map[int]bool, len(g.Hosts))
	)
	onReport := func(host string, rep triage.Report, err error) {
		mu.Lock()
		defer mu.Unlock()
		i, ok := member[host]
		if over || !ok || reported[i] {
			r.log.WarnContext(ctx, "batch triager reported a host not asked, again or too late; dropped", "group", g.Name, "host", host)
			return
		}
		res := s.outcome(ctx, r, host, started, rep, err)
		res.i = i
		reported[i] = true
		send(res)
	}
	var err error
	p := catch("sweep of "+g.Name, func() { err = bt.Sweep(ctx, g.Name, names, onReport) })
	mu.Lock()
	over = true
	mu.Unlock()

	missing := len(g.Hosts) - len(reported)
	var why string
	switch {
	case p != nil:
		text, ref := s.notifier.Explain(p)
		args := []any{"group", g.Name}
		if ref != "" {
			args = append(args, "ref", ref)
		}
		s.logPanic(ctx, r, p, args...)
		gp.add(p.where + " panicked: " + text)
		why = text
	case missing == 0:
		if err != nil && ctx.Err() == nil {
			// Every host has its outcome; the reasons are the log's.
			r.log.WarnContext(ctx, "batch sweep of a group ended with errors", "group", g.Name, "err", err)
		}
		return
	case ctx.Err() != nil:
	case err != nil:
		why = s.explain(ctx, r, err, "hosts of a group not triaged", "group", g.Name, "hosts", missing)
	default:
		why = s.explain(ctx, r, fmt.Errorf("the sweep of %s did not report %d hosts", g.Name, missing),
			"batch triager left hosts unreported", "group", g.Name)
	}
	if ctx.Err() != nil {
		why = DeadlineError
	}
	for _, i := range g.Hosts {
		if !reported[i] {
			send(hostResult{i: i, state: unknownState(hosts[i], started, why)})
		}
	}
}
