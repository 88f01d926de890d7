package store

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authtriage/authtriage/internal/pgtest"
)

// TestClaimOnce claims one key from 50 goroutines over one or two handles
// ("replicas") on the same database: exactly one wins.
func TestClaimOnce(t *testing.T) {
	for _, handles := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d handles", handles), func(t *testing.T) {
			forEachDatabase(t, func(t *testing.T, o Options) {
				dbs := make([]*DB, handles)
				for i := range dbs {
					dbs[i] = openTest(t, o)
				}
				for _, key := range []string{"Ev1", "Ev2"} {
					var (
						wins  atomic.Int32
						wg    sync.WaitGroup
						start = make(chan struct{})
					)
					for i := range 50 {
						wg.Go(func() {
							<-start
							ok, err := dbs[i%handles].Claim(t.Context(), key, time.Hour)
							if err != nil {
								t.Errorf("Claim(%s): %v", key, err)
							}
							if ok {
								wins.Add(1)
							}
						})
					}
					close(start)
					wg.Wait()
					if n := wins.Load(); n != 1 {
						t.Errorf("Claim(%s) succeeded %d times among 50 callers; want once", key, n)
					}
				}
			})
		})
	}
}

func TestClaimExpires(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, o Options) {
		clk := newClock(t0)
		o.Now = clk.Now
		db := openTest(t, o)
		claim := func(key string, ttl time.Duration, want bool) {
			t.Helper()
			got, err := db.Claim(t.Context(), key, ttl)
			if err != nil {
				t.Fatalf("Claim(%s) at %v: %v", key, clk.Now(), err)
			}
			if got != want {
				t.Errorf("Claim(%s) at +%v = %v; want %v", key, clk.Now().Sub(t0), got, want)
			}
		}
		claim("k", time.Hour, true)
		claim("k", time.Hour, false)
		claim("other", time.Hour, true)
		clk.Advance(59 * time.Minute)
		claim("k", time.Hour, false)
		clk.Advance(time.Minute) // ttl has passed
		claim("k", time.Minute, true)
		claim("k", time.Minute, false)
		clk.Advance(30 * time.Second)
		claim("k", time.Minute, false) // the new claim's ttl counts, not the old one's
		clk.Advance(30 * time.Second)
		claim("k", time.Minute, true)
	})
}

func TestLease(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, o Options) {
		clk := newClock(t0)
		o.Now = clk.Now
		db := openTest(t, o)
		replica := openTest(t, o) // a second process, holder "b"
		lease := func(db *DB, key, holder string, want LeaseState) {
			t.Helper()
			got, err := db.Lease(t.Context(), key, holder, time.Minute)
			if err != nil {
				t.Fatalf("Lease(%s, %s) at +%v: %v", key, holder, clk.Now().Sub(t0), err)
			}
			if got != want {
				t.Errorf("Lease(%s, %s) at +%v = %v; want %v", key, holder, clk.Now().Sub(t0), got, want)
			}
		}
		lease(db, "k", "a", Acquired)
		lease(replica, "k", "b", Held)
		lease(db, "k", "a", Acquired) // still a's
		clk.Advance(50 * time.Second)
		lease(db, "k", "a", Acquired) // renewed until +110s
		clk.Advance(30 * time.Second)
		lease(replica, "k", "b", Held) // the first ttl is over, the renewal is not
		clk.Advance(30 * time.Second)
		lease(replica, "k", "b", Acquired) // expired: b takes it over
		lease(db, "k", "a", Held)

		if err := db.Finish(t.Context(), "k", "a"); err == nil || errors.Is(err, ErrNotFound) {
			t.Errorf("Finish by a after b took over = %v; want an error", err)
		}
		if err := replica.Finish(t.Context(), "k", "b"); err != nil {
			t.Errorf("Finish by b: %v", err)
		}
		if err := replica.Finish(t.Context(), "k", "b"); err != nil {
			t.Errorf("Finish by b again: %v; want nil", err)
		}
		lease(db, "k", "a", Done)
		lease(replica, "k", "b", Done)
		clk.Advance(time.Hour)
		lease(db, "k", "a", Done) // done stays done after the ttl
		if err := db.Finish(t.Context(), "k", "a"); err == nil {
			t.Errorf("Finish by a of the lease b finished succeeded; want an error")
		}

		// A holder may finish after its ttl as long as nobody took over.
		lease(db, "late", "a", Acquired)
		clk.Advance(2 * time.Minute)
		if err := db.Finish(t.Context(), "late", "a"); err != nil {
			t.Errorf("Finish of an expired lease nobody took: %v", err)
		}
		lease(replica, "late", "b", Done)

		if err := db.Finish(t.Context(), "nosuchkey", "a"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Finish of a lease never taken = %v; want ErrNotFound", err)
		}
	})
}

// TestLeaseOnce has 50 holders on two handles race for one lease: exactly one
// acquires it.
func TestLeaseOnce(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, o Options) {
		dbs := []*DB{openTest(t, o), openTest(t, o)}
		var (
			acquired, held atomic.Int32
			wg             sync.WaitGroup
			start          = make(chan struct{})
		)
		for i := range 50 {
			wg.Go(func() {
				<-start
				s, err := dbs[i%2].Lease(t.Context(), "nightly@2026-03-02T09:00Z", fmt.Sprintf("replica-%d", i), time.Minute)
				switch {
				case err != nil:
					t.Errorf("Lease: %v", err)
				case s == Acquired:
					acquired.Add(1)
				case s == Held:
					held.Add(1)
				default:
					t.Errorf("Lease = %v; want acquired or held", s)
				}
			})
		}
		close(start)
		wg.Wait()
		if a, h := acquired.Load(), held.Load(); a != 1 || h != 49 {
			t.Errorf("50 holders: %d acquired, %d held; want 1 and 49", a, h)
		}
	})
}

