package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// The migrations of each dialect are files migrations/DIALECT/NNNN_name.sql,
// numbered from 1 without gaps. A migration, once released, is never edited:
// changes go into a new file.
//
//go:embed migrations
var migrationFiles embed.FS

// A migration is one numbered schema change.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns d's migrations in order.
func migrations(d dialect) ([]migration, error) {
	dir := path.Join("migrations", string(d))
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		base, ok := strings.CutSuffix(e.Name(), ".sql")
		num, name, ok2 := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || !ok2 || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s/%s: name is not NNNN_name.sql", dir, e.Name())
		}
		b, err := fs.ReadFile(migrationFiles, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migrations in %s: version %d where %d was expected", dir, m.version, i+1)
		}
	}
	return ms, nil
}

// migrationLock is the first key of the PostgreSQL advisory lock that
// serializes migrating; the second is a hash of the schema, so databases in
// different schemas migrate independently.
const migrationLock = 0x61757468 // "auth"

// migrate applies the migrations the database has not recorded yet.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := migrations(db.dialect)
	if err != nil {
		return err
	}
	for _, m := range ms {
		applied, err := db.apply(ctx, m)
		if err != nil {
			return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
		}
		if applied {
			db.log.InfoContext(ctx, "store migrated", "store.driver", string(db.dialect), "store.version", m.version, "store.migration", m.name)
		}
	}
	var newest int
	if err := db.sql.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&newest); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if newest > len(ms) {
		db.log.WarnContext(ctx, "store schema is newer than this program", "store.version", newest, "store.known", len(ms))
	}
	return nil
}

// apply applies m in a transaction unless it was applied before, and reports
// whether it applied it.
func (db *DB) apply(ctx context.Context, m migration) (bool, error) {
	tx, err := db.sql.BeginTx(ctx, nil) // SQLite: BEGIN IMMEDIATE, the write lock
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	if db.dialect == postgresDialect {
		// Held until the transaction ends; released on rollback too.
		q := fmt.Sprintf(`SELECT pg_advisory_xact_lock(%d, hashtext(coalesce(current_schema(), '')))`, migrationLock)
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return false, fmt.Errorf("lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at BIGINT  NOT NULL
	)`); err != nil {
		return false, err
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, m.version).Scan(&n); err != nil {
		return false, err
	}
	if n > 0 {
		return false, tx.Commit()
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
		m.version, m.name, micros(db.now())); err != nil {
		return false, err
	}
	return true, tx.Commit()
}
