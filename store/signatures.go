package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// MaxRecentSignatures bounds what RecentSignatures returns: the newest this many.
// It is far above what the reports of a fleet's last hour hold (a sweep of
// 10,000 hosts in which one in ten has two findings writes 2,000), and keeps a
// front end's correlation of them well under a second.
const MaxRecentSignatures = 50_000

// RecentSignatures returns the signatures of the reports that started at or
// after since (SaveReport, AddReport and AddReports keep them), oldest report
// first and in each report's order, for a front end to correlate the reports
// of the last minutes. It returns at most MaxRecentSignatures: the newest
// ones when there are more. Their times are in UTC to the microsecond.
func (db *DB) RecentSignatures(ctx context.Context, since time.Time) ([]triage.Signature, error) {
	return db.recentSignatures(ctx, since, MaxRecentSignatures)
}

// recentSignatures is RecentSignatures with at most limit signatures.
func (db *DB) recentSignatures(ctx context.Context, since time.Time, limit int) ([]triage.Signature, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT report_id, host, cause, severity, first_at, last_at, factors
		FROM signatures WHERE started_at >= $1
		ORDER BY started_at DESC, report_id DESC, n DESC LIMIT $2`, micros(since), limit)
	if err != nil {
		return nil, fmt.Errorf("read signatures since %s: %w", since.UTC().Format(time.RFC3339), err)
	}
	sigs, err := scanSignatures(rows)
	if err != nil {
		return nil, fmt.Errorf("read signatures since %s: %w", since.UTC().Format(time.RFC3339), err)
	}
	slices.Reverse(sigs)
	return sigs, nil
}

// signatures returns the signatures of report id, in their order; nil when it
// has none.
func (db *DB) signatures(ctx context.Context, id string) ([]triage.Signature, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT report_id, host, cause, severity, first_at, last_at, factors
		FROM signatures WHERE report_id = $1 ORDER BY n`, id)
	if err != nil {
		return nil, err
	}
	return scanSignatures(rows)
}

// scanSignatures reads all rows (report_id, host, cause, severity, first_at,
// last_at, factors) and closes them.
func scanSignatures(rows *sql.Rows) ([]triage.Signature, error) {
	defer rows.Close()
	var sigs []triage.Signature
	for rows.Next() {
		var (
			s                 triage.Signature
			cause, sev, facts string
			first, last       int64
		)
		if err := rows.Scan(&s.ReportID, &s.Host, &cause, &sev, &first, &last, &facts); err != nil {
			return nil, err
		}
		s.Cause = triage.CauseID(cause)
		if err := s.Severity.UnmarshalText([]byte(sev)); err != nil {
			return nil, fmt.Errorf("report %s: signature of %s: %w", s.ReportID, cause, err)
		}
		s.First, s.Last = fromMicros(first), fromMicros(last)
		if err := json.Unmarshal([]byte(facts), &s.Factors); err != nil {
			return nil, fmt.Errorf("report %s: signature of %s: decode factors: %w", s.ReportID, cause, err)
		}
		if len(s.Factors) == 0 {
			s.Factors = nil
		}
		sigs = append(sigs, s)
	}
	return sigs, rows.Err()
}

// sigRow is a signature as the signatures table keeps it, but for the report's
// ID and start, which insertSignatures adds.
type sigRow struct {
	host, cause, severity string
	first, last           int64
	factors               string // JSON
}

// newSigRows checks sigs and prepares their rows; a signature without a Host
// gets host.
func newSigRows(host string, sigs []triage.Signature) ([]sigRow, error) {
	rows := make([]sigRow, len(sigs))
	for i, s := range sigs {
		if s.Cause == "" {
			return nil, fmt.Errorf("signature %d: empty cause", i+1)
		}
		sev, err := s.Severity.MarshalText()
		if err != nil {
			return nil, fmt.Errorf("signature %d: %w", i+1, err)
		}
		factors := s.Factors
		if factors == nil {
			factors = []triage.Factor{}
		}
		doc, err := json.Marshal(factors)
		if err != nil {
			return nil, fmt.Errorf("signature %d: %w", i+1, err)
		}
		h := s.Host
		if h == "" {
			h = host
		}
		rows[i] = sigRow{host: h, cause: string(s.Cause), severity: string(sev),
			first: micros(s.First), last: micros(s.Last), factors: string(doc)}
	}
	return rows, nil
}

// sigChunk is how many signatures one insert writes: 9 parameters each, far
// below both backends' limit on a statement's parameters.
const sigChunk = 100

// insertSignatures inserts the signatures of report id, started at started,
// after deleting the ones it had when replace is set.
func insertSignatures(ctx context.Context, tx *sql.Tx, id string, started time.Time, rows []sigRow, replace bool) error {
	if replace {
		if _, err := tx.ExecContext(ctx, `DELETE FROM signatures WHERE report_id = $1`, id); err != nil {
			return fmt.Errorf("signatures: %w", err)
		}
	}
	for from := 0; from < len(rows); from += sigChunk {
		chunk := rows[from:min(from+sigChunk, len(rows))]
		var q strings.Builder
		q.WriteString(`INSERT INTO signatures (report_id, n, started_at, host, cause, severity, first_at, last_at, factors) VALUES `)
		args := make([]any, 0, 9*len(chunk))
		for i, s := range chunk {
			if i > 0 {
				q.WriteString(", ")
			}
			p := len(args)
			fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d, $%d)", p+1, p+2, p+3, p+4, p+5, p+6, p+7, p+8, p+9)
			args = append(args, id, from+i, micros(started), s.host, s.cause, s.severity, s.first, s.last, s.factors)
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return fmt.Errorf("signatures: %w", err)
		}
	}
	return nil
}