func TestLeaseStateString(t *testing.T) {
	for s, want := range map[LeaseState]string{Acquired: "acquired", Held: "held", Done: "done", 7: "LeaseState(?)"} {
		if got := s.String(); got != want {
			t.Errorf("LeaseState(%d).String() = %q; want %q", int(s), got, want)
		}
	}
}

// TestExpiredLeaseTakenOnce has 50 holders on two handles race for a lease
// whose holder stopped renewing it: exactly one takes it over.
func TestExpiredLeaseTakenOnce(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, o Options) {
		clk := newClock(t0)
		o.Now = clk.Now
		dbs := []*DB{openTest(t, o), openTest(t, o)}
		const key = "schedule/nightly/2026-03-02T09:00:00Z"
		if s, err := dbs[0].Lease(t.Context(), key, "dead", time.Minute); err != nil || s != Acquired {
			t.Fatalf("Lease(dead) = %v, %v; want acquired", s, err)
		}
		clk.Advance(time.Minute) // expired
		var (
			acquired, held atomic.Int32
			winner         atomic.Value
			wg             sync.WaitGroup
			start          = make(chan struct{})
		)
		for i := range 50 {
			wg.Go(func() {
				<-start
				holder := fmt.Sprintf("replica-%d", i)
				s, err := dbs[i%2].Lease(t.Context(), key, holder, time.Minute)
				switch {
				case err != nil:
					t.Errorf("Lease: %v", err)
				case s == Acquired:
					acquired.Add(1)
					winner.Store(holder)
				case s == Held:
					held.Add(1)
				default:
					t.Errorf("Lease = %v; want acquired or held", s)
				}
			})
		}
		close(start)
		wg.Wait()
		if a, h := acquired.Load(), held.Load(); a != 1 || h != 49 {
			t.Fatalf("50 holders after expiry: %d acquired, %d held; want 1 and 49", a, h)
		}
		if s, err := dbs[0].Lease(t.Context(), key, "dead", time.Minute); err != nil || s != Held {
			t.Errorf("Lease by the old holder = %v, %v; want held by %v", s, err, winner.Load())
		}
	})
}

// TestServerClock runs claims and leases on PostgreSQL without Options.Now:
// they expire by the server's clock, so a replica whose own clock is far ahead
// takes no live lease or claim.
func TestServerClock(t *testing.T) {
	o := Options{Driver: "postgres", DSN: pgtest.Schema(t), Log: testLogger(t)}
	honest, skewed := openTest(t, o), openTest(t, o)
	skewed.clock = func() time.Time { return time.Now().Add(time.Hour) } // what the store would otherwise read
	ctx := t.Context()
	if s, err := honest.Lease(ctx, "k", "a", time.Minute); err != nil || s != Acquired {
		t.Fatalf("Lease(a) = %v, %v; want acquired", s, err)
	}
	if s, err := skewed.Lease(ctx, "k", "b", time.Minute); err != nil || s != Held {
		t.Errorf("Lease(b) by a replica an hour ahead = %v, %v; want held", s, err)
	}
	if ok, err := honest.Claim(ctx, "Ev1", time.Minute); err != nil || !ok {
		t.Fatalf("Claim = %v, %v; want true", ok, err)
	}
	if ok, err := skewed.Claim(ctx, "Ev1", time.Minute); err != nil || ok {
		t.Errorf("Claim by a replica an hour ahead = %v, %v; want false", ok, err)
	}
	// The server's clock does move: short leases and claims expire.
	if s, err := honest.Lease(ctx, "short", "a", 50*time.Millisecond); err != nil || s != Acquired {
		t.Fatalf("Lease(short, a) = %v, %v; want acquired", s, err)
	}
	if ok, err := honest.Claim(ctx, "Ev2", 50*time.Millisecond); err != nil || !ok {
		t.Fatalf("Claim(Ev2) = %v, %v; want true", ok, err)
	}
	// Until the server's clock, which decides, reads past both expiries.
	for {
		var left int64 // microseconds
		if err := honest.sql.QueryRowContext(ctx, `SELECT greatest(l.expires_at, c.expires_at) - `+serverNow+`
			FROM leases AS l, claims AS c WHERE l.key = 'short' AND c.key = 'Ev2'`).Scan(&left); err != nil {
			t.Fatal(err)
		}
		if left < 0 {
			break
		}
		time.Sleep(time.Duration(left+1) * time.Microsecond)
	}
	if s, err := skewed.Lease(ctx, "short", "b", time.Minute); err != nil || s != Acquired {
		t.Errorf("Lease(short, b) after expiry = %v, %v; want acquired", s, err)
	}
	if ok, err := skewed.Claim(ctx, "Ev2", time.Minute); err != nil || !ok {
		t.Errorf("Claim(Ev2) after expiry = %v, %v; want true", ok, err)
	}
	if err := skewed.Finish(ctx, "short", "b"); err != nil {
		t.Fatal(err)
	}
	var expires, done int64
	if err := honest.sql.QueryRowContext(ctx, `SELECT expires_at, done_at FROM leases WHERE key = 'short'`).Scan(&expires, &done); err != nil {
		t.Fatal(err)
	}
	// Both by the server's clock: the lease was finished within its minute.
	if d := time.Duration(expires-done) * time.Microsecond; d <= 0 || d > time.Minute {
		t.Errorf("lease expires %v after it was finished; want within (0, 1m]", d)
	}
}
