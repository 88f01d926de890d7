package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/triage"
)

// sig returns a signature of cause on host, its evidence from first to last,
// about factors given as kind, value pairs.
func sig(host string, cause triage.CauseID, first, last time.Time, factors ...string) triage.Signature {
	s := triage.Signature{Host: host, Cause: cause, Severity: triage.Critical, First: first, Last: last}
	for i := 0; i+1 < len(factors); i += 2 {
		s.Factors = append(s.Factors, triage.Factor{Kind: triage.FactorKind(factors[i]), Value: factors[i+1]})
	}
	return s
}

// named returns sigs with ReportID set to id, and Host to host where empty, as
// the store gives them back.
func named(id, host string, sigs ...triage.Signature) []triage.Signature {
	if len(sigs) == 0 {
		return nil
	}
	out := make([]triage.Signature, len(sigs))
	for i, s := range sigs {
		s.ReportID = id
		if s.Host == "" {
			s.Host = host
		}
		out[i] = s
	}
	return out
}

func TestAddReports(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		if _, err := db.AddReport(ctx, Record{Report: report("k7m2p9qx", "sql00", t0)}); err != nil {
			t.Fatal(err)
		}
		dc := sig("", triage.DCUnreachable, t0.Add(-time.Minute), t0, "dc", "dc2.corp.example", "start", "2026-03-02T09:29:00Z")
		recs := []Record{
			// Its ID is taken by an earlier report: a fresh one.
			{Report: report("k7m2p9qx", "sql01", t0, triage.DCUnreachable), Signatures: []triage.Signature{dc}},
			// Two of the batch with the same ID: the first gets it.
			{Report: report("samesame", "sql02", t0.Add(time.Second), triage.DCUnreachable), Signatures: []triage.Signature{dc, sig("SQL02", triage.SPNMissing, t0, t0)}},
			{Report: report("samesame", "sql03", t0.Add(2*time.Second))},
			{Report: report("", "sql04", t0.Add(3*time.Second))},
		}
		for i := range recs {
			recs[i].RequestedBy = "schedule:nightly"
		}
		ids, err := db.AddReports(ctx, recs)
		if err != nil {
			t.Fatalf("AddReports: %v", err)
		}
		if len(ids) != len(recs) {
			t.Fatalf("AddReports returned %d IDs for %d records", len(ids), len(recs))
		}
		seen := map[string]bool{"k7m2p9qx": true}
		for i, id := range ids {
			if seen[id] || !isReportID(id) {
				t.Errorf("record %d saved under %q; want an ID of its own (all: %v)", i+1, id, ids)
			}
			seen[id] = true
		}
		if ids[1] != "samesame" {
			t.Errorf("the first record with a free ID saved under %q; want it", ids[1])
		}
		for i, id := range ids {
			want := recs[i]
			want.Report.ID = id
			want.Report.StartedAt = stored(want.Report.StartedAt)
			want.Signatures = named(id, want.Report.Host, want.Signatures...)
			got, err := db.Report(ctx, id)
			if err != nil {
				t.Fatalf("Report(%s): %v", id, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Report(%s) (-want +got):\n%s", id, diff)
			}
		}
		es, err := db.Latest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(append([]string{"k7m2p9qx"}, ids...), reportIDs(es)); diff != "" {
			t.Errorf("Latest (-want +got):\n%s", diff)
		}
		if ids, err := db.AddReports(ctx, nil); err != nil || ids != nil {
			t.Errorf("AddReports(nil) = %v, %v; want nothing", ids, err)
		}
	})
}

// A batch that fails saves nothing, and its error says which record failed.
func TestAddReportsAllOrNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		good := Record{Report: report("k7m2p9qx", "sql01", t0), Signatures: []triage.Signature{sig("", triage.SPNMissing, t0, t0)}}
		for _, tc := range []struct {
			name string
			recs []Record
			ctx  func() context.Context
			want string
		}{
			{"a record without host", []Record{good, {Report: report("m3n4p5q6", "", t0)}}, nil, `report 2 of ""`},
			{"a signature without cause", []Record{good, {Report: report("m3n4p5q6", "sql02", t0), Signatures: []triage.Signature{{Host: "sql02"}}}}, nil, `report 2 of "sql02": signature 1: empty cause`},
			{"a context done", []Record{good}, func() context.Context {
				ctx, cancel := context.WithCancel(ctx)
				cancel()
				return ctx
			}, "context canceled"},
		} {
			c := ctx
			if tc.ctx != nil {
				c = tc.ctx()
			}
			ids, err := db.AddReports(c, tc.recs)
			if err == nil || ids != nil || !strings.Contains(fmt.Sprint(err), tc.want) {
				t.Errorf("%s: AddReports = %v, %v; want no IDs and an error with %q", tc.name, ids, err, tc.want)
			}
		}
		for _, table := range []string{"reports", "signatures", "latest"} {
			if n := count(t, db, table); n != 0 {
				t.Errorf("%d rows in %s after failed batches; want none", n, table)
			}
		}
	})
}

