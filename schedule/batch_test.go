package schedule

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/triage"
)

// batchTriager is a BatchTriager over a scriptedTriager: Batches returns groups
// as set, and Sweep reports each host of a group with the script's report, in
// the order given, unless sweep is set. It records the hosts each triaged.
type batchTriager struct {
	*scriptedTriager
	groups map[string][]string
	// sweep, when set, replaces the default Sweep; report reports a host as
	// the default does.
	sweep func(ctx context.Context, group string, hosts []string, report func(host string)) error

	mu     sync.Mutex
	single []string            // hosts asked of Triage
	swept  map[string][]string // hosts asked of Sweep, by group
}

func newBatchTriager(groups map[string][]string) *batchTriager {
	return &batchTriager{scriptedTriager: newScriptedTriager(), groups: groups, swept: map[string][]string{}}
}

func (b *batchTriager) Triage(ctx context.Context, host string) (triage.Report, error) {
	b.mu.Lock()
	b.single = append(b.single, host)
	b.mu.Unlock()
	return b.scriptedTriager.Triage(ctx, host)
}

func (b *batchTriager) Batches(ctx context.Context, hosts []string) map[string][]string {
	return b.groups
}

func (b *batchTriager) Sweep(ctx context.Context, group string, hosts []string, onReport func(string, triage.Report, error)) error {
	b.mu.Lock()
	b.swept[group] = slices.Clone(hosts)
	b.mu.Unlock()
	report := func(h string) {
		rep, err := b.scriptedTriager.Triage(ctx, h)
		onReport(h, rep, err)
	}
	if b.sweep != nil {
		return b.sweep(ctx, group, hosts, report)
	}
	for _, h := range hosts {
		report(h)
	}
	return nil
}

func (b *batchTriager) asked() (single []string, swept map[string][]string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	single = slices.Clone(b.single)
	slices.Sort(single)
	return single, b.swept
}

// newBatchReplica is a replica whose Triager is tr, keeping findingSignatures.
func newBatchReplica(t *testing.T, clk Clock, st Store, tr *batchTriager) (*Scheduler, *recordingNotifier) {
	t.Helper()
	n := &recordingNotifier{}
	s, err := New(Options{
		Triager: tr, Store: st, Notifier: n, Holder: "replica-1", Clock: clk,
		Signatures: findingSignatures, Log: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, n
}

// hostsByName returns a run's host states by host.
func hostsByName(run triage.FleetRun) map[string]triage.HostState {
	out := map[string]triage.HostState{}
	for _, h := range run.Hosts {
		out[h.Host] = h
	}
	return out
}

// The hosts a BatchTriager groups are swept with Sweep, a group at a time, and
// the others triaged one by one; every host's report is saved with its
// signatures and named in its state, as a pooled triage's is. A name Batches
// gives that is not the schedule's, or that a group already has, is not swept
// twice.
func TestSweepBatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock(start)
		st := newFakeStore(clk)
		tr := newBatchTriager(map[string][]string{
			"east": {"d", "b"},
			"west": {"e", "not-scheduled", "b"},
		})
		tr.set("d", triage.StatusCritical, triage.SPNDuplicate)
		tr.set("a", triage.StatusWarning, triage.AccountLockedOut)
		s, n := newBatchReplica(t, clk, st, tr)
		sc := hourly("a", "b", "c", "d", "e")
		if err := s.RunTick(t.Context(), sc, start); err != nil {
			t.Fatal(err)
		}

		single, swept := tr.asked()
		if diff := cmp.Diff([]string{"a", "c"}, single); diff != "" {
			t.Errorf("Triage asked (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[string][]string{"east": {"b", "d"}, "west": {"e"}}, swept); diff != "" {
			t.Errorf("Sweep asked (-want +got):\n%s", diff)
		}

		posted := n.posted()
		if len(posted) != 1 {
			t.Fatalf("%d summaries; want 1", len(posted))
		}
		hosts := hostsByName(posted[0].Run)
		want := map[string]triage.Status{"a": triage.StatusWarning, "b": triage.StatusOK, "c": triage.StatusOK,
			"d": triage.StatusCritical, "e": triage.StatusOK}
		saved := st.savedReports()
		if len(saved) != len(want) {
			t.Errorf("%d reports saved; want %d", len(saved), len(want))
		}
		for h, status := range want {
			got := hosts[h]
			if got.Status != status || got.Error != "" {
				t.Errorf("host %s: status %s, error %q; want %s and no error", h, got.Status, got.Error, status)
			}
			rec, ok := saved[got.ReportID]
			if !ok || rec.Report.Host != h {
				t.Errorf("host %s: its state names report %q, which the store does not have for it", h, got.ReportID)
			}
		}
		rec := saved[hosts["d"].ReportID]
		if len(rec.Signatures) != 1 || rec.Signatures[0].Host != "d" || rec.Signatures[0].Cause != triage.SPNDuplicate ||
			rec.Signatures[0].ReportID != hosts["d"].ReportID {
			t.Errorf("d's saved signatures = %+v; want one SPNDuplicate naming d and its report", rec.Signatures)
		}
	})
}

