package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// defaultRetention is how long reports, audit entries and runs are kept when
// Options.Retention is 0.
const defaultRetention = 90 * 24 * time.Hour

// Options says which database Open opens and how the store behaves.
type Options struct {
	// Driver is "sqlite" (the default when "") or "postgres".
	Driver string
	// DSN is, for sqlite, the database file's path (":memory:" for a private
	// in-memory database, for tests; the path may not contain '?'); for
	// postgres, a libpq URL ("postgres://user@host/db?sslmode=verify-full") or
	// key=value string. It may contain a password: the store never logs it
	// and no error it returns contains it.
	DSN string
	// Retention is how long Prune keeps reports, audit entries and runs, and
	// claims and leases after they expired. 0 means 90 days.
	Retention time.Duration
	// Now is the store's clock: claim and lease expiry, audit times, Prune.
	// nil means the real clock, and then on PostgreSQL Claim, Lease and Finish
	// read the database server's clock, not this process's: replicas whose
	// clocks disagree still agree on when a claim or lease expires. Tests pass
	// a fake clock, which every backend then uses throughout.
	Now func() time.Time
	// Log receives the store's few log lines (migrations, pruning). nil means
	// discard.
	Log *slog.Logger
}

// A DB is an open store. It is safe for concurrent use by many goroutines,
// and several DBs (processes, replicas) may share one database: Claim, Lease
// and Finish are atomic across all of them.
//
// Times are stored in UTC as microseconds since the Unix epoch, the same in
// both backends: every time the store gives back is in UTC and equals the time
// it was given truncated to the microsecond. Report JSON keeps the times
// inside a report (evidence) as JSON writes them.
type DB struct {
	sql       *sql.DB
	dialect   dialect
	retention time.Duration
	clock     func() time.Time
	// serverClock is set when claims and leases expire by the database
	// server's clock (PostgreSQL without Options.Now); see clocked.
	serverClock bool
	log         *slog.Logger
}

// dialect is one backend's SQL flavour. The queries themselves are shared
// (numbered $N parameters, ON CONFLICT upserts, window functions work in
// both); only the migrations and how migrating is serialized differ.
type dialect string

const (
	sqliteDialect   dialect = "sqlite"
	postgresDialect dialect = "postgres"
)

// Open opens the database o describes and brings its schema up to date with
// the embedded, numbered migrations, each applied in its own transaction and
// recorded in the schema_migrations table. Opening an up-to-date database
// changes nothing, and any number of processes may Open one PostgreSQL
// database at once: migrating is serialized by an advisory lock.
//
// SQLite databases are opened in WAL mode with foreign keys on and a busy
// timeout; the DB uses a single connection, so writers in one process queue
// instead of failing with SQLITE_BUSY, and transactions begin IMMEDIATE so
// several processes sharing a file wait for each other too.
func Open(ctx context.Context, o Options) (*DB, error) {
	if o.Retention < 0 {
		return nil, fmt.Errorf("open store: negative retention %v", o.Retention)
	}
	if o.DSN == "" {
		return nil, errors.New("open store: empty DSN")
	}
	db := &DB{retention: cmp.Or(o.Retention, defaultRetention), clock: o.Now, log: o.Log}
	if db.clock == nil {
		db.clock = time.Now
	}
	if db.log == nil {
		db.log = slog.New(slog.DiscardHandler)
	}
	var err error
	switch o.Driver {
	case "", "sqlite":
		db.dialect = sqliteDialect
		db.sql, err = openSQLite(o.DSN)
	case "postgres":
		db.dialect = postgresDialect
		db.serverClock = o.Now == nil
		db.sql, err = openPostgres(o.DSN)
	default:
		return nil, fmt.Errorf("open store: unknown driver %q (want sqlite or postgres)", o.Driver)
	}
	what := string(db.dialect) + " store" // a PostgreSQL DSN may hold a password; a SQLite one is its path
	if db.dialect == sqliteDialect {
		what += " " + o.DSN
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", what, err)
	}
	if err := db.connect(ctx); err != nil {
		db.sql.Close()
		return nil, fmt.Errorf("open %s: connect: %w", what, err)
	}
	if err := db.migrate(ctx); err != nil {
		db.sql.Close()
		return nil, fmt.Errorf("open %s: %w", what, err)
	}
	return db, nil
}

