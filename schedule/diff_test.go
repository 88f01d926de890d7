package schedule

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/authtriage/authtriage/triage"
)

func hs(host string, status triage.Status, causes ...triage.CauseID) triage.HostState {
	return triage.HostState{Host: host, ReportID: "r-" + host, Status: status, Causes: causes}
}

func fleet(hosts ...triage.HostState) triage.FleetRun {
	return triage.FleetRun{Schedule: "nightly", Hosts: hosts}
}

func TestDiff(t *testing.T) {
	const (
		ok       = triage.StatusOK
		warning  = triage.StatusWarning
		unknown  = triage.StatusUnknown
		critical = triage.StatusCritical
		dup      = triage.SPNDuplicate
		dc       = triage.DCUnreachable
		skew     = triage.ClockSkew
	)
	down := func(host string, causes ...triage.CauseID) triage.HostState { // could not be triaged
		return triage.HostState{Host: host, Status: unknown, Error: "agent unreachable", Causes: causes}
	}
	type want struct {
		Counts        map[triage.Status]int
		Worse, Better []Change
		NotChecked    []Change
		New, Resolved []CauseChange
		Changed       bool
	}
	tests := []struct {
		name string
		prev *triage.FleetRun
		cur  triage.FleetRun
		want want
	}{
		{
			name: "first run is a change with nothing to compare",
			cur:  fleet(hs("a", critical, dup), hs("b", ok)),
			want: want{Counts: map[triage.Status]int{critical: 1, ok: 1}, Changed: true},
		},
		{
			name: "unchanged",
			prev: new(fleet(hs("a", critical, dup), hs("b", ok))),
			cur:  fleet(hs("a", critical, dup), hs("b", ok)),
			want: want{Counts: map[triage.Status]int{critical: 1, ok: 1}},
		},
		{
			name: "worse, with a new cause",
			prev: new(fleet(hs("a", ok), hs("b", warning, skew))),
			cur:  fleet(hs("a", critical, dup), hs("b", warning, skew)),
			want: want{
				Counts:  map[triage.Status]int{critical: 1, warning: 1},
				Worse:   []Change{{Host: "a", From: ok, To: critical, ReportID: "r-a"}},
				New:     []CauseChange{{Host: "a", Cause: dup, ReportID: "r-a"}},
				Changed: true,
			},
		},
		{
			name: "better, with a resolved cause",
			prev: new(fleet(hs("a", critical, dc, dup))),
			cur:  fleet(hs("a", critical, dup)),
			want: want{
				Counts:   map[triage.Status]int{critical: 1},
				Resolved: []CauseChange{{Host: "a", Cause: dc, ReportID: "r-a"}},
				Changed:  true,
			},
		},
		{
			name: "unknown ranks above warning",
			prev: new(fleet(hs("a", warning, skew), hs("b", unknown), hs("c", critical, dc))),
			cur:  fleet(hs("a", unknown, skew), hs("b", warning), hs("c", unknown)),
			want: want{
				Counts: map[triage.Status]int{unknown: 2, warning: 1},
				Worse:  []Change{{Host: "a", From: warning, To: unknown, ReportID: "r-a"}},
				Better: []Change{{Host: "b", From: unknown, To: warning, ReportID: "r-b"}},
				// c's report is incomplete: not better, and dc not seen to go.
				NotChecked: []Change{{Host: "c", From: critical, To: unknown, ReportID: "r-c"}},
				Changed:    true,
			},
		},
		{
			name: "all ok again",
			prev: new(fleet(hs("a", critical, dup, dc), hs("b", warning, skew))),
			cur:  fleet(hs("a", ok), hs("b", ok)),
			want: want{
				Counts: map[triage.Status]int{ok: 2},
				Better: []Change{
					{Host: "a", From: critical, To: ok, ReportID: "r-a"},
					{Host: "b", From: warning, To: ok, ReportID: "r-b"},
				},
				Resolved: []CauseChange{
					{Host: "a", Cause: dc, ReportID: "r-a"},
					{Host: "a", Cause: dup, ReportID: "r-a"},
					{Host: "b", Cause: skew, ReportID: "r-b"},
				},
				Changed: true,
			},
		},
		{
			name: "a host joins with causes, another leaves",
			prev: new(fleet(hs("a", ok), hs("gone", critical, dc))),
			cur:  fleet(hs("a", ok), hs("c", critical, dup, skew), hs("d", ok)),
			want: want{
				Counts: map[triage.Status]int{ok: 2, critical: 1},
				Worse:  []Change{{Host: "c", To: critical, ReportID: "r-c"}},
				New: []CauseChange{
					{Host: "c", Cause: skew, ReportID: "r-c"},
					{Host: "c", Cause: dup, ReportID: "r-c"},
				},
				Changed: true,
			},
		},
		{
			name: "a host leaves: a change, nothing resolved",
			prev: new(fleet(hs("a", ok), hs("gone", critical, dc))),
			cur:  fleet(hs("a", ok)),
			want: want{Counts: map[triage.Status]int{ok: 1}, Changed: true},
		},
		{
			name: "same status, a cause swapped",
			prev: new(fleet(hs("a", critical, dc))),
			cur:  fleet(hs("a", critical, dup)),
			want: want{
				Counts:   map[triage.Status]int{critical: 1},
				New:      []CauseChange{{Host: "a", Cause: dup, ReportID: "r-a"}},
				Resolved: []CauseChange{{Host: "a", Cause: dc, ReportID: "r-a"}},
				Changed:  true,
			},
		},
		{
			name: "a host that could not be triaged resolves nothing and is not better",
			prev: new(fleet(hs("a", critical, dc, dup), hs("b", ok))),
			cur:  fleet(down("a"), hs("b", ok)),
			want: want{
				Counts:     map[triage.Status]int{unknown: 1, ok: 1},
				NotChecked: []Change{{Host: "a", From: critical, To: unknown}},
				Changed:    true,
			},
		},
		{
			name: "an ok host that could not be triaged is not worse",
			prev: new(fleet(hs("a", ok))),
			cur:  fleet(down("a")),
			want: want{
				Counts:     map[triage.Status]int{unknown: 1},
				NotChecked: []Change{{Host: "a", From: ok, To: unknown}},
				Changed:    true,
			},
		},
		{
			name: "a host that joins untriaged is not checked, not worse",
			prev: new(fleet(hs("a", ok))),
			cur:  fleet(hs("a", ok), down("new")),
			want: want{
				Counts:     map[triage.Status]int{ok: 1, unknown: 1},
				NotChecked: []Change{{Host: "new", To: unknown}},
				Changed:    true,
			},
		},
		{
			name: "still not triaged, with the causes carried: no change",
			prev: new(fleet(down("a", dup))),
			cur:  fleet(down("a")),
			want: want{Counts: map[triage.Status]int{unknown: 1}},
		},
		{
			name: "triaged again: compared with the causes carried",
			prev: new(fleet(down("a", dup, dc), down("b", skew))),
			cur:  fleet(hs("a", critical, dup), hs("b", ok)),
			want: want{
				Counts:   map[triage.Status]int{critical: 1, ok: 1},
				Worse:    []Change{{Host: "a", From: unknown, To: critical, ReportID: "r-a"}},
				Better:   []Change{{Host: "b", From: unknown, To: ok, ReportID: "r-b"}},
				Resolved: []CauseChange{{Host: "a", Cause: dc, ReportID: "r-a"}, {Host: "b", Cause: skew, ReportID: "r-b"}},
				Changed:  true,
			},
		},
		{
			name: "a new report ID alone is no change",
			prev: new(fleet(triage.HostState{Host: "a", ReportID: "old", Status: unknown, Error: "timeout"})),
			cur:  fleet(triage.HostState{Host: "a", ReportID: "new", Status: unknown, Error: "refused"}),
			want: want{Counts: map[triage.Status]int{unknown: 1}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Diff(tt.prev, tt.cur)
			got := want{s.Counts, s.Worse, s.Better, s.NotChecked, s.New, s.Resolved, s.Changed}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Diff mismatch (-want +got):\n%s", diff)
			}
			if s.Previous != tt.prev {
				t.Errorf("Diff: Previous = %p; want %p", s.Previous, tt.prev)
			}
		})
	}
}

