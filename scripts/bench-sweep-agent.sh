#!/usr/bin/env bash
# bench-sweep-agent.sh runs agent.BenchmarkSweepAgent*: 1,000 simulated hosts behind one
# real agent (mutual TLS on loopback, the agent's triage.Runner, the client's rules), each
# host's triage four checks of which one takes 50 ms ±20% (real sleeps).
#   batch:     Client.Sweep, POST /v1/triage/batch, within the agent's sweep concurrency
#              of 16; ideal 1000 × 0.05 s / 16 = 3.125 s
#   per host:  today's protocol, one POST /v1/triage per host, 16 at a time, against an
#              agent whose interactive limits are lifted to 16 at once; the same ideal
#   today:     today's protocol and default limits (4 at once, 30 a minute, burst 5) on a
#              sample of 15 hosts, and the time 1,000 hosts would take at its pace
#
# Usage: scripts/bench-sweep-agent.sh             COUNT=5 scripts/bench-sweep-agent.sh
set -euo pipefail
cd "$(dirname "$0")/.."

count=${COUNT:-3}
[[ $count =~ ^[1-9][0-9]*$ ]] || { echo "bench-sweep-agent: COUNT must be a positive number" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go test -c -o "$tmp/agent.test" ./agent
load_before=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?")
(cd agent && "$tmp/agent.test" -test.run='^$' -test.bench='^BenchmarkSweepAgent(PerHost)?$' \
	-test.benchtime=1x -test.count="$count") >"$tmp/out.txt"
(cd agent && "$tmp/agent.test" -test.run='^$' -test.bench='^BenchmarkSweepAgentToday$' \
	-test.benchtime=1x -test.count=1) >>"$tmp/out.txt"
grep -q '^BenchmarkSweepAgent' "$tmp/out.txt" || { cat "$tmp/out.txt" >&2; exit 1; }

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); load average before: $load_before"
echo "1000 hosts behind one agent, 50 ms ±20% each; $count runs of one sweep each"
printf '%-10s %9s %9s %11s %15s\n' "path" "wall s" "ideal s" "wall/ideal" "peak heap MiB"
awk '/^BenchmarkSweepAgent(-|PerHost)/ {
	delete m
	for (i = 3; i < NF; i += 2) m[$(i + 1)] = $i
	path = ($1 ~ /PerHost/) ? "per host" : "batch"
	heap = ("peak-heap-MiB" in m) ? sprintf("%.1f", m["peak-heap-MiB"]) : "-"
	printf "%-10s %9.3f %9.3f %11.3f %15s\n", path, m["wall-s"], m["ideal-s"], m["wall/ideal"], heap
}
/^BenchmarkSweepAgentToday/ {
	delete m
	for (i = 3; i < NF; i += 2) m[$(i + 1)] = $i
	printf "default limits, one request per host: 15 hosts took %.1f s; 1000 hosts at that pace: %.0f s (%.1f min)\n",
		m["sample-wall-s"], m["projected-1000-s"], m["projected-1000-s"] / 60
}' "$tmp/out.txt"
