#!/usr/bin/env bash
# bench-serve.sh: 100 consecutive triages of the test domain's healthy host through serve's
# triager (BenchmarkServeTriage in cmd/authtriage), on a throwaway Samba AD domain
# (scripts/testdomain.sh), each way in the same run:
#   rebuild-per-triage  adapters made for each triage and closed after it, as serve did
#                       before the planner (the reference)
#   long-lived          one set of adapters for the whole run, as serve has now
# Each way runs three times. It prints ns/op (one triage), binds/op (LDAP binds for queries) and probe-binds/op (the
# dc check's, one per domain controller by design), and the machine it ran on. Needs root.
#
# Usage: scripts/bench-serve.sh [N]          N triages each way, default 100
set -euo pipefail
cd "$(dirname "$0")/.."

n=${1:-100}
[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [N]" >&2; exit 2; }

dir=$(mktemp -d -t authtriage-benchserve.XXXXXX)
export AUTHTRIAGE_NETNS=${AUTHTRIAGE_NETNS:-authtriage-bench-$$}
cleanup() { bash scripts/testdomain.sh down "$dir" --purge >/dev/null 2>&1 || true; }
trap cleanup EXIT

bash scripts/testdomain.sh deps
go mod download # the namespace has no network but loopback
go test -run '^$' -count=1 ./cmd/authtriage >/dev/null # build outside, so the timed run only runs
bash scripts/testdomain.sh up "$dir"

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(go env GOOS)/$(go env GOARCH), $(go version | cut -d' ' -f3)"
AUTHTRIAGE_REQUIRE_INTEGRATION=1 bash scripts/testdomain.sh exec "$dir" -- \
	go test -run '^$' -bench '^BenchmarkServeTriage$' -benchtime "${n}x" -count 3 ./cmd/authtriage
