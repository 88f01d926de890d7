#!/usr/bin/env bash
# postgres.sh runs a throwaway PostgreSQL cluster for tests (the store package's
# PostgreSQL backend). The cluster listens only on a unix socket in its
# directory, so it is reachable from a network namespace that shares the file
# system but not the loopback, and it trusts every local connection: never use
# it for data that matters.
#
#   postgres.sh deps       install the server (Debian package postgresql) if no
#                          initdb is found under /usr/lib/postgresql/*/bin
#   postgres.sh up DIR     create a cluster in DIR (new or empty), start it,
#                          create database authtriage and print its DSN:
#                          postgres:///authtriage?host=DIR&user=postgres&sslmode=disable
#   postgres.sh down DIR   stop the cluster in DIR and delete DIR
#
# Example:
#   dsn=$(scripts/postgres.sh up /tmp/pg)
#   AUTHTRIAGE_TEST_POSTGRES_DSN=$dsn AUTHTRIAGE_REQUIRE_POSTGRES=1 go test ./store
#   scripts/postgres.sh down /tmp/pg
#
# Only the DSN goes to stdout; progress and the server's log go to stderr and
# DIR/postgres.log.
set -euo pipefail

# marker names the file that says a directory holds a cluster this script made,
# so that down never deletes anything else.
readonly marker=.authtriage-postgres

die() {
	echo "postgres.sh: $*" >&2
	exit 1
}

usage() {
	echo "usage: postgres.sh deps | up DIR | down DIR" >&2
	exit 2
}

# bindir prints the bin directory of the newest PostgreSQL server installed,
# or fails when there is none.
bindir() {
	local initdb
	initdb=$(printf '%s\n' /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)
	[[ -x $initdb ]] || return 1
	dirname "$initdb"
}

# as_owner runs a command as the cluster's owner: the postgres user when we are
# root (the server refuses to run as root), else ourselves. It runs from / so
# that the owner never needs access to the current directory.
as_owner() {
	if [[ $(id -u) -eq 0 ]]; then
		(cd / && runuser -u postgres -- "$@")
	else
		(cd / && "$@")
	fi
}

# absdir prints DIR as an absolute path without a trailing slash, and rejects
# characters that would need quoting in postgresql.conf or the DSN.
absdir() {
	local dir=$1
	[[ $dir == /* ]] || dir=$PWD/$dir
	dir=${dir%/}
	[[ $dir =~ ^[A-Za-z0-9/._-]+$ ]] || die "directory $dir: use only letters, digits and / . _ -"
	echo "$dir"
}

cmd_deps() {
	if bindir >/dev/null; then
		echo "postgres.sh: server already installed in $(bindir)" >&2
		return
	fi
	local sudo=()
	[[ $(id -u) -eq 0 ]] || sudo=(sudo)
	"${sudo[@]}" apt-get update -q >&2
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >&2
	bindir >/dev/null || die "postgresql installed but no initdb under /usr/lib/postgresql/*/bin"
}

cmd_up() {
	local dir bin
	dir=$(absdir "$1")
	bin=$(bindir) || die "no initdb under /usr/lib/postgresql/*/bin; run: postgres.sh deps"
	# A unix socket path is limited to 107 bytes.
	local sock=$dir/.s.PGSQL.5432
	((${#sock} <= 107)) || die "directory $dir: too long for a unix socket path"
	if [[ -e $dir ]] && [[ -n $(ls -A "$dir") ]]; then
		die "directory $dir is not empty (run: postgres.sh down $dir)"
	fi
	mkdir -p "$dir"
	touch "$dir/$marker"
	# The server runs as the directory's owner; everyone may traverse it to
	# reach the socket.
	if [[ $(id -u) -eq 0 ]]; then
		chown postgres: "$dir"
	fi
	chmod 755 "$dir"

	echo "postgres.sh: creating a cluster in $dir" >&2
	as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=reject \
		-E UTF8 --no-locale --no-sync >"$dir/initdb.log" 2>&1 ||
		{
			cat "$dir/initdb.log" >&2
			die "initdb failed"
		}
	cat >>"$dir/data/postgresql.conf" <<-EOF

		# postgres.sh: a throwaway test cluster, reachable only on its unix socket.
		listen_addresses = ''
		unix_socket_directories = '$dir'
		max_connections = 200
		fsync = off
		synchronous_commit = off
		full_page_writes = off
	EOF
	as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 start >&2 ||
		{
			cat "$dir/postgres.log" >&2 || true
			die "the server did not start"
		}
	as_owner "$bin/createdb" -h "$dir" -U postgres authtriage
	echo "postgres:///authtriage?host=$dir&user=postgres&sslmode=disable"
}

cmd_down() {
	local dir bin
	dir=$(absdir "$1")
	[[ -e $dir ]] || return 0
	[[ -e $dir/$marker ]] || die "directory $dir was not made by postgres.sh up; not touching it"
	if [[ -e $dir/data/postmaster.pid ]]; then
		bin=$(bindir) || die "no pg_ctl under /usr/lib/postgresql/*/bin"
		as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >&2 || true
	fi
	rm -rf "$dir"
}

main() {
	case ${1:-} in
	deps)
		(($# == 1)) || usage
		cmd_deps
		;;
	up)
		(($# == 2)) || usage
		cmd_up "$2"
		;;
	down)
		(($# == 2)) || usage
		cmd_down "$2"
		;;
	*) usage ;;
	esac
}

main "$@"
