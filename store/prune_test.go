package store

import (
	"testing"
	"time"

	"github.com/authtriage/authtriage/triage"
)

func TestPrune(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, o Options) {
		const retention = 24 * time.Hour
		clk := newClock(t0.Add(-72 * time.Hour))
		o.Now, o.Retention = clk.Now, retention
		db := openTest(t, o)
		ctx := t.Context()

		// Three days ago: a claim and a lease that expire within the hour.
		if _, err := db.Claim(ctx, "old", time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Lease(ctx, "old", "a", time.Hour); err != nil {
			t.Fatal(err)
		}
		clk.Set(t0)
		if _, err := db.Claim(ctx, "new", time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Lease(ctx, "new", "a", time.Hour); err != nil {
			t.Fatal(err)
		}
		// A claim that expired less than the retention ago stays.
		clk.Set(t0.Add(-2 * time.Hour))
		if _, err := db.Claim(ctx, "recent", time.Hour); err != nil {
			t.Fatal(err)
		}
		clk.Set(t0)

		for _, r := range []triage.Report{
			report("old", "sql01", t0.Add(-retention-time.Microsecond)),
			report("edge", "sql01", t0.Add(-retention)), // exactly the retention old: kept
			report("new", "sql01", t0.Add(-time.Hour)),
			report("gone", "sql09", t0.Add(-48*time.Hour)), // the host's only report
		} {
			if err := db.SaveReport(ctx, Record{Report: r}); err != nil {
				t.Fatal(err)
			}
		}
		for _, e := range []AuditEntry{{Time: t0.Add(-48 * time.Hour), Command: "old"}, {Time: t0, Command: "new"}} {
			if err := db.Audit(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		for _, r := range []triage.FleetRun{
			run("nightly", t0.Add(-48*time.Hour)),
			run("nightly", t0.Add(-time.Hour)),
			// A schedule that runs less often than the retention: its newest
			// run is the baseline of its next one, and stays.
			run("monthly", t0.Add(-40*24*time.Hour)),
			run("monthly", t0.Add(-10*24*time.Hour)),
		} {
			if err := db.SaveRun(ctx, r); err != nil {
				t.Fatal(err)
			}
		}

		n, err := db.Prune(ctx)
		if err != nil {
			t.Fatalf("Prune: %v", err)
		}
		if n != 7 {
			t.Errorf("Prune deleted %d rows; want 7 (2 reports, an audit entry, 2 runs, a claim, a lease)", n)
		}
		for table, want := range map[string]int{"reports": 2, "audit": 1, "runs": 2, "claims": 2, "leases": 1, "latest": 1} {
			if got := count(t, db, table); got != want {
				t.Errorf("%s has %d rows after Prune; want %d", table, got, want)
			}
		}
		hist, err := db.History(ctx, "sql01", 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := reportIDs(hist); len(got) != 2 || got[0] != "new" || got[1] != "edge" {
			t.Errorf("History after Prune = %v; want [new edge]", got)
		}
		latest, err := db.Latest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := reportIDs(latest); len(got) != 1 || got[0] != "new" {
			t.Errorf("Latest after Prune = %v; want [new]: the host whose reports were all pruned is gone", got)
		}
		for _, tc := range []struct {
			schedule string
			want     time.Time
		}{
			{"nightly", t0.Add(-time.Hour)},
			{"monthly", t0.Add(-10 * 24 * time.Hour)},
		} {
			if r, err := db.LastRun(ctx, tc.schedule, t0); err != nil || !r.Tick.Equal(tc.want) {
				t.Errorf("LastRun(%s) after Prune = %v, %v; want the run of %v", tc.schedule, r.Tick, err, tc.want)
			}
		}
		if n, err := db.Prune(ctx); err != nil || n != 0 {
			t.Errorf("second Prune = %d, %v; want 0, nil", n, err)
		}
	})
}

func TestDefaultRetention(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, o Options) {
		clk := newClock(t0)
		o.Now = clk.Now
		db := openTest(t, o)
		for _, r := range []triage.Report{
			report("old", "sql01", t0.Add(-91*24*time.Hour)),
			report("kept", "sql01", t0.Add(-89*24*time.Hour)),
		} {
			if err := db.SaveReport(t.Context(), Record{Report: r}); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := db.Prune(t.Context()); err != nil || n != 1 {
			t.Errorf("Prune = %d, %v; want 1, nil", n, err)
		}
	})
}

// TestPruneInBatches prunes more rows than one batch deletes.
func TestPruneInBatches(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, o Options) {
		clk := newClock(t0)
		o.Now, o.Retention = clk.Now, time.Hour
		db := openTest(t, o)
		const n = 2*pruneBatch + 7
		for i := range n {
			if err := db.Audit(t.Context(), AuditEntry{Time: t0.Add(-2*time.Hour - time.Duration(i)*time.Second), Command: "old"}); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Audit(t.Context(), AuditEntry{Time: t0, Command: "new"}); err != nil {
			t.Fatal(err)
		}
		if got, err := db.Prune(t.Context()); err != nil || got != n {
			t.Errorf("Prune = %d, %v; want %d, nil", got, err, n)
		}
		if got := count(t, db, "audit"); got != 1 {
			t.Errorf("audit has %d rows after Prune; want 1", got)
		}
	})
}