// A batch that fails leaves none of its hosts out: those it reported keep their
// outcome, the others are unknown with the Notifier's words for the error, as
// a host whose Triage failed is; a panic in Sweep does the same and is a
// problem of the run.
func TestSweepBatchFails(t *testing.T) {
	for _, tt := range []struct {
		name    string
		fail    func() error
		problem string
	}{
		{"error", func() error { return errors.New("agent east: batch of 3 hosts: connection reset") }, ""},
		{"panic", func() error { panic("batch client bug") }, "sweep of east panicked: an internal error (reference r1)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				clk := newFakeClock(start)
				st := newFakeStore(clk)
				tr := newBatchTriager(map[string][]string{"east": {"b", "c", "d"}})
				tr.sweep = func(ctx context.Context, group string, hosts []string, report func(string)) error {
					report(hosts[0])
					return tt.fail()
				}
				s, n := newBatchReplica(t, clk, st, tr)
				if err := s.RunTick(t.Context(), hourly("a", "b", "c", "d"), start); err != nil {
					t.Fatal(err)
				}
				sum := n.posted()[0]
				hosts := hostsByName(sum.Run)
				if len(hosts) != 4 {
					t.Fatalf("run has %d hosts; want 4", len(hosts))
				}
				for _, h := range []string{"a", "b"} {
					if got := hosts[h]; got.Status != triage.StatusOK || got.ReportID == "" {
						t.Errorf("host %s = %+v; want ok with its report", h, got)
					}
				}
				for _, h := range []string{"c", "d"} {
					got := hosts[h]
					if got.Status != triage.StatusUnknown || !strings.HasPrefix(got.Error, "an internal error (reference r") || got.ReportID != "" {
						t.Errorf("host %s = %+v; want unknown with the Notifier's words", h, got)
					}
				}
				var want []string
				if tt.problem != "" {
					want = []string{tt.problem}
				}
				if diff := cmp.Diff(want, sum.Problems); diff != "" {
					t.Errorf("Problems (-want +got):\n%s", diff)
				}
			})
		})
	}
}

// A sweep in progress ends with the run: when the run's deadline passes, the
// hosts a batch had not reported are unknown with DeadlineError and those it
// had keep their outcome; when the run's context is canceled, Sweep's context
// ends with it and the run is abandoned, nothing posted.
func TestSweepBatchEnds(t *testing.T) {
	// blocking reports its group's first host and waits for its context.
	blocking := func(reported chan<- struct{}, returned chan<- error) func(context.Context, string, []string, func(string)) error {
		return func(ctx context.Context, group string, hosts []string, report func(string)) error {
			report(hosts[0])
			close(reported)
			<-ctx.Done()
			returned <- context.Cause(ctx)
			return context.Cause(ctx)
		}
	}
	t.Run("deadline", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			clk := newFakeClock(start)
			st := newFakeStore(clk)
			tr := newBatchTriager(map[string][]string{"east": {"b", "c"}})
			reported, returned := make(chan struct{}), make(chan error, 1)
			tr.sweep = blocking(reported, returned)
			s, n := newBatchReplica(t, clk, st, tr)
			sc := hourly("a", "b", "c")
			sc.Deadline = time.Minute
			done := make(chan error, 1)
			go func() { done <- s.RunTick(t.Context(), sc, start) }()
			<-reported
			synctest.Wait()
			clk.Advance(time.Minute)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if err := <-returned; !errors.Is(err, errDeadline) {
				t.Errorf("Sweep's context ended with %v; want the run's deadline", err)
			}
			hosts := hostsByName(n.posted()[0].Run)
			if got := hosts["b"]; got.Status != triage.StatusOK || got.ReportID == "" {
				t.Errorf("b = %+v; want ok with its report", got)
			}
			if got := hosts["c"]; got.Status != triage.StatusUnknown || got.Error != DeadlineError {
				t.Errorf("c = %+v; want unknown with %q", got, DeadlineError)
			}
		})
	})
	t.Run("canceled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			clk := newFakeClock(start)
			st := newFakeStore(clk)
			tr := newBatchTriager(map[string][]string{"east": {"b", "c"}})
			reported, returned := make(chan struct{}), make(chan error, 1)
			tr.sweep = blocking(reported, returned)
			s, n := newBatchReplica(t, clk, st, tr)
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- s.RunTick(ctx, hourly("a", "b", "c"), start) }()
			<-reported
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Errorf("RunTick = %v; want the run canceled", err)
			}
			if err := <-returned; !errors.Is(err, context.Canceled) {
				t.Errorf("Sweep's context ended with %v; want canceled", err)
			}
			if got := n.posted(); len(got) != 0 {
				t.Errorf("%d summaries posted; want none", len(got))
			}
		})
	})
}
