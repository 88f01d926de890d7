package schedule

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authtriage/authtriage/store"
	"github.com/authtriage/authtriage/triage"
)

// sleepyTriager simulates a fleet: each triage takes mean ± jitter (uniform,
// real time) and returns a report of a realistic size: one host in ten the demo
// incident's full report (decoded afresh each time, 13 KB of JSON), the others
// an ok report with their checks.
type sleepyTriager struct {
	mean     time.Duration
	jitter   float64 // 0.2 is ±20%
	critical []byte  // a report's JSON
}

func (t sleepyTriager) Triage(ctx context.Context, host string) (triage.Report, error) {
	d := time.Duration(float64(t.mean) * (1 - t.jitter + 2*t.jitter*rand.Float64()))
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return triage.Report{}, ctx.Err()
	case <-timer.C:
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

// heapSampler records the peak of live heap objects while it runs.
type heapSampler struct {
	stop chan struct{}
	done sync.WaitGroup
	peak uint64
}

func sampleHeap(every time.Duration) *heapSampler {
	h := &heapSampler{stop: make(chan struct{})}
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	h.done.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			metrics.Read(sample)
			h.peak = max(h.peak, sample[0].Value.Uint64())
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	})
	return h
}

// Stop stops sampling and returns the peak in bytes.
func (h *heapSampler) Stop() uint64 {
	close(h.stop)
	h.done.Wait()
	return h.peak
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

// BenchmarkSweep runs one tick over 1,000 simulated hosts that take 200 ms ±20%
// each, 64 at a time, with the real clock. Its metrics: the wall time of a run,
// the ideal (hosts × mean latency / concurrency), their ratio (the sweep's
// overhead and tail), the peak live heap during the run and the process's peak
// RSS. Reports are saved to a real SQLite store. Run it with -benchtime=1x
// (scripts/bench-sweep.sh).
func BenchmarkSweep(b *testing.B) {
	const (
		hosts       = 1000
		concurrency = 64
		mean        = 200 * time.Millisecond
	)
	names := make([]string, hosts)
	for i := range names {
		names[i] = fmt.Sprintf("sqlhost%04d", i)
	}
	sc := Schedule{Name: "bench", Spec: "@hourly", Channel: "C0FLEET", Hosts: names, Concurrency: concurrency}
	demo, err := os.ReadFile(filepath.Join("..", "render", "slack", "testdata", "demo.json"))
	if err != nil {
		b.Fatal(err)
	}
	// The real store (SQLite, as a single replica runs it): every report is saved.
	st, err := store.Open(b.Context(), store.Options{DSN: filepath.Join(b.TempDir(), "bench.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	s, err := New(Options{Schedules: []Schedule{sc}, Triager: sleepyTriager{mean: mean, jitter: 0.2, critical: demo},
		Store: st, Notifier: nopNotifier{}, Holder: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	tick := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	heap := sampleHeap(5 * time.Millisecond)
	var wall time.Duration
	b.ReportAllocs()
	for b.Loop() {
		tick = tick.Add(time.Hour)
		t0 := time.Now()
		if err := s.RunTick(b.Context(), sc, tick); err != nil {
			b.Fatal(err)
		}
		wall += time.Since(t0)
		run, err := st.Run(b.Context(), "bench", tick)
		if err != nil || len(run.Hosts) != hosts {
			b.Fatalf("stored run has %d hosts (%v); want %d", len(run.Hosts), err, hosts)
		}
	}
	peakHeap := heap.Stop()
	ideal := time.Duration(hosts) * mean / concurrency
	perRun := wall / time.Duration(b.N)
	b.ReportMetric(perRun.Seconds(), "wall-s/op")
	b.ReportMetric(ideal.Seconds(), "ideal-s/op")
	b.ReportMetric(perRun.Seconds()/ideal.Seconds(), "wall/ideal")
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MiB")
	if rss := peakRSS(); rss > 0 {
		b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MiB")
	}
}
