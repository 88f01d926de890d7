package store

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/triage"
)

// report returns a report on host started at, with a warning finding for each
// of causes.
func report(id, host string, at time.Time, causes ...triage.CauseID) triage.Report {
	r := triage.Report{ID: id, Host: host, Status: triage.StatusOK, StartedAt: at, Duration: 1500 * time.Millisecond}
	for _, c := range causes {
		r.Findings = append(r.Findings, triage.Finding{Cause: c, Severity: triage.Warning, Title: string(c)})
		r.Status = triage.StatusWarning
	}
	return r
}

// fullReport returns a report with every part the JSON form keeps filled in.
func fullReport() triage.Report {
	return triage.Report{
		ID:        "7kq2m9xd",
		Host:      "SQL01.corp.example",
		Status:    triage.StatusCritical,
		StartedAt: t0,
		Duration:  4*time.Second + 250*time.Millisecond,
		Findings: []triage.Finding{
			{
				Cause:    triage.SPNMissing,
				Severity: triage.Critical,
				Title:    "The SQL Server SPN is not registered",
				Summary:  "MSSQLSvc/sql01.corp.example:1433 is not registered",
				Evidence: []triage.Evidence{{
					Source:      triage.SourceErrorlog,
					Text:        "18456 state 8 \u0000 with a NUL",
					Time:        t0.Add(-time.Minute + 789*time.Nanosecond),
					First:       t0.Add(-time.Hour),
					Count:       12,
					Clients:     []string{"10.0.0.5", "10.0.0.6"},
					MoreClients: 3,
				}},
				Remediation: []triage.Step{{Text: "Register the SPN", Command: `setspn -S MSSQLSvc/sql01.corp.example:1433 CORP\svc_sql`}},
				Links:       []string{"https://learn.microsoft.com/x"},
			},
			{Cause: triage.ClockSkew, Severity: triage.Info, Title: "Clock skew (info)"},
			{Cause: triage.KerberosNTLMFallback, Severity: triage.Warning, Title: "NTLM fallback"},
		},
		Checks: []triage.CheckResult{
			{Name: "spn", Status: triage.CheckFail, Duration: 120 * time.Millisecond},
			{Name: "errorlog", Status: triage.CheckError, Duration: 3 * time.Second, Detail: "timed out"},
		},
	}
}

func TestReportRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		want := Record{Report: fullReport(), RequestedBy: "U123"}
		if err := db.SaveReport(ctx, want); err != nil {
			t.Fatalf("SaveReport: %v", err)
		}
		got, err := db.Report(ctx, want.Report.ID)
		if err != nil {
			t.Fatalf("Report: %v", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Report after SaveReport (-want +got):\n%s", diff)
		}

		// Saved again once posted: replaced, not added.
		want.Channel, want.ThreadTS = "C42", "1700000000.000100"
		if err := db.SaveReport(ctx, want); err != nil {
			t.Fatalf("SaveReport again: %v", err)
		}
		got, err = db.Report(ctx, want.Report.ID)
		if err != nil {
			t.Fatalf("Report: %v", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Report after the second SaveReport (-want +got):\n%s", diff)
		}
		hist, err := db.History(ctx, "sql01.corp.example", 0)
		if err != nil {
			t.Fatalf("History: %v", err)
		}
		wantHist := []Entry{{
			HostState: triage.HostState{
				Host: "SQL01.corp.example", ReportID: "7kq2m9xd", Status: triage.StatusCritical, StartedAt: t0,
				Causes: []triage.CauseID{triage.SPNMissing, triage.KerberosNTLMFallback}, // not the info finding
			},
			Channel: "C42", ThreadTS: "1700000000.000100",
		}}
		if diff := cmp.Diff(wantHist, hist); diff != "" {
			t.Errorf("History (-want +got):\n%s", diff)
		}
	})
}