func TestDiffOrderIsByHostThenCause(t *testing.T) {
	prev := fleet(hs("b", triage.StatusOK), hs("a", triage.StatusOK))
	cur := fleet(hs("b", triage.StatusCritical, dupAndDC()...), hs("a", triage.StatusCritical, dupAndDC()...))
	s := Diff(&prev, cur)
	var got []string
	for _, c := range s.New {
		got = append(got, c.Host+" "+string(c.Cause))
	}
	want := []string{"a dc.unreachable", "a spn.duplicate", "b dc.unreachable", "b spn.duplicate"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Diff: New order mismatch (-want +got):\n%s", diff)
	}
	if s.Worse[0].Host != "a" || s.Worse[1].Host != "b" {
		t.Errorf("Diff: Worse = %v; want a then b", s.Worse)
	}
}

func dupAndDC() []triage.CauseID { return []triage.CauseID{triage.SPNDuplicate, triage.DCUnreachable} }

func TestRank(t *testing.T) {
	order := []triage.Status{triage.StatusOK, triage.StatusWarning, triage.StatusUnknown, triage.StatusCritical}
	for i := 1; i < len(order); i++ {
		if Rank(order[i-1]) >= Rank(order[i]) {
			t.Errorf("Rank(%s) = %d, Rank(%s) = %d; want the first lower", order[i-1], Rank(order[i-1]), order[i], Rank(order[i]))
		}
	}
	if Rank("bogus") != Rank(triage.StatusUnknown) {
		t.Errorf("Rank(bogus) = %d; want unknown's %d", Rank("bogus"), Rank(triage.StatusUnknown))
	}
}

