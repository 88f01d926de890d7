package store

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/triage"
)

// isReportID reports whether id has the form of triage.NewID's IDs.
func isReportID(id string) bool {
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	if len(id) != 8 {
		return false
	}
	for _, c := range id {
		if !strings.ContainsRune(alphabet, c) {
			return false
		}
	}
	return true
}

func TestReserveReportID(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, o Options) {
		clk := newClock(t0)
		o.Now = clk.Now
		db := openTest(t, o)
		ctx := t.Context()
		reserve := func(id, host string) string {
			t.Helper()
			got, err := db.ReserveReportID(ctx, id, host)
			if err != nil {
				t.Fatalf("ReserveReportID(%q, %q): %v", id, host, err)
			}
			return got
		}

		if got := reserve("k7m2p9qx", "sql01"); got != "k7m2p9qx" {
			t.Errorf("ReserveReportID of a free ID = %q; want it", got)
		}
		// Taken, by this host or another: a fresh one, reserved in turn.
		seen := map[string]bool{"k7m2p9qx": true}
		for _, host := range []string{"sql02", "sql01"} {
			got := reserve("k7m2p9qx", host)
			if seen[got] || !isReportID(got) {
				t.Errorf("ReserveReportID(k7m2p9qx, %s) once it is taken = %q; want a fresh ID", host, got)
			}
			seen[got] = true
		}
		if got := reserve("", "sql03"); seen[got] || !isReportID(got) {
			t.Errorf("ReserveReportID(\"\", sql03) = %q; want a fresh ID", got)
		}

		// Reserved is not saved: nothing shows it.
		if _, err := db.Report(ctx, "k7m2p9qx"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Report of a reserved ID = %v; want ErrNotFound", err)
		}
		if hist, err := db.History(ctx, "sql01", 0); err != nil || len(hist) != 0 {
			t.Errorf("History of a host with only reservations = %v, %v; want none", hist, err)
		}
		if es, err := db.Latest(ctx); err != nil || len(es) != 0 {
			t.Errorf("Latest with only reservations = %v, %v; want none", es, err)
		}

		// Another host cannot save under the reservation; the host can, however
		// it writes its name.
		theirs := Record{Report: report("k7m2p9qx", "sql02", t0, triage.SPNMissing)}
		if err := db.SaveReport(ctx, theirs); !errors.Is(err, ErrIDTaken) {
			t.Errorf("SaveReport of another host's report under a reservation = %v; want ErrIDTaken", err)
		}
		mine := Record{Report: report("k7m2p9qx", "SQL01", t0.Add(-time.Hour), triage.SPNMissing), RequestedBy: "U1"}
		if err := db.SaveReport(ctx, mine); err != nil {
			t.Fatalf("SaveReport under the host's reservation: %v", err)
		}
		if got, err := db.Report(ctx, "k7m2p9qx"); err != nil || !cmp.Equal(mine, got) {
			t.Errorf("Report after saving under the reservation = %+v, %v; want %+v", got, err, mine)
		}
		if since, ok, err := db.Since(ctx, "sql01", triage.SPNMissing); err != nil || !ok || !since.Equal(t0.Add(-time.Hour)) {
			t.Errorf("Since = %v, %v, %v; want the saved report's start", since, ok, err)
		}
		if es, err := db.Latest(ctx); err != nil || len(es) != 1 || es[0].ReportID != "k7m2p9qx" {
			t.Errorf("Latest = %v, %v; want the saved report", es, err)
		}

		// A reservation never saved under is pruned with the reports of its age.
		clk.Advance(defaultRetention + time.Second)
		if _, err := db.Prune(ctx); err != nil {
			t.Fatal(err)
		}
		if n := count(t, db, "reports"); n != 0 {
			t.Errorf("%d report rows after pruning; want none", n)
		}
	})
}

// TestReserveReportIDConcurrently has callers on two handles (two replicas)
// reserve the same ID at once: one gets it, and every caller a different ID.
func TestReserveReportIDConcurrently(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, o Options) {
		dbs := []*DB{openTest(t, o), openTest(t, o)}
		const callers = 16
		ids := make([]string, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() {
				id, err := dbs[i%2].ReserveReportID(t.Context(), "k7m2p9qx", fmt.Sprintf("sql%02d", i))
				if err != nil {
					t.Errorf("ReserveReportID: %v", err)
				}
				ids[i] = id
			})
		}
		wg.Wait()
		seen := map[string]bool{}
		for _, id := range ids {
			if seen[id] {
				t.Errorf("ID %q given to two callers: %v", id, ids)
			}
			seen[id] = true
		}
		if !seen["k7m2p9qx"] {
			t.Errorf("no caller got the ID asked for: %v", ids)
		}
	})
}

func TestAddReport(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		add := func(r Record) string {
			t.Helper()
			id, err := db.AddReport(ctx, r)
			if err != nil {
				t.Fatalf("AddReport(%s of %s): %v", r.Report.ID, r.Report.Host, err)
			}
			return id
		}
		first := Record{Report: report("k7m2p9qx", "sql01", t0), RequestedBy: "schedule:nightly"}
		if id := add(first); id != "k7m2p9qx" {
			t.Errorf("AddReport under a free ID = %q; want it", id)
		}
		reserved, err := db.ReserveReportID(ctx, "", "sql03")
		if err != nil {
			t.Fatal(err)
		}
		// The same ID again, even the same host's, or a reserved one: saved under
		// a fresh ID, and the first report is left as it was.
		var ids []string
		for _, r := range []Record{
			{Report: report("k7m2p9qx", "sql01", t0.Add(time.Hour), triage.SPNMissing)},
			{Report: report("k7m2p9qx", "sql02", t0)},
			{Report: report(reserved, "sql03", t0)},
			{Report: report("", "sql04", t0)},
		} {
			id := add(r)
			if id == r.Report.ID || !isReportID(id) {
				t.Errorf("AddReport(%q of %s) = %q; want a fresh ID", r.Report.ID, r.Report.Host, id)
			}
			got, err := db.Report(ctx, id)
			want := r
			want.Report.ID = id
			if err != nil || !cmp.Equal(want, got) {
				t.Errorf("Report(%s) = %+v, %v; want %+v", id, got, err, want)
			}
			ids = append(ids, id)
		}
		if got, err := db.Report(ctx, "k7m2p9qx"); err != nil || !cmp.Equal(first, got) {
			t.Errorf("the first report = %+v, %v; want it unchanged", got, err)
		}
		es, err := db.Latest(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{ids[0], ids[1], ids[2], ids[3]}, reportIDs(es)); diff != "" {
			t.Errorf("Latest (-want +got):\n%s", diff)
		}
	})
}

// TestTakeIDGivesUp: takeID tries the ID given, then fresh ones, and gives up
// after maxIDTries.
func TestTakeIDGivesUp(t *testing.T) {
	var tried []string
	_, err := takeID("k7m2p9qx", func(id string) (bool, error) {
		tried = append(tried, id)
		return false, nil
	})
	if err == nil || len(tried) != maxIDTries || tried[0] != "k7m2p9qx" {
		t.Fatalf("takeID with every ID taken = %v after trying %v; want an error after %d tries, the first the ID given", err, tried, maxIDTries)
	}
	for _, id := range tried[1:] {
		if !isReportID(id) || id == "k7m2p9qx" {
			t.Errorf("tried %q; want fresh IDs after the first", id)
		}
	}
	boom := errors.New("boom")
	if _, err := takeID("", func(string) (bool, error) { return false, boom }); !errors.Is(err, boom) {
		t.Errorf("takeID when the insert fails = %v; want its error", err)
	}
}
