#!/usr/bin/env bash
# bench-sweep.sh runs schedule.BenchmarkSweep: one scheduled run over simulated hosts whose
# triage takes 200 ms ±20% (real sleeps), one host in ten returning the demo incident's full
# report, every report and its signatures saved to a real SQLite store in batches:
#
#   1,000 hosts, 64 at a time: ideal 1000 × 0.2 s / 64 = 3.125 s
#   10,000 hosts, 256 at a time: ideal 10000 × 0.2 s / 256 = 7.8125 s
#
# Each size runs in its own process, so that its peak RSS is its own. For each it prints, per
# run, the wall time of the whole run (sweep, summary, saving the run), its ratio to the ideal,
# the tail (from the start of the last host's triage to the end of the run), the peak heap
# (objects live and not yet collected), the peak live heap (as the last collection marked it)
# and the process's peak RSS (VmHWM); and then the same for the reference, "pool": the same
# latencies slept by a bare pool of as many goroutines, without Scheduler, reports or store,
# whose ratio is the tail the jitter alone leaves. Compare the sweep with the pool of the same
# invocation: other load on the machine slows both. Last come the number of signatures the
# sweep correlated and how long correlate.Correlate took over them.
#
# Usage: scripts/bench-sweep.sh             COUNT=5 scripts/bench-sweep.sh
set -euo pipefail
cd "$(dirname "$0")/.."

count=${COUNT:-3}
[[ $count =~ ^[1-9][0-9]*$ ]] || { echo "bench-sweep: COUNT must be a positive number" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/schedule.test" ./schedule

load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); load average before: $load_before"
echo "triage 200 ms ±20% per host; $count runs of one sweep each per size"
printf '%-18s %8s %8s %11s %7s %9s %9s %8s %9s %6s %8s\n' "benchmark" "wall s" "ideal s" "wall/ideal" "tail s" \
	"heap MiB" "live MiB" "RSS MiB" "allocs" "sigs" "corr ms"
for hosts in 1000 10000; do
	args=(-test.run='^$' -test.bench="^BenchmarkSweep\$/^hosts=$hosts\$/" -test.benchtime=1x -test.count="$count" -test.benchmem)
	(cd schedule && "$tmp/schedule.test" "${args[@]}") >"$tmp/out-$hosts.txt"
	grep -q '^BenchmarkSweep' "$tmp/out-$hosts.txt" || { cat "$tmp/out-$hosts.txt" >&2; exit 1; }
	awk '/^BenchmarkSweep/ {
		delete m
		for (i = 3; i < NF; i += 2) m[$(i + 1)] = $i
		name = $1; sub(/^BenchmarkSweep\//, "", name); sub(/-[0-9]+$/, "", name)
		printf "%-18s %8.3f %8.3f %11.3f %7.3f %9.1f %9.1f %8.1f %9s %6s %8s\n", name, m["wall-s/op"], m["ideal-s/op"],
			m["wall/ideal"], m["tail-s"], m["peak-heap-MiB"], m["peak-live-MiB"], m["peak-rss-MiB"],
			(m["allocs/op"] == "" ? "-" : m["allocs/op"]), (m["signatures"] == "" ? "-" : m["signatures"]),
			(m["correlate-ms"] == "" ? "-" : sprintf("%.1f", m["correlate-ms"]))
	}' "$tmp/out-$hosts.txt"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")"
