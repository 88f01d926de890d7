package schedule

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for creating test schemas

	"github.com/authtriage/authtriage/internal/pgtest"
	"github.com/authtriage/authtriage/store"
	"github.com/authtriage/authtriage/triage"
)

// forEachStore runs f once per backend of the real store, in parallel
// subtests, with the options of a fresh, empty database: a SQLite file in a
// temporary directory, and a new schema of the PostgreSQL database named by
// AUTHTRIAGE_TEST_POSTGRES_DSN (dropped when the test ends). Without that
// variable the PostgreSQL subtest is skipped, or fails when
// AUTHTRIAGE_REQUIRE_POSTGRES=1.
func forEachStore(t *testing.T, f func(t *testing.T, o store.Options)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		f(t, store.Options{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "store.db")})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		f(t, store.Options{Driver: "postgres", DSN: pgtest.Schema(t)})
	})
}

// openStore opens o, and closes it when the test ends.
func openStore(t *testing.T, o store.Options) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), o)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return db
}

// leaseEvent is what a replica's Lease or Finish call on a key did.
type leaseEvent struct {
	holder, key string
	finished    bool             // a Finish; else a Lease that found state
	state       store.LeaseState // of a Lease
}

// watchedStore tells of each Lease and Finish call that succeeded.
type watchedStore struct {
	Store
	calls *events[leaseEvent]
}

func (s watchedStore) Lease(ctx context.Context, key, holder string, ttl time.Duration) (store.LeaseState, error) {
	state, err := s.Store.Lease(ctx, key, holder, ttl)
	if err == nil {
		s.calls.add(leaseEvent{holder: holder, key: key, state: state})
	}
	return state, err
}

func (s watchedStore) Finish(ctx context.Context, key, holder string) error {
	err := s.Store.Finish(ctx, key, holder)
	if err == nil {
		s.calls.add(leaseEvent{holder: holder, key: key, finished: true})
	}
	return err
}

// advanceWithBubble is advance with the bubble's own time moving by each step
// too, after clk. A real store's SQLite waits for another handle's lock by
// sleeping on the bubble's time, which stands still while advance steps
// (synctest.Wait returns as soon as everyone else is blocked, sleepers too):
// a replica waiting there would see clk pass its lease's TTL before it could
// renew it, and the other replica take its run over.
func advanceWithBubble(clk *fakeClock, d, step time.Duration) {
	for d > 0 {
		s := min(step, d)
		clk.Advance(s)
		synctest.Wait()
		time.Sleep(s) // in the bubble: wakes the sleepers due within s, in order
		synctest.Wait()
		d -= s
	}
}

