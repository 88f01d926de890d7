#!/usr/bin/env bash
# deploy-smoke.sh: follows the README's install and deploy steps for the agent and the
# bot's certificates in a fresh directory laid out like a host (ROOT/usr/local/bin,
# ROOT/etc/authtriage, ROOT/var/lib/authtriage), as the systemd units' user: a throwaway
# system user and group it creates, and removes at the end. It shows that
#   - `agent certs --group` writes the files deploy/*.example.yaml name, for that group;
#   - `config check --user` finds nothing wrong with both examples, checked together;
#   - the agent, run as the user, checks its configuration, starts and answers
#     /v1/health over mutual TLS with those files (asked by `agent ping` with the bot's
#     example configuration, run as the user too, without any Slack token);
#   - the agent refuses to start, saying why, when its user cannot read its key.
# Needs root (useradd, chown); binds only 127.0.0.1. TestDeploySmoke runs it in `make test`.
#
# The example configurations name /etc/authtriage and /var/lib/authtriage; here they are
# ROOT/etc/authtriage and ROOT/var/lib/authtriage. The other edits are the ones the
# README asks for: the agent listens on 127.0.0.1 (port 0: any free one), the bot's agent
# URL is that address with server_name the certificate's name, and, as there is no
# domain here, the agent's directory and kerberos sections are left out (the Kerberos
# set-up looks for a KDC when the agent starts).
#
# AUTHTRIAGE_BIN: an authtriage binary to install (say, make build's ./authtriage). Without
# it the script builds one with plain go build: make build's static flags change nothing
# here, and plain flags let the build cache of the test run (vet, tests) serve it in seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "deploy-smoke: needs root, to create the units' user and give files to its group" >&2
	exit 2
fi
for tool in useradd userdel setpriv install awk sed; do
	command -v "$tool" >/dev/null || { echo "deploy-smoke: $tool is missing" >&2; exit 2; }
done

root=$(mktemp -d -t authtriage-deploy.XXXXXX)
chmod 0755 "$root" # a host's / is open to its users
user=authtriage-smoke-$$
agent_pid=
stop_agent() {
	[ -n "$agent_pid" ] || return 0
	kill "$agent_pid" 2>/dev/null || true
	wait "$agent_pid" 2>/dev/null || true # it finishes running triages first (none here)
	agent_pid=
}
cleanup() {
	stop_agent
	userdel "$user" >/dev/null 2>&1 || true
	groupdel "$user" >/dev/null 2>&1 || true
	rm -rf "$root"
}
trap cleanup EXIT
step() { echo "deploy-smoke: $*"; }
fail() {
	echo "deploy-smoke: FAILED: $*" >&2
	[ ! -f "$root/agent.log" ] || { echo "--- agent log:" >&2; cat "$root/agent.log" >&2; }
	exit 1
}
as_user() { setpriv --reuid="$user" --regid="$user" --init-groups "$@"; } # setpriv execs: its PID is the command's

# Install: the binary (README: make build, then install it into /usr/local/bin).
bin=${AUTHTRIAGE_BIN:-}
if [ -z "$bin" ]; then
	step "building authtriage"
	bin=$root/build/authtriage
	go build -buildvcs=false -o "$bin" ./cmd/authtriage
fi
install -d "$root/usr/local/bin"
install -m 0755 "$bin" "$root/usr/local/bin/authtriage"
at=$root/usr/local/bin/authtriage

# The units' user, /etc/authtriage, the certificates (deploy/authtriage-agent.service).
step "creating user $user and $root/etc/authtriage"
useradd --system --user-group --no-create-home --shell /usr/sbin/nologin "$user"
etc=$root/etc/authtriage
install -d -m 0750 -o root -g "$user" "$etc"
"$at" agent certs --dir "$etc" --group "$user" --server agent-east.corp.example --client authtriage-bot >"$root/certs.out"
grep -q "Next steps:" "$root/certs.out" || fail "agent certs printed no next steps"
mv "$etc/ca-key.pem" "$root/ca-key.pem" # next step 1: the CA's key leaves the host
for f in ca.pem server.pem server-key.pem authtriage-bot.pem authtriage-bot-key.pem; do
	[ -f "$etc/$f" ] || fail "agent certs did not write $f, which the examples name"
