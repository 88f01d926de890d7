package schedule

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authtriage/authtriage/correlate"
	"github.com/authtriage/authtriage/store"
	"github.com/authtriage/authtriage/triage"
)

// sleepyTriager simulates a fleet: each triage takes mean ± jitter (uniform,
// real time) and returns a report of a realistic size: one host in ten the demo
// incident's full report (decoded afresh each time, 13 KB of JSON), the others
// an ok report with their checks. It notes when the last triage started.
type sleepyTriager struct {
	mean      time.Duration
	jitter    float64       // 0.2 is ±20%
	critical  []byte        // a report's JSON
	lastStart *atomic.Int64 // Unix nanoseconds
}

// latency draws one triage's latency.
func latency(mean time.Duration, jitter float64) time.Duration {
	return time.Duration(float64(mean) * (1 - jitter + 2*jitter*rand.Float64()))
}

// sleep waits d, or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

func (t sleepyTriager) Triage(ctx context.Context, host string) (triage.Report, error) {
	t.lastStart.Store(time.Now().UnixNano())
	d := latency(t.mean, t.jitter)
	if err := sleep(ctx, d); err != nil {
		return triage.Report{}, err
	}
	rep := triage.Report{ID: triage.NewID(), Host: host, Status: triage.StatusOK, StartedAt: time.Now(), Duration: d}
	for _, name := range []string{"dns", "tcp", "tls", "login", "errorlog", "spn", "clock", "service"} {
		rep.Checks = append(rep.Checks, triage.CheckResult{Name: name, Status: triage.CheckPass, Duration: d / 8})
	}
	if rand.IntN(10) == 0 {
		if err := json.Unmarshal(t.critical, &rep); err != nil {
			return triage.Report{}, err
		}
		rep.ID, rep.Host = triage.NewID(), host
	}
	return rep, nil
}

// nopNotifier posts nothing.
type nopNotifier struct{}

func (nopNotifier) PostSummary(context.Context, Summary) (Posted, error) {
	return "C0FLEET/1700000000.000100", nil
}

func (nopNotifier) PostDetails(context.Context, Summary, Posted) error { return nil }

func (nopNotifier) Explain(error) (string, string) { return "an internal error (reference r1)", "r1" }

// heapSampler records, while it runs, the peak of the heap's objects (live
// and not yet collected: what the process holds) and the peak of the live heap
// as the last garbage collection marked it (what the program keeps).
type heapSampler struct {
	stop       chan struct{}
	done       sync.WaitGroup
	peak, live uint64
}

func sampleHeap(every time.Duration) *heapSampler {
	h := &heapSampler{stop: make(chan struct{})}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	h.done.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			metrics.Read(sample)
			h.peak = max(h.peak, sample[0].Value.Uint64())
			h.live = max(h.live, sample[1].Value.Uint64())
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	})
	return h
}

// Stop stops sampling and returns the peaks in bytes.
func (h *heapSampler) Stop() (peak, live uint64) {
	close(h.stop)
	h.done.Wait()
	return h.peak, h.live
}

// peakRSS returns the process's peak resident set size (VmHWM) in bytes, or 0
// where /proc does not tell.
func peakRSS() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// BenchmarkSweep runs one tick over 1,000 simulated hosts 64 at a time, and
// over 10,000 hosts 256 at a time, with the real clock; each host's triage
// takes 200 ms ±20%. Its metrics: the wall time of a run; the ideal (hosts ×
// mean latency / concurrency) and their ratio; the tail (from the start of
// the last host's triage to the end of the run: the last hosts' latency,
// then saving the last batch, the run and posting); the peak heap during the
// run (objects live and not yet collected) and the peak live heap (as the
// last collection marked it); and the process's peak RSS. Reports and their signatures are saved
// to a real SQLite store, and the run correlates its hosts' signatures
// (correlate.Signatures and correlate.Correlate); signatures and correlate-ms
// are how many there were and how long the correlation of the last run took.
//
// The reference, pool, is the same latencies slept by a bare pool of as many
// goroutines, with no Scheduler, reports or store: the tail that the jitter
// alone leaves (hosts that take long, started last), which no order of hosts
// whose latency is not known in advance avoids. Run it with -benchtime=1x
// (scripts/bench-sweep.sh).
func BenchmarkSweep(b *testing.B) {
	const mean = 200 * time.Millisecond
	demo, err := os.ReadFile(filepath.Join("..", "render", "slack", "testdata", "demo.json"))
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []struct{ hosts, concurrency int }{{1000, 64}, {10000, 256}} {
		b.Run(fmt.Sprintf("hosts=%d", size.hosts), func(b *testing.B) {
			// The pool first, so that the process's peak RSS it reports is its own.
			b.Run("pool", func(b *testing.B) { benchPool(b, size.hosts, size.concurrency, mean) })
			b.Run("sweep", func(b *testing.B) { benchSweep(b, size.hosts, size.concurrency, mean, demo) })
		})
	}
}

