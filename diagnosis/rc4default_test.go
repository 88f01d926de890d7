package diagnosis

import (
	"strings"
	"testing"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// TestRC4Default: an account without msDS-SupportedEncryptionTypes is judged by the
// tickets the KDC issues for its SPNs (AES clears it, RC4 is a warning, a refusal is
// critical, none is information that says what could not be told), an explicit
// RC4-only account stays etypeRule's, and KB5073381's KDCSVC audit events are shown
// with their own text.
func TestRC4Default(t *testing.T) {
	const (
		spn    = "MSSQLSvc/sqlhost01.corp.example:1433"
		spn2   = "MSSQLSvc/sqlhost01.corp.example"
		kdc    = "Microsoft-Windows-Kerberos-Key-Distribution-Center"
		aes256 = "aes256-cts-hmac-sha1-96"
		aes128 = "aes128-cts-hmac-sha1-96"
	)
	account := func(etypes int) *triage.Account {
		return &triage.Account{DN: "CN=svc_sql01,CN=Users,DC=corp,DC=example", SID: "S-1-5-21-1-2-3-1105", SAMAccountName: "svc_sql01",
			Domain: "corp.example", NetBIOSDomain: "CORP", Class: "user", UAC: triage.UACNormalAccount | triage.UACDontExpirePassword,
			PwdLastSet: time.Date(2007, 3, 1, 10, 0, 0, 0, time.UTC), EncTypes: etypes, KVNO: 3, SPNs: []string{spn, spn2}}
	}
	issued := func(spn, etype string, offered ...string) triage.TicketResult {
		return triage.TicketResult{SPN: spn, OK: true, Etype: etype, KVNO: 3, Offered: offered}
	}
	refused := func(spn string, offered ...string) triage.TicketResult {
		return triage.TicketResult{SPN: spn, Code: 0xe, CodeName: "KDC_ERR_ETYPE_NOSUPP", Err: "KDC_ERR_ETYPE_NOSUPP", Offered: offered}
	}
	obs := func(a *triage.Account, tickets ...triage.TicketResult) triage.Observations {
		return triage.Observations{Directory: &triage.DirectoryFacts{ServiceAccount: a, RequiredSPNs: []string{spn, spn2}, Tickets: tickets}}
	}
	audit := func(id int, spn, text string) triage.LogEvent {
		e := winEv("System", kdc, id, "", spn)
		e.Text = text
		return e
	}
	withLogs := func(o triage.Observations, logs ...triage.LogEvent) triage.Observations {
		o.Logs = logs
		return o
	}
	setAD := "Set-ADUser -Identity svc_sql01 -KerberosEncryptionType AES128,AES256"

	tests := []struct {
		name     string
		obs      triage.Observations
		want     []want
		evidence []string // substrings, each of some evidence item
		absent   []string // substrings no summary or evidence may hold
	}{
		{
			name: "attribute unset, AES ticket: the account has AES keys",
			obs:  obs(account(triage.EncTypesUnset), issued(spn, aes256, aes256, aes128), issued(spn2, aes256, aes256, aes128)),
		},
		{
			name: "attribute unset, RC4 ticket: a warning that says what the ticket cannot show",
			obs:  obs(account(triage.EncTypesUnset), issued(spn, "rc4-hmac", aes256, aes128), issued(spn2, "rc4-hmac", aes256, aes128)),
			want: []want{{cause: triage.KerberosRC4Default, severity: triage.Warning,
				summary:  []string{"RC4 tickets (rc4-hmac) for " + spn, `CORP\svc_sql01`, "KB5073381", "an RC4 ticket cannot show"},
				commands: []string{"klist get " + spn, setAD}, evidence: 4}},
			evidence: []string{"msDS-SupportedEncryptionTypes is not set", "password last set 2007-03-01",
				"klist get " + spn + ": ticket encrypted with rc4-hmac (key version 3); the request offered " + aes256 + ", " + aes128},
			absent: []string{"April", "July", "2026"},
		},
		{
			name:     "attribute 0 is not defined, as absent",
			obs:      obs(account(0), issued(spn, "rc4-hmac")),
			want:     []want{{cause: triage.KerberosRC4Default, severity: triage.Warning, evidence: 3}},
			evidence: []string{"msDS-SupportedEncryptionTypes is 0 (not defined)"},
		},
		{
			name: "attribute unset, AES-only client refused: the change already bites",
			obs:  obs(account(triage.EncTypesUnset), refused(spn, aes256, aes128), refused(spn2, aes256, aes128)),
			want: []want{{cause: triage.KerberosRC4Default, severity: triage.Critical,
				summary:  []string{"refused a ticket for " + spn, "offered AES only", "without AES keys"},
				commands: []string{setAD}, evidence: 4}},
			evidence: []string{"the request offered " + aes256 + ", " + aes128},
		},
		{
			name: "attribute unset, refused although RC4 was offered",
			obs:  obs(account(triage.EncTypesUnset), refused(spn, aes256, "rc4-hmac")),
			want: []want{{cause: triage.KerberosRC4Default, severity: triage.Critical,
				summary: []string{"refused a ticket for " + spn, "no encryption type the KDC can use"}, evidence: 3}},
			absent: []string{"offered AES only"},
		},
		{
			name: "attribute unset, no ticket: information that does not claim",
			obs:  obs(account(triage.EncTypesUnset)),
			want: []want{{cause: triage.KerberosRC4Default, severity: triage.Info,
				summary:  []string{"could not tell whether it has AES keys", "klist get " + spn, "Available Keys in event 4769"},
				commands: []string{"klist get " + spn}, evidence: 2}},
		},
		{
			name: "a ticket for an SPN another account holds says nothing about this one",
			obs: func() triage.Observations {
				a := account(triage.EncTypesUnset)
				a.SPNs = []string{spn2}
				return obs(a, issued(spn, aes256))
			}(),
			want: []want{{cause: triage.KerberosRC4Default, severity: triage.Info, evidence: 2}},
		},
		{
			name: "explicit RC4 only is etypeRule's, and no date is said to break it",
			obs:  obs(account(triage.EtypeRC4), issued(spn, "rc4-hmac")),
			want: []want{{cause: triage.KerberosEtypeMismatch, severity: triage.Warning,
				summary: []string{"allows RC4 only (msDS-SupportedEncryptionTypes 0x4)", "wherever RC4 is disabled"}, commands: []string{setAD}, evidence: 1}},
			absent: []string{"until", "enforc"},
		},
		{
			name: "explicit AES only, RC4-only client refused: etype mismatch",
			obs:  obs(account(triage.EtypeAESAll), refused(spn, "rc4-hmac")),
			want: []want{{cause: triage.KerberosEtypeMismatch, severity: triage.Critical, evidence: 1}},
		},
		{
			name: "explicit DES only: etype mismatch, critical",
			obs:  obs(account(triage.EtypeDESCRC|triage.EtypeDESMD5), issued(spn, "des-cbc-md5")),
			want: []want{{cause: triage.KerberosEtypeMismatch, severity: triage.Critical, evidence: 1}},
		},
		{
			name: "KDCSVC 201 naming the SPN makes an AES-cleared account's finding a warning, with the event's own text",
			obs: withLogs(obs(account(triage.EncTypesUnset), issued(spn, aes256)),
				audit(201, spn, "The Key Distribution Center (KDC) detected RC4 usage ...")),
			want: []want{{cause: triage.KerberosRC4Default, severity: triage.Warning,
				summary: []string{"KDCSVC audit events that name sqlhost01's SPNs or service account (2 events)"}, evidence: 1}},
			evidence: []string{"System log (Kerberos-Key-Distribution-Center 201), a KB5073381 audit event (KB5073381's text on this ID could not be checked", "detected RC4 usage ..."},
		},
		{
			name: "KDCSVC 203 naming the account joins the RC4 finding",
			obs: withLogs(obs(account(triage.EncTypesUnset), issued(spn, "rc4-hmac")),
				audit(203, "", "blocked ... Account: svc_sql01."), audit(205, "", "")),
			want:     []want{{cause: triage.KerberosRC4Default, severity: triage.Warning, evidence: 5}},
			evidence: []string{"Account: svc_sql01.", "205), a KB5073381 audit event logged, per KB5073381, when the domain controller's DefaultDomainSupportedEncTypes configuration is insecure: the export holds no message text"},
		},
		{
			name: "KDCSVC events about other accounts only are information",
			obs: withLogs(obs(account(triage.EtypeAESAll), issued(spn, aes256)),
				audit(202, "", "... Account: svc_sql011"), audit(201, "MSSQLSvc/web01.corp.example:1433", "...")),
			want: []want{{cause: triage.KerberosRC4Default, severity: triage.Info,
				summary: []string{"4 events", "none of them names sqlhost01's SPNs or service account"}, evidence: 2}},
		},
		{
			name: "other KDC events are not KB5073381's",
			obs:  withLogs(obs(account(triage.EtypeAESAll), issued(spn, aes256)), audit(200, "", "x"), audit(210, "", "y")),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := applyRules(target, tt.obs)
			checkFindings(t, got, tt.want)
			var all []string
			for _, f := range got {
				all = append(all, f.Summary)
				for _, e := range f.Evidence {
					all = append(all, e.Text)
				}
			}
			text := strings.Join(all, "\n")
			for _, s := range tt.evidence {
				if !strings.Contains(text, s) {
					t.Errorf("no evidence holds %q:\n%s", s, text)
				}
			}
			for _, s := range tt.absent {
				if strings.Contains(text, s) {
					t.Errorf("%q is said:\n%s", s, text)
				}
			}
		})
	}
}

func TestNamesWord(t *testing.T) {
	for _, tt := range []struct {
		text, word string
		want       bool
	}{
		{"Account: svc_sql01.", "svc_sql01", true},
		{"Account: SVC_SQL01 (user)", "svc_sql01", true},
		{"Account: svc_sql011", "svc_sql01", false},
		{"Account: xsvc_sql01 and svc_sql01", "svc_sql01", true},
		{"CORP\\SQL01$ asked", "SQL01$", true},
		{"anything", "", false},
	} {
		if got := namesWord(tt.text, tt.word); got != tt.want {
			t.Errorf("namesWord(%q, %q) = %v; want %v", tt.text, tt.word, got, tt.want)
		}
	}
}
