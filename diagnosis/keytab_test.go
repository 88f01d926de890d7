package diagnosis

import (
	"slices"
	"strings"
	"testing"

	"github.com/authtriage/authtriage/internal/shelltest"
	"github.com/authtriage/authtriage/triage"
)

// TestKeytabEtypes: besides the key version, the keytab's keys must be of an encryption
// type the KDC encrypts the SPN's tickets with: the ticket's own type when the kerberos
// check got one, else a type the account's msDS-SupportedEncryptionTypes allows; an
// RC4-only keytab for an account without the attribute is a warning (KB5073381).
func TestKeytabEtypes(t *testing.T) {
	const (
		spn    = "MSSQLSvc/sqlhost01.corp.example:1433"
		spn2   = "MSSQLSvc/sqlhost01.corp.example"
		path   = "/var/opt/mssql/secrets/mssql.keytab"
		aes256 = "aes256-cts-hmac-sha1-96"
		aes128 = "aes128-cts-hmac-sha1-96"
		rc4    = "rc4-hmac"
	)
	obs := func(etypes int, tickets []triage.TicketResult, keys ...triage.KeytabEntry) triage.Observations {
		a := &triage.Account{DN: "CN=svc_sql01,CN=Users,DC=corp,DC=example", SID: "S-1-5-21-1", SAMAccountName: "svc_sql01",
			NetBIOSDomain: "CORP", UAC: triage.UACDontExpirePassword, EncTypes: etypes, KVNO: 3, SPNs: []string{spn, spn2}}
		return triage.Observations{
			Directory: &triage.DirectoryFacts{ServiceAccount: a, RequiredSPNs: []string{spn, spn2}, Tickets: tickets},
			Host:      &triage.HostFacts{Keytab: &triage.KeytabFacts{Path: path, Entries: keys}},
		}
	}
	keys := func(kvno int, etypes ...string) []triage.KeytabEntry {
		var out []triage.KeytabEntry
		for _, p := range []string{spn, spn2, "svc_sql01"} {
			for _, e := range etypes {
				out = append(out, triage.KeytabEntry{Principal: p + "@CORP.EXAMPLE", KVNO: kvno, Etype: e})
			}
		}
		return out
	}
	ticket := func(spn, etype string) triage.TicketResult {
		return triage.TicketResult{SPN: spn, OK: true, Etype: etype, KVNO: 3}
	}
	stale := want{cause: triage.KeytabStale, severity: triage.Critical, commands: []string{"--use-next-kvno", "klist -kte " + path}, evidence: 2}
	tests := []struct {
		name     string
		obs      triage.Observations
		want     []want
		evidence []string
	}{
		{"AES keys for an AES-only account", obs(triage.EtypeAESAll, nil, keys(3, aes256, aes128)...), nil, nil},
		{"RC4 keys only for an AES-only account", obs(triage.EtypeAESAll, nil, keys(3, rc4)...), []want{stale},
			[]string{path + " holds only rc4-hmac keys for " + spn + " (key version 3), but CORP\\svc_sql01 allows aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96 (msDS-SupportedEncryptionTypes 0x18)"}},
		{"AES keys only for an account allowed RC4 only", obs(triage.EtypeRC4, nil, keys(3, aes256)...),
			[]want{{cause: triage.KerberosEtypeMismatch, severity: triage.Warning, evidence: 1}, stale},
			[]string{"holds only aes256-cts-hmac-sha1-96 keys for " + spn + " (key version 3), but CORP\\svc_sql01 allows rc4-hmac (msDS-SupportedEncryptionTypes 0x4)"}},
		{"AES128 keys for an account allowed AES128 and RC4 share a type", obs(triage.EtypeAES128|triage.EtypeRC4, nil, keys(3, aes128)...), nil, nil},
		{"RC4 keys only without the attribute: a warning", obs(triage.EncTypesUnset, nil, keys(3, rc4)...),
			[]want{{cause: triage.KerberosRC4Default, severity: triage.Info, evidence: 1},
				{cause: triage.KeytabStale, severity: triage.Warning, summary: []string{"holds RC4 keys only", "KB5073381"}, evidence: 2}},
			[]string{"holds only rc4-hmac keys for " + spn + " (key version 3), and CORP\\svc_sql01 has no msDS-SupportedEncryptionTypes"}},
		{"the KDC's ticket names the key the keytab must hold", obs(triage.EncTypesUnset, []triage.TicketResult{ticket(spn, aes256), ticket(spn2, aes256)}, keys(3, aes128)...),
			[]want{stale},
			[]string{"the KDC encrypts tickets for " + spn + " with aes256-cts-hmac-sha1-96 at key version 3, but " + path + " holds for it key version 3: aes128-cts-hmac-sha1-96"}},
		{"the ticket's key is there", obs(triage.EncTypesUnset, []triage.TicketResult{ticket(spn, rc4), ticket(spn2, rc4)}, keys(3, rc4)...),
			[]want{{cause: triage.KerberosRC4Default, severity: triage.Warning, evidence: 3}}, nil},
		{"an old key version is reported as before, without a type complaint", obs(triage.EtypeAESAll, nil, keys(2, rc4)...),
			[]want{stale}, []string{"has key version 2 for " + spn + ", but the account's msDS-KeyVersionNumber is 3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := applyRules(target, tt.obs)
			checkFindings(t, got, tt.want)
			var texts []string
			for _, f := range got {
				for _, e := range f.Evidence {
					texts = append(texts, e.Text)
				}
			}
			for _, s := range tt.evidence {
				if !slices.ContainsFunc(texts, func(e string) bool { return strings.Contains(e, s) }) {
					t.Errorf("no evidence holds %q: %q", s, texts)
				}
			}
		})
	}
}

