package store

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authtriage/authtriage/internal/pgtest"
)

// t0 is the tests' "now": a time with microseconds, as the store keeps them.
var t0 = time.Date(2026, 3, 2, 9, 30, 0, 123456000, time.UTC)

// A fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock(t time.Time) *fakeClock { return &fakeClock{now: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// forEachDatabase runs f once per backend, in parallel subtests, with the
// options of a fresh, empty database: a SQLite file in a temporary directory,
// and a new schema of the PostgreSQL database named by AUTHTRIAGE_TEST_POSTGRES_DSN
// (dropped when the test ends). f may Open the options any number of times to
// get several handles ("replicas") on the same database.
//
// Without AUTHTRIAGE_TEST_POSTGRES_DSN the PostgreSQL subtest is skipped, or
// fails when AUTHTRIAGE_REQUIRE_POSTGRES=1.
func forEachDatabase(t *testing.T, f func(t *testing.T, o Options)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		f(t, Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "store.db"), Log: testLogger(t)})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		f(t, Options{Driver: "postgres", DSN: pgtest.Schema(t), Log: testLogger(t)})
	})
}

// forEachBackend runs f once per backend with a fresh database opened with
// the real clock (see forEachDatabase).
func forEachBackend(t *testing.T, f func(t *testing.T, db *DB)) {
	t.Helper()
	forEachDatabase(t, func(t *testing.T, o Options) {
		f(t, openTest(t, o))
	})
}

// openTest opens o, and closes it when the test ends.
func openTest(t *testing.T, o Options) *DB {
	t.Helper()
	db, err := Open(t.Context(), o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// count returns the number of rows in table.
func count(t *testing.T, db *DB, table string) int {
	t.Helper()
	var n int
	if err := db.sql.QueryRowContext(t.Context(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func TestMigrationsAreNumbered(t *testing.T) {
	for _, d := range []dialect{sqliteDialect, postgresDialect} {
		ms, err := migrations(d)
		if err != nil {
			t.Fatalf("migrations(%s): %v", d, err)
		}
		if len(ms) == 0 {
			t.Fatalf("migrations(%s): none", d)
		}
	}
	sq, _ := migrations(sqliteDialect)
	pg, _ := migrations(postgresDialect)
	if len(sq) != len(pg) {
		t.Errorf("%d sqlite migrations, %d postgres ones; want the same", len(sq), len(pg))
	}
	for i := range min(len(sq), len(pg)) {
		if sq[i].name != pg[i].name {
			t.Errorf("migration %d is %q in sqlite, %q in postgres", i+1, sq[i].name, pg[i].name)
		}
	}
}

func TestOpenTwiceMigratesOnce(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, o Options) {
		ms, err := migrations(dialect(o.Driver))
		if err != nil {
			t.Fatal(err)
		}
		first := openTest(t, o)
		if err := first.SaveReport(t.Context(), Record{Report: report("r1", "sql01", t0)}); err != nil {
			t.Fatal(err)
		}
		if err := first.Close(); err != nil {
			t.Fatal(err)
		}
		second := openTest(t, o)
		if got := count(t, second, "schema_migrations"); got != len(ms) {
			t.Errorf("schema_migrations has %d rows; want %d", got, len(ms))
		}
		if _, err := second.Report(t.Context(), "r1"); err != nil {
			t.Errorf("report saved before reopening: %v", err)
		}
	})
}

func TestConcurrentOpen(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, o Options) {
		const n = 4
		dbs := make([]*DB, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { dbs[i], errs[i] = Open(t.Context(), o) })
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Errorf("Open #%d: %v", i, errs[i])
				continue
			}
			t.Cleanup(func() { dbs[i].Close() })
		}
		if t.Failed() {
			return
		}
		ms, _ := migrations(dialect(o.Driver))
		if got := count(t, dbs[0], "schema_migrations"); got != len(ms) {
			t.Errorf("schema_migrations has %d rows; want %d", got, len(ms))
		}
	})
}

func TestOpenBadOptions(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		o    Options
	}{
		{"unknown driver", Options{Driver: "mysql", DSN: "x"}},
		{"empty DSN", Options{Driver: "sqlite"}},
		{"negative retention", Options{DSN: filepath.Join(dir, "a.db"), Retention: -time.Hour}},
		{"sqlite path with query", Options{DSN: filepath.Join(dir, "a.db") + "?mode=ro"}},
		{"sqlite directory missing", Options{DSN: filepath.Join(dir, "missing", "a.db")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := Open(t.Context(), tc.o)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%+v) succeeded; want an error", tc.o)
			}
		})
	}
}

// TestOpenErrorsHideDSN checks that a DSN's password appears in no error,
// whether the DSN does not parse or the server is not there.
func TestOpenErrorsHideDSN(t *testing.T) {
	const secret = "hunter2-Secret"
	for _, dsn := range []string{
		"postgres://triage:" + secret + "@127.0.0.1:1/authtriage?connect_timeout=5&sslmode=disable",
		"postgres://triage:" + secret + "@localhost:notaport/authtriage",
		"host=127.0.0.1 port=1 user=triage password=" + secret + " dbname=authtriage connect_timeout=5 sslmode=disable",
		"host=127.0.0.1 port=x password='" + secret,
		"postgres://triage:" + secret + "@%zz/authtriage",
	} {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		db, err := Open(ctx, Options{Driver: "postgres", DSN: dsn})
		cancel()
		if err == nil {
			db.Close()
			t.Errorf("Open(postgres, %q) succeeded; want an error", dsn)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("Open(postgres, %q) = %v; the error shows the password", dsn, err)
		}
		t.Logf("Open error: %v", err)
	}
}