// reportRun reports the metrics of a benchmark that ran b.N runs in wall,
// the last with the tail given, its heap sampled by heap.
func reportRun(b *testing.B, hosts, concurrency int, mean, wall, tail time.Duration, heap *heapSampler) {
	peakHeap, peakLive := heap.Stop()
	ideal := time.Duration(hosts) * mean / time.Duration(concurrency)
	perRun := wall / time.Duration(b.N)
	b.ReportMetric(perRun.Seconds(), "wall-s/op")
	b.ReportMetric(ideal.Seconds(), "ideal-s/op")
	b.ReportMetric(perRun.Seconds()/ideal.Seconds(), "wall/ideal")
	b.ReportMetric(tail.Seconds(), "tail-s")
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(peakLive)/(1<<20), "peak-live-MiB")
	if rss := peakRSS(); rss > 0 {
		b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MiB")
	}
}

func benchSweep(b *testing.B, hosts, concurrency int, mean time.Duration, demo []byte) {
	names := make([]string, hosts)
	for i := range names {
		names[i] = fmt.Sprintf("sqlhost%05d", i)
	}
	sc := Schedule{Name: "bench", Spec: "@hourly", Channel: "C0FLEET", Hosts: names, Concurrency: concurrency}
	// The real store (SQLite, as a single replica runs it): every report is saved.
	st, err := store.Open(b.Context(), store.Options{DSN: filepath.Join(b.TempDir(), "bench.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var (
		lastStart  atomic.Int64
		correlated atomic.Int64 // signatures handed to the correlator
		took       atomic.Int64 // by the correlation, nanoseconds
	)
	s, err := New(Options{Schedules: []Schedule{sc}, Triager: sleepyTriager{mean: mean, jitter: 0.2, critical: demo, lastStart: &lastStart},
		Store: st, Notifier: nopNotifier{}, Holder: "bench", Signatures: correlate.Signatures,
		Correlate: func(sigs []triage.Signature, checked []string) []triage.Incident {
			t0 := time.Now()
			defer func() { took.Store(int64(time.Since(t0))) }()
			correlated.Store(int64(len(sigs)))
			return correlate.Correlate(sigs, checked, correlate.Options{})
		}})
	if err != nil {
		b.Fatal(err)
	}
	tick := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	runtime.GC()
	heap := sampleHeap(5 * time.Millisecond)
	var wall, tail time.Duration
	b.ReportAllocs()
	for b.Loop() {
		tick = tick.Add(time.Hour)
		t0 := time.Now()
		if err := s.RunTick(b.Context(), sc, tick); err != nil {
			b.Fatal(err)
		}
		end := time.Now()
		wall += end.Sub(t0)
		tail = end.Sub(time.Unix(0, lastStart.Load()))
		run, err := st.Run(b.Context(), "bench", tick)
		if err != nil || len(run.Hosts) != hosts {
			b.Fatalf("stored run has %d hosts (%v); want %d", len(run.Hosts), err, hosts)
		}
		for _, h := range run.Hosts {
			if h.ReportID == "" {
				b.Fatalf("host %s has no report saved: %+v", h.Host, h)
			}
		}
		if correlated.Load() == 0 {
			b.Fatal("no signatures correlated")
		}
	}
	reportRun(b, hosts, concurrency, mean, wall, tail, heap)
	b.ReportMetric(float64(correlated.Load()), "signatures")
	b.ReportMetric(time.Duration(took.Load()).Seconds()*1000, "correlate-ms")
}

// benchPool sleeps the sweep's latencies in a bare pool of concurrency
// goroutines: the reference.
func benchPool(b *testing.B, hosts, concurrency int, mean time.Duration) {
	runtime.GC()
	heap := sampleHeap(5 * time.Millisecond)
	var wall, tail time.Duration
	for b.Loop() {
		jobs := make(chan int, hosts)
		for i := range hosts {
			jobs <- i
		}
		close(jobs)
		var lastStart atomic.Int64
		t0 := time.Now()
		var wg sync.WaitGroup
		for range concurrency {
			wg.Go(func() {
				for range jobs {
					lastStart.Store(time.Now().UnixNano())
					_ = sleep(b.Context(), latency(mean, 0.2))
				}
			})
		}
		wg.Wait()
		end := time.Now()
		wall += end.Sub(t0)
		tail = end.Sub(time.Unix(0, lastStart.Load()))
	}
	reportRun(b, hosts, concurrency, mean, wall, tail, heap)
}
