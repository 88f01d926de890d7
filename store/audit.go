package store

import (
	"context"
	"fmt"
)

// Audit appends e to the audit log. An entry with a zero Time is stamped with
// the store's clock.
func (db *DB) Audit(ctx context.Context, e AuditEntry) error {
	at := e.Time
	if at.IsZero() {
		at = db.now()
	}
	_, err := db.sql.ExecContext(ctx, `INSERT INTO audit (at, user_id, channel, origin, command, result, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		micros(at), e.User, e.Channel, e.Origin, e.Command, e.Result, e.Detail)
	if err != nil {
		return fmt.Errorf("audit %q by %s: %w", e.Command, e.User, err)
	}
	return nil
}

// AuditLog returns the newest audit entries, newest first (entries with the
// same Time in the reverse order they were added), at most limit of them:
// limit <= 0 means 20, and no more than 1000 are returned.
func (db *DB) AuditLog(ctx context.Context, limit int) ([]AuditEntry, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT at, user_id, channel, origin, command, result, detail
		FROM audit ORDER BY at DESC, id DESC LIMIT $1`, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	var es []AuditEntry
	for rows.Next() {
		var (
			e  AuditEntry
			at int64
		)
		if err := rows.Scan(&at, &e.User, &e.Channel, &e.Origin, &e.Command, &e.Result, &e.Detail); err != nil {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		e.Time = fromMicros(at)
		es = append(es, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return es, nil
}