func TestBadInputs(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		for _, tc := range []struct {
			name string
			call func() error
		}{
			{"SaveReport without ID", func() error { return db.SaveReport(ctx, Record{Report: report("", "sql01", t0)}) }},
			{"SaveReport without host", func() error { return db.SaveReport(ctx, Record{Report: report("r1", "", t0)}) }},
			{"SaveReport without status", func() error {
				r := report("r1", "sql01", t0)
				r.Status = ""
				return db.SaveReport(ctx, Record{Report: r})
			}},
			{"AddReport without host", func() error { _, err := db.AddReport(ctx, Record{Report: report("r1", "", t0)}); return err }},
			{"ReserveReportID without host", func() error { _, err := db.ReserveReportID(ctx, "r1", ""); return err }},
			{"Report without ID", func() error { _, err := db.Report(ctx, ""); return err }},
			{"History without host", func() error { _, err := db.History(ctx, "", 10); return err }},
			{"Since without host", func() error { _, _, err := db.Since(ctx, "", "spn.missing"); return err }},
			{"Since without cause", func() error { _, _, err := db.Since(ctx, "sql01", ""); return err }},
			{"Claim without key", func() error { _, err := db.Claim(ctx, "", time.Minute); return err }},
			{"Claim with zero ttl", func() error { _, err := db.Claim(ctx, "k", 0); return err }},
			{"Claim with negative ttl", func() error { _, err := db.Claim(ctx, "k", -time.Minute); return err }},
			{"Lease without key", func() error { _, err := db.Lease(ctx, "", "a", time.Minute); return err }},
			{"Lease without holder", func() error { _, err := db.Lease(ctx, "k", "", time.Minute); return err }},
			{"Lease with zero ttl", func() error { _, err := db.Lease(ctx, "k", "a", 0); return err }},
			{"Finish without key", func() error { return db.Finish(ctx, "", "a") }},
			{"Finish without holder", func() error { return db.Finish(ctx, "k", "") }},
			{"SaveRun without schedule", func() error { return db.SaveRun(ctx, run("", t0)) }},
			{"SaveRun without tick", func() error { return db.SaveRun(ctx, run("nightly", time.Time{})) }},
			{"LastRun without schedule", func() error { _, err := db.LastRun(ctx, "", t0); return err }},
			{"Run without schedule", func() error { _, err := db.Run(ctx, "", t0); return err }},
		} {
			if err := tc.call(); err == nil {
				t.Errorf("%s: no error", tc.name)
			} else if errors.Is(err, ErrNotFound) {
				t.Errorf("%s: %v; want an input error, not ErrNotFound", tc.name, err)
			}
		}
		// Nothing was written by the calls that failed.
		for _, table := range []string{"reports", "claims", "leases", "runs"} {
			if n := count(t, db, table); n != 0 {
				t.Errorf("%s has %d rows after bad inputs; want 0", table, n)
			}
		}
	})
}

func TestCanceledContext(t *testing.T) {
	forEachBackend(t, func(t *testing.T, db *DB) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := db.SaveReport(ctx, Record{Report: report("r1", "sql01", t0)}); err == nil {
			t.Errorf("SaveReport with a canceled context succeeded")
		}
		if _, err := db.Claim(ctx, "k", time.Minute); err == nil {
			t.Errorf("Claim with a canceled context succeeded")
		}
	})
}

func TestTimesAreStoredToTheMicrosecond(t *testing.T) {
	zone := time.FixedZone("UTC-5", -5*3600)
	for _, tc := range []time.Time{
		{},
		t0,
		time.Date(2026, 3, 2, 4, 30, 0, 123456789, zone),
		time.Date(1965, 1, 1, 0, 0, 0, 999, time.UTC), // before the epoch
	} {
		got := stored(tc)
		if want := tc.Truncate(time.Microsecond); !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("stored(%v) = %v; want %v in UTC", tc, got, want)
		}
	}
	if got := stored(time.Time{}); !got.IsZero() {
		t.Errorf("stored(zero) = %v; want the zero time", got)
	}
}

func TestSQLiteSettings(t *testing.T) {
	db := openTest(t, Options{DSN: filepath.Join(t.TempDir(), "store.db")})
	for pragma, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "10000"} {
		var got string
		if err := db.sql.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", pragma, err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s; want %s", pragma, got, want)
		}
	}
}

func TestSQLiteInMemory(t *testing.T) {
	db := openTest(t, Options{DSN: ":memory:"})
	if err := db.SaveReport(t.Context(), Record{Report: report("r1", "sql01", t0)}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Report(t.Context(), "r1"); err != nil {
		t.Errorf("Report from an in-memory store: %v", err)
	}
}
