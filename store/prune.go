package store

import (
	"context"
	"fmt"
)

// Prune deletes what is older than the retention: reports that started,
// audit entries written and runs ticked before now-Retention, and claims and
// leases that expired before then (a lease finished that long ago may be
// taken again, which is harmless for work that old). It returns how many rows
// it deleted. Pruning is one transaction: all of it happens or none.
func (db *DB) Prune(ctx context.Context) (int64, error) {
	cutoff := micros(db.now().Add(-db.retention))
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("prune store: %w", err)
	}
	defer tx.Rollback()
	var total int64
	for _, q := range []struct{ table, query string }{
		{"reports", `DELETE FROM reports WHERE started_at < $1`},
		{"audit", `DELETE FROM audit WHERE at < $1`},
		{"runs", `DELETE FROM runs WHERE tick < $1`},
		{"claims", `DELETE FROM claims WHERE expires_at < $1`},
		{"leases", `DELETE FROM leases WHERE expires_at < $1`},
	} {
		res, err := tx.ExecContext(ctx, q.query, cutoff)
		if err != nil {
			return 0, fmt.Errorf("prune %s: %w", q.table, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("prune %s: %w", q.table, err)
		}
		total += n
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("prune store: %w", err)
	}
	db.log.InfoContext(ctx, "store pruned", "store.deleted", total, "store.retention", db.retention)
	return total, nil
}
