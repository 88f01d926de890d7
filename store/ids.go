package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/authtriage/authtriage/triage"
)

// Report IDs are short and random (triage.NewID), so two triages can draw the
// same one. The store is where an ID is assigned: ReserveReportID and
// AddReport take one with a single insert that the reports table's primary
// key guards, and draw another when it is taken, so no two reports of any
// number of replicas get the same ID and no caller checks first and takes
// later.

// maxIDTries is how many IDs ReserveReportID and AddReport try before they
// give up.
const maxIDTries = 5

// isSaved is the condition on a reports row that holds a report, not only an
// ID that ReserveReportID reserved: a reservation has an empty status.
const isSaved = `status <> ''`

// ReserveReportID reserves a report ID for a report of host that the caller
// saves later (SaveReport): id when no report has it and nobody reserved it,
// and otherwise a fresh one (triage.NewID), taken the same way; id "" asks for
// a fresh one at once. It returns the ID reserved.
//
// A reserved ID is the host's: SaveReport of the host's report under it fills
// it in, and one of another host's report fails with ErrIDTaken. Until then
// Report, History, Since and Latest do not show it, and Prune deletes it once
// it is as old as a report it deletes.
func (db *DB) ReserveReportID(ctx context.Context, id, host string) (string, error) {
	if host == "" {
		return "", errors.New("reserve report ID: empty host")
	}
	got, err := takeID(id, func(id string) (bool, error) {
		now := micros(db.now())
		res, err := db.sql.ExecContext(ctx, `
			INSERT INTO reports (id, host, host_key, status, started_at, causes, channel, thread_ts, requested_by, report, saved_at)
			VALUES ($1, $2, $3, '', $4, '[]', '', '', '', '', $4)
			ON CONFLICT (id) DO NOTHING`,
			id, host, hostKey(host), now)
		if err != nil {
			return false, err
		}
		n, err := res.RowsAffected()
		return n == 1, err
	})
	if err != nil {
		return "", fmt.Errorf("reserve a report ID for %s: %w", host, err)
	}
	return got, nil
}

// AddReport saves r as a new report, under r.Report.ID when no report has it
// and nobody reserved it, and otherwise under a fresh ID taken as
// ReserveReportID takes one; it returns the ID the report was saved under. It
// never replaces a report. What it keeps is as SaveReport keeps it, Latest
// and the signatures included, and the report needs a Host and a Status.
func (db *DB) AddReport(ctx context.Context, r Record) (string, error) {
	ids, err := db.AddReports(ctx, []Record{r})
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// AddReports adds each of rs as AddReport adds one, all in one transaction,
// and returns the IDs they were saved under, in rs's order: a sweep streams
// its reports to the store in batches of this. Two records of rs with the
// same ID are saved under different ones, as two AddReport calls would save
// them. It saves all of rs or, when it returns an error, none: a record
// without a Host or a Status fails the whole batch before anything is
// written, and its error names the record.
func (db *DB) AddReports(ctx context.Context, rs []Record) ([]string, error) {
	if len(rs) == 0 {
		return nil, nil
	}
	what := fmt.Sprintf("add %d reports", len(rs))
	if len(rs) == 1 {
		what = "add report of " + rs[0].Report.Host
	}
	rows := make([]reportRow, len(rs))
	for i, r := range rs {
		row, err := newReportRow(r)
		if err != nil {
			if len(rs) == 1 {
				return nil, fmt.Errorf("add report of %q: %w", r.Report.Host, err)
			}
			return nil, fmt.Errorf("%s: report %d of %q: %w", what, i+1, r.Report.Host, err)
		}
		rows[i] = row
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer tx.Rollback()
	ids := make([]string, len(rows))
	for i, row := range rows {
		id, err := takeID(row.rep.ID, func(id string) (bool, error) {
			row.rep.ID = id
			return db.insertReport(ctx, tx, row, `ON CONFLICT (id) DO NOTHING`)
		})
		if err == nil {
			err = insertSignatures(ctx, tx, id, row.rep.StartedAt, row.sigs, false)
		}
		if err == nil {
			err = updateLatest(ctx, tx, row.rep)
		}
		if err != nil {
			if len(rs) == 1 {
				return nil, fmt.Errorf("%s: %w", what, err)
			}
			return nil, fmt.Errorf("%s: report %d of %s: %w", what, i+1, row.rep.Host, err)
		}
		ids[i] = id
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return ids, nil
}

// takeID calls insert with id ("" for none), and then with fresh IDs while
// insert reports the one it was given taken, at most maxIDTries times in all,
// and returns the ID insert took.
func takeID(id string, insert func(id string) (bool, error)) (string, error) {
	for try := range maxIDTries {
		if id == "" || try > 0 {
			id = triage.NewID()
		}
		took, err := insert(id)
		if err != nil {
			return "", err
		}
		if took {
			return id, nil
		}
	}
	return "", fmt.Errorf("%d report IDs tried were all taken", maxIDTries)
}
