#!/usr/bin/env bash
# bench-errorlog.sh compares authtriage's ERRORLOG scan with ripgrep counting the same
# failures in the same file: a generated UTF-16LE ERRORLOG of 1 GiB (or the size given,
# e.g. 256MiB). Each run times our whole check process, then rg, one after the other,
# and prints both and their ratio (ours / rg); then the best of the runs of each, the
# ratio of the bests, what each found, and a read of the last hour, which should touch
# only the file's tail.
#
# Usage: scripts/bench-errorlog.sh [SIZE]      RUNS=5 scripts/bench-errorlog.sh
set -euo pipefail
cd "$(dirname "$0")/.."

size=${1:-1GiB}
runs=${RUNS:-3}
for tool in rg go; do
	command -v "$tool" >/dev/null || { echo "bench-errorlog: $tool is needed (rg: apt-get install ripgrep)" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/authtriage" ./cmd/authtriage
go build -o "$tmp/genlog" ./scripts/genlog
log=$tmp/ERRORLOG
"$tmp/genlog" -size "$size" -o "$log"
cat "$log" >/dev/null # warm the page cache: we measure the scan, not the disk

# check runs a triage of the log. Its exit status is 0-3 by severity; the log is
# full of failures, so 1 and 2 are expected and only 3 (unknown, or an error) fails.
check() {
	local rc=0
	"$tmp/authtriage" check bench01 --errorlog "$log" --output json "$@" || rc=$?
	if [ "$rc" -gt 2 ]; then
		echo "bench-errorlog: authtriage check $* exited with $rc" >&2
		return 1
	fi
}

# ms prints the wall-clock time in milliseconds of one run of "$@".
ms() {
	local t0 t1
	t0=$(date +%s%N)
	"$@" >/dev/null
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

# best prints the shortest wall-clock time in milliseconds of $runs runs of "$@".
best() {
	local best="" t
	for _ in $(seq "$runs"); do
		t=$(ms "$@")
		if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
	done
	echo "$best"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }'; }

# count17806 prints the number of 17806 entries a JSON report counts as evidence.
count17806() {
	if command -v jq >/dev/null; then
		jq '[.findings[].evidence[] | select(.source == "errorlog" and (.text | startswith("17806")))] | unique | map(.count // 1) | add // 0'
	else
		echo "n/a (no jq)"
	fi
}

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); $(rg --version | head -1)"

# A full scan: 80000h (9 years; the CLI allows up to 10) reaches back past the
# file's first entry, 16 days before its last. Each run times ours, then rg.
full_ms="" rg_ms=""
for i in $(seq "$runs"); do
	ours=$(ms check --since 80000h)
	theirs=$(ms rg -c 'SSPI handshake failed' "$log")
	echo "run $i: authtriage $ours ms, rg $theirs ms, ratio $(ratio "$ours" "$theirs")"
	if [ -z "$full_ms" ] || [ "$ours" -lt "$full_ms" ]; then full_ms=$ours; fi
	if [ -z "$rg_ms" ] || [ "$theirs" -lt "$rg_ms" ]; then rg_ms=$theirs; fi
done
tail_ms=$(best check --since 1h)
full_n=$(check --since 80000h | count17806)
rg_n=$(rg -c 'SSPI handshake failed' "$log")
tail_n=$(check --since 1h | count17806)

bytes=$(stat -c %s "$log")
mbs() { awk -v b="$bytes" -v ms="$1" 'BEGIN { if (ms > 0) printf "%.0f", b / 1048576 / (ms / 1000); else print "-" }'; }

echo "file: $bytes bytes UTF-16LE; best of $runs; ratio of the bests (authtriage / rg): $(ratio "$full_ms" "$rg_ms")"
printf '%-62s %9s %9s %14s\n' "command" "time ms" "MiB/s" "17806 found"
printf '%-62s %9s %9s %14s\n' "authtriage check --errorlog FILE --since 80000h" "$full_ms" "$(mbs "$full_ms")" "$full_n"
printf '%-62s %9s %9s %14s\n' "rg -c 'SSPI handshake failed' FILE" "$rg_ms" "$(mbs "$rg_ms")" "$rg_n"
printf '%-62s %9s %9s %14s\n' "authtriage check --errorlog FILE --since 1h (tail only)" "$tail_ms" "-" "$tail_n"