func TestBaseline(t *testing.T) {
	const (
		critical = triage.StatusCritical
		dup      = triage.SPNDuplicate
		skew     = triage.ClockSkew
		dc       = triage.DCUnreachable
	)
	down := func(host string, causes ...triage.CauseID) triage.HostState {
		return triage.HostState{Host: host, Status: triage.StatusUnknown, Error: "agent unreachable", Causes: causes}
	}
	tests := []struct {
		name string
		prev *triage.FleetRun
		cur  triage.FleetRun
		want triage.FleetRun
	}{
		{
			name: "first run: kept as it is",
			cur:  fleet(down("a"), hs("b", critical, dup)),
			want: fleet(down("a"), hs("b", critical, dup)),
		},
		{
			name: "untriaged hosts get their last known causes",
			prev: new(fleet(hs("a", critical, dup), hs("b", triage.StatusOK), hs("c", critical, skew))),
			cur:  fleet(down("a"), down("b"), hs("c", critical, dup), down("new")),
			want: fleet(down("a", dup), down("b"), hs("c", critical, dup), down("new")),
		},
		{
			name: "an incomplete report keeps the causes it could not see",
			prev: new(fleet(hs("a", critical, dup, skew))),
			cur:  fleet(hs("a", triage.StatusUnknown, dc)),
			want: fleet(hs("a", triage.StatusUnknown, dc, dup, skew)),
		},
		{
			name: "carried from run to run",
			prev: new(fleet(down("a", dup, skew))),
			cur:  fleet(down("a")),
			want: fleet(down("a", dup, skew)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := fleet(slices.Clone(tt.cur.Hosts)...)
			got := Baseline(tt.prev, tt.cur)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Baseline mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tt.cur, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Baseline changed its argument (-before +after):\n%s", diff)
			}
		})
	}
}
