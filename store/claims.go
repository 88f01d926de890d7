package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Claim claims key for ttl, for de-duplication (a Slack event ID, say). It
// returns true to exactly one of any number of concurrent callers claiming the
// same key, in this process or any other sharing the database, and false to
// the others. Once ttl has passed since the successful claim (by the store's
// clock: the database server's on PostgreSQL, see Options.Now), the key may
// be claimed again.
func (db *DB) Claim(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if key == "" {
		return false, errors.New("claim: empty key")
	}
	if ttl <= 0 {
		return false, fmt.Errorf("claim %s: ttl %v is not positive", key, ttl)
	}
	// One statement, so atomic in both backends: the insert wins, or the
	// update of an expired claim does; a live claim is left as it is and
	// nothing is changed.
	q, args := db.clocked(`INSERT INTO claims (key, claimed_at, expires_at) VALUES ($1, {now}, {now} + $2)
		ON CONFLICT (key) DO UPDATE SET claimed_at = excluded.claimed_at, expires_at = excluded.expires_at
		WHERE claims.expires_at <= excluded.claimed_at`,
		key, ttl.Microseconds())
	res, err := db.sql.ExecContext(ctx, q, args...)
	if err != nil {
		return false, fmt.Errorf("claim %s: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim %s: %w", key, err)
	}
	return n == 1, nil
}

// Lease tries to take the lease on key for holder until now+ttl, so that of
// several replicas only one does the work key names (a schedule's run). It
// returns:
//
//   - Acquired when the lease was free, had expired, or was already holder's
//     (then it is renewed until now+ttl): holder may do the work, and should
//     call Finish when it is done.
//   - Held when another holder's lease has not expired.
//   - Done when the work was finished (Finish): nobody may take the lease again.
//
// It is atomic across processes sharing the database. "now" is the store's
// clock: on PostgreSQL the database server's (see Options.Now), so that a
// replica whose clock runs ahead does not take a lease that has not expired.
func (db *DB) Lease(ctx context.Context, key, holder string, ttl time.Duration) (LeaseState, error) {
	if key == "" || holder == "" {
		return 0, fmt.Errorf("lease %q for %q: empty key or holder", key, holder)
	}
	if ttl <= 0 {
		return 0, fmt.Errorf("lease %s for %s: ttl %v is not positive", key, holder, ttl)
	}
	q, args := db.clocked(`INSERT INTO leases (key, holder, expires_at) VALUES ($1, $2, {now} + $3)
		ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.done_at IS NULL AND (leases.holder = excluded.holder OR leases.expires_at <= {now})`,
		key, holder, ttl.Microseconds())
	res, err := db.sql.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("lease %s for %s: %w", key, holder, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("lease %s for %s: %w", key, holder, err)
	}
	if n == 1 {
		return Acquired, nil
	}
	// The lease exists and is someone else's or done. Which one it was when
	// the insert lost, this read may not see exactly, but the answer is true
	// at some moment in between: done stays done, and a lease that has changed
	// hands since is still held by another.
	var done sql.NullInt64
	err = db.sql.QueryRowContext(ctx, `SELECT done_at FROM leases WHERE key = $1`, key).Scan(&done)
	if errors.Is(err, sql.ErrNoRows) { // pruned in between: it was held by another a moment ago
		return Held, nil
	}
	if err != nil {
		return 0, fmt.Errorf("lease %s for %s: %w", key, holder, err)
	}
	if done.Valid {
		return Done, nil
	}
	return Held, nil
}

// Finish marks the lease on key done, so that Lease returns Done to everyone
// from now on. holder must be the lease's holder: it may finish after its ttl
// ran out, as long as nobody took the lease over. Finishing a lease holder
// already finished does nothing. Finish returns an error when another holder
// has the lease (or finished it), and one wrapping ErrNotFound when there is
// no lease on key.
func (db *DB) Finish(ctx context.Context, key, holder string) error {
	if key == "" || holder == "" {
		return fmt.Errorf("finish lease %q for %q: empty key or holder", key, holder)
	}
	q, args := db.clocked(`UPDATE leases SET done_at = {now} WHERE key = $1 AND holder = $2 AND done_at IS NULL`, key, holder)
	res, err := db.sql.ExecContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("finish lease %s for %s: %w", key, holder, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("finish lease %s for %s: %w", key, holder, err)
	}
	if n == 1 {
		return nil
	}
	var (
		owner string
		done  sql.NullInt64
	)
	err = db.sql.QueryRowContext(ctx, `SELECT holder, done_at FROM leases WHERE key = $1`, key).Scan(&owner, &done)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("finish lease %s for %s: %w", key, holder, ErrNotFound)
	case err != nil:
		return fmt.Errorf("finish lease %s for %s: %w", key, holder, err)
	case owner == holder && done.Valid:
		return nil
	case done.Valid:
		return fmt.Errorf("finish lease %s for %s: %s finished it", key, holder, owner)
	}
	return fmt.Errorf("finish lease %s for %s: %s holds it", key, holder, owner)
}
