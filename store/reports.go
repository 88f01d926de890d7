package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"authtriage/triage"
)

// SaveReport stores r, replacing the record with the same Report.ID if there
// is one: the bot saves a report before posting it and again with its Channel
// and ThreadTS. The report needs an ID and a Host.
//
// The report is kept as its JSON; Report gives back what that JSON holds:
// Report.StartedAt in UTC to the microsecond, durations to the millisecond,
// other times as JSON writes them, and no fields JSON leaves out
// (CheckResult.Err, Evidence.Check).
func (db *DB) SaveReport(ctx context.Context, r Record) error {
	rep := r.Report
	if rep.ID == "" {
		return errors.New("save report: empty report ID")
	}
	if rep.Host == "" {
		return fmt.Errorf("save report %s: empty host", rep.ID)
	}
	rep.StartedAt = stored(rep.StartedAt)
	doc, err := json.Marshal(rep)
	if err != nil {
		return fmt.Errorf("save report %s: %w", rep.ID, err)
	}
	causes, err := json.Marshal(causeList(triage.StateOf(rep).Causes))
	if err != nil {
		return fmt.Errorf("save report %s: %w", rep.ID, err)
	}
	_, err = db.sql.ExecContext(ctx, `
		INSERT INTO reports (id, host, host_key, status, started_at, causes, channel, thread_ts, requested_by, report, saved_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (id) DO UPDATE SET
			host = excluded.host, host_key = excluded.host_key, status = excluded.status,
			started_at = excluded.started_at, causes = excluded.causes, channel = excluded.channel,
			thread_ts = excluded.thread_ts, requested_by = excluded.requested_by,
			report = excluded.report, saved_at = excluded.saved_at`,
		rep.ID, rep.Host, hostKey(rep.Host), string(rep.Status), micros(rep.StartedAt), string(causes),
		r.Channel, r.ThreadTS, r.RequestedBy, string(doc), micros(db.now()))
	if err != nil {
		return fmt.Errorf("save report %s: %w", rep.ID, err)
	}
	return nil
}

// causeList returns cs, or an empty list for nil, so the column holds "[]"
// rather than "null".
func causeList(cs []triage.CauseID) []triage.CauseID {
	if cs == nil {
		return []triage.CauseID{}
	}
	return cs
}

// hostKey is how hosts compare: case-insensitively.
func hostKey(host string) string { return strings.ToLower(host) }

// Report returns the record of the report with the given ID, or an error
// wrapping ErrNotFound when there is none.
func (db *DB) Report(ctx context.Context, id string) (Record, error) {
	if id == "" {
		return Record{}, errors.New("read report: empty report ID")
	}
	var (
		r   Record
		doc string
	)
	err := db.sql.QueryRowContext(ctx, `SELECT report, channel, thread_ts, requested_by FROM reports WHERE id = $1`, id).
		Scan(&doc, &r.Channel, &r.ThreadTS, &r.RequestedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, fmt.Errorf("report %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Record{}, fmt.Errorf("read report %s: %w", id, err)
	}
	if err := json.Unmarshal([]byte(doc), &r.Report); err != nil {
		return Record{}, fmt.Errorf("read report %s: decode: %w", id, err)
	}
	return r, nil
}

// entryColumns are the columns scanEntry reads, in its order.
const entryColumns = `id, host, status, started_at, causes, channel, thread_ts`

// scanEntry reads one row of entryColumns.
func scanEntry(rows *sql.Rows) (Entry, error) {
	var (
		e              Entry
		status, causes string
		started        int64
	)
	if err := rows.Scan(&e.ReportID, &e.Host, &status, &started, &causes, &e.Channel, &e.ThreadTS); err != nil {
		return Entry{}, err
	}
	e.Status = triage.Status(status)
	e.StartedAt = fromMicros(started)
	if err := json.Unmarshal([]byte(causes), &e.Causes); err != nil {
		return Entry{}, fmt.Errorf("report %s: decode causes: %w", e.ReportID, err)
	}
	if len(e.Causes) == 0 {
		e.Causes = nil // as triage.StateOf leaves it
	}
	return e, nil
}

// History returns the host's reports, newest first (by StartedAt, then by
// ID), at most limit of them: limit <= 0 means 20, and no more than 1000 are
// returned. Hosts compare case-insensitively. A host without reports has an
// empty history, not an error.
func (db *DB) History(ctx context.Context, host string, limit int) ([]Entry, error) {
	if host == "" {
		return nil, errors.New("read history: empty host")
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT `+entryColumns+` FROM reports
		WHERE host_key = $1 ORDER BY started_at DESC, id DESC LIMIT $2`, hostKey(host), clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("read history of %s: %w", host, err)
	}
	es, err := scanEntries(rows)
	if err != nil {
		return nil, fmt.Errorf("read history of %s: %w", host, err)
	}
	return es, nil
}

// scanEntries reads all rows and closes them.
func scanEntries(rows *sql.Rows) ([]Entry, error) {
	defer rows.Close()
	var es []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, err
		}
		es = append(es, e)
	}
	return es, rows.Err()
}

// Since returns when the host's current streak with cause began: the
// StartedAt of the oldest report in the newest unbroken run of the host's
// reports (ordered as History orders them) that list cause. It returns false
// when the host's newest report does not list cause, or the host has no
// reports.
func (db *DB) Since(ctx context.Context, host string, cause triage.CauseID) (time.Time, bool, error) {
	if host == "" || cause == "" {
		return time.Time{}, false, fmt.Errorf("read streak of %q on %q: empty host or cause", cause, host)
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT started_at, causes FROM reports
		WHERE host_key = $1 ORDER BY started_at DESC, id DESC`, hostKey(host))
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read streak of %s on %s: %w", cause, host, err)
	}
	defer rows.Close()
	var (
		since time.Time
		found bool
	)
	for rows.Next() {
		var (
			started int64
			doc     string
			causes  []triage.CauseID
		)
		if err := rows.Scan(&started, &doc); err != nil {
			return time.Time{}, false, fmt.Errorf("read streak of %s on %s: %w", cause, host, err)
		}
		if err := json.Unmarshal([]byte(doc), &causes); err != nil {
			return time.Time{}, false, fmt.Errorf("read streak of %s on %s: decode causes: %w", cause, host, err)
		}
		if !slices.Contains(causes, cause) {
			break
		}
		since, found = fromMicros(started), true
	}
	if err := rows.Err(); err != nil {
		return time.Time{}, false, fmt.Errorf("read streak of %s on %s: %w", cause, host, err)
	}
	return since, found, nil
}

// Latest returns each host's newest report (as History orders them), sorted
// by host name, case-insensitively. The host is named as its newest report
// names it.
func (db *DB) Latest(ctx context.Context) ([]Entry, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT `+entryColumns+` FROM (
			SELECT `+entryColumns+`, host_key, row_number() OVER (PARTITION BY host_key ORDER BY started_at DESC, id DESC) AS n FROM reports
		) AS newest
		WHERE n = 1 ORDER BY host_key, host`)
	if err != nil {
		return nil, fmt.Errorf("read latest reports: %w", err)
	}
	es, err := scanEntries(rows)
	if err != nil {
		return nil, fmt.Errorf("read latest reports: %w", err)
	}
	return es, nil
}
