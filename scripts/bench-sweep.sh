#!/usr/bin/env bash
# bench-sweep.sh runs schedule.BenchmarkSweep: one scheduled run over 1,000 simulated hosts
# whose triage takes 200 ms ±20% (real sleeps), 64 at a time, so the ideal run takes
# 1000 × 0.2 s / 64 = 3.125 s. It prints, per run, the wall time, its ratio to the ideal
# (the sweep's overhead plus the tail of the last hosts), the peak live heap sampled during
# the run and the test binary's peak RSS (VmHWM so far), then the peak RSS of the whole
# binary as /usr/bin/time -v measures it, where that is installed.
#
# Usage: scripts/bench-sweep.sh             COUNT=5 scripts/bench-sweep.sh
set -euo pipefail
cd "$(dirname "$0")/.."

count=${COUNT:-3}
[[ $count =~ ^[1-9][0-9]*$ ]] || { echo "bench-sweep: COUNT must be a positive number" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/schedule.test" ./schedule

args=(-test.run='^$' -test.bench='^BenchmarkSweep$' -test.benchtime=1x -test.count="$count" -test.benchmem)
timer=()
if [ -x /usr/bin/time ] && /usr/bin/time -v true >/dev/null 2>&1; then
	timer=(/usr/bin/time -v -o "$tmp/time.txt")
fi
load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
(cd schedule && "${timer[@]}" "$tmp/schedule.test" "${args[@]}") >"$tmp/out.txt"
grep -q '^BenchmarkSweep' "$tmp/out.txt" || { cat "$tmp/out.txt" >&2; exit 1; }

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); load average before: $load_before"
echo "1000 hosts, 200 ms ±20% each, concurrency 64; $count runs of one sweep each"
printf '%-5s %9s %9s %11s %15s %14s %10s\n' "run" "wall s" "ideal s" "wall/ideal" "peak heap MiB" "peak RSS MiB" "allocs"
awk '/^BenchmarkSweep/ {
	delete m
	for (i = 3; i < NF; i += 2) m[$(i + 1)] = $i
	printf "%-5d %9.3f %9.3f %11.3f %15.1f %14.1f %10d\n", ++n, m["wall-s/op"], m["ideal-s/op"], m["wall/ideal"],
		m["peak-heap-MiB"], m["peak-rss-MiB"], m["allocs/op"]
}' "$tmp/out.txt"
if [ -s "$tmp/time.txt" ]; then
	kib=$(sed -n 's/.*Maximum resident set size (kbytes): *//p' "$tmp/time.txt")
	echo "peak RSS of the test binary (/usr/bin/time -v): $(awk -v k="$kib" 'BEGIN { printf "%.1f", k / 1024 }') MiB"
fi