func TestReportStartedAtIsUTCMicroseconds(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		at := time.Date(2026, 3, 2, 4, 30, 0, 123456789, time.FixedZone("EST", -5*3600))
		if err := db.SaveReport(t.Context(), Record{Report: report("r1", "sql01", at)}); err != nil {
			t.Fatal(err)
		}
		got, err := db.Report(t.Context(), "r1")
		if err != nil {
			t.Fatal(err)
		}
		want := at.Truncate(time.Microsecond)
		if s := got.Report.StartedAt; !s.Equal(want) || s.Location() != time.UTC {
			t.Errorf("StartedAt = %v; want %v in UTC", s, want)
		}
		hist, err := db.History(t.Context(), "sql01", 1)
		if err != nil {
			t.Fatal(err)
		}
		if s := hist[0].StartedAt; !s.Equal(want) || s.Location() != time.UTC {
			t.Errorf("History StartedAt = %v; want %v in UTC", s, want)
		}
	})
}

func TestReportNotFound(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		_, err := db.Report(t.Context(), "nosuchid")
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("Report(nosuchid) error = %v; want ErrNotFound", err)
		}
	})
}

func TestHistory(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		for _, r := range []triage.Report{
			report("a1", "sql01", t0.Add(-3*time.Hour)),
			report("a2", "SQL01", t0.Add(-1*time.Hour), triage.SPNMissing),
			report("a4", "Sql01", t0.Add(-2*time.Hour)),
			report("a3", "sql01", t0.Add(-2*time.Hour)), // same time as a4: the higher ID is newer
			report("b1", "sql02", t0),
		} {
			if err := db.SaveReport(ctx, Record{Report: r}); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			host  string
			limit int
			want  []string
		}{
			{"sql01", 0, []string{"a2", "a4", "a3", "a1"}},
			{"SQL01", 10, []string{"a2", "a4", "a3", "a1"}},
			{"sql01", 2, []string{"a2", "a4"}},
			{"sql01", -1, []string{"a2", "a4", "a3", "a1"}},
			{"sql02", 5, []string{"b1"}},
			{"sql03", 5, nil},
		} {
			es, err := db.History(ctx, tc.host, tc.limit)
			if err != nil {
				t.Fatalf("History(%q, %d): %v", tc.host, tc.limit, err)
			}
			if diff := cmp.Diff(tc.want, reportIDs(es)); diff != "" {
				t.Errorf("History(%q, %d) (-want +got):\n%s", tc.host, tc.limit, diff)
			}
		}
	})
}

func TestHistoryLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		for i := range 25 {
			r := report(fmt.Sprintf("r%02d", i), "sql01", t0.Add(time.Duration(i)*time.Minute))
			if err := db.SaveReport(t.Context(), Record{Report: r}); err != nil {
				t.Fatal(err)
			}
		}
		for limit, want := range map[int]int{0: 20, -5: 20, 3: 3, 25: 25, 5000: 25} {
			es, err := db.History(t.Context(), "sql01", limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(es) != want {
				t.Errorf("History(limit %d) returned %d entries; want %d", limit, len(es), want)
			}
		}
	})
}

func reportIDs(es []Entry) []string {
	var ids []string
	for _, e := range es {
		ids = append(ids, e.ReportID)
	}
	return ids
}

func TestSince(t *testing.T) {
	const c, d = triage.SPNMissing, triage.ClockSkew
	info := func(r triage.Report) triage.Report { // c as an info finding, which is no cause
		r.Findings = append(r.Findings, triage.Finding{Cause: c, Severity: triage.Info})
		return r
	}
	for _, tc := range []struct {
		name string
		// reports are the host's reports, oldest first, an hour apart; each
		// lists these causes.
		reports [][]triage.CauseID
		info    int // index of a report that also has c as an info finding; -1 for none
		// want is the index of the report whose StartedAt Since returns; -1 for false.
		want int
	}{
		{name: "no reports", reports: nil, info: -1, want: -1},
		{name: "every report lists the cause", reports: [][]triage.CauseID{{c}, {c, d}, {c}}, info: -1, want: 0},
		{name: "streak broken by a report without it", reports: [][]triage.CauseID{{c}, {}, {c}, {d, c}}, info: -1, want: 2},
		{name: "streak broken by another cause", reports: [][]triage.CauseID{{c}, {d}, {c}}, info: -1, want: 2},
		{name: "absent in the newest", reports: [][]triage.CauseID{{c}, {c}, {d}}, info: -1, want: -1},
		{name: "only the newest", reports: [][]triage.CauseID{{}, {}, {c}}, info: -1, want: 2},
		{name: "an info finding does not count", reports: [][]triage.CauseID{{c}, {}, {c}}, info: 1, want: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, db *DB) {
				ctx := t.Context()
				for i, causes := range tc.reports {
					at := t0.Add(time.Duration(i) * time.Hour)
					r := report(fmt.Sprintf("r%d", i), "sql01", at, causes...)
					if i == tc.info {
						r = info(r)
					}
					if err := db.SaveReport(ctx, Record{Report: r}); err != nil {
						t.Fatal(err)
					}
					// Another host with the cause all along must not count.
					if err := db.SaveReport(ctx, Record{Report: report(fmt.Sprintf("o%d", i), "sql02", at, c)}); err != nil {
						t.Fatal(err)
					}
				}
				got, ok, err := db.Since(ctx, "SQL01", c)
				if err != nil {
					t.Fatalf("Since: %v", err)
				}
				if tc.want < 0 {
					if ok {
						t.Errorf("Since = %v, true; want false", got)
					}
					return
				}
				if want := t0.Add(time.Duration(tc.want) * time.Hour); !ok || !got.Equal(want) {
					t.Errorf("Since = %v, %v; want %v, true", got, ok, want)
				}
			})
		})
	}
}

