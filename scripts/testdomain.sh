#!/usr/bin/env bash
# testdomain.sh: a throwaway Samba AD DC (realm CORP.TEST, NetBIOS CORP, DC dc1.corp.test)
# seeded with one SQL Server host per authtriage scenario, for the directory and
# Kerberos integration tests. Debian bookworm, Samba 4.17 with its Heimdal KDC, run as root.
#
# Usage
#   scripts/testdomain.sh deps                    install the Debian packages if any is missing
#   scripts/testdomain.sh up DIR                  provision, start and seed a domain in DIR (~15 s)
#   scripts/testdomain.sh exec DIR -- CMD...      run CMD in the domain's network namespace, with
#                                                 DIR/env exported (plus KRB5_CONFIG=DIR/krb5.conf
#                                                 and LDAPTLS_CACERT=the CA, for the MIT/OpenLDAP tools)
#   scripts/testdomain.sh verify DIR              ask the KDC and LDAP about every scenario; print
#                                                 what they answer; exit 1 on any surprise
#   scripts/testdomain.sh seed-bulk DIR N         add N users bulk00001... with 2 MSSQLSvc SPNs each
#                                                 and 5 duplicate SPNs among them (scan benchmark;
#                                                 ~20 s for 20000; restarts Samba: run no tests
#                                                 meanwhile; details above bulk_ldif below)
#   scripts/testdomain.sh env DIR                 print DIR/env (it holds the passwords)
#   scripts/testdomain.sh down DIR [--purge]      stop Samba, delete the namespace; --purge deletes DIR
#
#   A typical run:
#     scripts/testdomain.sh deps
#     scripts/testdomain.sh up /tmp/td
#     go mod download        # outside: the namespace has no network but loopback
#     scripts/testdomain.sh exec /tmp/td -- go test ./...
#     scripts/testdomain.sh down /tmp/td
#
# Settings (environment)
#   AUTHTRIAGE_NETNS=NAME       network namespace name (default authtriage-dc). One domain per name.
#   AUTHTRIAGE_TEST_NO_NETNS=1  do not even try a namespace (tests the fallback below).
#   AUTHTRIAGE_TEST_FALLBACK_IP DC address on the host's loopback when there is no namespace
#                               (default 127.0.0.88).
#   AUTHTRIAGE_TEST_SKEW=1      run Samba under `faketime -f +1h`: the KDC's clock is one hour
#                               ahead, so every AS exchange fails with KRB_AP_ERR_SKEW (37) (MIT
#                               tools too: DIR/krb5.conf sets kdc_timesync = 0). LDAPS is unaffected.
#                               DIR/env then says AUTHTRIAGE_TEST_SKEWED=1 and _SKEW_SECONDS=3600.
#   AUTHTRIAGE_TEST_AES_DEFAULT=1  set "kdc default domain supported enctypes" to aes256-cts-hmac-sha1-96
#                               and aes128-cts-hmac-sha1-96: the KDC's default for accounts without
#                               msDS-SupportedEncryptionTypes becomes AES only, as KB5073381 makes
#                               Windows domain controllers' DefaultDomainSupportedEncTypes (Samba's
#                               option is that registry value's counterpart, smb.conf(5)). DIR/env
#                               then says AUTHTRIAGE_TEST_AES_DEFAULT=1. Without it Samba 4.17's
#                               default is arcfour-hmac-md5 and aes256-cts-hmac-sha1-96-sk: RC4
#                               tickets with AES session keys, as Windows before KB5073381.
#
# Network
#   The DC runs in its own network namespace with only `lo` up; /etc/netns/NAME/hosts (bind-mounted
#   over /etc/hosts by `ip netns exec`) maps dc1.corp.test and every scenario host (sqlok.corp.test,
#   ...) to 127.0.0.1, dc1.corp.test first so that 127.0.0.1 reverses to it, except the instance
#   scenarios' hosts, each on a loopback address of its own (127.0.1.x; Linux answers on all of
#   127/8 on lo) so that a fake SQL Server Browser (UDP 1434) and a fake SQL Server can listen on
#   each. /etc/netns/NAME/resolv.conf points DNS at 127.0.0.1, where Samba's internal DNS server
#   answers for corp.test: the DC's records, an A record of every scenario host (the same
#   address as in the hosts file) and the CNAME salesdb.corp.test -> sqlok.corp.test, which is in
#   no hosts file (a resolver finds it only by asking the DC). It forwards nothing: other names fail
#   at once, nothing leaves the namespace. When `ip netns add` is impossible the DC binds to
#   AUTHTRIAGE_TEST_FALLBACK_IP on the host's loopback instead, the names go into a marked block
#   of the host's /etc/hosts (removed by `down`), the host's resolv.conf stays as it is (ask the
#   DC's DNS server, AUTHTRIAGE_TEST_DNS_SERVER, for the alias), and a warning says so on stderr.
#
# The env file DIR/env (mode 0600, KEY=VALUE, no quotes, no spaces) is the contract with the Go
# tests (internal/testdomain reads it from the process environment, as `exec` exports it):
#   AUTHTRIAGE_TEST_DIR             DIR
#   AUTHTRIAGE_TEST_NETNS           namespace name, empty in the fallback
#   AUTHTRIAGE_TEST_LDAP_URL        ldaps://dc1.corp.test:636
#   AUTHTRIAGE_TEST_GC_URL          ldaps://dc1.corp.test:3269
#   AUTHTRIAGE_TEST_LDAP_CA         DIR/private/tls/ca.pem (this script's CA; see "TLS" below)
#   AUTHTRIAGE_TEST_BIND_DN         CN=authtriage_ro,CN=Users,DC=corp,DC=test
#   AUTHTRIAGE_TEST_BIND_UPN        authtriage_ro@corp.test (also accepted by a simple bind)
#   AUTHTRIAGE_TEST_BIND_PASSWORD   random per `up`
#   AUTHTRIAGE_TEST_BASE_DN         DC=corp,DC=test (Samba lower-cases the realm in DNs; DN
#                                   comparisons are case-insensitive: DC=CORP,DC=TEST is the same)
#   AUTHTRIAGE_TEST_REALM           CORP.TEST
#   AUTHTRIAGE_TEST_DOMAIN          CORP
#   AUTHTRIAGE_TEST_DNS_DOMAIN      corp.test
#   AUTHTRIAGE_TEST_DC              dc1.corp.test
#   AUTHTRIAGE_TEST_DC_ADDR         127.0.0.1 (or the fallback address)
#   AUTHTRIAGE_TEST_KDC             dc1.corp.test:88
#   AUTHTRIAGE_TEST_KRB5_CONF       DIR/krb5.conf: AES-only client (aes256, aes128), TCP, no DNS
#   AUTHTRIAGE_TEST_KRB5_CONF_RC4   DIR/krb5-rc4.conf: the same, RC4 only
#   AUTHTRIAGE_TEST_KEYTAB          DIR/authtriage_ro.keytab (kvno 1: aes256, aes128, rc4)
#   AUTHTRIAGE_TEST_PRINCIPAL       authtriage_ro (realm CORP.TEST)
#   AUTHTRIAGE_TEST_SQLOK_KEYTAB    DIR/svc_sqlok.keytab: the SQL service key, for an acceptor
#   AUTHTRIAGE_TEST_DOMAIN_KEYTAB   DIR/domain.keytab: the keys of every account of the domain, so that
#                                   one fake SQL Server can accept tickets as each scenario's service
#   AUTHTRIAGE_TEST_HOSTS           sqlok,sqlmissing,sqldup,sqlwrong,sqldisabled,sqlexpired,
#                                   sqlpwdexpired,sqlrc4,sqllocked,sqlnoetype,sqlrc4keys
#   AUTHTRIAGE_TEST_PASSWORD_<ACCOUNT>  password of each seeded account, upper-cased name, e.g.
#                                   AUTHTRIAGE_TEST_PASSWORD_SVC_SQLOK, ..._SVC_SQLDUP_OLD, ..._ALICE
#   AUTHTRIAGE_TEST_DELEGATION_FRONT_ENDS  svc_web,svc_webnopt,svc_webnoport,svc_webnone,svc_webrbcd
#   AUTHTRIAGE_TEST_DELEGATION_BACK_ENDS   sqlbe,sqlrbcd
#   AUTHTRIAGE_TEST_DELEGATION_USERS       alice,bob,carol
#   AUTHTRIAGE_TEST_KEYTAB_<ACCOUNT>  DIR/<account>.keytab of each front end, upper-cased name, e.g.
#                                   AUTHTRIAGE_TEST_KEYTAB_SVC_WEB (kvno 1: aes256, aes128, rc4)
#   AUTHTRIAGE_TEST_DNS_SERVER      127.0.0.1:53 (the DC address): Samba's DNS server
#   AUTHTRIAGE_TEST_INSTANCE_SCENARIOS  sqldyn,aglisten1,aglisten2,sqlfci,salesdb
#   AUTHTRIAGE_TEST_ADDR_<HOST>     loopback address of each instance scenario host, upper-cased
#                                   name, e.g. AUTHTRIAGE_TEST_ADDR_SQLDYN=127.0.1.10
#   AUTHTRIAGE_TEST_SKEWED          1 when the KDC runs under faketime, else 0
#   AUTHTRIAGE_TEST_SKEW_SECONDS    3600 or 0
#   AUTHTRIAGE_TEST_AES_DEFAULT     1 when the KDC's default for accounts without
#                                   msDS-SupportedEncryptionTypes is AES only, else 0
#   AUTHTRIAGE_TEST_BULK_USERS      users added by seed-bulk (0 until then)
#   AUTHTRIAGE_TEST_BULK_DUPLICATES duplicate SPNs written among them (0 until then)
#
# Seeded accounts (CN=<name>,CN=Users,DC=corp,DC=test; passwords in DIR/env; every service
# account has msDS-SupportedEncryptionTypes=24 (AES only) unless said otherwise, DONT_EXPIRE_PASSWORD
# unless said otherwise, and the SPNs MSSQLSvc/<host>.corp.test:1433 and MSSQLSvc/<host>.corp.test
# unless said otherwise). Each scenario host also has a computer account CN=<host>,CN=Computers
# (<HOST>$, dNSHostName <host>.corp.test, HOST/<host>.corp.test and HOST/<HOST>).
#   authtriage_ro       ordinary user: LDAP simple binds and Kerberos checks (keytab exported)
#   sqlok               svc_sqlok: healthy
#   sqlmissing          svc_sqlmissing: no SPN at all                         -> spn.missing
#   sqldup              svc_sqldup has both SPNs; svc_sqldup_old also has
#                       MSSQLSvc/sqldup.corp.test:1433 (raw partition write)   -> spn.duplicate
#   sqlwrong            svc_sqlwrong has no SPN; svc_sqlwrong_other has both   -> spn.wrong_account
#   sqldisabled         svc_sqldisabled: ACCOUNTDISABLE                        -> account.disabled
#   sqlexpired          svc_sqlexpired: accountExpires = yesterday             -> account.expired
#   sqlpwdexpired       svc_sqlpwdexpired: no DONT_EXPIRE_PASSWORD, pwdLastSet=0
#                                                                              -> account.password_expired
#   sqlrc4              svc_sqlrc4: msDS-SupportedEncryptionTypes=4 (RC4 only) -> kerberos.etype_mismatch
#   sqllocked           svc_sqllocked: lockoutTime = time of `up`; the domain's lockoutDuration is
#                       set to 0 ("until an administrator unlocks") so it stays locked; the
#                       lockoutThreshold stays 0, so bad passwords in tests never lock anything
#                                                                              -> account.locked_out
#   sqlnoetype          svc_sqlnoetype: NO msDS-SupportedEncryptionTypes; AES and RC4 keys (an
#                       ordinary password)                         -> kerberos.rc4_default (RC4
#                       tickets), nothing with AUTHTRIAGE_TEST_AES_DEFAULT=1 (AES tickets)
#   sqlrc4keys          svc_sqlrc4keys: NO msDS-SupportedEncryptionTypes and ONLY an RC4 key: the
#                       account is added without a password, then `pdbedit --set-nt-hash` gives it
#                       the NT hash of its password (the RC4 key) and no Kerberos AES keys, as an
#                       account whose password was last set before its domain could make them.
#                       Samba allows it; msDS-KeyVersionNumber is 2.   -> kerberos.rc4_default
#
# The second hop (delegation). Front ends are user accounts, each with the SPN
# HTTP/<name without svc_>.corp.test and its keytab exported; names resolve in the namespace.
#   sqlbe               back end: svc_sqlbe, both MSSQLSvc SPNs; computer account SQLBE$
#   sqlrbcd             back end: svc_sqlrbcd, MSSQLSvc/sqlrbcd.corp.test:1433 only; computer
#                       account SQLRBCD$; msDS-AllowedToActOnBehalfOfOtherIdentity allows
#                       svc_webrbcd (samba-tool delegation add-principal)
#   svc_web             TRUSTED_TO_AUTH_FOR_DELEGATION (protocol transition), msDS-AllowedToDelegateTo
#                       both sqlbe SPNs: the working path
#   svc_webnopt         no protocol transition, msDS-AllowedToDelegateTo both sqlbe SPNs
#   svc_webnoport       protocol transition, msDS-AllowedToDelegateTo MSSQLSvc/sqlbe.corp.test only
#   svc_webnone         no delegation at all
#   svc_webrbcd         no constrained delegation; named by svc_sqlrbcd's RBCD security descriptor
#   alice               ordinary user
#   bob                 NOT_DELEGATED ("Account is sensitive and cannot be delegated")
#   carol               member of Protected Users
# The flags and msDS-AllowedToDelegateTo are written with the accounts (the attributes `samba-tool
# delegation for-any-protocol NAME on` and `add-service NAME SPN` write; `verify` reads them back
# with `samba-tool delegation show`), carol's membership with the group's member attribute.
#
# Instances as their clients see them. Each host has a computer account as the others (the
# listeners' and the cluster instance's stand for the cluster's virtual computer objects) and
# its own address; the service accounts are AES only and hold exactly the SPNs listed. The fakes
# accept tickets with DIR/domain.keytab (every account's keys).
#   sqldyn     127.0.1.10  named instance SALES on a dynamic port: svc_sqldyn holds
#                          MSSQLSvc/sqldyn.corp.test:50100 (the port before the last restart) and
#                          MSSQLSvc/sqldyn.corp.test:SALES, not :50211, the port the end-to-end
#                          test's fake listens on                      -> spn.stale_port
#                          (and instance.dynamic_port where a source says the port is dynamic:
#                          the host's registry through an agent, or SQL Server through a login,
#                          which the missing SPN of the current port defeats)
#   aglisten1  127.0.1.20  listener (port 1433) of replicas sqlag1a 127.0.1.21 and sqlag1b
#                          127.0.1.22, both running as svc_sqlag1, which holds both replicas' SPNs
#                          (with and without :1433) and no MSSQLSvc/aglisten1 -> listener.spn_missing
#   aglisten2  127.0.1.30  listener (port 1433) of replicas sqlag2a 127.0.1.31 (svc_sqlag2a) and
#                          sqlag2b 127.0.1.32 (svc_sqlag2b); svc_sqlag2a also holds
#                          MSSQLSvc/aglisten2.corp.test:1433 and MSSQLSvc/aglisten2.corp.test
#                                                                  -> listener.accounts_differ
#   sqlfci     127.0.1.40  failover-cluster instance (virtual name) on nodes sqlfcin1 127.0.1.41 and
#                          sqlfcin2 127.0.1.42; svc_sqlfci holds MSSQLSvc/sqlfcin1.corp.test:1433
#                          (the node's name) and no SPN of sqlfci      -> cluster.spn_on_node,
#                          spn.missing (a warning: the port-less MSSQLSvc/sqlfci.corp.test)
#   salesdb    (CNAME)     salesdb.corp.test CNAME sqlok.corp.test in Samba's DNS only (added with
#                          `samba-tool dns add dc1.corp.test corp.test salesdb CNAME sqlok.corp.test`
#                          as Administrator, whose password `up` keeps in DIR/private/admin.pw);
#                          no SPN names salesdb                        -> name.alias
#   The KDC: MSSQLSvc/sqldyn.corp.test:50100 and :SALES tickets, :50211 7; aglisten1:1433 7;
#   aglisten2:1433 a ticket (svc_sqlag2a's key); sqlfci:1433 7, sqlfcin1:1433 a ticket.
#
# What the Samba 4.17 KDC answers (checked by `verify`; MIT kvno as authtriage_ro with the keytab):
#   TGS for MSSQLSvc/<host>.corp.test:1433 with the AES-only krb5.conf
#     sqlok ticket (aes256 ticket)     sqlmissing 7 KDC_ERR_S_PRINCIPAL_UNKNOWN
#     sqldup 7 (the port-less SPN, held once, gets a ticket)
#     sqlwrong ticket (for svc_sqlwrong_other's key: the KDC cannot know it is the wrong account)
#     sqldisabled ticket   sqlexpired ticket   sqlpwdexpired ticket (Samba checks none of these for
#                                                                     a service)
#     sqlrc4 14 KDC_ERR_ETYPE_NOSUPP: the account allows RC4 only, the client offers AES only. No
#            password reset or key surgery is needed: the account keeps its AES keys, and
#            msDS-SupportedEncryptionTypes=4 alone makes the KDC refuse. With krb5-rc4.conf the
#            same request gets an RC4 ticket, and sqlok (AES only) is refused with 14 instead.
#     sqllocked 19 KDC_ERR_SERVICE_REVOKED
#     sqlnoetype ticket, encrypted with rc4-hmac (session key aes256): the ticket's key comes from the
#            account's types (the default, RC4), the client's offer chooses only the session key
#     sqlrc4keys ticket, rc4-hmac, the same: before KB5073381 the KDC cannot tell the two apart
#   The same with AUTHTRIAGE_TEST_AES_DEFAULT=1 (the KB5073381 default)
#     sqlnoetype ticket, encrypted with aes256-cts-hmac-sha1-96
#     sqlrc4keys ticket, rc4-hmac: Samba 4.17 still uses the only key the account has. A Windows
#            domain controller with the AES-only default has no key to use and refuses, so the
#            "KDC refuses an account without AES keys" case cannot be made with Samba; its rule
#            is unit-tested only.
#     and with krb5-rc4.conf (RC4-only client) sqlnoetype is refused with 14 KDC_ERR_ETYPE_NOSUPP
#   AS (kinit AS the service account, with its password)
#     svc_sqlok 0   svc_sqldisabled 18 KDC_ERR_CLIENT_REVOKED   svc_sqlexpired 18
#     svc_sqlpwdexpired 23 KDC_ERR_KEY_EXPIRED   svc_sqllocked 18   svc_sqlnoetype 0
#     svc_sqlrc4keys 14 KDC_ERR_ETYPE_NOSUPP with the AES-only krb5.conf, 0 with krb5-rc4.conf: the
#            proof that it has no AES keys
#   Delegation: `kinit -f -k -t FRONT.keytab FRONT` then `kvno -U USER -P SPN` (S4U2self, then
#   S4U2proxy). The S4U2self ticket is always issued; forwardable (F) or not; every refusal is 13
#   KDC_ERR_BADOPTION with no e-data; samba.log (log level 3) gives the reason.
#     svc_web alice MSSQLSvc/sqlbe.corp.test:1433 and MSSQLSvc/sqlbe.corp.test   F, ticket
#     svc_web alice, TGT without -f       not F, 13 ("Missing forwardable flag on ticket for
#                                         constrained delegation"): the front end's TGT must be
#                                         forwardable, and krb5.conf does not make it so
#     svc_web bob                         not F, 13 (Missing forwardable flag): NOT_DELEGATED
#     svc_web carol                       F, ticket: the domain is at functional level 2008 R2, where
#                                         Protected Users does not change ticket flags
#     svc_webnopt alice, both forms       not F, 13 (Missing forwardable flag)
#     svc_webnoport alice :1433           F, 13 ("Constrained delegation not allowed"); port-less: ticket
#     svc_webnone alice                   not F, 13 (Missing forwardable flag)
#     svc_webrbcd alice MSSQLSvc/sqlrbcd.corp.test:1433   not F, 13 (Missing forwardable flag).
#                                         With protocol transition set on svc_webrbcd as well (not
#                                         seeded) it is F, 13 "Constrained delegation not allowed":
#                                         this Heimdal KDC never grants resource-based delegation
#     svc_web alice MSSQLSvc/sqlrbcd.corp.test:1433       F, 13 (Constrained delegation not allowed)
#
# TLS
#   Samba's autogenerated certificate has the host name only in its subject CN and no
#   subjectAltName, which Go's crypto/x509 refuses ("relies on legacy Common Name field"), and
#   under faketime it would be valid only from the fake time on. So `up` makes its own CA and a
#   server certificate (SAN dc1.corp.test, dc1, corp.test, the DC address; valid from yesterday)
#   in DIR/private/tls/{ca,cert,key}.pem, where Samba looks for them, and names them in smb.conf.
#
# Samba refuses duplicate SPNs through every API (samba-tool, LDAP, ldbmodify on sam.ldb, even
# with the relax control); duplicates are written straight into the domain partition file with
#   ldbmodify -H "tdb://DIR/private/sam.ldb.d/DC=CORP,DC=TEST.ldb"
# which has no dsdb modules and keeps the servicePrincipalName index, so LDAP and the KDC see it.
#
# Passwords are printed only by `env` and written only to DIR/env and DIR/private/*.pw (0600).