// TestRC4AndKeytabCommandsReadBack: the commands kerberos.rc4_default and keytab.stale
// carry, filled with a hostile account name, read back as exactly the program and
// arguments meant, or are left out with the reason.
func TestRC4AndKeytabCommandsReadBack(t *testing.T) {
	spn := "MSSQLSvc/sqlhost01.corp.example:1433"
	obs := func(sam string) triage.Observations {
		a := &triage.Account{DN: "CN=x,DC=corp,DC=example", SID: "S-1-5-21-1", SAMAccountName: sam, NetBIOSDomain: "CORP",
			EncTypes: triage.EncTypesUnset, KVNO: 3, SPNs: []string{spn}}
		return triage.Observations{
			Directory: &triage.DirectoryFacts{ServiceAccount: a, RequiredSPNs: []string{spn},
				Tickets: []triage.TicketResult{{SPN: spn, OK: true, Etype: "rc4-hmac", KVNO: 3}}},
			Host: &triage.HostFacts{Keytab: &triage.KeytabFacts{Path: "/k"}},
		}
	}
	tests := []struct {
		cause triage.CauseID
		step  int
		want  func(h string) []string
	}{
		{triage.KerberosRC4Default, 3, func(h string) []string {
			return []string{"Set-ADUser", "-Identity", h, "-KerberosEncryptionType", "AES128,AES256"}
		}},
		{triage.KeytabStale, 0, func(h string) []string {
			return []string{"/opt/mssql/bin/mssql-conf", "setup-ad-keytab", "/var/opt/mssql/secrets/mssql.keytab", h, "--use-next-kvno"}
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.cause), func(t *testing.T) {
			written := 0
			for _, h := range append([]string{"svc_ok"}, hostile...) {
				i := slices.IndexFunc(applyRules(target, obs(h)), func(f triage.Finding) bool { return f.Cause == tt.cause })
				if i < 0 {
					t.Fatalf("value %q: no %s finding", h, tt.cause)
				}
				s := applyRules(target, obs(h))[i].Remediation[tt.step]
				if s.Command == "" {
					if s.Omitted == "" || !strings.Contains(s.Text, "The command is left out: "+s.Omitted) {
						t.Errorf("value %q: step without a command does not say why: %+v", h, s)
					}
					continue
				}
				written++
				var got []string
				if s.Shell == triage.ShellSh {
					words, err := shelltest.Sh(s.Command)
					if err != nil {
						t.Fatalf("sh %q: %v", s.Command, err)
					}
					got = words
				} else {
					got = readBack(t, s)
				}
				if want := tt.want(h); !slices.Equal(got, want) {
					t.Errorf("value %q: %s reads back as %q; want %q", h, s.Command, got, want)
				}
			}
			if written < 3 {
				t.Errorf("only %d of the values gave a command", written)
			}
		})
	}
}