// TestTwoReplicasOnTheStore runs two Schedulers, each with its own handle on
// one real store, through four hourly ticks: each tick is posted once, by one
// of them, compared with the tick before.
func TestTwoReplicasOnTheStore(t *testing.T) {
	forEachStore(t, func(t *testing.T, o store.Options) {
		synctest.Test(t, func(t *testing.T) {
			clk := newFakeClock(start)
			o.Now = clk.Now
			tr := newScriptedTriager()
			sc := hourly("a", "b", "c")
			dbs := []*store.DB{openStore(t, o), openStore(t, o)}
			calls, posts := newEvents[leaseEvent](), newEvents[Summary]()
			r1 := newReplica(t, "replica-1", clk, watchedStore{dbs[0], calls}, tr, sc)
			r2 := newReplica(t, "replica-2", clk, watchedStore{dbs[1], calls}, tr, sc)
			r1.notifier.all, r2.notifier.all = posts, posts
			stops := []func(){runInBackground(t, r1.Scheduler), runInBackground(t, r2.Scheduler)}
			defer func() {
				for _, stop := range stops {
					stop()
				}
			}()

			tr.set("a", triage.StatusCritical, triage.SPNDuplicate)
			tr.set("b", triage.StatusWarning, triage.ClockSkew)
			ticks := []struct {
				setup         func()
				Worse, Better []changeLine
				New, Resolved []causeLine
			}{
				{}, // the first: nothing to compare with
				{
					setup: func() {
						tr.set("a", triage.StatusCritical, triage.SPNDuplicate, triage.DCUnreachable)
						tr.set("b", triage.StatusOK)
						tr.set("c", triage.StatusWarning, triage.ClockSkew)
					},
					Worse:    []changeLine{{"c", triage.StatusOK, triage.StatusWarning}},
					Better:   []changeLine{{"b", triage.StatusWarning, triage.StatusOK}},
					New:      []causeLine{{"a", triage.DCUnreachable}, {"c", triage.ClockSkew}},
					Resolved: []causeLine{{"b", triage.ClockSkew}},
				},
				{
					setup: func() {
						tr.set("a", triage.StatusOK)
						tr.set("b", triage.StatusCritical, triage.DCUnreachable)
					},
					Worse:    []changeLine{{"b", triage.StatusOK, triage.StatusCritical}},
					Better:   []changeLine{{"a", triage.StatusCritical, triage.StatusOK}},
					New:      []causeLine{{"b", triage.DCUnreachable}},
					Resolved: []causeLine{{"a", triage.DCUnreachable}, {"a", triage.SPNDuplicate}},
				},
				{}, // nothing changed
			}
			for i, tw := range ticks {
				if tw.setup != nil {
					tw.setup()
				}
				before := time.Hour
				if i == 0 {
					before = 30 * time.Minute // to 10:00
				}
				advanceWithBubble(clk, before, 10*time.Second)
				wantTick := start.Add(30*time.Minute + time.Duration(i)*time.Hour)
				// Both replicas are through the tick once one has finished its lease
				// and the other found it done, which it asks again after LeaseTTL/2.
				key := leaseKey("fleet", wantTick)
				calls.wait(func(es []leaseEvent) bool {
					return slices.ContainsFunc(es, func(e leaseEvent) bool { return e.key == key && e.finished })
				})
				advanceWithBubble(clk, DefaultLeaseTTL/2+10*time.Second, 10*time.Second)
				calls.wait(func(es []leaseEvent) bool {
					return slices.ContainsFunc(es, func(e leaseEvent) bool { return e.key == key && e.state == store.Done })
				})
				all := posts.wait(func([]Summary) bool { return true })
				slices.SortFunc(all, func(a, b Summary) int { return a.Run.Tick.Compare(b.Run.Tick) })
				if len(all) != i+1 {
					t.Fatalf("after tick %d: %d summaries posted by the two replicas; want %d", i+1, len(all), i+1)
				}
				s := all[i]
				if !s.Run.Tick.Equal(wantTick) {
					t.Errorf("tick %d: summary of %v; want %v", i+1, s.Run.Tick, wantTick)
				}
				if i > 0 && (s.Previous == nil || !s.Previous.Tick.Equal(wantTick.Add(-time.Hour))) {
					t.Errorf("tick %d: Previous = %v; want the run an hour before", i+1, s.Previous)
				}
				if s.Problems != nil || s.Changed != (i < 3) {
					t.Errorf("tick %d: Problems = %q, Changed = %v; want none, changed %v", i+1, s.Problems, s.Changed, i < 3)
				}
				for _, d := range []struct {
					what      string
					want, got any
				}{
					{"Worse", tw.Worse, changeLines(s.Worse)},
					{"Better", tw.Better, changeLines(s.Better)},
					{"New", tw.New, causeLines(s.New)},
					{"Resolved", tw.Resolved, causeLines(s.Resolved)},
				} {
					if diff := cmp.Diff(d.want, d.got); diff != "" {
						t.Errorf("tick %d: %s mismatch (-want +got):\n%s", i+1, d.what, diff)
					}
				}
				run, err := dbs[i%2].Run(t.Context(), "fleet", wantTick)
				if err != nil || run.Posted == "" || len(run.Hosts) != 3 {
					t.Errorf("tick %d: stored run = %+v, %v; want 3 hosts and where the summary is", i+1, run, err)
				}
			}
			if n := tr.callCount(); n != 3*len(ticks) {
				t.Errorf("%d triages; want %d (each host once per tick)", n, 3*len(ticks))
			}
			for _, host := range []string{"a", "b", "c"} {
				hist, err := dbs[0].History(t.Context(), host, 0)
				if err != nil || len(hist) != len(ticks) {
					t.Errorf("History(%s) = %d entries, %v; want %d", host, len(hist), err, len(ticks))
				}
			}
		})
	})
}
