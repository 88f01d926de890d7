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

	"github.com/authtriage/authtriage/triage"
)

// SaveReport stores r, replacing the record with the same Report.ID if it is
// the same host's (hosts compare case-insensitively): the bot reserves an ID
// (ReserveReportID), saves its report under it before posting it, and again
// with its Channel and ThreadTS. When the ID is another host's report's or
// reservation, it changes nothing and returns an error wrapping ErrIDTaken.
// The report needs an ID, a Host and a Status.
//
// It also keeps the host's entry of Latest, and replaces the report's
// signatures with r.Signatures, in the same transaction.
//
// The report is kept as its JSON; Report gives back what that JSON holds:
// Report.StartedAt in UTC to the microsecond, durations to the millisecond,
// other times as JSON writes them, and no fields JSON leaves out
// (CheckResult.Err, Evidence.Check).
func (db *DB) SaveReport(ctx context.Context, r Record) error {
	if r.Report.ID == "" {
		return errors.New("save report: empty report ID")
	}
	row, err := newReportRow(r)
	if err != nil {
		return fmt.Errorf("save report %s: %w", r.Report.ID, err)
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save report %s of %s: %w", r.Report.ID, r.Report.Host, err)
	}
	defer tx.Rollback()
	// The update of an existing row happens only when it is the same host's;
	// otherwise no row is affected.
	saved, err := db.insertReport(ctx, tx, row, `ON CONFLICT (id) DO UPDATE SET
			host = excluded.host, host_key = excluded.host_key, status = excluded.status,
			started_at = excluded.started_at, causes = excluded.causes, channel = excluded.channel,
			thread_ts = excluded.thread_ts, requested_by = excluded.requested_by,
			report = excluded.report, saved_at = excluded.saved_at
		WHERE reports.host_key = excluded.host_key`)
	if err == nil && !saved {
		err = ErrIDTaken
	}
	if err == nil {
		err = insertSignatures(ctx, tx, row.rep.ID, row.rep.StartedAt, row.sigs, true)
	}
	if err == nil {
		err = updateLatest(ctx, tx, row.rep)
	}
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		return fmt.Errorf("save report %s of %s: %w", r.Report.ID, r.Report.Host, err)
	}
	return nil
}

// reportRow is a Record as the reports table keeps it.
type reportRow struct {
	r      Record
	rep    triage.Report // r.Report with StartedAt as stored
	causes string        // JSON
	sigs   []sigRow
}

// newReportRow checks what a stored report needs and prepares its row.
func newReportRow(r Record) (reportRow, error) {
	rep := r.Report
	switch {
	case rep.Host == "":
		return reportRow{}, errors.New("empty host")
	case rep.Status == "": // an empty status marks a reservation
		return reportRow{}, errors.New("empty status")
	}
	rep.StartedAt = stored(rep.StartedAt)
	causes, err := json.Marshal(causeList(triage.StateOf(rep).Causes))
	if err != nil {
		return reportRow{}, err
	}
	sigs, err := newSigRows(rep.Host, r.Signatures)
	if err != nil {
		return reportRow{}, err
	}
	return reportRow{r: r, rep: rep, causes: string(causes), sigs: sigs}, nil
}

