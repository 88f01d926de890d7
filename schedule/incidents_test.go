package schedule

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"sync"
	"testing"
	"testing/synctest"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/store"
	"github.com/authtriage/authtriage/triage"
)

// findingSignatures stands for correlate.Signatures: one signature per finding,
// about nothing in particular.
func findingSignatures(rep triage.Report) []triage.Signature {
	var sigs []triage.Signature
	for _, f := range rep.Findings {
		sigs = append(sigs, triage.Signature{Host: "as the report names it", Cause: f.Cause, Severity: f.Severity})
	}
	return sigs
}

// byCause is a fake correlator: one incident per cause seen on two hosts or
// more, with the hosts checked that lack it, in the order of the causes' names
// (not worst first). It records what it was given.
type byCause struct {
	mu      sync.Mutex
	sigs    []triage.Signature
	checked []string
}

func (c *byCause) correlate(sigs []triage.Signature, checked []string) []triage.Incident {
	c.mu.Lock()
	c.sigs, c.checked = slices.Clone(sigs), slices.Clone(checked)
	c.mu.Unlock()
	hosts := map[triage.CauseID][]triage.Signature{}
	for _, s := range sigs {
		hosts[s.Cause] = append(hosts[s.Cause], s)
	}
	var out []triage.Incident
	for cause, ss := range hosts {
		if len(ss) < 2 {
			continue
		}
		in := triage.Incident{ID: "inc-" + string(cause), Cause: cause, Severity: ss[0].Severity}
		for _, s := range ss {
			in.Hosts = append(in.Hosts, triage.IncidentHost{Host: s.Host, ReportID: s.ReportID})
		}
		for _, h := range checked {
			if !slices.ContainsFunc(ss, func(s triage.Signature) bool { return s.Host == h }) {
				in.Unaffected = append(in.Unaffected, h)
			}
		}
		out = append(out, in)
	}
	slices.SortFunc(out, func(a, b triage.Incident) int { return cmp.Compare(a.Cause, b.Cause) })
	return out
}

// A run hands the signatures of its hosts' reports, named as the schedule names
// the hosts and by the IDs the Store saved the reports under, to the
// correlator with the hosts triaged, and its summary has the incidents worst
// first. The Store keeps each report's signatures.
func TestRunTickIncidents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock(start)
		st := newFakeStore(clk)
		sc := hourly("a", "b", "c", "d", "e", "f", "g", "h")
		tr := newScriptedTriager()
		tr.id = func() string { return "samesame" } // the Store gives each its own
		tr.set("a", triage.StatusCritical, triage.DCUnreachable)
		tr.set("b", triage.StatusCritical, triage.DCUnreachable, triage.SPNMissing)
		tr.set("c", triage.StatusCritical, triage.DCUnreachable)
		tr.set("d", triage.StatusWarning, triage.AccountLockedOut)
		tr.set("e", triage.StatusWarning, triage.AccountLockedOut)
		// Warnings on more hosts than the critical cause: still after it.
		tr.set("f", triage.StatusWarning, triage.AccountLockedOut)
		tr.set("h", triage.StatusWarning, triage.AccountLockedOut)
		tr.before = func(ctx context.Context, host string) error {
			if host == "g" {
				return triage.ErrNotInInventory
			}
			return nil
		}
		corr := &byCause{}
		r := newReplica(t, "replica-1", clk, st, tr, sc)
		r.signatures, r.correlate = findingSignatures, corr.correlate
		if err := r.RunTick(t.Context(), sc, start); err != nil {
			t.Fatal(err)
		}
		s := r.notifier.posted()[0]
		if s.Problems != nil {
			t.Errorf("Problems = %q; want none", s.Problems)
		}
		ids := map[string]string{}
		for _, h := range s.Run.Hosts {
			ids[h.Host] = h.ReportID
		}
		if want := []string{"a", "b", "c", "d", "e", "f", "h"}; !slices.Equal(corr.checked, want) {
			t.Errorf("checked = %q; want the hosts triaged, %q", corr.checked, want)
		}
		type line struct{ Host, ReportID string }
		var got, want []line
		for _, sig := range corr.sigs {
			got = append(got, line{sig.Host, sig.ReportID})
		}
		for _, h := range []string{"a", "b", "b", "c", "d", "e", "f", "h"} {
			want = append(want, line{h, ids[h]})
		}
		if diff := gocmp.Diff(want, got); diff != "" {
			t.Errorf("signatures correlated (-want +got):\n%s", diff)
		}
		var incidents []string
		for _, in := range s.Incidents {
			var hosts []string
			for _, h := range in.Hosts {
				if h.ReportID != ids[h.Host] {
					t.Errorf("incident %s: host %s with report %q; want %q", in.ID, h.Host, h.ReportID, ids[h.Host])
				}
				hosts = append(hosts, h.Host)
			}
			incidents = append(incidents, fmt.Sprintf("%s %v unaffected %v", in.ID, hosts, in.Unaffected))
		}
		if diff := gocmp.Diff([]string{
			"inc-dc.unreachable [a b c] unaffected [d e f h]",
			"inc-account.locked_out [d e f h] unaffected [a b c]",
		}, incidents); diff != "" {
			t.Errorf("Incidents (-want +got):\n%s", diff)
		}
		saved := st.savedReports()
		if rec := saved[ids["b"]]; len(rec.Signatures) != 2 || rec.Signatures[1].Cause != triage.SPNMissing || rec.Signatures[0].Host != "b" {
			t.Errorf("report of b saved with signatures %+v; want its two, naming b", rec.Signatures)
		}
		if rec := saved[ids["a"]]; len(rec.Signatures) != 1 {
			t.Errorf("report of a saved with signatures %+v; want one", rec.Signatures)
		}
	})
}

