package store

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/triage"
)

// run returns a run of schedule at tick over two hosts.
func run(schedule string, tick time.Time) triage.FleetRun {
	return triage.FleetRun{
		Schedule: schedule,
		Tick:     tick,
		Started:  tick.Add(time.Second),
		Finished: tick.Add(42 * time.Second),
		Hosts: []triage.HostState{
			{Host: "sql01", ReportID: "r1", Status: triage.StatusWarning, Causes: []triage.CauseID{triage.SPNMissing}, StartedAt: tick.Add(2 * time.Second)},
			{Host: "sql02", Status: triage.StatusUnknown, Error: "agent unreachable"},
		},
	}
}

func TestRuns(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		est := time.FixedZone("EST", -5*3600)
		first := run("nightly", t0)
		second := run("nightly", t0.Add(24*time.Hour).In(est)) // any zone; given back in UTC
		other := run("hourly", t0.Add(time.Hour))
		for _, r := range []triage.FleetRun{first, second, other} {
			if err := db.SaveRun(ctx, r); err != nil {
				t.Fatalf("SaveRun: %v", err)
			}
		}
		// Saved again once the summary was posted: replaced.
		first.Posted = "C1/1700000000.000200"
		if err := db.SaveRun(ctx, first); err != nil {
			t.Fatalf("SaveRun again: %v", err)
		}

		for _, tc := range []struct {
			name   string
			before time.Time
			want   *triage.FleetRun
		}{
			{"before the second", second.Tick, &first},
			{"just after the second", second.Tick.Add(time.Microsecond), &second},
			{"long after", t0.Add(1000 * time.Hour), &second},
			{"at the first", t0, nil},
		} {
			got, err := db.LastRun(ctx, "nightly", tc.before)
			if tc.want == nil {
				if !errors.Is(err, ErrNotFound) {
					t.Errorf("LastRun %s = %v, %v; want ErrNotFound", tc.name, got, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("LastRun %s: %v", tc.name, err)
				continue
			}
			if diff := cmp.Diff(*tc.want, got); diff != "" {
				t.Errorf("LastRun %s (-want +got):\n%s", tc.name, diff)
			}
		}

		got, err := db.Run(ctx, "nightly", t0)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if diff := cmp.Diff(first, got); diff != "" {
			t.Errorf("Run (-want +got):\n%s", diff)
		}
		if got.Tick.Location() != time.UTC {
			t.Errorf("Run tick %v is not in UTC", got.Tick)
		}
		if _, err := db.Run(ctx, "nightly", t0.Add(time.Hour)); !errors.Is(err, ErrNotFound) {
			t.Errorf("Run of a tick without a run = %v; want ErrNotFound", err)
		}
		if _, err := db.Run(ctx, "weekly", t0); !errors.Is(err, ErrNotFound) {
			t.Errorf("Run of an unknown schedule = %v; want ErrNotFound", err)
		}
		if n := count(t, db, "runs"); n != 3 {
			t.Errorf("%d runs stored; want 3", n)
		}
	})
}

func TestSaveRunDoesNotChangeItsArgument(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		r := run("nightly", t0.Add(789*time.Nanosecond))
		want := run("nightly", t0.Add(789*time.Nanosecond))
		if err := db.SaveRun(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		if r.Hosts[0].StartedAt != want.Hosts[0].StartedAt {
			t.Errorf("SaveRun changed the caller's hosts: %v, was %v", r.Hosts[0].StartedAt, want.Hosts[0].StartedAt)
		}
		got, err := db.Run(t.Context(), "nightly", t0.Add(789*time.Nanosecond))
		if err != nil {
			t.Fatal(err)
		}
		if !got.Tick.Equal(t0) {
			t.Errorf("Run tick = %v; want %v (truncated to the microsecond)", got.Tick, t0)
		}
	})
}

// TestRunPostedMigration applies the migration that keeps where a run's
// summary was posted as one value to runs saved before it, with Slack's
// channel and thread_ts: they become "CHANNEL/THREAD_TS", and the rest of the
// run is kept as it was, escapes included.
func TestRunPostedMigration(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, o Options) {
		ctx := t.Context()
		db := openTest(t, o)
		if _, err := db.sql.ExecContext(ctx, `DELETE FROM schema_migrations WHERE name = 'run_posted'`); err != nil {
			t.Fatal(err)
		}
		posted, quiet := run("nightly", t0), run("nightly", t0.Add(time.Hour))
		posted.Hosts[1].Error = "agent said \u0000 and \u2028 \"quoted\""
		for _, tc := range []struct {
			run    triage.FleetRun
			legacy string // the members the run had before the migration
		}{
			{posted, `"channel":"C0FLEET","thread_ts":"1700000000.000100"`},
			{quiet, ``},
		} {
			doc, err := json.Marshal(tc.run)
			if err != nil {
				t.Fatal(err)
			}
			if tc.legacy != "" {
				doc = append(append(doc[:len(doc)-1], ","+tc.legacy...), '}')
			}
			if _, err := db.sql.ExecContext(ctx, `INSERT INTO runs (schedule, tick, run) VALUES ($1, $2, $3)`,
				tc.run.Schedule, micros(tc.run.Tick), string(doc)); err != nil {
				t.Fatal(err)
			}
		}
		reopened := openTest(t, o)
		posted.Posted = "C0FLEET/1700000000.000100"
		for _, want := range []triage.FleetRun{posted, quiet} {
			got, err := reopened.Run(ctx, want.Schedule, want.Tick)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("run of %v after the migration (-want +got):\n%s", want.Tick, diff)
			}
		}
		var legacy int
		if err := reopened.sql.QueryRowContext(ctx, `SELECT count(*) FROM runs WHERE run LIKE '%thread_ts%' OR run LIKE '%"channel"%'`).Scan(&legacy); err != nil {
			t.Fatal(err)
		}
		if legacy != 0 {
			t.Errorf("%d runs still hold channel or thread_ts; want none", legacy)
		}
	})
}
