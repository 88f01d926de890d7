package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// SaveRun stores run, replacing the run of the same Schedule and Tick if there
// is one. The run needs a Schedule and a Tick. Its times (Tick, Started,
// Finished and the hosts' StartedAt) are kept in UTC to the microsecond.
func (db *DB) SaveRun(ctx context.Context, run triage.FleetRun) error {
	if run.Schedule == "" {
		return errors.New("save run: empty schedule")
	}
	if run.Tick.IsZero() {
		return fmt.Errorf("save run of %s: zero tick", run.Schedule)
	}
	run.Tick = stored(run.Tick)
	run.Started = stored(run.Started)
	run.Finished = stored(run.Finished)
	run.Hosts = slices.Clone(run.Hosts)
	for i := range run.Hosts {
		run.Hosts[i].StartedAt = stored(run.Hosts[i].StartedAt)
	}
	doc, err := json.Marshal(run)
	if err != nil {
		return fmt.Errorf("save run of %s at %s: %w", run.Schedule, run.Tick.Format(time.RFC3339), err)
	}
	_, err = db.sql.ExecContext(ctx, `INSERT INTO runs (schedule, tick, run) VALUES ($1, $2, $3)
		ON CONFLICT (schedule, tick) DO UPDATE SET run = excluded.run`,
		run.Schedule, micros(run.Tick), string(doc))
	if err != nil {
		return fmt.Errorf("save run of %s at %s: %w", run.Schedule, run.Tick.Format(time.RFC3339), err)
	}
	return nil
}

// LastRun returns the newest run of schedule whose Tick is strictly before
// before, or an error wrapping ErrNotFound when there is none.
func (db *DB) LastRun(ctx context.Context, schedule string, before time.Time) (triage.FleetRun, error) {
	if schedule == "" {
		return triage.FleetRun{}, errors.New("read last run: empty schedule")
	}
	row := db.sql.QueryRowContext(ctx, `SELECT run FROM runs WHERE schedule = $1 AND tick < $2 ORDER BY tick DESC LIMIT 1`,
		schedule, micros(before))
	run, err := scanRun(row)
	if err != nil {
		return triage.FleetRun{}, fmt.Errorf("read run of %s before %s: %w", schedule, before.UTC().Format(time.RFC3339), err)
	}
	return run, nil
}

// Run returns the run of schedule for tick (compared to the microsecond), or
// an error wrapping ErrNotFound when there is none.
func (db *DB) Run(ctx context.Context, schedule string, tick time.Time) (triage.FleetRun, error) {
	if schedule == "" {
		return triage.FleetRun{}, errors.New("read run: empty schedule")
	}
	row := db.sql.QueryRowContext(ctx, `SELECT run FROM runs WHERE schedule = $1 AND tick = $2`, schedule, micros(tick))
	run, err := scanRun(row)
	if err != nil {
		return triage.FleetRun{}, fmt.Errorf("read run of %s at %s: %w", schedule, tick.UTC().Format(time.RFC3339), err)
	}
	return run, nil
}

// scanRun decodes the run in row; ErrNotFound when there is no row.
func scanRun(row *sql.Row) (triage.FleetRun, error) {
	var (
		doc string
		run triage.FleetRun
	)
	err := row.Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return triage.FleetRun{}, ErrNotFound
	}
	if err != nil {
		return triage.FleetRun{}, err
	}
	if err := json.Unmarshal([]byte(doc), &run); err != nil {
		return triage.FleetRun{}, fmt.Errorf("decode: %w", err)
	}
	return run, nil
}