// connect makes the first connection. SQLite switching a new file to WAL can
// answer SQLITE_BUSY at once, without waiting on busy_timeout, while another
// process or handle does the same; that is retried until sqliteBusyTimeout.
func (db *DB) connect(ctx context.Context) error {
	deadline := time.Now().Add(sqliteBusyTimeout)
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 200*time.Millisecond) {
		err := db.sql.PingContext(ctx)
		if err == nil || db.dialect != sqliteDialect || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// isBusy reports whether err is SQLite's "database is locked".
func isBusy(err error) bool {
	return strings.Contains(err.Error(), "SQLITE_BUSY") || strings.Contains(err.Error(), "database is locked")
}

// sqliteBusyTimeout is how long a statement waits for another process's write
// lock before failing with SQLITE_BUSY.
const sqliteBusyTimeout = 10 * time.Second

func openSQLite(path string) (*sql.DB, error) {
	if strings.Contains(path, "?") {
		return nil, errors.New("sqlite path contains '?'")
	}
	q := fmt.Sprintf("?_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate",
		sqliteBusyTimeout.Milliseconds())
	db, err := sql.Open("sqlite", path+q)
	if err != nil {
		return nil, err
	}
	// One connection: SQLite has one writer at a time anyway, and queueing in
	// database/sql is better than SQLITE_BUSY. It also keeps a ":memory:"
	// database alive, as each connection would have its own.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

func openPostgres(dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's message quotes the DSN (with the password redacted on a
		// best-effort basis), so say only what is wrong in general.
		return nil, errors.New("cannot parse the postgres DSN (a libpq URL or key=value string)")
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(10)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return db, nil
}

// Close closes the database. Calls in progress may fail.
func (db *DB) Close() error {
	return db.sql.Close()
}

// now returns the store's clock reading as it is stored: UTC, microseconds.
func (db *DB) now() time.Time {
	return db.clock().UTC().Truncate(time.Microsecond)
}

// serverNow is the PostgreSQL server's clock in stored form (microseconds
// since the Unix epoch). statement_timestamp() is when the server received the
// statement, so it has one value however often a statement uses it.
const serverNow = `(extract(epoch FROM statement_timestamp()) * 1000000)::bigint`

// clocked returns query with each "{now}" replaced by the store's time in
// stored form, and the arguments to run it with. With the server's clock that
// is serverNow; otherwise it is one more parameter, after args, holding
// db.now() (cast, so that PostgreSQL knows its type in "{now} + $2").
func (db *DB) clocked(query string, args ...any) (string, []any) {
	if db.serverClock {
		return strings.ReplaceAll(query, "{now}", serverNow), args
	}
	param := fmt.Sprintf("CAST($%d AS BIGINT)", len(args)+1)
	return strings.ReplaceAll(query, "{now}", param), append(args, micros(db.now()))
}

// micros returns t as stored: microseconds since the Unix epoch. Times before
// the epoch, the zero time included, are fine.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros is the inverse of micros; fromMicros(micros(time.Time{})) is the
// zero time.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// stored returns t as the store gives it back: UTC, truncated to the microsecond.
func stored(t time.Time) time.Time { return fromMicros(micros(t)) }

// clampLimit turns a caller's limit into the number of rows to return:
// limit <= 0 means defaultLimit, and no more than maxLimit.
func clampLimit(limit int) int {
	const defaultLimit, maxLimit = 20, 1000
	if limit <= 0 {
		return defaultLimit
	}
	return min(limit, maxLimit)
}
