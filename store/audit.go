package store

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxAuditText is the most bytes of an audit entry's Command, and of its
// Detail, that are stored. A request's text is whatever its sender chose (a
// slash command may carry a megabyte), and the audit log must not grow with it:
// longer text is cut (see AuditEntry.Bounded) and its length before cutting is
// kept in CommandBytes and DetailBytes.
const MaxAuditText = 512

// Bounded returns e as the store keeps it: Command and Detail cut to at most
// MaxAuditText bytes on a UTF-8 character boundary, with invalid UTF-8 and NUL
// bytes (which PostgreSQL's text refuses) replaced by U+FFFD, and CommandBytes
// and DetailBytes set to their lengths in bytes before cutting (unless they
// are set already). Bounded of a bounded entry is the same entry, so callers
// may cut early (to bound what they hold in memory) and the store cuts again.
func (e AuditEntry) Bounded() AuditEntry {
	e.Command, e.CommandBytes = bound(e.Command, e.CommandBytes)
	e.Detail, e.DetailBytes = bound(e.Detail, e.DetailBytes)
	return e
}

// bound cuts s to MaxAuditText bytes and returns it with its length before
// cutting: n when it is not zero (s was bounded before), else len(s).
func bound(s string, n int) (string, int) {
	if n == 0 {
		n = len(s)
	}
	if len(s) > MaxAuditText {
		cut := MaxAuditText
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut]
	}
	if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
		// The replacements may have made it longer than the limit again.
		for len(s) > MaxAuditText {
			_, size := utf8.DecodeLastRuneInString(s)
			s = s[:len(s)-size]
		}
	}
	return s, n
}

// Audit appends e to the audit log, bounded (AuditEntry.Bounded). An entry
// with a zero Time is stamped with the store's clock.
func (db *DB) Audit(ctx context.Context, e AuditEntry) error {
	e = e.Bounded()
	at := e.Time
	if at.IsZero() {
		at = db.now()
	}
	_, err := db.sql.ExecContext(ctx, `INSERT INTO audit (at, user_id, channel, origin, command, result, detail, command_bytes, detail_bytes)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		micros(at), e.User, e.Channel, e.Origin, e.Command, e.Result, e.Detail, e.CommandBytes, e.DetailBytes)
	if err != nil {
		return fmt.Errorf("audit %q by %s: %w", e.Command, e.User, err)
	}
	return nil
}

// AuditLog returns the newest audit entries, newest first (entries with the
// same Time in the reverse order they were added), at most limit of them:
// limit <= 0 means 20, and no more than 1000 are returned.
func (db *DB) AuditLog(ctx context.Context, limit int) ([]AuditEntry, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT at, user_id, channel, origin, command, result, detail, command_bytes, detail_bytes
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
		if err := rows.Scan(&at, &e.User, &e.Channel, &e.Origin, &e.Command, &e.Result, &e.Detail, &e.CommandBytes, &e.DetailBytes); err != nil {
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
