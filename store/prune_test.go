package store

import (
	"testing"
	"time"

	"authtriage/triage"
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
		for _, r := range []triage.FleetRun{run("nightly", t0.Add(-48*time.Hour)), run("nightly", t0.Add(-time.Hour))} {
			if err := db.SaveRun(ctx, r); err != nil {
				t.Fatal(err)
			}
		}

		n, err := db.Prune(ctx)
		if err != nil {
			t.Fatalf("Prune: %v", err)
		}
		if n != 5 {
			t.Errorf("Prune deleted %d rows; want 5 (a report, an audit entry, a run, a claim, a lease)", n)
		}
		for table, want := range map[string]int{"reports": 2, "audit": 1, "runs": 1, "claims": 2, "leases": 1} {
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
