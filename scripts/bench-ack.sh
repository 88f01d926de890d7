#!/usr/bin/env bash
# bench-ack.sh measures how fast `authtriage serve` acknowledges slash commands in
# HTTP mode under load; Slack gives up after 3 seconds. It builds authtriage and
# scripts/ackbench, starts ackbench's fake Slack Web API (the bot's auth.test at
# start-up and its replies go there), then `authtriage serve` with a throwaway
# configuration: a random signing secret, one access rule allowing every command to
# everyone, SQLite in a temporary directory, and the demo host sqlhost01 read from
# internal/demo/sqlhost01. Once /readyz answers, ackbench sends signed /authtriage commands
# at constant rates (open loop: latency counts from each request's scheduled time)
# for "help" and for "check sqlhost01", and the script prints its tables, the calls
# the fake received, and the machine. Everything it started is stopped on exit.
#
# The load generator runs on the same machine and shares its CPUs with the server.
#
# Usage: scripts/bench-ack.sh [RATES] [DURATION]      e.g. scripts/bench-ack.sh 50,100,200 3s
set -euo pipefail
cd "$(dirname "$0")/.."

rates=${1:-50,100,200,400,800}
duration=${2:-5s}
for tool in go curl; do
	command -v "$tool" >/dev/null || { echo "bench-ack: $tool is needed" >&2; exit 1; }
done

tmp=$(mktemp -d)
pids=()
cleanup() {
	for pid in ${pids[@]+"${pids[@]}"}; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

# listening tells whether something accepts connections on loopback port $1.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port prints a loopback TCP port nothing listens on, other than those given.
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 40000))
		case " $* " in *" $p "*) continue ;; esac
		if ! listening "$p"; then
			echo "$p"
			return
		fi
	done
}

# wait_until waits up to 20 s for "$@" to succeed.
wait_until() {
	for _ in $(seq 200); do
		if "$@" 2>/dev/null; then return 0; fi
		sleep 0.1
	done
	return 1
}

# fail prints a message and the end of the server's log, and exits.
fail() {
	echo "bench-ack: $*" >&2
	if [ -s "$tmp/serve.log" ]; then
		echo "--- end of the authtriage serve log:" >&2
		tail -n 20 "$tmp/serve.log" >&2
	fi
	exit 1
}

go build -o "$tmp/authtriage" ./cmd/authtriage
go build -o "$tmp/ackbench" ./scripts/ackbench

fake_port=$(free_port)
slack_port=$(free_port "$fake_port")
ops_port=$(free_port "$fake_port" "$slack_port")
od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$tmp/signing_secret"
cat >"$tmp/authtriage.yaml" <<EOF
slack:
  mode: http
  bot_token: xoxb-bench
  signing_secret_file: $tmp/signing_secret
  listen: 127.0.0.1:$slack_port
  api_url: http://127.0.0.1:$fake_port/
  ops_listen: 127.0.0.1:$ops_port
access:
  - commands: ["*"]
store:
  driver: sqlite
  path: $tmp/authtriage.db
hosts:
  - name: sqlhost01
    errorlog: $PWD/internal/demo/sqlhost01/ERRORLOG
    events: [$PWD/internal/demo/sqlhost01/System.xml]
EOF

# The fake Slack API first: serve calls auth.test before it listens.
"$tmp/ackbench" -fake-api "127.0.0.1:$fake_port" -serve-only >"$tmp/fake.log" 2>&1 &
fake_pid=$!
pids+=("$fake_pid")
wait_until listening "$fake_port" ||
	fail "the fake Slack API did not start: $(cat "$tmp/fake.log")"

"$tmp/authtriage" serve --config "$tmp/authtriage.yaml" >"$tmp/serve.log" 2>&1 &
serve_pid=$!
pids+=("$serve_pid")
wait_until curl -fsS -o /dev/null "http://127.0.0.1:$ops_port/readyz" || fail "authtriage serve is not ready"
# /readyz and the Slack endpoints have listeners of their own; wait for both.
wait_until listening "$slack_port" || fail "authtriage serve does not listen on $slack_port"

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); $(go version | cut -d' ' -f3-)"
status=0
for text in "help" "check sqlhost01"; do
	echo
	"$tmp/ackbench" -url "http://127.0.0.1:$slack_port/slack/commands" -secret-file "$tmp/signing_secret" \
		-rates "$rates" -duration "$duration" -text "$text" -reply-to "127.0.0.1:$fake_port" || status=1
done

kill -0 "$serve_pid" 2>/dev/null || { status=1; echo "bench-ack: authtriage serve died during the benchmark" >&2; }
# Stopping the fake makes it print what it received: the bot's replies.
kill "$fake_pid"
wait "$fake_pid" || true
echo
grep '^fake Slack API' "$tmp/fake.log" || true
if [ "$status" -ne 0 ]; then
	fail "some requests failed"
fi
