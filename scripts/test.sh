#!/usr/bin/env bash
# test.sh: runs the whole Go test suite with the race detector inside a throwaway Samba AD
# domain (scripts/testdomain.sh), so the directory and Kerberos integration tests run
# against a real DC and KDC and fail, rather than skip, when it is missing
# (AUTHTRIAGE_REQUIRE_INTEGRATION=1), and with a throwaway PostgreSQL for the store's
# second backend (scripts/postgres.sh, AUTHTRIAGE_REQUIRE_POSTGRES=1). Needs root (network namespace, Debian packages).
# Extra arguments go to `go test` (e.g. scripts/test.sh -run TestIntegration ./cmd/...).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/testdomain.sh deps
bash scripts/postgres.sh deps
go mod download # the namespace has no network but loopback

# A throwaway PostgreSQL on a unix socket (reachable from inside the namespace), so
# the store's tests run against both backends and fail, rather than skip, without it.
pgdir=$(mktemp -d -t authtriage-pg.XXXXXX)
dir=$(mktemp -d -t authtriage-domain.XXXXXX)
export AUTHTRIAGE_NETNS=${AUTHTRIAGE_NETNS:-authtriage-test-$$}
cleanup() {
	bash scripts/testdomain.sh down "$dir" --purge >/dev/null 2>&1 || true
	bash scripts/postgres.sh down "$pgdir" >/dev/null 2>&1 || true
}
trap cleanup EXIT
AUTHTRIAGE_TEST_POSTGRES_DSN=$(bash scripts/postgres.sh up "$pgdir")
export AUTHTRIAGE_TEST_POSTGRES_DSN
export AUTHTRIAGE_REQUIRE_POSTGRES=1

bash scripts/testdomain.sh up "$dir"
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(./...)
# go test -json through scripts/testsummary: go test's usual output, then every skipped
# test with its reason.
summary=$(mktemp -d -t authtriage-summary.XXXXXX)/testsummary
go build -o "$summary" ./scripts/testsummary
AUTHTRIAGE_REQUIRE_INTEGRATION=1 bash scripts/testdomain.sh exec "$dir" -- go test -json -race -count=1 "${args[@]}" | "$summary"
bash scripts/testdomain.sh down "$dir" --purge >/dev/null

# A second domain whose DC and KDC run an hour ahead (faketime), for the clock-skew
# tests; every other integration test skips there.
dir=$(mktemp -d -t authtriage-skewed.XXXXXX)
AUTHTRIAGE_TEST_SKEW=1 bash scripts/testdomain.sh up "$dir"
echo "Clock-skew tests (only they run here; their skips are listed):"
AUTHTRIAGE_REQUIRE_INTEGRATION=1 bash scripts/testdomain.sh exec "$dir" -- go test -json -count=1 -run 'ClockSkew' ./sources/kerberos ./cmd/authtriage | "$summary"
bash scripts/testdomain.sh down "$dir" --purge >/dev/null

# A third domain whose KDC gives accounts without msDS-SupportedEncryptionTypes AES only,
# the default KB5073381 brings, for the tests of those accounts.
dir=$(mktemp -d -t authtriage-aes.XXXXXX)
AUTHTRIAGE_TEST_AES_DEFAULT=1 bash scripts/testdomain.sh up "$dir"
echo "AES-default tests (only they run here; their skips are listed):"
AUTHTRIAGE_REQUIRE_INTEGRATION=1 bash scripts/testdomain.sh exec "$dir" -- go test -json -count=1 -run 'RC4|Offered' ./sources/kerberos ./cmd/authtriage | "$summary"
