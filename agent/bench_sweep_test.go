package agent_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authtriage/authtriage/agent"
	"github.com/authtriage/authtriage/diagnosis"
	"github.com/authtriage/authtriage/triage"
)

// The simulated fleet behind one agent: each host's triage is four checks, one of
// which waits benchLatency ±20% (uniform, real time) and returns an ERRORLOG event,
// the others at once; the agent runs them through its real path (mutual TLS, the
// triage.Runner, the stream), and the client diagnoses each report with the real rules.
const (
	benchHosts   = 1000
	benchLatency = 50 * time.Millisecond
	benchSweep   = 16 // the agent's sweep concurrency, its default
)

// latencyCheck waits its latency, or until its context ends.
type latencyCheck struct{ mean time.Duration }

func (latencyCheck) Name() string { return "errorlog" }
func (c latencyCheck) Run(ctx context.Context, _ triage.Target) (triage.Result, error) {
	t := time.NewTimer(time.Duration(float64(c.mean) * (0.8 + 0.4*rand.Float64())))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return triage.Result{}, ctx.Err()
	case <-t.C:
	}
	return logResult("ERRORLOG: 3 entries", 18456), nil
}

func benchChecks(triage.Target, time.Duration) []triage.Check {
	return []triage.Check{
		latencyCheck{benchLatency},
		returns("service", triage.Result{Detail: "MSSQLSERVER running"}, nil),
		returns("spn", triage.Result{}, triage.Skip("no directory configured")),
		returns("clock", triage.Result{Detail: "skew 0.2s"}, nil),
	}
}

// benchAgent starts an agent for benchHosts hosts with edit applied.
func benchAgent(b *testing.B, edit func(*agent.ServerConfig)) (*testAgent, []string) {
	b.Helper()
	p := newPKI(b, "bot")
	hosts := inventory("sqlhost", benchHosts)
	a := startAgent(b, p, nil, func(c *agent.ServerConfig) {
		c.Hosts = hosts
		c.Checks = benchChecks
		c.Rules = diagnosis.Rules()
		c.Deadline, c.CheckTimeout = 30*time.Second, 10*time.Second
		edit(c)
	})
	names := make([]string, 0, len(hosts))
	for i := range benchHosts {
		names = append(names, fmt.Sprintf("sqlhost%02d", i+1))
	}
	return a, names
}

// BenchmarkSweepAgent sweeps 1,000 hosts through one agent in batch requests, within
// the agent's sweep concurrency of 16: the ideal is 1000 × 50 ms / 16 = 3.125 s.
// Metrics: wall-s, ideal-s, wall/ideal and the peak live heap of the process (agent
// and client together) sampled during the run.
func BenchmarkSweepAgent(b *testing.B) {
	a, names := benchAgent(b, func(c *agent.ServerConfig) { c.SweepConcurrent = benchSweep })
	c := newClient(b, a.pki, a.url, "bot", 60*time.Second)
	rules := diagnosis.Rules()
	ideal := time.Duration(benchHosts) * benchLatency / benchSweep
	for b.Loop() {
		heap := sampleHeap(10 * time.Millisecond)
		var reports, failed atomic.Int64
		start := time.Now()
		err := c.Sweep(b.Context(), names, agent.SweepOptions{Since: 24 * time.Hour, Rules: rules},
			func(host string, rep triage.Report, err error) {
				reports.Add(1)
				if err != nil || rep.Checks[0].Status == triage.CheckError {
					failed.Add(1)
				}
			})
		wall := time.Since(start)
		peak := heap.Stop()
		if err != nil || reports.Load() != benchHosts || failed.Load() != 0 {
			b.Fatalf("Sweep = %v; %d reports, %d failed", err, reports.Load(), failed.Load())
		}
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(ideal.Seconds(), "ideal-s")
		b.ReportMetric(wall.Seconds()/ideal.Seconds(), "wall/ideal")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	}
}

// BenchmarkSweepAgentPerHost sweeps the same 1,000 hosts with today's protocol, one
// POST /v1/triage per host (Client.Checks under a triage.Runner, as the planner runs
// a host behind an agent), 16 at a time, against an agent whose interactive limits
// are lifted to the same budget (16 at once, no rate limit to speak of): the cost of
// a request per host, with the same ideal.
func BenchmarkSweepAgentPerHost(b *testing.B) {
	a, names := benchAgent(b, func(c *agent.ServerConfig) {
		c.MaxConcurrent, c.RatePerMinute, c.Burst = benchSweep, 1_000_000, 1_000_000
	})
	c := newClient(b, a.pki, a.url, "bot", 60*time.Second)
	ideal := time.Duration(benchHosts) * benchLatency / benchSweep
	for b.Loop() {
		start := time.Now()
		failed := perHost(b.Context(), c, names, benchSweep)
		wall := time.Since(start)
		if failed != 0 {
			b.Fatalf("%d hosts failed", failed)
		}
		b.ReportMetric(wall.Seconds(), "wall-s")
		b.ReportMetric(ideal.Seconds(), "ideal-s")
		b.ReportMetric(wall.Seconds()/ideal.Seconds(), "wall/ideal")
	}
}

// BenchmarkSweepAgentToday triages a sample of 15 hosts, one after another, with
// today's protocol and the agent's default interactive limits (4 at once, 30 a minute
// per client, a burst of 5): the rate limit, not the checks, sets the pace. Metric
// projected-1000-s is the wall time of 1,000 hosts at the pace measured after the
// burst.
func BenchmarkSweepAgentToday(b *testing.B) {
	const sample, burst = 15, 5
	a, names := benchAgent(b, func(*agent.ServerConfig) {})
	c := newClient(b, a.pki, a.url, "bot", 60*time.Second)
	for b.Loop() {
		start := time.Now()
		var afterBurst time.Time
		for i, h := range names[:sample] {
			if i == burst {
				afterBurst = time.Now()
			}
			if failed := perHost(b.Context(), c, []string{h}, 1); failed != 0 {
				b.Fatalf("%s failed", h)
			}
		}
		wall := time.Since(start)
		pace := time.Since(afterBurst) / (sample - burst)
		b.ReportMetric(wall.Seconds(), "sample-wall-s")
		b.ReportMetric((time.Duration(benchHosts-burst) * pace).Seconds(), "projected-1000-s")
	}
}

// perHost triages hosts with one request each, conc at once, and returns how many
// reports have a check that failed.
func perHost(ctx context.Context, c *agent.Client, hosts []string, conc int) int {
	rules := diagnosis.Rules()
	var failed atomic.Int64
	next := make(chan string)
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for h := range next {
				checks := c.Checks(h, 24*time.Hour, []string{"errorlog", "service", "spn", "clock"})
				rep := triage.Runner{Checks: checks, Rules: rules, CheckTimeout: 60 * time.Second, Deadline: 60 * time.Second}.
					Run(ctx, triage.Target{Host: h})
				if rep.Checks[0].Status == triage.CheckError {
					failed.Add(1)
				}
			}
		})
	}
	for _, h := range hosts {
		next <- h
	}
	close(next)
	wg.Wait()
	return int(failed.Load())
}

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