// insertReport inserts row under row.rep.ID, with onConflict as the insert's
// ON CONFLICT clause, and reports whether a row was written.
func (db *DB) insertReport(ctx context.Context, tx *sql.Tx, row reportRow, onConflict string) (bool, error) {
	doc, err := json.Marshal(row.rep)
	if err != nil {
		return false, err
	}
	rep := row.rep
	res, err := tx.ExecContext(ctx, `
		INSERT INTO reports (id, host, host_key, status, started_at, causes, channel, thread_ts, requested_by, report, saved_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) `+onConflict,
		rep.ID, rep.Host, hostKey(rep.Host), string(rep.Status), micros(rep.StartedAt), row.causes,
		row.r.Channel, row.r.ThreadTS, row.r.RequestedBy, string(doc), micros(db.now()))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// updateLatest updates the latest entry of rep's host in tx. The
// host's newest report, read through reports_by_host, replaces the entry when
// it is at least as new, or when the entry is rep (whose StartedAt may have
// changed). The guard keeps a concurrent save of a newer report from being
// undone by this one.
func updateLatest(ctx context.Context, tx *sql.Tx, rep triage.Report) error {
	if _, err := tx.ExecContext(ctx, `
		INSERT INTO latest (host_key, report_id, started_at)
		SELECT host_key, id, started_at FROM reports WHERE host_key = $1 AND `+isSaved+`
		ORDER BY started_at DESC, id DESC LIMIT 1
		ON CONFLICT (host_key) DO UPDATE SET report_id = excluded.report_id, started_at = excluded.started_at
		WHERE latest.report_id = $2 OR latest.started_at < excluded.started_at
			OR (latest.started_at = excluded.started_at AND latest.report_id <= excluded.report_id)`,
		hostKey(rep.Host), rep.ID); err != nil {
		return fmt.Errorf("latest report: %w", err)
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
	err := db.sql.QueryRowContext(ctx, `SELECT report, channel, thread_ts, requested_by FROM reports WHERE id = $1 AND `+isSaved, id).
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
	if r.Signatures, err = db.signatures(ctx, id); err != nil {
		return Record{}, fmt.Errorf("read report %s: %w", id, err)
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
		WHERE host_key = $1 AND `+isSaved+` ORDER BY started_at DESC, id DESC LIMIT $2`, hostKey(host), clampLimit(limit))
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
//
// It reads the host's reports newest first in pages, a few at first and more
// while the streak lasts, and stops at the first report without cause: it
// reads the streak and one report more, not the host's whole history.
func (db *DB) Since(ctx context.Context, host string, cause triage.CauseID) (time.Time, bool, error) {
	if host == "" || cause == "" {
		return time.Time{}, false, fmt.Errorf("read streak of %q on %q: empty host or cause", cause, host)
	}
	var (
		since time.Time
		found bool
		after *sinceCursor // the last report read; nil before the first page
	)
	for page := sincePageMin; ; page = min(4*page, sincePageMax) {
		rows, err := db.sincePage(ctx, host, after, page)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("read streak of %s on %s: %w", cause, host, err)
		}
		for _, row := range rows {
			if !slices.Contains(row.causes, cause) {
				return since, found, nil
			}
			since, found = fromMicros(row.started), true
		}
		if len(rows) < page {
			return since, found, nil // the host has no older reports
		}
		after = &rows[len(rows)-1].sinceCursor
	}
}

// The sizes of the pages Since reads: the first, and the largest.
const (
	sincePageMin = 8
	sincePageMax = 512
)

// sinceCursor is where a page of Since starts: just after (older than) this
// report, in History's order.
type sinceCursor struct {
	started int64
	id      string
}

type sinceRow struct {
	sinceCursor
	causes []triage.CauseID
}

// sincePage returns at most limit of host's reports, newest first, older than
// after (from the newest when nil). Both backends bound the row-value
// comparison with reports_by_host, so a page costs its rows, not what came
// before. It reads them all before it returns, so that the connection is free
// between pages.
func (db *DB) sincePage(ctx context.Context, host string, after *sinceCursor, limit int) ([]sinceRow, error) {
	var (
		rows *sql.Rows
		err  error
	)
	if after == nil {
		rows, err = db.sql.QueryContext(ctx, `SELECT started_at, id, causes FROM reports
			WHERE host_key = $1 AND `+isSaved+` ORDER BY started_at DESC, id DESC LIMIT $2`, hostKey(host), limit)
	} else {
		rows, err = db.sql.QueryContext(ctx, `SELECT started_at, id, causes FROM reports
			WHERE host_key = $1 AND (started_at, id) < ($2, $3) AND `+isSaved+`
			ORDER BY started_at DESC, id DESC LIMIT $4`, hostKey(host), after.started, after.id, limit)
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []sinceRow
	for rows.Next() {
		var (
			r   sinceRow
			doc string
		)
		if err := rows.Scan(&r.started, &r.id, &doc); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(doc), &r.causes); err != nil {
			return nil, fmt.Errorf("report %s: decode causes: %w", r.id, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Latest returns each host's newest report (as History orders them), sorted
// by host name, case-insensitively. The host is named as its newest report
// names it. It reads the latest table, which SaveReport keeps: one row per
// host, whatever the number of reports. A host whose reports were all pruned
// is not listed (see Prune).
func (db *DB) Latest(ctx context.Context) ([]Entry, error) {
	// entryColumns, of reports.
	rows, err := db.sql.QueryContext(ctx, `SELECT r.id, r.host, r.status, r.started_at, r.causes, r.channel, r.thread_ts
		FROM latest AS l JOIN reports AS r ON r.id = l.report_id
		ORDER BY l.host_key`)
	if err != nil {
		return nil, fmt.Errorf("read latest reports: %w", err)
	}
	es, err := scanEntries(rows)
	if err != nil {
		return nil, fmt.Errorf("read latest reports: %w", err)
	}
	return es, nil
}