set -euo pipefail

readonly REALM=CORP.TEST
readonly NETBIOS=CORP
readonly DNS_DOMAIN=corp.test
readonly DC_HOST=dc1
readonly DC_FQDN=dc1.corp.test
readonly BASE_DN=DC=corp,DC=test
readonly USERS_DN="CN=Users,${BASE_DN}"
readonly PARTITION_FILE='DC=CORP,DC=TEST.ldb'
readonly PACKAGES=(samba samba-ad-dc samba-ad-provision ldb-tools ldap-utils krb5-user faketime iproute2 openssl)
readonly SCENARIO_HOSTS=(sqlok sqlmissing sqldup sqlwrong sqldisabled sqlexpired sqlpwdexpired sqlrc4 sqllocked
	sqlnoetype sqlrc4keys)
# The second hop: back-end hosts (computer accounts, names resolve), front-end service accounts
# (user accounts with an HTTP/ SPN and an exported keytab; their HTTP/ host names resolve too)
# and users whose identity travels. Details in the header.
readonly DELEGATION_BACK_ENDS=(sqlbe sqlrbcd)
readonly DELEGATION_FRONT_ENDS=(svc_web svc_webnopt svc_webnoport svc_webnone svc_webrbcd)
readonly DELEGATION_USERS=(alice bob carol)
# Instances as their clients see them (details in the header): each host on its own loopback
# address, in the namespace's hosts file and in Samba's DNS, so that one fake SQL Server Browser
# (UDP 1434) and one fake SQL Server per host can listen on it. salesdb is only a CNAME in
# Samba's DNS, never in the hosts file.
readonly INSTANCE_HOSTS=(sqldyn aglisten1 sqlag1a sqlag1b aglisten2 sqlag2a sqlag2b sqlfci sqlfcin1 sqlfcin2)
declare -rA INSTANCE_ADDR=([sqldyn]=127.0.1.10
	[aglisten1]=127.0.1.20 [sqlag1a]=127.0.1.21 [sqlag1b]=127.0.1.22
	[aglisten2]=127.0.1.30 [sqlag2a]=127.0.1.31 [sqlag2b]=127.0.1.32
	[sqlfci]=127.0.1.40 [sqlfcin1]=127.0.1.41 [sqlfcin2]=127.0.1.42)
readonly INSTANCE_SCENARIOS=(sqldyn aglisten1 aglisten2 sqlfci salesdb)
readonly ALIAS_NAME=salesdb ALIAS_TARGET=sqlok
# sqldyn's named instance, the port its service account's SPN still names (the instance's port
# before its last restart), and the port the end-to-end test's fake listens on now.
readonly DYN_INSTANCE=SALES DYN_OLD_PORT=50100 DYN_PORT=50211
readonly MARKER=.authtriage-testdomain
readonly NETNS_DEFAULT=authtriage-dc
readonly START_TIMEOUT=60
readonly SKEW_OFFSET=+1h
readonly SKEW_SECONDS=3600
# FILETIME (100 ns since 1601) of the Unix epoch.
readonly EPOCH_FILETIME_SECONDS=11644473600
# MIT krb5 error codes are KRB5KDC_ERR_NONE (-1765328384) + the protocol code.
readonly KRB5_ERR_BASE=1765328384

