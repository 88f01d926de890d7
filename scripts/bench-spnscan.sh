#!/usr/bin/env bash
# bench-spnscan.sh: times authtriage's forest-wide duplicate-SPN scan (setspn -X) against
# ldapsearch reading the same objects, on a throwaway Samba AD domain seeded with N users
# holding two MSSQLSvc SPNs each (scripts/testdomain.sh seed-bulk). Needs root.
#
# Usage: scripts/bench-spnscan.sh [N]          N defaults to 20000
#
# Both sides run inside the domain's network namespace, over LDAPS to the global catalog,
# searching (servicePrincipalName=MSSQLSvc/*) in pages of 1000. Each is timed as a whole
# process (start, TLS, bind, every page, output) with the best of 3 runs:
#   ours       scripts/spnscan: directory.Client.ScanDuplicateSPNs, which also finds the
#              duplicates; it reports its peak resident memory (VmHWM)
#   ldapsearch ldapsearch -LLL -E pr=1000/noprompt ... servicePrincipalName | grep -c '^dn:'
# The goal: ours within 1.5x of ldapsearch, and memory that stays flat: the peak of a scan
# that matches nothing is printed beside it for comparison.
set -euo pipefail
cd "$(dirname "$0")/.."

n=${1:-20000}
[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "usage: $0 [N]" >&2; exit 2; }
runs=3

dir=$(mktemp -d -t authtriage-spnscan.XXXXXX) # the domain
bin=$(mktemp -d -t authtriage-spnscan-bin.XXXXXX)
export AUTHTRIAGE_NETNS=${AUTHTRIAGE_NETNS:-authtriage-bench-$$}
cleanup() {
	bash scripts/testdomain.sh down "$dir" --purge >/dev/null 2>&1 || true
	rm -rf "$bin"
}
trap cleanup EXIT

bash scripts/testdomain.sh deps
go build -o "$bin/spnscan" ./scripts/spnscan
bash scripts/testdomain.sh up "$dir"
bash scripts/testdomain.sh seed-bulk "$dir" "$n"

bash scripts/testdomain.sh exec "$dir" -- bash -s "$bin/spnscan" "$runs" <<'EOF'
set -euo pipefail
spnscan=$1 runs=$2
filter='(servicePrincipalName=MSSQLSvc/*)'

now_ms() { echo $(($(date +%s%N) / 1000000)); }

ldap_count() {
	ldapsearch -LLL -o ldif-wrap=no -E pr=1000/noprompt -H "$AUTHTRIAGE_TEST_GC_URL" \
		-D "$AUTHTRIAGE_TEST_BIND_DN" -w "$AUTHTRIAGE_TEST_BIND_PASSWORD" -b '' "$filter" servicePrincipalName |
		grep -c '^dn:'
}

best_ours=0 best_ldap=0
for ((i = 1; i <= runs; i++)); do
	t=$(now_ms)
	ours=$("$spnscan" -q)
	ms_ours=$(($(now_ms) - t))
	t=$(now_ms)
	entries=$(ldap_count)
	ms_ldap=$(($(now_ms) - t))
	((best_ours == 0 || ms_ours < best_ours)) && best_ours=$ms_ours
	((best_ldap == 0 || ms_ldap < best_ldap)) && best_ldap=$ms_ldap
	echo "run $i: authtriage $ms_ours ms ($ours); ldapsearch $ms_ldap ms ($entries entries)" >&2
done
objects=$(sed -n 's/.*objects=\([0-9]*\).*/\1/p' <<<"$ours")
dups=$(sed -n 's/.*duplicates=\([0-9]*\).*/\1/p' <<<"$ours")
peak=$(sed -n 's/.*peak_rss_kib=\([0-9]*\).*/\1/p' <<<"$ours")
idle=$("$spnscan" -q -prefix 'MSSQLSvc/no-such-host.')
idle_peak=$(sed -n 's/.*peak_rss_kib=\([0-9]*\).*/\1/p' <<<"$idle")

echo
echo "duplicate MSSQLSvc SPNs found by our scan:"
"$spnscan" | sed '$d' | sed 's/^/  /'
echo
printf '%-28s %12s %12s\n' "" "authtriage" "ldapsearch"
printf '%-28s %12s %12s\n' "objects read" "$objects" "$entries"
printf '%-28s %12s %12s\n' "duplicate SPNs found" "$dups" "-"
printf '%-28s %12s %12s\n' "time, best of $runs (ms)" "$best_ours" "$best_ldap"
printf '%-28s %12s %12s\n' "ratio to ldapsearch" "$(awk -v a="$best_ours" -v b="$best_ldap" 'BEGIN { printf "%.2fx", a / b }')" "1.00x"
printf '%-28s %12s %12s\n' "peak RSS (MiB)" "$(awk -v k="$peak" 'BEGIN { printf "%.1f", k / 1024 }')" "-"
printf '%-28s %12s %12s\n' "peak RSS, empty scan (MiB)" "$(awk -v k="$idle_peak" 'BEGIN { printf "%.1f", k / 1024 }')" "-"
[[ $objects == "$entries" ]] || { echo "object counts differ: ours $objects, ldapsearch $entries" >&2; exit 1; }
EOF