done
[ "$(stat -c '%a %U %G' "$etc/server-key.pem")" = "640 root $user" ] ||
	fail "server-key.pem is $(stat -c '%a %U %G' "$etc/server-key.pem"), want 640 root $user"

# The configurations, from deploy/*.example.yaml.
step "writing agent.yaml and authtriage.yaml from the examples"
rehome() { sed -e "s#/etc/authtriage/#$etc/#g" -e "s#/var/lib/authtriage/#$root/var/lib/authtriage/#g" "$@"; }
rehome deploy/agent.example.yaml |
	sed -e 's#^  listen: ":8443"#  listen: "127.0.0.1:0"#' |
	awk '/^[^ #]/ { skip = ($0 ~ /^(directory|kerberos):/) } !skip' >"$root/agent.yaml"
grep -q '^  listen: "127.0.0.1:0"' "$root/agent.yaml" || fail "agent.example.yaml has no listen: \":8443\" to edit"
install -m 0640 -o root -g "$user" "$root/agent.yaml" "$etc/agent.yaml"
install -d -m 0750 -o "$user" -g "$user" "$root/var/lib/authtriage"

step "config check --user $user on the agent's configuration"
"$at" config check --config "$etc/agent.yaml" --user "$user" || fail "config check found problems in agent.yaml"

step "starting the agent as $user"
setpriv --reuid="$user" --regid="$user" --init-groups "$at" agent --config "$etc/agent.yaml" >/dev/null 2>"$root/agent.log" &
agent_pid=$!
addr=
for _ in $(seq 1 200); do # up to 20 s
	addr=$(grep -o '"msg":"agent listening","addr":"127\.0\.0\.1:[0-9]*"' "$root/agent.log" | grep -o '127\.0\.0\.1:[0-9]*' | head -n1 || true)
	[ -z "$addr" ] || break
	kill -0 "$agent_pid" 2>/dev/null || fail "the agent exited"
	sleep 0.1
done
[ -n "$addr" ] || fail "the agent did not start within 20 s"
step "the agent listens on $addr"

rehome deploy/authtriage.example.yaml |
	sed -e "s#^    url: https://agent-east.corp.example:8443#    url: https://$addr\n    server_name: agent-east.corp.example#" >"$root/authtriage.yaml"
grep -q "server_name: agent-east.corp.example" "$root/authtriage.yaml" || fail "authtriage.example.yaml has no agent URL to edit"
install -m 0640 -o root -g "$user" "$root/authtriage.yaml" "$etc/authtriage.yaml"

step "config check --user $user on both configurations together"
SLACK_BOT_TOKEN=xoxb-0000-smoke SLACK_APP_TOKEN=xapp-1-A0000-smoke \
	"$at" config check --config "$etc/agent.yaml" --config "$etc/authtriage.yaml" --user "$user" ||
	fail "config check found problems in the two configurations"

step "agent ping as $user, with the bot's configuration and its client certificate (no Slack token)"
out=$(as_user "$at" agent ping --config "$etc/authtriage.yaml") || fail "agent ping: $out"
echo "$out"
case "$out" in
"agent-east https://$addr: ok, "*) ;;
*) fail "agent ping did not get the agent's health: $out" ;;
esac
stop_agent

step "an agent whose user cannot read its key does not start"
chmod 0600 "$etc/server-key.pem"
if timeout 20 setpriv --reuid="$user" --regid="$user" --init-groups "$at" agent --config "$etc/agent.yaml" >/dev/null 2>"$root/agent.log"; then
	fail "the agent started with a key its user cannot read"
fi
grep -q '"msg":"configuration problem".*agent.key_path.*permission denied' "$root/agent.log" ||
	fail "the agent did not say that it cannot read its key"
! grep -q '"msg":"agent listening"' "$root/agent.log" || fail "the agent listened"
step "ok"