me=${0##*/}

log() { printf '%s: %s\n' "$me" "$*" >&2; }
die() { printf '%s: error: %s\n' "$me" "$*" >&2; exit 1; }

usage() {
	sed -n '2,/^# Settings/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

need_root() { [[ $EUID -eq 0 ]] || die "$1 needs root (provisioning, namespaces and sam.ldb writes)"; }

now_ns() { date +%s%N; }
# elapsed START_NS: seconds since START_NS with one decimal.
elapsed() {
	local ms=$((($(now_ns) - $1) / 1000000))
	printf '%d.%01ds' $((ms / 1000)) $((ms % 1000 / 100))
}

filetime_at() { echo $((($1 + EPOCH_FILETIME_SECONDS) * 10000000)); }

# A random password: letters and digits only (safe in KEY=VALUE files and shells) with an upper-
# case letter, a lower-case letter and a digit for Samba's complexity rule.
gen_password() {
	local raw
	raw=$(head -c 48 /dev/urandom | base64 -w0)
	raw=${raw//[^A-Za-z0-9]/}
	printf 'Aa1%s' "${raw:0:21}"
}

# unicodePwd value: the quoted password in UTF-16LE, base64.
unicode_pwd() { printf '"%s"' "$1" | iconv -f UTF-8 -t UTF-16LE | base64 -w0; }

# NT hash of a password (MD4 of its UTF-16LE form, upper-case hex): the account's RC4 key.
nt_hash() {
	printf '%s' "$1" | iconv -f UTF-8 -t UTF-16LE | openssl dgst -md4 -provider legacy -provider default -r 2>/dev/null |
		awk '{print toupper($1)}'
}

abs_dir() {
	[[ -n ${1:-} ]] || die "missing DIR"
	realpath -m -- "$1"
}

state_get() { # DIR KEY
	local line
	[[ -f $1/$MARKER ]] || return 0
	while IFS= read -r line; do
		[[ $line == "$2="* ]] && printf '%s' "${line#*=}" && return 0
	done <"$1/$MARKER"
	return 0
}

env_get() { # DIR KEY
	local line
	[[ -f $1/env ]] || return 0
	while IFS= read -r line; do
		[[ $line == "$2="* ]] && printf '%s' "${line#*=}" && return 0
	done <"$1/env"
	return 0
}

env_set() { # DIR KEY VALUE: replace or append one line of DIR/env
	local tmp
	tmp=$(mktemp "$1/.env.XXXXXX")
	grep -v "^$2=" "$1/env" >"$tmp" || true
	printf '%s=%s\n' "$2" "$3" >>"$tmp"
	chmod 600 "$tmp"
	mv -f "$tmp" "$1/env"
}

# in_ns DIR CMD...: run CMD where the domain's network is (namespace or host).
in_ns() {
	local ns
	ns=$(state_get "$1" netns)
	shift
	if [[ -n $ns ]]; then
		ip netns exec "$ns" "$@"
	else
		"$@"
	fi
}

# ---------------------------------------------------------------------------------------------
# deps

cmd_deps() {
	local p missing=()
	for p in "${PACKAGES[@]}"; do
		if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
			missing+=("$p")
		fi
	done
	if ((${#missing[@]} == 0)); then
		log "all packages present"
		return 0
	fi
	need_root deps
	log "installing: ${missing[*]}"
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

check_tools() {
	local t
	for t in samba samba-tool samba_spnupdate pdbedit ldbadd ldbmodify ldbsearch ldapsearch kinit kvno klist faketime ip openssl iconv; do
		command -v "$t" >/dev/null || die "$t not found: run '$0 deps' first"
	done
}

# ---------------------------------------------------------------------------------------------
# down

# Samba rewrites its process titles ("samba: root process", "ldap[master]"), so it is found
# by what it holds, never by name: the pid file's process, its descendants, and whatever has a
# file under DIR/private open (the sam.ldb and secrets databases).

descendants() { # PID: PID and every process below it
	{ awk '/^Pid:/ {p = $2} /^PPid:/ {print p, $2; nextfile}' /proc/[0-9]*/status 2>/dev/null || true; } |
		awk -v root="$1" '{kids[$2] = kids[$2] " " $1}
			END {q[1] = root; n = 1; for (i = 1; i <= n; i++) {print q[i]; c = split(kids[q[i]], k, " "); for (j = 1; j <= c; j++) q[++n] = k[j]}}'
}

holders_of() { # DIRPREFIX: processes with an open file under it
	# find fails on processes that exit meanwhile; what it did list is still right.
	{ find /proc/[0-9]*/fd -maxdepth 1 -lname "$1*" 2>/dev/null || true; } | awk -F/ '{print $3}' | sort -u
}

stop_samba() { # DIR
	local dir=$1 pid="" i victims p left ns
	ns=$(state_get "$dir" netns)
	if [[ -f $dir/run/samba.pid ]]; then
		pid=$(tr -dc '0-9' <"$dir/run/samba.pid")
	fi
	victims=$(holders_of "$dir/private/")
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && grep -qx "$pid" <<<"$victims"; then
		victims=$(printf '%s\n%s\n' "$victims" "$(descendants "$pid")" | sort -u)
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "samba $pid still running after 10 s: SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	# Workers follow their master within a second or so; then stragglers get SIGKILL by pid.
	for ((i = 0; i < 30; i++)); do
		left=
		for p in $victims; do
			kill -0 "$p" 2>/dev/null && left+=" $p"
		done
		[[ -z $left ]] && break
		sleep 0.1
	done
	for p in $left; do
		kill -KILL "$p" 2>/dev/null || true
	done
	if [[ -n $ns ]] && left=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ') && [[ -n ${left// /} ]]; then
		log "still running in namespace $ns (not started by this script's up): $left"
	fi
}

remove_hosts_block() { # DIR
	local begin="# authtriage-testdomain begin $1" end="# authtriage-testdomain end $1" tmp
	grep -qxF "$begin" /etc/hosts 2>/dev/null || return 0
	tmp=$(mktemp)
	awk -v b="$begin" -v e="$end" '$0 == b {skip = 1; next} $0 == e {skip = 0; next} !skip' /etc/hosts >"$tmp"
	cat "$tmp" >/etc/hosts # keep the inode: /etc/hosts may be a bind mount
	rm -f "$tmp"
}

cmd_down() {
	local dir purge=0 ns
	[[ $# -ge 1 ]] || usage
	dir=$(abs_dir "$1")
	shift
	[[ ${1:-} == --purge ]] && purge=1
	need_root down
	[[ -f $dir/$MARKER ]] || die "$dir is not a test domain (no $MARKER)"
	stop_samba "$dir"
	ns=$(state_get "$dir" netns)
	if [[ -n $ns ]]; then
		if ip netns list 2>/dev/null | grep -qw -- "^$ns"; then
			ip netns del "$ns" || log "could not delete namespace $ns"
		fi
		rm -rf -- "/etc/netns/$ns"
	fi
	remove_hosts_block "$dir"
	if ((purge)); then
		rm -rf -- "$dir"
		log "domain stopped, $dir deleted"
	else
		log "domain stopped; $dir kept (samba.log, env); '$me down $dir --purge' deletes it"
	fi
}

# ---------------------------------------------------------------------------------------------
# up

# delegation_host_names: the back ends and the front ends' HTTP/ host names (svc_web -> web).
delegation_host_names() {
	local a
	printf '%s\n' "${DELEGATION_BACK_ENDS[@]}"
	for a in "${DELEGATION_FRONT_ENDS[@]}"; do printf '%s\n' "${a#svc_}"; done
}

# host_address HOST DC_ADDR: the address HOST resolves to, in the hosts file and in Samba's DNS:
# its own loopback address for the instance scenarios' hosts, the DC's for the others.
host_address() {
	printf '%s' "${INSTANCE_ADDR[$1]:-$2}"
}

# host_lines DC_ADDR: the hosts-file lines of every scenario host (not of the CNAME alias,
# which only Samba's DNS may answer).
host_lines() {
	local h
	for h in "${SCENARIO_HOSTS[@]}" $(delegation_host_names) "${INSTANCE_HOSTS[@]}"; do
		printf '%s\t%s.%s %s\n' "$(host_address "$h" "$1")" "$h" "$DNS_DOMAIN" "$h"
	done
}

setup_network() { # DIR -> sets NETNS, DC_ADDR
	local dir=$1 pids names
	NETNS=${AUTHTRIAGE_NETNS:-$NETNS_DEFAULT}
	DC_ADDR=127.0.0.1
	[[ $NETNS =~ ^[A-Za-z0-9_.-]+$ ]] || die "AUTHTRIAGE_NETNS=$NETNS: letters, digits, _ . - only"
	names="$DC_FQDN $DC_HOST"
	if [[ ${AUTHTRIAGE_TEST_NO_NETNS:-0} != 1 ]]; then
		if ip netns list 2>/dev/null | grep -qw -- "^$NETNS"; then
			pids=$(ip netns pids "$NETNS" 2>/dev/null | tr '\n' ' ')
			[[ -z $pids ]] || die "namespace $NETNS is in use (pids $pids): run '$me down' on its DIR, or set AUTHTRIAGE_NETNS to another name"
			ip netns del "$NETNS"
		fi
		if ip netns add "$NETNS" 2>/dev/null && ip netns exec "$NETNS" ip link set lo up; then
			mkdir -p "/etc/netns/$NETNS"
			{
				printf '127.0.0.1\t%s localhost\n' "$names"
				host_lines 127.0.0.1
				printf '::1\tlocalhost ip6-localhost ip6-loopback\n'
			} >"/etc/netns/$NETNS/hosts"
			printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"/etc/netns/$NETNS/resolv.conf"
			return 0
		fi
		ip netns del "$NETNS" 2>/dev/null || true
		log "WARNING: cannot create network namespace $NETNS; falling back to the host's loopback"
	else
		log "WARNING: AUTHTRIAGE_TEST_NO_NETNS=1: using the host's loopback, no namespace"
	fi
	NETNS=
	DC_ADDR=${AUTHTRIAGE_TEST_FALLBACK_IP:-127.0.0.88}
	[[ $DC_ADDR =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "AUTHTRIAGE_TEST_FALLBACK_IP must be a 127.x.y.z address"
	if grep -qE "^[^#]*[[:space:]]${DC_FQDN//./\\.}([[:space:]]|$)" /etc/hosts; then
		die "/etc/hosts already maps $DC_FQDN (another test domain on the host loopback?)"
	fi
	remove_hosts_block "$dir"
	{
		printf '# authtriage-testdomain begin %s\n' "$dir"
		printf '%s\t%s\n' "$DC_ADDR" "$names"
		host_lines "$DC_ADDR"
		printf '# authtriage-testdomain end %s\n' "$dir"
	} >>/etc/hosts
	log "WARNING: the DC listens on $DC_ADDR of the host's loopback; names added to /etc/hosts until '$me down'"
}

provision() { # DIR ADMINPASS: DIR/private/admin.pw keeps it (0600) for samba-tool dns
	local dir=$1 iface
	iface=lo
	[[ -n $NETNS ]] || iface="$DC_ADDR/8"
	# Provision reads no network; --host-ip is dc1's address in the DNS zone.
	if ! samba-tool domain provision --targetdir="$dir" --realm="$REALM" --domain="$NETBIOS" \
		--server-role=dc --dns-backend=SAMBA_INTERNAL --use-rfc2307 --host-name="$DC_HOST" \
		--host-ip="$DC_ADDR" --adminpass="$2" --option="interfaces=$iface" \
		--option="bind interfaces only=yes" -q >"$dir/provision.log" 2>&1; then
		tail -n 20 "$dir/provision.log" >&2
		die "samba-tool domain provision failed (log: $dir/provision.log)"
	fi
	(umask 077 && printf '%s' "$2" >"$dir/private/admin.pw")
}

patch_smb_conf() { # DIR AES_DEFAULT
	local dir=$1 conf=$1/etc/smb.conf tmp aes=
	if [[ $2 == 1 ]]; then
		# The KB5073381 default for accounts without msDS-SupportedEncryptionTypes.
		aes="aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96"
	fi
	mkdir -p "$dir/run" "$dir/ncalrpc" "$dir/winbindd" "$dir/ntp_signd"
	tmp=$(mktemp "$conf.XXXXXX")
	# Drop the forwarder provision copied from the host's resolv.conf (traffic stays on
	# loopback) and the default log file; add our own directories and services after [global].
	awk -v d="$dir" -v aes="$aes" '
		/^[[:space:]]*dns forwarder[[:space:]]*=/ { next }
		/^[[:space:]]*log file[[:space:]]*=/ { next }
		{ print }
		/^\[global\]/ {
			print "\tpid directory = " d "/run"
			print "\tncalrpc dir = " d "/ncalrpc"
			print "\twinbindd socket directory = " d "/winbindd"
			print "\tntp signd socket directory = " d "/ntp_signd"
			print "\tlog file = " d "/log.%m"
			print "\tserver services = ldap, cldap, kdc, rpc, dns"
			print "\ttls enabled = yes"
			print "\ttls keyfile = " d "/private/tls/key.pem"
			print "\ttls certfile = " d "/private/tls/cert.pem"
			print "\ttls cafile = " d "/private/tls/ca.pem"
			if (aes != "") print "\tkdc default domain supported enctypes = " aes
		}' "$conf" >"$tmp"
	mv -f "$tmp" "$conf"
}

make_tls() { # DIR
	local tls=$1/private/tls
	mkdir -p "$tls"
	(
		umask 077
		cd "$tls"
		# Backdated one day so that clocks a little behind still accept it.
		faketime -f -1d openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
			-keyout ca.key -out ca.pem -subj "/O=authtriage test domain/CN=authtriage test CA" \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
		faketime -f -1d openssl req -newkey rsa:2048 -nodes -sha256 -keyout key.pem -out cert.csr \
			-subj "/O=authtriage test domain/CN=$DC_FQDN"
		faketime -f -1d openssl x509 -req -in cert.csr -CA ca.pem -CAkey ca.key -set_serial "0x$(openssl rand -hex 8)" \
			-days 825 -sha256 -out cert.pem -extfile <(printf '%s\n' \
				"subjectAltName=DNS:$DC_FQDN,DNS:$DC_HOST,DNS:$DNS_DOMAIN,IP:$DC_ADDR" \
				"basicConstraints=critical,CA:FALSE" \
				"keyUsage=critical,digitalSignature,keyEncipherment" \
				"extendedKeyUsage=serverAuth")
		rm -f cert.csr ca.key
		chmod 644 ca.pem cert.pem
		chmod 600 key.pem
	) >"$1/tls.log" 2>&1 || {
		cat "$1/tls.log" >&2
		die "making the TLS certificates failed"
	}
}

write_krb5_conf() { # FILE ENCTYPES
	cat >"$1" <<EOF
# authtriage test domain client configuration: KRB5_CONFIG=$1
[libdefaults]
	default_realm = $REALM
	dns_lookup_realm = false
	dns_lookup_kdc = false
	rdns = false
	dns_canonicalize_hostname = false
	udp_preference_limit = 1
	# MIT's default (1) learns the KDC's clock from its answers and hides a skew; the checker
	# must see KRB_AP_ERR_SKEW as Windows clients and gokrb5 do.
	kdc_timesync = 0
	default_tgs_enctypes = $2
	default_tkt_enctypes = $2
	permitted_enctypes = $2

[realms]
	$REALM = {
		kdc = $DC_FQDN:88
		admin_server = $DC_FQDN
	}

[domain_realm]
	.$DNS_DOMAIN = $REALM
	$DNS_DOMAIN = $REALM
EOF
}

# user_ldif NAME UAC ENCTYPES SPN_HOST DESCRIPTION [EXTRA_LINE...]: one user entry; SPN_HOST
# empty for none; ENCTYPES empty to leave msDS-SupportedEncryptionTypes unset.
user_ldif() {
	local name=$1 uac=$2 etypes=$3 spnhost=$4 desc=$5 line
	shift 5
	printf 'dn: CN=%s,%s\n' "$name" "$USERS_DN"
	printf 'objectClass: user\nsAMAccountName: %s\nuserPrincipalName: %s@%s\n' "$name" "$name" "$DNS_DOMAIN"
	printf 'description: %s\nuserAccountControl: %s\n' "$desc" "$uac"
	# shellcheck disable=SC2076 # a literal word match in the list
	if [[ ! " ${RC4_KEY_ONLY[*]} " =~ " $name " ]]; then
		printf 'unicodePwd:: %s\n' "$(unicode_pwd "${PASSWORDS[$name]}")"
	fi
	[[ -z $etypes ]] || printf 'msDS-SupportedEncryptionTypes: %s\n' "$etypes"
	if [[ -n $spnhost ]]; then
		printf 'servicePrincipalName: MSSQLSvc/%s.%s:1433\n' "$spnhost" "$DNS_DOMAIN"
		printf 'servicePrincipalName: MSSQLSvc/%s.%s\n' "$spnhost" "$DNS_DOMAIN"
	fi
	for line in "$@"; do printf '%s\n' "$line"; done
	printf '\n'
}

computer_ldif() { # HOST
	local up=${1^^}
	printf 'dn: CN=%s,CN=Computers,%s\n' "$1" "$BASE_DN"
	printf 'objectClass: computer\nsAMAccountName: %s$\nuserAccountControl: 4096\n' "$up"
	printf 'dNSHostName: %s.%s\n' "$1" "$DNS_DOMAIN"
	printf 'servicePrincipalName: HOST/%s.%s\nservicePrincipalName: HOST/%s\n\n' "$1" "$DNS_DOMAIN" "$up"
}

# Declared here, filled by cmd_up: account name -> password.
declare -A PASSWORDS=()
readonly ACCOUNTS=(authtriage_ro svc_sqlok svc_sqlmissing svc_sqldup svc_sqldup_old svc_sqlwrong
	svc_sqlwrong_other svc_sqldisabled svc_sqlexpired svc_sqlpwdexpired svc_sqlrc4 svc_sqllocked
	svc_sqlnoetype svc_sqlrc4keys svc_sqlbe svc_sqlrbcd "${DELEGATION_FRONT_ENDS[@]}" "${DELEGATION_USERS[@]}"
	svc_sqldyn svc_sqlag1 svc_sqlag2a svc_sqlag2b svc_sqlfci)
# Accounts that get only the NT hash of their password (the RC4 key), no AES keys.
readonly RC4_KEY_ONLY=(svc_sqlrc4keys)

# delegation_ldif: the second hop's accounts (see the header). 16843264 = NORMAL_ACCOUNT |
# DONT_EXPIRE_PASSWORD | TRUSTED_TO_AUTH_FOR_DELEGATION (0x1000000), what `samba-tool delegation
# for-any-protocol NAME on` sets; 1114624 = NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD | NOT_DELEGATED
# (0x100000), what `samba-tool user sensitive NAME on` sets. msDS-AllowedToDelegateTo holds what
# `samba-tool delegation add-service NAME SPN` adds.
delegation_ldif() {
	local be=MSSQLSvc/sqlbe.$DNS_DOMAIN
	user_ldif svc_sqlbe 66048 24 sqlbe "authtriage delegation: back end sqlbe"
	user_ldif svc_sqlrbcd 66048 24 "" "authtriage delegation: back end sqlrbcd, resource-based delegation from svc_webrbcd" \
		"servicePrincipalName: MSSQLSvc/sqlrbcd.$DNS_DOMAIN:1433"
	user_ldif svc_web 16843264 24 "" "authtriage delegation: front end, protocol transition, allowed to both sqlbe SPNs" \
		"servicePrincipalName: HTTP/web.$DNS_DOMAIN" "msDS-AllowedToDelegateTo: $be:1433" "msDS-AllowedToDelegateTo: $be"
	user_ldif svc_webnopt 66048 24 "" "authtriage delegation: front end, no protocol transition, allowed to both sqlbe SPNs" \
		"servicePrincipalName: HTTP/webnopt.$DNS_DOMAIN" "msDS-AllowedToDelegateTo: $be:1433" "msDS-AllowedToDelegateTo: $be"
	user_ldif svc_webnoport 16843264 24 "" "authtriage delegation: front end, protocol transition, allowed to $be only" \
		"servicePrincipalName: HTTP/webnoport.$DNS_DOMAIN" "msDS-AllowedToDelegateTo: $be"
	user_ldif svc_webnone 66048 24 "" "authtriage delegation: front end without delegation" \
		"servicePrincipalName: HTTP/webnone.$DNS_DOMAIN"
	user_ldif svc_webrbcd 66048 24 "" "authtriage delegation: front end named by svc_sqlrbcd's resource-based delegation" \
		"servicePrincipalName: HTTP/webrbcd.$DNS_DOMAIN"
	user_ldif alice 66048 "" "" "authtriage delegation: ordinary user"
	user_ldif bob 1114624 "" "" "authtriage delegation: sensitive user (NOT_DELEGATED)"
	user_ldif carol 66048 "" "" "authtriage delegation: member of Protected Users"
}

# instances_ldif: the service accounts of the instance scenarios (see the header). Each SPN is
# spelled out: none of them is the usual pair of sqlhost.corp.test:1433 and sqlhost.corp.test.
instances_ldif() {
	local d=$DNS_DOMAIN
	user_ldif svc_sqldyn 66048 24 "" "authtriage scenario sqldyn: named instance $DYN_INSTANCE, its SPN names the port before its restart" \
		"servicePrincipalName: MSSQLSvc/sqldyn.$d:$DYN_OLD_PORT" "servicePrincipalName: MSSQLSvc/sqldyn.$d:$DYN_INSTANCE"
	user_ldif svc_sqlag1 66048 24 "" "authtriage scenario aglisten1: both replicas, no listener SPN" \
		"servicePrincipalName: MSSQLSvc/sqlag1a.$d:1433" "servicePrincipalName: MSSQLSvc/sqlag1a.$d" \
		"servicePrincipalName: MSSQLSvc/sqlag1b.$d:1433" "servicePrincipalName: MSSQLSvc/sqlag1b.$d"
	user_ldif svc_sqlag2a 66048 24 "" "authtriage scenario aglisten2: replica sqlag2a, holds the listener's SPNs" \
		"servicePrincipalName: MSSQLSvc/sqlag2a.$d:1433" "servicePrincipalName: MSSQLSvc/sqlag2a.$d" \
		"servicePrincipalName: MSSQLSvc/aglisten2.$d:1433" "servicePrincipalName: MSSQLSvc/aglisten2.$d"
	user_ldif svc_sqlag2b 66048 24 sqlag2b "authtriage scenario aglisten2: replica sqlag2b, another account"
	user_ldif svc_sqlfci 66048 24 "" "authtriage scenario sqlfci: failover-cluster instance, its SPN on node sqlfcin1" \
		"servicePrincipalName: MSSQLSvc/sqlfcin1.$d:1433"
}

seed() { # DIR
	local dir=$1 sam=$1/private/sam.ldb now yesterday h a
	now=$(date +%s)
	yesterday=$(filetime_at $((now - 86400)))
	# 66048 = NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD; 66050 adds ACCOUNTDISABLE; 512 = NORMAL_ACCOUNT.
	{
		user_ldif authtriage_ro 66048 "" "" "authtriage read-only bind and Kerberos checker"
		user_ldif svc_sqlok 66048 24 sqlok "authtriage scenario sqlok: healthy"
		user_ldif svc_sqlmissing 66048 24 "" "authtriage scenario sqlmissing: spn.missing"
		user_ldif svc_sqldup 66048 24 sqldup "authtriage scenario sqldup: spn.duplicate"
		user_ldif svc_sqldup_old 66048 24 "" "authtriage scenario sqldup: stale second holder of MSSQLSvc/sqldup.corp.test:1433"
		user_ldif svc_sqlwrong 66048 24 "" "authtriage scenario sqlwrong: runs the service, holds no SPN"
		user_ldif svc_sqlwrong_other 66048 24 sqlwrong "authtriage scenario sqlwrong: holds the SPNs, spn.wrong_account"
		user_ldif svc_sqldisabled 66050 24 sqldisabled "authtriage scenario sqldisabled: account.disabled"
		user_ldif svc_sqlexpired 66048 24 sqlexpired "authtriage scenario sqlexpired: account.expired" \
			"accountExpires: $yesterday"
		user_ldif svc_sqlpwdexpired 512 24 sqlpwdexpired "authtriage scenario sqlpwdexpired: account.password_expired"
		user_ldif svc_sqlrc4 66048 4 sqlrc4 "authtriage scenario sqlrc4: kerberos.etype_mismatch (RC4 only)"
		user_ldif svc_sqllocked 66048 24 sqllocked "authtriage scenario sqllocked: account.locked_out"
		user_ldif svc_sqlnoetype 66048 "" sqlnoetype "authtriage scenario sqlnoetype: no msDS-SupportedEncryptionTypes, AES keys"
		user_ldif svc_sqlrc4keys 66048 "" sqlrc4keys "authtriage scenario sqlrc4keys: no msDS-SupportedEncryptionTypes, RC4 key only"
		delegation_ldif
		instances_ldif
		for h in "${SCENARIO_HOSTS[@]}" "${DELEGATION_BACK_ENDS[@]}" "${INSTANCE_HOSTS[@]}"; do computer_ldif "$h"; done
	} | ldbadd -H "$sam" >"$dir/seed.log" 2>&1 || {
		cat "$dir/seed.log" >&2
		die "seeding users failed"
	}
	# pwdLastSet and lockoutTime take effect as modifications (as in AD: pwdLastSet accepts 0).
	printf '%s\n' \
		"dn: CN=svc_sqlpwdexpired,$USERS_DN" "changetype: modify" "replace: pwdLastSet" "pwdLastSet: 0" "" \
		"dn: CN=svc_sqllocked,$USERS_DN" "changetype: modify" "replace: lockoutTime" "lockoutTime: $(filetime_at "$now")" "" \
		"dn: $BASE_DN" "changetype: modify" "replace: lockoutDuration" "lockoutDuration: 0" "" \
		"dn: CN=Protected Users,$USERS_DN" "changetype: modify" "add: member" "member: CN=carol,$USERS_DN" |
		ldbmodify -H "$sam" >>"$dir/seed.log" 2>&1 || {
		cat "$dir/seed.log" >&2
		die "seeding account states failed"
	}
	# RC4 key only: the NT hash of the password and nothing else (no supplementalCredentials,
	# so no Kerberos AES keys). pdbedit prints the account with its hash: not logged.
	for a in "${RC4_KEY_ONLY[@]}"; do
		h=$(nt_hash "${PASSWORDS[$a]}")
		[[ $h =~ ^[0-9A-F]{32}$ ]] || die "cannot compute an NT hash (openssl dgst -md4 needs OpenSSL's legacy provider)"
		pdbedit -s "$dir/etc/smb.conf" -u "$a" --set-nt-hash="$h" >/dev/null 2>>"$dir/seed.log" || {
			tail -n 5 "$dir/seed.log" >&2
			die "setting the NT hash of $a failed"
		}
	done
	# The duplicate: straight into the partition file, past samldb's uniqueness check.
	printf '%s\n' "dn: CN=svc_sqldup_old,$USERS_DN" "changetype: modify" "add: servicePrincipalName" \
		"servicePrincipalName: MSSQLSvc/sqldup.$DNS_DOMAIN:1433" |
		ldbmodify -H "tdb://$dir/private/sam.ldb.d/$PARTITION_FILE" >>"$dir/seed.log" 2>&1 || {
		cat "$dir/seed.log" >&2
		die "writing the duplicate SPN failed"
	}
}

# samba_tool_batch: run the samba-tool commands given one per line on stdin (arguments separated
# by tabs) in one Python process, samba-tool's own interpreter: importing samba is most of the
# cost of each samba-tool. Stops at the first failure, naming it on stderr. Arguments, if any, are
# a command to run it under (in_ns DIR).
samba_tool_batch() {
	local tool py
	tool=$(command -v samba-tool)
	py=$(sed -n '1s/^#! *//p' "$tool")
	[[ -x ${py%% *} ]] || py=python3
	# shellcheck disable=SC2016 # Python, not shell
	"$@" $py -c '
import sys
from samba.netcmd.main import cmd_sambatool
for line in sys.stdin:
    args = line.rstrip("\n").split("\t")
    try:
        rc = cmd_sambatool()._run("samba-tool", *args)
    except SystemExit as e:
        rc = e.code
    except Exception as e:
        cmd_sambatool().show_command_error(e)
        rc = 1
    if rc:
        sys.exit("samba-tool %s failed (status %s)" % (" ".join(args[:2]), rc))
'
}

# export_keytabs DIR: the keytabs of authtriage_ro, svc_sqlok and each front end, the domain's,
# and the resource-based delegation of svc_sqlrbcd (a security descriptor samba-tool builds).
export_keytabs() { # DIR
	local dir=$1 conf=$1/etc/smb.conf a p
	for a in authtriage_ro svc_sqlok "${DELEGATION_FRONT_ENDS[@]}" domain; do rm -f "$dir/$a.keytab"; done
	{
		for a in authtriage_ro svc_sqlok "${DELEGATION_FRONT_ENDS[@]}"; do
			printf 'domain\texportkeytab\t%s\t--principal=%s\t-s\t%s\n' "$dir/$a.keytab" "$a@$REALM" "$conf"
		done
		printf 'domain\texportkeytab\t%s\t-s\t%s\n' "$dir/domain.keytab" "$conf"
		printf 'delegation\tadd-principal\tsvc_sqlrbcd\tsvc_webrbcd\t-H\t%s\t-s\t%s\n' "$dir/private/sam.ldb" "$conf"
	} | samba_tool_batch >>"$dir/seed.log" 2>&1 &
	p=$!
	# The DC's own ldap/ SPNs (no dnsupdate service runs to add them).
	samba_spnupdate -s "$conf" >>"$dir/seed.log" 2>&1 || die "samba_spnupdate failed (log: $dir/seed.log)"
	wait "$p" || die "exporting the keytabs or adding svc_sqlrbcd's resource-based delegation failed (log: $dir/seed.log)"
	for a in authtriage_ro svc_sqlok "${DELEGATION_FRONT_ENDS[@]}" domain; do chmod 600 "$dir/$a.keytab"; done
}

# add_dns_records DIR: an A record in Samba's DNS for every scenario host (host_address) and
# the CNAME alias, through the running DC's DNS management RPC as Administrator (NTLM: the
# skewed domain's KDC would refuse the ticket). `samba-tool dns add SERVER ZONE NAME TYPE DATA`.
add_dns_records() {
	local dir=$1 h auth
	auth="$NETBIOS\\Administrator%$(cat "$dir/private/admin.pw")"
	{
		for h in "${SCENARIO_HOSTS[@]}" $(delegation_host_names) "${INSTANCE_HOSTS[@]}"; do
			printf 'dns\tadd\t%s\t%s\t%s\tA\t%s\t-U\t%s\t--use-kerberos=off\n' "$DC_FQDN" "$DNS_DOMAIN" "$h" "$(host_address "$h" "$DC_ADDR")" "$auth"
		done
		printf 'dns\tadd\t%s\t%s\t%s\tCNAME\t%s\t-U\t%s\t--use-kerberos=off\n' "$DC_FQDN" "$DNS_DOMAIN" "$ALIAS_NAME" "$ALIAS_TARGET.$DNS_DOMAIN" "$auth"
	} | samba_tool_batch in_ns "$dir" >>"$dir/dns.log" 2>&1 || {
		tail -n 5 "$dir/dns.log" >&2
		die "adding the DNS records failed (log: $dir/dns.log)"
	}
}

write_env() { # DIR SKEWED AES_DEFAULT
	local dir=$1 a key tmp
	tmp=$(mktemp "$dir/.env.XXXXXX")
	chmod 600 "$tmp"
	{
		echo "AUTHTRIAGE_TEST_DIR=$dir"
		echo "AUTHTRIAGE_TEST_NETNS=$NETNS"
		echo "AUTHTRIAGE_TEST_LDAP_URL=ldaps://$DC_FQDN:636"
		echo "AUTHTRIAGE_TEST_GC_URL=ldaps://$DC_FQDN:3269"
		echo "AUTHTRIAGE_TEST_LDAP_CA=$dir/private/tls/ca.pem"
		echo "AUTHTRIAGE_TEST_BIND_DN=CN=authtriage_ro,$USERS_DN"
		echo "AUTHTRIAGE_TEST_BIND_UPN=authtriage_ro@$DNS_DOMAIN"
		echo "AUTHTRIAGE_TEST_BIND_PASSWORD=${PASSWORDS[authtriage_ro]}"
		echo "AUTHTRIAGE_TEST_BASE_DN=$BASE_DN"
		echo "AUTHTRIAGE_TEST_REALM=$REALM"
		echo "AUTHTRIAGE_TEST_DOMAIN=$NETBIOS"
		echo "AUTHTRIAGE_TEST_DNS_DOMAIN=$DNS_DOMAIN"
		echo "AUTHTRIAGE_TEST_DC=$DC_FQDN"
		echo "AUTHTRIAGE_TEST_DC_ADDR=$DC_ADDR"
		echo "AUTHTRIAGE_TEST_KDC=$DC_FQDN:88"
		echo "AUTHTRIAGE_TEST_KRB5_CONF=$dir/krb5.conf"
		echo "AUTHTRIAGE_TEST_KRB5_CONF_RC4=$dir/krb5-rc4.conf"
		echo "AUTHTRIAGE_TEST_KEYTAB=$dir/authtriage_ro.keytab"
		echo "AUTHTRIAGE_TEST_PRINCIPAL=authtriage_ro"
		echo "AUTHTRIAGE_TEST_SQLOK_KEYTAB=$dir/svc_sqlok.keytab"
		echo "AUTHTRIAGE_TEST_DOMAIN_KEYTAB=$dir/domain.keytab"
		echo "AUTHTRIAGE_TEST_HOSTS=$(
			IFS=,
			echo "${SCENARIO_HOSTS[*]}"
		)"
		for a in "${ACCOUNTS[@]}"; do
			key=${a^^}
			echo "AUTHTRIAGE_TEST_PASSWORD_$key=${PASSWORDS[$a]}"
		done
		echo "AUTHTRIAGE_TEST_DELEGATION_FRONT_ENDS=$(
			IFS=,
			echo "${DELEGATION_FRONT_ENDS[*]}"
		)"
		echo "AUTHTRIAGE_TEST_DELEGATION_BACK_ENDS=$(
			IFS=,
			echo "${DELEGATION_BACK_ENDS[*]}"
		)"
		echo "AUTHTRIAGE_TEST_DELEGATION_USERS=$(
			IFS=,
			echo "${DELEGATION_USERS[*]}"
		)"
		for a in "${DELEGATION_FRONT_ENDS[@]}"; do
			echo "AUTHTRIAGE_TEST_KEYTAB_${a^^}=$dir/$a.keytab"
		done
		echo "AUTHTRIAGE_TEST_DNS_SERVER=$DC_ADDR:53"
		echo "AUTHTRIAGE_TEST_INSTANCE_SCENARIOS=$(
			IFS=,
			echo "${INSTANCE_SCENARIOS[*]}"
		)"
		for a in "${INSTANCE_HOSTS[@]}"; do
			echo "AUTHTRIAGE_TEST_ADDR_${a^^}=${INSTANCE_ADDR[$a]}"
		done
		if [[ $2 == 1 ]]; then
			echo "AUTHTRIAGE_TEST_SKEWED=1"
			echo "AUTHTRIAGE_TEST_SKEW_SECONDS=$SKEW_SECONDS"
		else
			echo "AUTHTRIAGE_TEST_SKEWED=0"
			echo "AUTHTRIAGE_TEST_SKEW_SECONDS=0"
		fi
		if [[ $3 == 1 ]]; then
			echo "AUTHTRIAGE_TEST_AES_DEFAULT=1"
		else
			echo "AUTHTRIAGE_TEST_AES_DEFAULT=0"
		fi
		echo "AUTHTRIAGE_TEST_BULK_USERS=0"
		echo "AUTHTRIAGE_TEST_BULK_DUPLICATES=0"
	} >"$tmp"
	mv -f "$tmp" "$dir/env"
	# For ldapsearch -y (exact bytes, no newline).
	(umask 077 && printf '%s' "${PASSWORDS[authtriage_ro]}" >"$dir/private/authtriage_ro.pw")
}

# ports_open DIR ADDR PORT...: all PORTs accept TCP on ADDR, seen from the domain's network.
ports_open() {
	local dir=$1 addr=$2
	shift 2
	# shellcheck disable=SC2016 # the inner shell expands them
	in_ns "$dir" bash -c 'a=$1; shift; for p; do (exec 3<>"/dev/tcp/$a/$p") 2>/dev/null || exit 1; done' _ "$addr" "$@"
}

start_samba() { # DIR SKEW
	local dir=$1 conf=$1/etc/smb.conf pid deadline
	local cmd=(samba -i -s "$conf")
	[[ $2 == 1 ]] && cmd=(faketime -f "$SKEW_OFFSET" "${cmd[@]}")
	if [[ -n $NETNS ]]; then
		cmd=(ip netns exec "$NETNS" "${cmd[@]}")
	fi
	setsid "${cmd[@]}" </dev/null >>"$dir/samba.log" 2>&1 &
	pid=$!
	deadline=$(($(date +%s) + START_TIMEOUT))
	until ports_open "$dir" "$DC_ADDR" 53 88 135 636 3269; do
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 30 "$dir/samba.log" >&2
			die "samba exited during start-up (log: $dir/samba.log)"
		fi
		if (($(date +%s) >= deadline)); then
			tail -n 30 "$dir/samba.log" >&2
			die "samba did not open ports 53, 88, 135, 636 and 3269 within ${START_TIMEOUT}s (log: $dir/samba.log)"
		fi
		sleep 0.2
	done
}

# ldap_count DIR URL FILTER: number of entries a paged simple-bind search as authtriage_ro returns.
ldap_count() {
	local dir=$1 url=$2 filter=$3 out
	out=$(in_ns "$dir" env LDAPTLS_CACERT="$dir/private/tls/ca.pem" LDAPTLS_REQCERT=demand \
		ldapsearch -LLL -o ldif-wrap=no -H "$url" -x -D "CN=authtriage_ro,$USERS_DN" \
		-y "$dir/private/authtriage_ro.pw" -b "$BASE_DN" -E pr=1000/noprompt "$filter" dn) || return 1
	grep -c '^dn: ' <<<"$out" || true
}

cmd_up() {
	local dir t0 t skew=${AUTHTRIAGE_TEST_SKEW:-0} aes=${AUTHTRIAGE_TEST_AES_DEFAULT:-0} a n
	[[ $# -eq 1 ]] || usage
	need_root up
	check_tools
	dir=$(abs_dir "$1")
	[[ $dir != / ]] || die "refusing DIR=/"
	t0=$(now_ns)
	if [[ -e $dir ]]; then
		if [[ -f $dir/$MARKER ]]; then
			log "$dir holds a test domain: stopping and replacing it"
			(cmd_down "$dir") || true
			rm -rf -- "$dir"
		elif [[ -n $(ls -A -- "$dir") ]]; then
			die "$dir exists, is not empty and is not a test domain: choose another DIR"
		fi
	fi
	mkdir -p "$dir"
	chmod 700 "$dir"
	for a in "${ACCOUNTS[@]}"; do PASSWORDS[$a]=$(gen_password); done

	setup_network "$dir"
	printf 'netns=%s\ndc_addr=%s\nskewed=%s\naes_default=%s\n' "$NETNS" "$DC_ADDR" "$skew" "$aes" >"$dir/$MARKER"

	t=$(now_ns)
	provision "$dir" "$(gen_password)"
	log "provisioned $REALM in $(elapsed "$t")"

	t=$(now_ns)
	patch_smb_conf "$dir" "$aes"
	make_tls "$dir"
	write_krb5_conf "$dir/krb5.conf" "aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96"
	write_krb5_conf "$dir/krb5-rc4.conf" "rc4-hmac"
	seed "$dir"
	export_keytabs "$dir"
	write_env "$dir" "$skew" "$aes"
	log "seeded ${#ACCOUNTS[@]} accounts and $((${#SCENARIO_HOSTS[@]} + ${#DELEGATION_BACK_ENDS[@]} + ${#INSTANCE_HOSTS[@]})) hosts in $(elapsed "$t")"

	t=$(now_ns)
	start_samba "$dir" "$skew"
	log "samba answering on 53, 88, 135, 636 and 3269 after $(elapsed "$t")$([[ $skew == 1 ]] && echo " (clock $SKEW_OFFSET)")"
	t=$(now_ns)
	add_dns_records "$dir"
	log "DNS records of the scenario hosts and the alias added in $(elapsed "$t")"

	# The duplicate must be visible through LDAPS, with the CA and the host name checked.
	n=$(ldap_count "$dir" "ldaps://$DC_FQDN:3269" "(servicePrincipalName=MSSQLSvc/sqldup.$DNS_DOMAIN:1433)") ||
		die "LDAPS search as authtriage_ro failed"
	[[ $n == 2 ]] || die "expected 2 holders of MSSQLSvc/sqldup.$DNS_DOMAIN:1433 over LDAPS, got $n"

	log "domain up in $(elapsed "$t0"): env in $dir/env; '$me exec $dir -- CMD' runs tests there"
	echo "$dir/env"
}

# ---------------------------------------------------------------------------------------------
# exec, env

cmd_exec() {
	local dir line vars=()
	[[ $# -ge 1 ]] || usage
	dir=$(abs_dir "$1")
	shift
	[[ ${1:-} == -- ]] && shift
	[[ $# -ge 1 ]] || usage
	[[ -f $dir/env ]] || die "$dir/env not found: run '$me up $dir' first"
	while IFS= read -r line; do
		[[ $line == AUTHTRIAGE_TEST_*=* ]] && vars+=("$line")
	done <"$dir/env"
	vars+=("KRB5_CONFIG=$dir/krb5.conf" "LDAPTLS_CACERT=$dir/private/tls/ca.pem")
	need_root exec
	in_ns "$dir" env "${vars[@]}" "$@"
}

cmd_env() {
	[[ $# -eq 1 ]] || usage
	local dir
	dir=$(abs_dir "$1")
	[[ -f $dir/env ]] || die "$dir/env not found: run '$me up $dir' first"
	cat "$dir/env"
}

# ---------------------------------------------------------------------------------------------
# seed-bulk

# Bulk seeding. Adding users through sam.ldb costs time proportional to the users already
# there (ldb copies every big index list, objectClass=user and the like, into each per-object
# sub-transaction): 20000 users took over 17 minutes. So seed-bulk adds bulk00001 through the
# full dsdb stack as a template, stops Samba, drops the partition's attribute indexes, writes
# bulk00002..N straight into the partition file as copies of the template (own name, objectGUID,
# objectSid with RID 1000000+i, uSNs, SPNs; the template's security descriptor, objectCategory,
# replPropertyMetaData, userAccountControl 546), restores the indexes (one reindex), and
# restarts Samba. The users have no password and no keys (userAccountControl 546, disabled): a
# TGS-REQ for their SPNs gets 14 KDC_ERR_ETYPE_NOSUPP. Duplicates: the :1433 SPN of bulk k is also
# on bulk N+1-k for k = 1..min(5, N/2).
bulk_ldif() { # TEMPLATE N PAD USN_BASE RID_BASE DUPS: LDIF of users 2..N on stdout
	python3 - "$@" <<'PY'
import os, sys

tmpl_path, n, pad, usn_base, rid_base, dups = sys.argv[1], *map(int, sys.argv[2:])
lines = []
with open(tmpl_path, encoding="utf-8") as f:
    for raw in f:
        raw = raw.rstrip("\n")
        if raw.startswith(" ") and lines:
            lines[-1] += raw[1:]  # LDIF continuation line
        elif raw and not raw.startswith("#"):
            lines.append(raw)
attrs = []  # (name, "name: value" or "name:: base64") as ldbsearch printed them
for line in lines:
    name = line.split(":", 1)[0]
    attrs.append((name.lower(), line))
values = {name: line.split(":", 1)[1].strip() for name, line in attrs}
dn = values["dn"]
parent = dn.split(",", 1)[1]
dom_sid = values["objectsid"].rsplit("-", 1)[0]
dns_domain = values["serviceprincipalname"].split(".", 1)[1].split(":")[0]
own = {"dn", "cn", "name", "samaccountname", "distinguishedname", "objectguid", "objectsid",
       "usncreated", "usnchanged", "serviceprincipalname"}
shared = "\n".join(line for name, line in attrs if name not in own)
fmt = "bulk%%0%dd" % pad
out = []
for i in range(2, n + 1):
    u = fmt % i
    g = os.urandom(16).hex()
    spns = ["MSSQLSvc/%s.%s:1433" % (u, dns_domain), "MSSQLSvc/%s.%s" % (u, dns_domain)]
    k = n + 1 - i
    if k <= dups:
        spns.append("MSSQLSvc/%s.%s:1433" % (fmt % k, dns_domain))
    out.append("dn: CN=%s,%s\n%s\ncn: %s\nname: %s\nsAMAccountName: %s\ndistinguishedName: CN=%s,%s\n"
               "objectGUID: %s-%s-%s-%s-%s\nobjectSid: %s-%d\nuSNCreated: %d\nuSNChanged: %d\n%s\n" % (
                   u, parent, shared, u, u, u, u, parent,
                   g[:8], g[8:12], g[12:16], g[16:20], g[20:], dom_sid, rid_base + i,
                   usn_base + i, usn_base + i,
                   "\n".join("servicePrincipalName: " + s for s in spns)))
    if len(out) == 1000:
        sys.stdout.write("\n".join(out) + "\n")
        out = []
if out:
    sys.stdout.write("\n".join(out) + "\n")
PY
}

cmd_seed_bulk() {
	local dir n t t0 sam raw dups k pad tmp was_running=0 usn rc=0 pid
	[[ $# -eq 2 ]] || usage
	dir=$(abs_dir "$1")
	n=$2
	[[ $n =~ ^[1-9][0-9]{0,5}$ ]] || die "N must be a number from 1 to 999999"
	need_root seed-bulk
	[[ -f $dir/env ]] || die "$dir/env not found: run '$me up $dir' first"
	command -v python3 >/dev/null || die "python3 not found (samba-tool needs it too): run '$me deps'"
	sam=$dir/private/sam.ldb
	raw="tdb://$dir/private/sam.ldb.d/$PARTITION_FILE"
	pad=5
	((n < 100000)) || pad=6
	if ldbsearch -H "$sam" "(sAMAccountName=bulk$(printf "%0${pad}d" 1))" dn 2>/dev/null | grep -q '^dn: '; then
		die "$dir already has bulk users: run '$me up $dir' again for a fresh domain"
	fi
	dups=$((n / 2))
	((dups <= 5)) || dups=5
	t0=$(now_ns)
	tmp=$(mktemp -d "$dir/bulk.XXXXXX")

	# 1. The template, through every dsdb check.
	printf '%s\n' "dn: CN=bulk$(printf "%0${pad}d" 1),$USERS_DN" "objectClass: user" \
		"sAMAccountName: bulk$(printf "%0${pad}d" 1)" \
		"servicePrincipalName: MSSQLSvc/bulk$(printf "%0${pad}d" 1).$DNS_DOMAIN:1433" \
		"servicePrincipalName: MSSQLSvc/bulk$(printf "%0${pad}d" 1).$DNS_DOMAIN" |
		ldbadd -H "$sam" >"$dir/seed-bulk.log" 2>&1 || {
		cat "$dir/seed-bulk.log" >&2
		rm -rf -- "$tmp"
		die "adding the template user failed"
	}

	# 2. Nobody may read the partition while its indexes are gone.
	pid=$(tr -dc '0-9' <"$dir/run/samba.pid" 2>/dev/null || true)
	if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
		was_running=1
		stop_samba "$dir"
	fi
	t=$(now_ns)
	ldbsearch -H "$raw" "(sAMAccountName=bulk$(printf "%0${pad}d" 1))" >"$tmp/template.ldif"
	ldbsearch -H "$raw" -b @INDEXLIST -s base >"$tmp/indexlist.ldif"
	usn=$(ldbsearch -H "$raw" -b @REPLCHANGED -s base uSNHighest | awk '/^uSNHighest:/ {print $2}')
	[[ $usn =~ ^[0-9]+$ ]] || die "cannot read uSNHighest from $raw"
	grep -q '^@IDXATTR: servicePrincipalName$' "$tmp/indexlist.ldif" || die "unexpected @INDEXLIST in $raw"
	printf '%s\n' "dn: @INDEXLIST" "changetype: modify" "delete: @IDXATTR" "-" "delete: @IDXONE" |
		ldbmodify -H "$raw" >>"$dir/seed-bulk.log" 2>&1 || die "dropping the indexes failed (log: $dir/seed-bulk.log)"

	# 3. The copies, in one transaction; 4. the indexes back, whatever happened.
	bulk_ldif "$tmp/template.ldif" "$n" "$pad" "$usn" 1000000 "$dups" |
		ldbadd -H "$raw" >>"$dir/seed-bulk.log" 2>&1 || rc=$?
	{
		printf '%s\n' "dn: @INDEXLIST" "changetype: modify" "add: @IDXATTR"
		grep '^@IDXATTR:' "$tmp/indexlist.ldif"
		printf '%s\n' "-" "add: @IDXONE"
		grep '^@IDXONE:' "$tmp/indexlist.ldif"
		printf '%s\n' "" "dn: @REPLCHANGED" "changetype: modify" "replace: uSNHighest" "uSNHighest: $((usn + n))"
	} | ldbmodify -H "$raw" >>"$dir/seed-bulk.log" 2>&1 || die "restoring the indexes of $raw failed: the domain is damaged; run '$me up $dir' (log: $dir/seed-bulk.log)"
	rm -rf -- "$tmp"
	((rc == 0)) || die "writing the bulk users failed (log: $dir/seed-bulk.log)"
	log "added $n users with $((2 * n)) SPNs and $dups duplicates in $(elapsed "$t")"
	for ((k = 1; k <= dups; k++)); do
		log "duplicate: MSSQLSvc/bulk$(printf "%0${pad}d" "$k").$DNS_DOMAIN:1433 on bulk$(printf "%0${pad}d" "$k") and bulk$(printf "%0${pad}d" $((n + 1 - k)))"
	done

	if ((was_running)); then
		NETNS=$(state_get "$dir" netns)
		DC_ADDR=$(state_get "$dir" dc_addr)
		t=$(now_ns)
		start_samba "$dir" "$(state_get "$dir" skewed)"
		log "samba restarted in $(elapsed "$t")"
		k=$(ldap_count "$dir" "ldaps://$DC_FQDN:3269" "(&(sAMAccountName=bulk*)(servicePrincipalName=MSSQLSvc/*))") ||
			die "LDAPS search after seeding failed"
		[[ $k == "$n" ]] || die "LDAPS shows $k bulk users with SPNs, want $n"
	fi
	env_set "$dir" AUTHTRIAGE_TEST_BULK_USERS "$n"
	env_set "$dir" AUTHTRIAGE_TEST_BULK_DUPLICATES "$dups"
	log "seed-bulk done in $(elapsed "$t0")"
}

# ---------------------------------------------------------------------------------------------
# verify

# krb_code DIR CONF TRACEFILE CMD...: run a Kerberos client command; print 0 on success or the
# first KDC error code in its trace other than 25 (PREAUTH_REQUIRED); "?" when none is found.
krb_code() {
	local dir=$1 conf=$2 trace=$3 codes v
	shift 3
	rm -f "$trace"
	if in_ns "$dir" env KRB5_CONFIG="$conf" KRB5_TRACE="$trace" "$@" >/dev/null 2>"$trace.err"; then
		echo 0
		return 0
	fi
	codes=$(grep -oE -- '-17653283[0-9]{2}' "$trace" 2>/dev/null || true)
	for v in $codes; do
		v=$((v + KRB5_ERR_BASE))
		if ((v != 25)); then
			echo "$v"
			return 0
		fi
	done
	echo "?"
}

VERIFY_FAIL=0
check() { # DESCRIPTION WANT GOT
	if [[ $2 == "$3" ]]; then
		printf '  ok    %-66s %s\n' "$1" "$3"
	else
		printf '  FAIL  %-66s got %s, want %s\n' "$1" "$3" "$2"
		VERIFY_FAIL=1
	fi
}

verify_all() { # DIR TMP
	local dir=$1 tmp=$2 h spn got acct pw url aes noetype_tkt=arcfour-hmac noetype_rc4=0
	local -A want_tgs=([sqlok]=0 [sqlmissing]=7 [sqldup]=7 [sqlwrong]=0 [sqldisabled]=0
		[sqlexpired]=0 [sqlpwdexpired]=0 [sqlrc4]=14 [sqllocked]=19 [sqlnoetype]=0 [sqlrc4keys]=0)
	local -A want_as=([svc_sqlok]=0 [svc_sqldisabled]=18 [svc_sqlexpired]=18
		[svc_sqlpwdexpired]=23 [svc_sqllocked]=18 [svc_sqlrc4]=0 [svc_sqlnoetype]=0 [svc_sqlrc4keys]=14)
	aes=$(env_get "$dir" AUTHTRIAGE_TEST_AES_DEFAULT)
	if [[ $aes == 1 ]]; then
		# The KDC's default for sqlnoetype is AES only: an AES ticket, and none for an RC4-only client.
		noetype_tkt=aes256-cts-hmac-sha1-96 noetype_rc4=14
	fi

	echo "LDAP (LDAPS simple bind as authtriage_ro, CA and host name checked, paged):"
	for url in "ldaps://$DC_FQDN:636" "ldaps://$DC_FQDN:3269"; do
		got=$(ldap_count "$dir" "$url" "(servicePrincipalName=MSSQLSvc/sqldup.$DNS_DOMAIN:1433)" || echo error)
		check "$url: holders of MSSQLSvc/sqldup.$DNS_DOMAIN:1433" 2 "$got"
	done
	got=$(ldap_count "$dir" "ldaps://$DC_FQDN:636" "(servicePrincipalName=MSSQLSvc/sqlmissing.$DNS_DOMAIN*)" || echo error)
	check "holders of MSSQLSvc/sqlmissing.$DNS_DOMAIN*" 0 "$got"
	got=$(ldap_count "$dir" "ldaps://$DC_FQDN:636" "(&(|(sAMAccountName=svc_sqlnoetype)(sAMAccountName=svc_sqlrc4keys))(msDS-SupportedEncryptionTypes=*))" || echo error)
	check "svc_sqlnoetype, svc_sqlrc4keys with msDS-SupportedEncryptionTypes" 0 "$got"
	got=$(ldap_count "$dir" "ldaps://$DC_FQDN:636" "(&(sAMAccountName=svc_sqlwrong)(servicePrincipalName=*))" || echo error)
	check "svc_sqlwrong with any SPN" 0 "$got"
	got=$(ldap_count "$dir" "ldaps://$DC_FQDN:636" "(&(sAMAccountName=svc_sqlwrong_other)(servicePrincipalName=MSSQLSvc/sqlwrong.$DNS_DOMAIN:1433))" || echo error)
	check "svc_sqlwrong_other holding MSSQLSvc/sqlwrong.$DNS_DOMAIN:1433" 1 "$got"
	# 1.2.840.113556.1.4.803 is the bitwise-AND matching rule; 2 = ACCOUNTDISABLE.
	got=$(ldap_count "$dir" "ldaps://$DC_FQDN:636" "(&(sAMAccountName=svc_sqldisabled)(userAccountControl:1.2.840.113556.1.4.803:=2))" || echo error)
	check "svc_sqldisabled with ACCOUNTDISABLE" 1 "$got"
	# msDS-User-Account-Control-Computed is constructed: read it for one entry.
	got=$(in_ns "$dir" env LDAPTLS_CACERT="$dir/private/tls/ca.pem" ldapsearch -LLL -H "ldaps://$DC_FQDN:636" -x \
		-D "CN=authtriage_ro,$USERS_DN" -y "$dir/private/authtriage_ro.pw" -b "$BASE_DN" \
		"(|(sAMAccountName=svc_sqllocked)(sAMAccountName=svc_sqlpwdexpired))" msDS-User-Account-Control-Computed |
		awk '/^msDS-User-Account-Control-Computed:/ {print $2}' | sort -n | tr '\n' ' ' || echo error)
	check "msDS-User-Account-Control-Computed of svc_sqllocked, svc_sqlpwdexpired" "16 8388608 " "$got"
	# 16777216 = TRUSTED_TO_AUTH_FOR_DELEGATION, 1048576 = NOT_DELEGATED.
	got=$(ldap_count "$dir" "ldaps://$DC_FQDN:636" "(&(sAMAccountName=svc_web*)(userAccountControl:1.2.840.113556.1.4.803:=16777216))" || echo error)
	check "front ends with TRUSTED_TO_AUTH_FOR_DELEGATION (svc_web, svc_webnoport)" 2 "$got"
	got=$(ldap_count "$dir" "ldaps://$DC_FQDN:636" "(msDS-AllowedToDelegateTo=MSSQLSvc/sqlbe.$DNS_DOMAIN:1433)" || echo error)
	check "accounts allowed to MSSQLSvc/sqlbe.$DNS_DOMAIN:1433 (svc_web, svc_webnopt)" 2 "$got"
	got=$(ldap_count "$dir" "ldaps://$DC_FQDN:636" "(msDS-AllowedToDelegateTo=MSSQLSvc/sqlbe.$DNS_DOMAIN)" || echo error)
	check "accounts allowed to MSSQLSvc/sqlbe.$DNS_DOMAIN (and svc_webnoport)" 3 "$got"
	got=$(ldap_count "$dir" "ldaps://$DC_FQDN:636" "(&(sAMAccountName=svc_sqlrbcd)(msDS-AllowedToActOnBehalfOfOtherIdentity=*))" || echo error)
	check "svc_sqlrbcd with msDS-AllowedToActOnBehalfOfOtherIdentity (readable by authtriage_ro)" 1 "$got"
	got=$(samba-tool delegation show svc_sqlrbcd -H "$dir/private/sam.ldb" -s "$dir/etc/smb.conf" 2>&1 |
		awk '/^msDS-AllowedToActOnBehalfOfOtherIdentity:/ {print $2}' || echo error)
	check "principals svc_sqlrbcd's resource-based delegation allows (samba-tool delegation show)" "CN=svc_webrbcd,$USERS_DN" "$got"
	got=$(ldap_count "$dir" "ldaps://$DC_FQDN:636" "(&(sAMAccountName=bob)(userAccountControl:1.2.840.113556.1.4.803:=1048576))" || echo error)
	check "bob with NOT_DELEGATED" 1 "$got"
	got=$(ldap_count "$dir" "ldaps://$DC_FQDN:636" "(&(sAMAccountName=carol)(memberOf=CN=Protected Users,$USERS_DN))" || echo error)
	check "carol in Protected Users" 1 "$got"

	verify_instances_directory "$dir"

	echo "KDC, TGS as authtriage_ro (keytab), AES-only krb5.conf (0 = ticket issued):"
	export KRB5CCNAME="FILE:$tmp/ro.cc"
	if [[ $(env_get "$dir" AUTHTRIAGE_TEST_SKEWED) == 1 ]]; then
		got=$(krb_code "$dir" "$dir/krb5.conf" "$tmp/kinit.trace" kinit -kt "$dir/authtriage_ro.keytab" "authtriage_ro@$REALM")
		check "kinit -kt authtriage_ro.keytab (KDC clock $SKEW_OFFSET: KRB_AP_ERR_SKEW)" 37 "$got"
		return 0
	fi
	got=$(krb_code "$dir" "$dir/krb5.conf" "$tmp/kinit.trace" kinit -kt "$dir/authtriage_ro.keytab" "authtriage_ro@$REALM")
	check "kinit -kt authtriage_ro.keytab authtriage_ro" 0 "$got"
	for h in "${SCENARIO_HOSTS[@]}"; do
		spn="MSSQLSvc/$h.$DNS_DOMAIN:1433"
		got=$(krb_code "$dir" "$dir/krb5.conf" "$tmp/kvno.trace" kvno "$spn")
		check "kvno $spn" "${want_tgs[$h]}" "$got"
	done
	got=$(krb_code "$dir" "$dir/krb5.conf" "$tmp/kvno.trace" kvno "MSSQLSvc/sqldup.$DNS_DOMAIN")
	check "kvno MSSQLSvc/sqldup.$DNS_DOMAIN (port-less, held once)" 0 "$got"
	got=$(krb_code "$dir" "$dir/krb5.conf" "$tmp/kvno.trace" kvno "MSSQLSvc/sqlok:1433")
	check "kvno MSSQLSvc/sqlok:1433 (short name, not registered)" 7 "$got"
	verify_instances_kdc "$dir" "$tmp"
	echo "KDC, the key each ticket is encrypted in (klist -e; the client offered AES only):"
	check "ticket of MSSQLSvc/sqlok.$DNS_DOMAIN:1433" aes256-cts-hmac-sha1-96 "$(tkt_etype "$dir" "MSSQLSvc/sqlok.$DNS_DOMAIN:1433")"
	check "ticket of MSSQLSvc/sqlnoetype.$DNS_DOMAIN:1433 (no msDS-SupportedEncryptionTypes)" "$noetype_tkt" "$(tkt_etype "$dir" "MSSQLSvc/sqlnoetype.$DNS_DOMAIN:1433")"
	check "ticket of MSSQLSvc/sqlrc4keys.$DNS_DOMAIN:1433 (RC4 key only)" arcfour-hmac "$(tkt_etype "$dir" "MSSQLSvc/sqlrc4keys.$DNS_DOMAIN:1433")"

	echo "KDC, TGS with the RC4-only krb5-rc4.conf:"
	export KRB5CCNAME="FILE:$tmp/ro-rc4.cc"
	got=$(krb_code "$dir" "$dir/krb5-rc4.conf" "$tmp/kinit.trace" kinit -kt "$dir/authtriage_ro.keytab" "authtriage_ro@$REALM")
	check "kinit -kt authtriage_ro.keytab authtriage_ro (rc4)" 0 "$got"
	got=$(krb_code "$dir" "$dir/krb5-rc4.conf" "$tmp/kvno.trace" kvno "MSSQLSvc/sqlrc4.$DNS_DOMAIN:1433")
	check "kvno MSSQLSvc/sqlrc4.$DNS_DOMAIN:1433 (rc4)" 0 "$got"
	got=$(krb_code "$dir" "$dir/krb5-rc4.conf" "$tmp/kvno.trace" kvno "MSSQLSvc/sqlok.$DNS_DOMAIN:1433")
	check "kvno MSSQLSvc/sqlok.$DNS_DOMAIN:1433 (rc4; the account is AES only)" 14 "$got"
	got=$(krb_code "$dir" "$dir/krb5-rc4.conf" "$tmp/kvno.trace" kvno "MSSQLSvc/sqlnoetype.$DNS_DOMAIN:1433")
	check "kvno MSSQLSvc/sqlnoetype.$DNS_DOMAIN:1433 (rc4; no msDS-SupportedEncryptionTypes)" "$noetype_rc4" "$got"
	got=$(krb_code "$dir" "$dir/krb5-rc4.conf" "$tmp/kvno.trace" kvno "MSSQLSvc/sqlrc4keys.$DNS_DOMAIN:1433")
	check "kvno MSSQLSvc/sqlrc4keys.$DNS_DOMAIN:1433 (rc4; RC4 key only)" 0 "$got"

	echo "KDC, delegation: kinit -f as the front end (keytab), kvno -U USER -P SPN (0 = ticket issued),"
	echo "and whether the S4U2self ticket is forwardable (klist -f):"
	local fe user be want_self want fwd c
	for c in "svc_web alice sqlbe:1433 F 0" "svc_web alice sqlbe F 0" "svc_web bob sqlbe:1433 - 13" \
		"svc_web carol sqlbe:1433 F 0" "svc_webnopt alice sqlbe:1433 - 13" "svc_webnopt alice sqlbe - 13" \
		"svc_webnoport alice sqlbe:1433 F 13" "svc_webnoport alice sqlbe F 0" "svc_webnone alice sqlbe:1433 - 13" \
		"svc_webrbcd alice sqlrbcd:1433 - 13" "svc_web alice sqlrbcd:1433 F 13"; do
		read -r fe user be want_self want <<<"$c"
		spn=MSSQLSvc/${be%%:*}.$DNS_DOMAIN
		[[ $be == *:* ]] && spn+=":${be#*:}"
		export KRB5CCNAME="FILE:$tmp/s4u.cc"
		got=$(krb_code "$dir" "$dir/krb5.conf" "$tmp/kinit.trace" kinit -f -k -t "$dir/$fe.keytab" "$fe@$REALM")
		if [[ $got != 0 ]]; then
			check "kinit -f -k -t $fe.keytab $fe" 0 "$got"
			continue
		fi
		got=$(krb_code "$dir" "$dir/krb5.conf" "$tmp/kvno.trace" kvno -U "$user" -P "$spn")
		fwd=$(in_ns "$dir" env KRB5_CONFIG="$dir/krb5.conf" klist -f 2>/dev/null | awk -v s="$fe@$REALM" -v c="$user@$REALM" '
			$NF == s { found = 1; next }
			found && index($0, "for client " c ",") { print (match($0, /Flags: [A-Za-z]*F/) ? "F" : "-"); exit }
			{ found = 0 }')
		check "$fe as $user to $spn (S4U2self forwardable, S4U2proxy)" "$want_self $want" "${fwd:-none} $got"
		in_ns "$dir" env KRB5_CONFIG="$dir/krb5.conf" kdestroy >/dev/null 2>&1 || true
	done

	echo "KDC, AS: kinit as the service account with its password, AES-only krb5.conf:"
	for acct in svc_sqlok svc_sqldisabled svc_sqlexpired svc_sqlpwdexpired svc_sqllocked svc_sqlrc4 svc_sqlnoetype svc_sqlrc4keys; do
		pw=$(env_get "$dir" "AUTHTRIAGE_TEST_PASSWORD_${acct^^}")
		export KRB5CCNAME="FILE:$tmp/$acct.cc"
		got=$(printf '%s\n' "$pw" | krb_code "$dir" "$dir/krb5.conf" "$tmp/as.trace" kinit "$acct@$REALM")
		check "kinit $acct" "${want_as[$acct]}" "$got"
	done
	# The RC4 key is there: the account has its password's NT hash and nothing else.
	pw=$(env_get "$dir" AUTHTRIAGE_TEST_PASSWORD_SVC_SQLRC4KEYS)
	export KRB5CCNAME="FILE:$tmp/svc_sqlrc4keys-rc4.cc"
	got=$(printf '%s\n' "$pw" | krb_code "$dir" "$dir/krb5-rc4.conf" "$tmp/as.trace" kinit svc_sqlrc4keys@"$REALM")
	check "kinit svc_sqlrc4keys (rc4)" 0 "$got"
}

# dns_a DIR NAME: ask the DC's DNS server (UDP, DC_ADDR:53) for NAME's A records, seen from the
# domain's network; print the answer's records in order, "CNAME target" and "A address",
# space-separated, or "rcode N" for an error answer, "none" for an empty one. The standard
# library only: no DNS client is among the packages.
dns_a() {
	# shellcheck disable=SC2016 # Python, not shell
	in_ns "$1" python3 -c '
import random, socket, struct, sys
name, server = sys.argv[1], sys.argv[2]
qid = random.randrange(65536)
q = struct.pack(">6H", qid, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack(">2H", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.sendto(q, (server, 53))
r = s.recv(4096)
def rname(o):
    labels = []
    while r[o]:
        if r[o] & 0xC0 == 0xC0:
            return ".".join(labels + [rname(((r[o] & 0x3F) << 8) | r[o + 1])[0]]), o + 2
        labels.append(r[o + 1:o + 1 + r[o]].decode())
        o += 1 + r[o]
    return ".".join(labels), o + 1
rid, flags, qd, an = struct.unpack(">4H", r[:8])
if rid != qid:
    sys.exit("answer to another query")
if flags & 0xF:
    print("rcode", flags & 0xF)
    sys.exit()
o = 12
for _ in range(qd):
    o = rname(o)[1] + 4
out = []
for _ in range(an):
    _, o = rname(o)
    typ, _, _, ln = struct.unpack(">HHIH", r[o:o + 10])
    o += 10
    if typ == 1:
        out.append("A " + socket.inet_ntoa(r[o:o + 4]))
    elif typ == 5:
        out.append("CNAME " + rname(o)[0])
    o += ln
print(" ".join(out) or "none")
' "$2" "$DC_ADDR" 2>&1 | tr '\n' ' ' | sed 's/ $//'
}

# verify_instances_directory DIR: the instance scenarios' names (DNS, the hosts file) and SPNs
# (LDAP).
verify_instances_directory() {
	local dir=$1 h got ns d=$DNS_DOMAIN
	ns=$(state_get "$dir" netns)
	echo "DNS (the DC's DNS server, $DC_ADDR:53) and the hosts file, instance scenarios:"
	got=$(dns_a "$dir" "$ALIAS_NAME.$d")
	check "A $ALIAS_NAME.$d" "CNAME $ALIAS_TARGET.$d A $DC_ADDR" "$got"
	for h in "${INSTANCE_HOSTS[@]}"; do
		check "A $h.$d" "A ${INSTANCE_ADDR[$h]}" "$(dns_a "$dir" "$h.$d")"
	done
	check "A $ALIAS_TARGET.$d" "A $DC_ADDR" "$(dns_a "$dir" "$ALIAS_TARGET.$d")"
	check "A nosuchhost.$d" "rcode 3" "$(dns_a "$dir" "nosuchhost.$d")"
	got=$(in_ns "$dir" getent -s files hosts "$ALIAS_NAME.$d" || echo "not in the hosts file")
	check "$ALIAS_NAME.$d in the hosts file" "not in the hosts file" "$got"
	got=$(in_ns "$dir" getent -s files hosts "aglisten1.$d" | awk '{print $1}' || echo error)
	check "aglisten1.$d in the hosts file" "${INSTANCE_ADDR[aglisten1]}" "$got"
	if [[ -n $ns ]]; then
		# resolv.conf of the namespace names the DC: the system's resolver follows the CNAME.
		got=$(in_ns "$dir" getent ahosts "$ALIAS_NAME.$d" | awk 'NR == 1 {print $1, $3}' || echo error)
		check "getent ahosts $ALIAS_NAME.$d (address, canonical name)" "$DC_ADDR $ALIAS_TARGET.$d" "$got"
	fi

	echo "LDAP, instance scenarios (holders of each SPN):"
	local c spn want
	for c in "sqldyn.$d:$DYN_OLD_PORT 1" "sqldyn.$d:$DYN_INSTANCE 1" "sqldyn.$d:$DYN_PORT 0" \
		"aglisten1.$d* 0" "sqlag1a.$d:1433 1" "sqlag1b.$d:1433 1" "aglisten2.$d:1433 1" "sqlag2b.$d:1433 1" \
		"sqlfci.$d* 0" "sqlfcin1.$d:1433 1"; do
		read -r spn want <<<"$c"
		got=$(ldap_count "$dir" "ldaps://$DC_FQDN:636" "(servicePrincipalName=MSSQLSvc/$spn)" || echo error)
		check "holders of MSSQLSvc/$spn" "$want" "$got"
	done
	got=$(ldap_count "$dir" "ldaps://$DC_FQDN:636" "(&(sAMAccountName=svc_sqlag2a)(servicePrincipalName=MSSQLSvc/aglisten2.$d:1433))" || echo error)
	check "svc_sqlag2a holding MSSQLSvc/aglisten2.$d:1433" 1 "$got"
	got=$(ldap_count "$dir" "ldaps://$DC_FQDN:636" "(&(sAMAccountName=svc_sqlag1)(servicePrincipalName=MSSQLSvc/sqlag1*))" || echo error)
	check "svc_sqlag1 holding the replicas' SPNs" 1 "$got"
	got=$(ldap_count "$dir" "ldaps://$DC_FQDN:636" "(&(objectClass=computer)(|(sAMAccountName=SQLFCIN1\$)(sAMAccountName=SQLFCIN2\$)(sAMAccountName=SQLFCI\$)))" || echo error)
	check "computer accounts of sqlfci and its nodes" 3 "$got"
}

# verify_instances_kdc DIR TMP: the KDC's answers for the instance scenarios' SPNs (with
# $KRB5CCNAME holding authtriage_ro's TGT).
verify_instances_kdc() {
	local dir=$1 tmp=$2 c spn want got d=$DNS_DOMAIN
	for c in "sqldyn.$d:$DYN_OLD_PORT 0" "sqldyn.$d:$DYN_INSTANCE 0" "sqldyn.$d:$DYN_PORT 7" \
		"aglisten1.$d:1433 7" "sqlag1a.$d:1433 0" "sqlag1b.$d:1433 0" "aglisten2.$d:1433 0" "sqlag2a.$d:1433 0" \
		"sqlag2b.$d:1433 0" "sqlfci.$d:1433 7" "sqlfcin1.$d:1433 0"; do
		read -r spn want <<<"$c"
		got=$(krb_code "$dir" "$dir/krb5.conf" "$tmp/kvno.trace" kvno "MSSQLSvc/$spn")
		check "kvno MSSQLSvc/$spn" "$want" "$got"
	done
}

# tkt_etype DIR SPN: the encryption type of the ticket for SPN in $KRB5CCNAME as klist -e
# names it ("aes256-cts-hmac-sha1-96", "arcfour-hmac"), "none" when there is none.
tkt_etype() {
	local e
	e=$(in_ns "$1" env KRB5_CONFIG="$1/krb5.conf" klist -e 2>/dev/null | awk -v p="$2@$REALM" '
		$NF == p { found = 1; next }
		found && /Etype \(skey, tkt\):/ { sub(/.*Etype \(skey, tkt\): /, ""); split($0, e, ", "); print e[2]; exit }')
	e=${e//DEPRECATED:/}
	e=${e// /}
	printf '%s' "${e:-none}"
}

cmd_verify() {
	local dir tmp rc=0
	[[ $# -eq 1 ]] || usage
	dir=$(abs_dir "$1")
	need_root verify
	[[ -f $dir/env ]] || die "$dir/env not found: run '$me up $dir' first"
	DC_ADDR=$(state_get "$dir" dc_addr)
	tmp=$(mktemp -d "$dir/verify.XXXXXX")
	verify_all "$dir" "$tmp" || rc=$?
	rm -rf -- "$tmp"
	((rc == 0)) || die "verify stopped early (status $rc)"
	if ((VERIFY_FAIL)); then
		die "some answers differ from the expected ones"
	fi
	echo "verify: all as expected"
}

# ---------------------------------------------------------------------------------------------

main() {
	local sub=${1:-}
	[[ -n $sub ]] || usage
	shift
	case $sub in
	deps) cmd_deps "$@" ;;
	up) cmd_up "$@" ;;
	down) cmd_down "$@" ;;
	exec) cmd_exec "$@" ;;
	env) cmd_env "$@" ;;
	seed-bulk) cmd_seed_bulk "$@" ;;
	verify) cmd_verify "$@" ;;
	-h | --help | help) usage ;;
	*)
		log "unknown command: $sub"
		usage
		;;
	esac
}

main "$@"