// A correlator that panics costs the run its incidents, not its summary.
func TestRunTickCorrelatorPanics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock(start)
		st := newFakeStore(clk)
		sc := hourly("a", "b")
		r := newReplica(t, "replica-1", clk, st, nil, sc)
		r.signatures = findingSignatures
		r.correlate = func([]triage.Signature, []string) []triage.Incident { panic("correlator bug") }
		if err := r.RunTick(t.Context(), sc, start); err != nil {
			t.Fatal(err)
		}
		s := r.notifier.posted()[0]
		if want := []string{"correlation panicked: an internal error (reference r1)"}; !slices.Equal(s.Problems, want) || s.Incidents != nil {
			t.Errorf("Problems = %q, Incidents = %v; want %q and none", s.Problems, s.Incidents, want)
		}
		if log := r.logs.String(); !regexp.MustCompile(`recovered from a panic.*panic="correlator bug".* ref=r1`).MatchString(log) {
			t.Errorf("the log lacks the panic with its reference:\n%s", log)
		}
	})
}

// batchStore refuses every batch (AddReports), and one host's report however
// it is saved.
type batchStore struct {
	*fakeStore
	mu      sync.Mutex
	batches []int // the sizes of the batches it was given
	refuse  string
}

func (s *batchStore) AddReports(ctx context.Context, rs []store.Record) ([]string, error) {
	s.mu.Lock()
	s.batches = append(s.batches, len(rs))
	s.mu.Unlock()
	return nil, fmt.Errorf("add %d reports: database is locked", len(rs))
}

func (s *batchStore) AddReport(ctx context.Context, r store.Record) (string, error) {
	if r.Report.Host == s.refuse {
		return "", fmt.Errorf("add report of %s: value too large", r.Report.Host)
	}
	return s.fakeStore.AddReport(ctx, r)
}

// Reports go to the Store in batches of saveBatch; a batch the Store refuses is
// saved one report at a time, and a report that still cannot be saved is
// counted in the summary's Problems, never lost unsaid. Every report has its
// own ID, though their triages all drew the same.
func TestRunTickSavesReportsInBatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clk := newFakeClock(start)
		var hosts []string
		for i := range 2*saveBatch + 50 {
			hosts = append(hosts, fmt.Sprintf("sql%03d", i))
		}
		sc := hourly(hosts...)
		sc.Concurrency = 32
		tr := newScriptedTriager()
		tr.id = func() string { return "samesame" }

		st := newFakeStore(clk)
		r := newReplica(t, "replica-1", clk, st, tr, sc)
		if err := r.RunTick(t.Context(), sc, start); err != nil {
			t.Fatal(err)
		}
		s := r.notifier.posted()[0]
		ids := map[string]bool{}
		for _, h := range s.Run.Hosts {
			ids[h.ReportID] = true
		}
		if s.Problems != nil || len(ids) != len(hosts) || len(st.savedReports()) != len(hosts) || ids[""] {
			t.Errorf("Problems %q, %d report IDs, %d reports saved; want none, and %d of each", s.Problems, len(ids), len(st.savedReports()), len(hosts))
		}

		bs := &batchStore{fakeStore: newFakeStore(clk), refuse: "sql007"}
		r = newReplica(t, "replica-1", clk, bs, tr, sc)
		if err := r.RunTick(t.Context(), sc, start); err != nil {
			t.Fatal(err)
		}
		s = r.notifier.posted()[0]
		if want := []string{fmt.Sprintf("1 of %d reports could not be saved: an internal error (reference r1)", len(hosts))}; !slices.Equal(s.Problems, want) {
			t.Errorf("Problems = %q; want %q", s.Problems, want)
		}
		if want := []int{saveBatch, saveBatch, 50}; !slices.Equal(bs.batches, want) {
			t.Errorf("batches of %v; want %v", bs.batches, want)
		}
		saved := bs.savedReports()
		for _, h := range s.Run.Hosts {
			_, ok := saved[h.ReportID]
			if h.Host == "sql007" && (h.ReportID != "" || h.Status != triage.StatusOK) {
				t.Errorf("host %+v; want ok without a report ID, its report not saved", h)
			} else if h.Host != "sql007" && !ok {
				t.Errorf("host %+v: report not saved", h)
			}
		}
		log := r.logs.String()
		for _, want := range []string{
			`level=WARN msg="cannot save a batch of reports; saving them one at a time" .* reports=100 err="add 100 reports: database is locked"`,
			`level=ERROR msg="1 of 250 reports could not be saved" .* err="add report of sql007: value too large" ref=r1`,
		} {
			if !regexp.MustCompile(want).MatchString(log) {
				t.Errorf("the log lacks %s:\n%s", want, log)
			}
		}
	})
}
