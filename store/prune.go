package store

import (
	"context"
	"fmt"
)

// pruneBatch is how many rows Prune deletes per statement: each batch is its
// own short transaction, so that a large prune never holds SQLite's only
// connection (or PostgreSQL's row locks) for long.
const pruneBatch = 500

// Prune deletes what is older than the retention: reports that started,
// report IDs reserved (and never saved under), audit entries written and runs
// ticked before now-Retention, and claims and
// leases that expired before then (a lease finished that long ago may be
// taken again, which is harmless for work that old). It keeps each
// schedule's newest run whatever its age, as the baseline its next run is
// compared with. A host whose newest report is pruned (and so all of them)
// leaves Latest with it.
//
// It deletes in batches of a few hundred rows, each committed on its own: an
// interrupted Prune has deleted some of what it would have, and the next one
// deletes the rest. It returns how many reports, audit entries, runs, claims
// and leases it deleted.
func (db *DB) Prune(ctx context.Context) (int64, error) {
	cutoff := micros(db.now().Add(-db.retention))
	var total int64
	for _, q := range []struct{ table, query string }{
		// Each query deletes at most $2 rows older than $1.
		{"reports", `DELETE FROM reports WHERE id IN (SELECT id FROM reports WHERE started_at < $1 LIMIT $2)`},
		{"audit", `DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < $1 LIMIT $2)`},
		{"runs", `DELETE FROM runs WHERE (schedule, tick) IN (
			SELECT schedule, tick FROM runs AS old WHERE tick < $1
				AND tick < (SELECT max(tick) FROM runs AS newest WHERE newest.schedule = old.schedule)
			LIMIT $2)`},
		{"claims", `DELETE FROM claims WHERE key IN (SELECT key FROM claims WHERE expires_at < $1 LIMIT $2)`},
		{"leases", `DELETE FROM leases WHERE key IN (SELECT key FROM leases WHERE expires_at < $1 LIMIT $2)`},
		// A host's latest entry is older than the cutoff only when all its
		// reports are, and so were just deleted. Not counted: it is an index.
		{"latest", `DELETE FROM latest WHERE host_key IN (SELECT host_key FROM latest WHERE started_at < $1 LIMIT $2)`},
	} {
		n, err := db.pruneTable(ctx, q.query, cutoff)
		if err != nil {
			return total, fmt.Errorf("prune %s: %w", q.table, err)
		}
		if q.table != "latest" {
			total += n
		}
	}
	db.log.InfoContext(ctx, "store pruned", "store.deleted", total, "store.retention", db.retention)
	return total, nil
}

// pruneTable runs query, a delete of at most pruneBatch rows, until it deletes
// fewer, and returns how many rows it deleted.
func (db *DB) pruneTable(ctx context.Context, query string, cutoff int64) (int64, error) {
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		res, err := db.sql.ExecContext(ctx, query, cutoff, pruneBatch)
		if err != nil {
			return total, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += n
		if n < pruneBatch {
			return total, nil
		}
	}
}