func TestLatest(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		es, err := db.Latest(ctx)
		if err != nil {
			t.Fatalf("Latest of an empty store: %v", err)
		}
		if len(es) != 0 {
			t.Errorf("Latest of an empty store = %v; want none", es)
		}
		for _, r := range []triage.Report{
			report("b1", "sql02", t0.Add(-time.Hour), triage.SPNMissing),
			report("b2", "sql02", t0),
			report("a1", "sql01", t0),
			report("a2", "SQL01", t0.Add(time.Hour), triage.ClockSkew),
			report("c1", "Alpha", t0.Add(-24*time.Hour)),
		} {
			if err := db.SaveReport(ctx, Record{Report: r, Channel: "C1", ThreadTS: "ts-" + r.ID}); err != nil {
				t.Fatal(err)
			}
		}
		es, err = db.Latest(ctx)
		if err != nil {
			t.Fatalf("Latest: %v", err)
		}
		want := []Entry{
			{HostState: triage.HostState{Host: "Alpha", ReportID: "c1", Status: triage.StatusOK, StartedAt: t0.Add(-24 * time.Hour)}, Channel: "C1", ThreadTS: "ts-c1"},
			{HostState: triage.HostState{Host: "SQL01", ReportID: "a2", Status: triage.StatusWarning, StartedAt: t0.Add(time.Hour), Causes: []triage.CauseID{triage.ClockSkew}}, Channel: "C1", ThreadTS: "ts-a2"},
			{HostState: triage.HostState{Host: "sql02", ReportID: "b2", Status: triage.StatusOK, StartedAt: t0}, Channel: "C1", ThreadTS: "ts-b2"},
		}
		if diff := cmp.Diff(want, es); diff != "" {
			t.Errorf("Latest (-want +got):\n%s", diff)
		}
	})
}

func TestSaveReportIDTaken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		mine := Record{Report: report("k7m2p9qx", "sql01", t0, triage.SPNMissing), RequestedBy: "U1"}
		if err := db.SaveReport(ctx, mine); err != nil {
			t.Fatal(err)
		}
		theirs := Record{Report: report("k7m2p9qx", "sql02", t0.Add(time.Hour)), RequestedBy: "U2"}
		if err := db.SaveReport(ctx, theirs); !errors.Is(err, ErrIDTaken) {
			t.Fatalf("SaveReport of another host's report with a taken ID = %v; want ErrIDTaken", err)
		}
		got, err := db.Report(ctx, "k7m2p9qx")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(mine, got); diff != "" {
			t.Errorf("the first report after a colliding save (-want +got):\n%s", diff)
		}
		if hist, err := db.History(ctx, "sql02", 0); err != nil || len(hist) != 0 {
			t.Errorf("History(sql02) = %v, %v; want nothing saved", hist, err)
		}

		// The same host, however it is written, replaces its report.
		same := Record{Report: report("k7m2p9qx", "SQL01", t0), Channel: "C1", ThreadTS: "1.2", RequestedBy: "U1"}
		if err := db.SaveReport(ctx, same); err != nil {
			t.Fatalf("SaveReport of the same host's report: %v", err)
		}
		if got, err := db.Report(ctx, "k7m2p9qx"); err != nil || got.ThreadTS != "1.2" || got.Report.Host != "SQL01" {
			t.Errorf("Report after replacing = %+v, %v; want the replacement", got, err)
		}
	})
}