func TestRecentSignatures(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, o Options) {
		clk := newClock(t0)
		o.Now, o.Retention = clk.Now, 24*time.Hour
		db := openTest(t, o)
		ctx := t.Context()
		lock := sig("", triage.AccountLockedOut, t0.Add(-3*time.Minute), t0.Add(-time.Minute), "account", `CORP\svc_sql`)
		dc := sig("", triage.DCUnreachable, t0.Add(-time.Minute), t0, "dc", "dc2.corp.example")
		for _, r := range []Record{
			{Report: report("old00001", "sql01", t0.Add(-31*time.Minute), triage.AccountLockedOut), Signatures: []triage.Signature{lock}},
			{Report: report("edge0001", "sql02", t0.Add(-30*time.Minute), triage.AccountLockedOut), Signatures: []triage.Signature{lock}},
			{Report: report("new00001", "sql03", t0.Add(-time.Minute), triage.AccountLockedOut), Signatures: []triage.Signature{lock, dc}},
			{Report: report("okok0001", "sql04", t0)}, // no findings, no signatures
		} {
			if err := db.SaveReport(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.ReserveReportID(ctx, "resv0001", "sql05"); err != nil {
			t.Fatal(err)
		}
		got, err := db.RecentSignatures(ctx, t0.Add(-30*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		want := append(named("edge0001", "sql02", lock), named("new00001", "sql03", lock, dc)...)
		for i := range want {
			want[i].First, want[i].Last = stored(want[i].First), stored(want[i].Last)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("RecentSignatures of the last 30 minutes (-want +got):\n%s", diff)
		}

		// Saving a report again replaces its signatures.
		if err := db.SaveReport(ctx, Record{Report: report("new00001", "sql03", t0.Add(-time.Minute), triage.DCUnreachable), Signatures: []triage.Signature{dc}}); err != nil {
			t.Fatal(err)
		}
		got, err = db.RecentSignatures(ctx, t0.Add(-10*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(named("new00001", "sql03", want[2]), got); diff != "" {
			t.Errorf("RecentSignatures after saving the report again (-want +got):\n%s", diff)
		}

		// Pruned with their reports.
		clk.Set(t0.Add(24*time.Hour - 30*time.Minute))
		if _, err := db.Prune(ctx); err != nil {
			t.Fatal(err)
		}
		if n := count(t, db, "signatures"); n != 2 {
			t.Errorf("%d signatures after pruning the oldest report; want 2", n)
		}
	})
}

// RecentSignatures returns at most its bound, the newest, oldest first.
func TestRecentSignaturesBounded(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		const limit, perReport, reports = 10, 4, 4
		var batch []Record
		for i := range reports {
			at := t0.Add(time.Duration(i) * time.Second)
			sigs := make([]triage.Signature, perReport)
			for n := range sigs {
				sigs[n] = sig("", triage.DCUnreachable, at, at, "dc", fmt.Sprintf("dc%d", n))
			}
			batch = append(batch, Record{Report: report(fmt.Sprintf("r%07d", i), fmt.Sprintf("sql%04d", i), at, triage.DCUnreachable), Signatures: sigs})
		}
		if _, err := db.AddReports(ctx, batch); err != nil {
			t.Fatal(err)
		}
		got, err := db.recentSignatures(ctx, t0, limit)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, s := range got {
			ids = append(ids, s.ReportID+"/"+s.Factors[0].Value)
		}
		want := []string{"r0000001/dc2", "r0000001/dc3", "r0000002/dc0", "r0000002/dc1", "r0000002/dc2", "r0000002/dc3",
			"r0000003/dc0", "r0000003/dc1", "r0000003/dc2", "r0000003/dc3"}
		if diff := cmp.Diff(want, ids); diff != "" {
			t.Errorf("recentSignatures with a bound of %d (-want +got):\n%s", limit, diff)
		}
	})
}