// TestLatestFollowsReplacedReports checks the latest table through saves that
// replace a host's newest report with an older StartedAt, and through saves
// of older reports.
func TestLatestFollowsReplacedReports(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		save := func(r triage.Report) {
			t.Helper()
			if err := db.SaveReport(ctx, Record{Report: r}); err != nil {
				t.Fatal(err)
			}
		}
		latest := func() []string {
			t.Helper()
			es, err := db.Latest(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return reportIDs(es)
		}
		save(report("b", "sql01", t0))
		save(report("a", "sql01", t0.Add(-time.Hour))) // older: b stays
		if diff := cmp.Diff([]string{"b"}, latest()); diff != "" {
			t.Errorf("Latest after an older report (-want +got):\n%s", diff)
		}
		save(report("b", "sql01", t0.Add(-2*time.Hour))) // b replaced, now the oldest
		if diff := cmp.Diff([]string{"a"}, latest()); diff != "" {
			t.Errorf("Latest after the newest report moved back (-want +got):\n%s", diff)
		}
		save(report("c", "sql01", t0.Add(-time.Hour))) // same time as a, higher ID
		save(report("d", "sql02", t0))
		if diff := cmp.Diff([]string{"c", "d"}, latest()); diff != "" {
			t.Errorf("Latest (-want +got):\n%s", diff)
		}
		if n := count(t, db, "latest"); n != 2 {
			t.Errorf("latest has %d rows; want one per host, 2", n)
		}
	})
}

// TestLatestMigrationBackfills applies the latest table's migration to a
// database that has reports already.
func TestLatestMigrationBackfills(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, o Options) {
		ctx := t.Context()
		db := openTest(t, o)
		for _, r := range []triage.Report{
			report("a1", "sql01", t0), report("a2", "SQL01", t0.Add(time.Hour)), report("b1", "sql02", t0),
		} {
			if err := db.SaveReport(ctx, Record{Report: r}); err != nil {
				t.Fatal(err)
			}
		}
		// Back to the schema before the migration: Open applies it again.
		for _, q := range []string{`DROP TABLE latest`, `DELETE FROM schema_migrations WHERE name = 'latest'`} {
			if _, err := db.sql.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		reopened := openTest(t, o)
		es, err := reopened.Latest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"a2", "b1"}, reportIDs(es)); diff != "" {
			t.Errorf("Latest after the migration (-want +got):\n%s", diff)
		}
	})
}

// TestSinceLongStreak reads a streak longer than several of Since's pages,
// with reports that share a StartedAt across the pages' boundaries.
func TestSinceLongStreak(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		const c = triage.SPNMissing
		const streak = sincePageMin + 4*sincePageMin + sincePageMax + 3 // into the fourth page
		save := func(id string, at time.Time, causes ...triage.CauseID) {
			t.Helper()
			if err := db.SaveReport(ctx, Record{Report: report(id, "sql01", at, causes...)}); err != nil {
				t.Fatal(err)
			}
		}
		save("before", t0.Add(-time.Hour)) // without c: ends the streak
		for i := range streak {
			// Three reports per StartedAt.
			save(fmt.Sprintf("s%04d", i), t0.Add(time.Duration(i/3)*time.Minute), c)
		}
		got, ok, err := db.Since(ctx, "sql01", c)
		if err != nil || !ok || !got.Equal(t0) {
			t.Errorf("Since = %v, %v, %v; want %v, true", got, ok, err, t0)
		}
		// Without a report to end it, the streak runs to the oldest report.
		if _, err := db.sql.ExecContext(ctx, `DELETE FROM reports WHERE id = 'before'`); err != nil {
			t.Fatal(err)
		}
		if got, ok, err := db.Since(ctx, "sql01", c); err != nil || !ok || !got.Equal(t0) {
			t.Errorf("Since without the older report = %v, %v, %v; want %v, true", got, ok, err, t0)
		}
	})
}
