package diagnosis

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// The safety test: no remediation authtriage prints, from the catalog or built by a
// rule, gives access to a principal that stands for anyone or for no user, and none
// turns off a security control. People paste these fixes in the middle of an
// incident; a fix that opens the server must never ship.
//
// The check is independent of the rules' own list (sharedNames): it has a list of its
// own, and reads the rendered commands and texts, not the code that made them.

// unsafeNames are the principals no fix may grant access to, create a login or user
// for, enable, or add to a group or role, by name part (DOMAIN\name), without case.
// The empty name stands for an empty login.
var unsafeNames = []string{"ANONYMOUS LOGON", "Guest", "Everyone", "Authenticated Users", "Users", "public", "(null)", ""}

// unsafeLogins are the 18456 logins the rules are driven with: the unsafe principals
// as ERRORLOG writes them, and sa, which no fix may enable.
var unsafeLogins = []string{
	`NT AUTHORITY\ANONYMOUS LOGON`, "(null)", "", "Guest", "guest", "Everyone",
	`NT AUTHORITY\Authenticated Users`, `BUILTIN\Users`, "public", "sa",
}

// ident matches one principal as a command writes it: a T-SQL [identifier] or
// N'string', a quoted PowerShell or cmd.exe argument, or a bare word.
const ident = `(\[(?:[^\]]|\]\])*\]|N?'(?:[^']|'')*'|"(?:[^"]|"")*"|[^\s;,()]+)`

// grantCommands match commands that give their captured principal access, a login, a
// user, membership or an enabled login.
var grantCommands = []*regexp.Regexp{
	regexp.MustCompile(`(?i)\bGRANT\b.*?\bTO\s+` + ident),
	regexp.MustCompile(`(?i)\bCREATE\s+(?:LOGIN|USER)\s+` + ident),
	regexp.MustCompile(`(?i)\b(?:FOR|FROM)\s+LOGIN\s+` + ident),
	regexp.MustCompile(`(?i)\bALTER\s+LOGIN\s+` + ident + `\s+ENABLE\b`),
	regexp.MustCompile(`(?i)\bADD\s+MEMBER\s+` + ident),
	regexp.MustCompile(`(?i)\bsp_(?:addsrvrolemember|addrolemember|grantlogin|grantdbaccess|addlogin|adduser)\b\W*` + ident),
	regexp.MustCompile(`(?i)\bsp_addrolemember\b\s*` + ident + `\s*,\s*` + ident),
	regexp.MustCompile(`(?i)\bAdd-(?:LocalGroupMember|ADGroupMember)\b.*?-Members?\s+` + ident),
	regexp.MustCompile(`(?i)\bnet\s+localgroup\s+` + ident + `\s+` + ident + `\s+/add\b`),
	regexp.MustCompile(`(?i)\bicacls\b.*?/grant(?::r)?\s+` + ident),
	regexp.MustCompile(`(?i)\bGrant-SmbShareAccess\b.*?-AccountName\s+` + ident),
	regexp.MustCompile(`(?i)\bEnable-(?:ADAccount|LocalUser)\b.*?(?:-Identity|-Name)\s+` + ident),
}

// weakenings match commands or instructions that turn a security control off.
var weakenings = []struct {
	what string
	re   *regexp.Regexp
}{
	{"turns off loopback protection", regexp.MustCompile(`(?i)DisableLoopbackCheck`)},
	{"lowers the LAN Manager authentication level", regexp.MustCompile(`(?i)(LmCompatibilityLevel|LAN ?Man(?:ager)? compatibility level|LAN Manager authentication level)\D{0,40}\b[0-2]\b|(?i)(lower|reduce|decrease)\w*\b.{0,40}(LmCompatibilityLevel|compatibility level|authentication level)`)},
	{"turns on unconstrained delegation", regexp.MustCompile(`(?i)TrustedForDelegation\s*:?\s*(\$true|true|1)\b|delegation to any service|unconstrained delegation|\bTrusted for delegation\b(?:[^.]*\boption\b)`)},
	{"turns off Credential Guard", regexp.MustCompile(`(?i)(disable|turn\w* off|switch\w* off|remove)\w*\b.{0,30}Credential Guard|Credential Guard.{0,30}\b(off|disabled?)\b|LsaCfgFlags\D{0,20}\b0\b`)},
	{"allows RC4 or DES", regexp.MustCompile(`(?i)-KerberosEncryptionType\s+\S*(RC4|DES)|/crypto\s+(rc4|des)|arcfour-hmac|rc4-hmac|des-cbc`)},
	{"changes what happens when auditing fails", regexp.MustCompile(`(?i)crashonauditfail`)},
	{"enables sa", regexp.MustCompile(`(?i)ALTER\s+LOGIN\s+(\[sa\]|sa)\s+ENABLE|\benable\w*\b.{0,20}\bsa\b login|\benable\w* (the )?sa\b`)},
	{"enables xp_cmdshell", regexp.MustCompile(`(?i)xp_cmdshell`)},
	{"makes a database trustworthy", regexp.MustCompile(`(?i)TRUSTWORTHY\s+ON`)},
	{"turns the firewall off", regexp.MustCompile(`(?i)netsh\s+(advfirewall|firewall)\s+set\s+\S+\s+(state\s+off|opmode\s+disable)|Set-NetFirewallProfile\b.*-Enabled\s+(\$?false|0)|(disable|turn\w* off|switch\w* off|stop)\w*\b.{0,20}\bfirewall`)},
	{"removes a password or pre-authentication requirement", regexp.MustCompile(`(?i)-(PasswordNotRequired|DoesNotRequirePreAuth|AllowReversiblePasswordEncryption)\s+(\$true|true)`)},
}

// grantWords and negation decide whether a sentence of prose tells the reader to give
// a principal access, or tells them not to.
var (
	grantWords = regexp.MustCompile(`(?i)\bgrant\b|\bgive\b.*\baccess\b|\bcreate\b.*\b(login|user)\b|\badd\b.*\b(to|member|role|group)\b|\benable\b|\ballow\b|\bmap\b|\bmember of\b`)
	negation   = regexp.MustCompile(`(?i)\b(never|not|no|don't|nor|without|rather than|instead of)\b`)
	clauses    = regexp.MustCompile(`[.;:!?]\s+|[.;:!?]$|\(|\)|, (?:and|or|but) `)
)

// unsafeIn returns why a step is unsafe, or "". login is the 18456 login the step's
// rule was given ("" for catalog templates with no login); an unfilled <LOGIN> in a
// granting command counts as that login.
func unsafeIn(s triage.Step, login string, template bool) string {
	if s.Command != "" {
		for _, re := range grantCommands {
			for _, m := range re.FindAllStringSubmatch(s.Command, -1) {
				for _, p := range m[1:] {
					name := unquote(p)
					if name == triage.PHLogin && !template {
						name = login
					} else if strings.HasPrefix(name, "<") && strings.HasSuffix(name, ">") {
						continue // a catalog placeholder
					}
					if u, ok := unsafePrincipal(name); ok {
						return fmt.Sprintf("command gives %q access (%s): %s", u, strings.TrimSpace(m[0]), s.Command)
					}
				}
			}
		}
	}
	for _, w := range weakenings {
		if w.re.MatchString(s.Command) {
			return fmt.Sprintf("command %s: %s", w.what, s.Command)
		}
	}
	for _, c := range clauses.Split(s.Text, -1) {
		if negation.MatchString(c) {
			continue
		}
		for _, w := range weakenings {
			if w.re.MatchString(c) {
				return fmt.Sprintf("text %s: %q", w.what, c)
			}
		}
		if !grantWords.MatchString(c) {
			continue
		}
		for _, n := range append(mentions(c), mentionsLogin(c, login)...) {
			return fmt.Sprintf("text tells the reader to give %q access: %q", n, c)
		}
	}
	return ""
}

// unquote returns a principal as a command wrote it, without its quoting.
func unquote(p string) string {
	switch {
	case strings.HasPrefix(p, "[") && strings.HasSuffix(p, "]") && len(p) >= 2:
		return strings.ReplaceAll(p[1:len(p)-1], "]]", "]")
	case strings.HasPrefix(p, "N'") && strings.HasSuffix(p, "'") && len(p) >= 3:
		return strings.ReplaceAll(p[2:len(p)-1], "''", "'")
	case (strings.HasPrefix(p, "'") || strings.HasPrefix(p, `"`)) && len(p) >= 2:
		q := p[:1]
		return strings.ReplaceAll(p[1:len(p)-1], q+q, q)
	}
	return p
}

// unsafePrincipal reports whether a principal's name part is one of unsafeNames.
func unsafePrincipal(p string) (string, bool) {
	name := p
	if i := strings.LastIndexByte(name, '\\'); i >= 0 {
		name = name[i+1:]
	}
	name = strings.TrimSpace(name)
	for _, u := range unsafeNames {
		if strings.EqualFold(name, u) {
			return p, true
		}
	}
	return "", false
}

// mentionRe finds the unsafe principals prose can name: the well-known names in the
// forms Windows and SQL Server write them. Plain English ("users", "the public") is
// not a mention; the login a rule was given is checked by mentionsLogin.
var mentionRe = regexp.MustCompile(`(?i)\bANONYMOUS LOGON\b|\bAuthenticated Users\b|\bBUILTIN\\Users\b|\bEveryone\b|\bGuest\b|\[public\]|\bpublic role\b|\(null\)`)

func mentions(c string) []string { return mentionRe.FindAllString(c, -1) }

// mentionsLogin reports the unsafe login a rule was given, where the clause names it as
// a word of its own.
func mentionsLogin(c, login string) []string {
	if _, ok := unsafePrincipal(login); !ok || strings.TrimSpace(login) == "" {
		return nil
	}
	re := regexp.MustCompile(`(?i)(^|[^\w\\])` + regexp.QuoteMeta(login) + `($|\W)`)
	if re.MatchString(c) {
		return []string{login}
	}
	return nil
}

// TestNoCatalogFixOpensTheServer: every step of every cause, as a template and
// filled with each unsafe login, passes the check.
func TestNoCatalogFixOpensTheServer(t *testing.T) {
	for _, c := range triage.Causes() {
		for i, fs := range c.Fix {
			if why := unsafeIn(fs.Template(), "", true); why != "" {
				t.Errorf("cause %s, step %d (template): %s", c.ID, i+1, why)
			}
		}
		for _, login := range unsafeLogins {
			vars := map[string]string{
				triage.PHLogin: login, triage.PHHost: "SQLHOST01", triage.PHFQDN: "sqlhost01.corp.example",
				triage.PHDomain: "corp.example", triage.PHSPN: "MSSQLSvc/sqlhost01.corp.example:1433",
				triage.PHAccount: `CORP\svc_sql01`, triage.PHSam: "svc_sql01", triage.PHSetAD: "Set-ADUser",
				triage.PHInstance: "SALES", triage.PHWrong: `CORP\svc_old`, triage.PHCode: "0x7",
			}
			for i, s := range triage.NewFinding(c.ID, vars).Remediation {
				if why := unsafeIn(s, login, false); why != "" {
					t.Errorf("cause %s, step %d (login %q): %s", c.ID, i+1, login, why)
				}
			}
		}
	}
}

// TestNoRuleFixOpensTheServer drives every rule of Rules() with evidence that makes it
// fire, 18456 with every state for each unsafe login among it, and checks every step
// of every finding. A rule that none of the scenarios makes fire fails the test: add
// a scenario for it here.
func TestNoRuleFixOpensTheServer(t *testing.T) {
	fired := map[string]bool{}
	for _, sc := range safetyScenarios() {
		for _, r := range Rules() {
			for _, f := range r.Apply(sc.target, sc.obs) {
				fired[r.Name()] = true
				for i, s := range f.Remediation {
					if why := unsafeIn(s, sc.login, false); why != "" {
						t.Errorf("rule %s, scenario %s, finding %s, step %d: %s", r.Name(), sc.name, f.Cause, i+1, why)
					}
				}
			}
		}
	}
	for _, r := range Rules() {
		if !fired[r.Name()] {
			t.Errorf("rule %s fired in no scenario: add evidence that makes it fire to safetyScenarios", r.Name())
		}
	}
}

// TestSafetyCheckCatchesUnsafeFixes: the check itself refuses what it must and lets
// warnings and safe fixes through.
func TestSafetyCheckCatchesUnsafeFixes(t *testing.T) {
	tests := []struct {
		step   triage.Step
		login  string
		unsafe bool
	}{
		{triage.Step{Text: "Give NT AUTHORITY\\ANONYMOUS LOGON access", Command: "GRANT CONNECT SQL TO [NT AUTHORITY\\ANONYMOUS LOGON];"}, `NT AUTHORITY\ANONYMOUS LOGON`, true},
		{triage.Step{Text: "x", Command: "GRANT CONNECT SQL TO <LOGIN>;"}, "", true},
		{triage.Step{Text: "x", Command: "CREATE LOGIN [Everyone ] FROM WINDOWS;"}, "", true},
		{triage.Step{Text: "x", Command: "CREATE LOGIN [BUILTIN\\Users] FROM WINDOWS;"}, "", true},
		{triage.Step{Text: "x", Command: "ALTER SERVER ROLE [sysadmin] ADD MEMBER [guest];"}, "", true},
		{triage.Step{Text: "x", Command: "EXEC sp_addsrvrolemember N'NT AUTHORITY\\Authenticated Users', N'sysadmin';"}, "", true},
		{triage.Step{Text: "x", Command: "ALTER LOGIN [sa] ENABLE;"}, "sa", true},
		{triage.Step{Text: "x", Command: "Set-ADAccountControl -Identity svc -TrustedForDelegation $true"}, "", true},
		{triage.Step{Text: "x", Command: "Set-ADUser -Identity svc -KerberosEncryptionType RC4,AES256"}, "", true},
		{triage.Step{Text: "x", Command: "reg add HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa /v DisableLoopbackCheck /t REG_DWORD /d 1"}, "", true},
		{triage.Step{Text: "x", Command: "netsh advfirewall set allprofiles state off"}, "", true},
		{triage.Step{Text: "x", Command: "EXEC sp_configure 'xp_cmdshell', 1;"}, "", true},
		{triage.Step{Text: "x", Command: "ALTER DATABASE [db] SET TRUSTWORTHY ON;"}, "", true},
		{triage.Step{Text: "Set crashonauditfail to 0 and restart"}, "", true},
		{triage.Step{Text: "Set LmCompatibilityLevel to 1 on the server"}, "", true},
		{triage.Step{Text: "If full delegation is required, disable Credential Guard in Group Policy"}, "", true},
		{triage.Step{Text: "Create a login for Everyone, or correct the login name"}, "Everyone", true},
		{triage.Step{Text: "Give guest access: a login of its own"}, "guest", true},
		{triage.Step{Text: "Enable the Trusted for delegation option on the account"}, "", true},
		// Safe: warnings, other principals, constrained delegation, AES.
		{triage.Step{Text: "Never grant the ANONYMOUS LOGON login access to SQL Server: that lets anyone in"}, "", false},
		{triage.Step{Text: "Everyone stands for anyone: create no login for it"}, "Everyone", false},
		{triage.Step{Text: "Give CORP\\bob access", Command: "GRANT CONNECT SQL TO [CORP\\bob];"}, `CORP\bob`, false},
		{triage.Step{Text: "Allow AES", Command: "Set-ADUser -Identity svc -KerberosEncryptionType AES128,AES256"}, "", false},
		{triage.Step{Text: "Trust the front end's service account for constrained delegation to that SPN (Trust this user for delegation to specified services only)"}, "", false},
		{triage.Step{Text: "Find the front end that connects on the users' behalf"}, "", false},
	}
	for _, tt := range tests {
		why := unsafeIn(tt.step, tt.login, false)
		if (why != "") != tt.unsafe {
			t.Errorf("unsafeIn(%+v, %q) = %q; want unsafe %v", tt.step, tt.login, why, tt.unsafe)
		}
	}
}

// A safetyScenario is evidence for the rules, and the 18456 login in it if any.
type safetyScenario struct {
	name   string
	target triage.Target
	obs    triage.Observations
	login  string
}

// safetyScenarios returns evidence that makes each rule fire: the rules' test cases in
// brief, and 18456 for every state with every unsafe login.
func safetyScenarios() []safetyScenario {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	spn := "MSSQLSvc/sqlhost01.corp.example:1433"
	svc := triage.Account{DN: "CN=svc_sql01,CN=Users,DC=corp,DC=example", SID: "S-1-5-21-1-2-3-1105", SAMAccountName: "svc_sql01",
		Domain: "corp.example", NetBIOSDomain: "CORP", UAC: triage.UACNormalAccount | triage.UACDontExpirePassword, EncTypes: triage.EncTypesUnset, KVNO: 5}
	old := triage.Account{DN: "CN=svc_old,CN=Users,DC=corp,DC=example", SID: "S-1-5-21-1-2-3-1190", SAMAccountName: "svc_old",
		Domain: "corp.example", NetBIOSDomain: "CORP", UAC: triage.UACNormalAccount}
	dir := func(f func(*triage.DirectoryFacts)) triage.Observations {
		s := svc
		d := &triage.DirectoryFacts{ReadAt: now, NetBIOS: "CORP", ServiceAccount: &s, RequiredSPNs: []string{spn},
			SPNs: []triage.SPNOwners{{SPN: spn, Owners: []triage.Account{svc}}}}
		f(d)
		return triage.Observations{Directory: d}
	}
	logs := func(es ...triage.LogEvent) triage.Observations { return triage.Observations{Logs: es} }
	kerb := func(id int, code string) triage.LogEvent {
		return winEv("System", "Microsoft-Windows-Security-Kerberos", id, code, spn)
	}
	spnEv := logEv(26067, "0x2098", 15, 1)
	spnEv.SPN = spn
	slow := logEv(17830, "0x2746", -1, 4, "10.0.0.9")
	slow.Millis = 5012
	named := target
	named.Instances = []triage.Instance{{Name: "SALES"}}

	out := []safetyScenario{
		{name: "17806 0x80090311 with 18452 and 5719", obs: logs(logEv(17806, "0x80090311", 14, 4, "10.0.0.5"), logEv(18452, "", 1, 4), winEv("System", "NETLOGON", 5719, "", ""))},
		{name: "17806 0x80090304", obs: logs(logEv(17806, "0x80090304", 14, 4))},
		{name: "17806 SEC_E_LOGON_DENIED", obs: logs(logEv(17806, "0x8009030c", 14, 4))},
		{name: "17806 time skew and etype", obs: logs(logEv(17806, "0x80090324", 14, 1), logEv(17806, "0x80090342", 14, 1))},
		{name: "18452 alone", obs: logs(logEv(18452, "", 1, 9, "10.1.1.1"))},
		{name: "26067", obs: logs(spnEv)},
		{name: "slow SSPI", obs: logs(slow)},
		{name: "NETLOGON 5719 and 5721", obs: logs(winEv("System", "NETLOGON", 5719, "", ""), winEv("System", "NETLOGON", 5721, "", ""))},
		{name: "LsaSrv 40960", obs: logs(winEv("System", "LsaSrv", 40960, "0xc000005e", ""), winEv("System", "LsaSrv", 40961, "0xc000006d", ""))},
		{name: "Kerberos events", obs: logs(kerb(3, "0x7"), kerb(4, ""), kerb(5, ""), kerb(3, "0xe"), kerb(3, "0xc"), kerb(100, ""), kerb(101, ""),
			winEv("System", "Microsoft-Windows-Kerberos-Key-Distribution-Center", 11, "", spn))},
		{name: "SPN missing", obs: dir(func(d *triage.DirectoryFacts) { d.SPNs[0].Owners = nil })},
		{name: "SPN duplicate", obs: dir(func(d *triage.DirectoryFacts) { d.SPNs[0].Owners = []triage.Account{svc, old} })},
		{name: "SPN wrong account", obs: dir(func(d *triage.DirectoryFacts) { d.SPNs[0].Owners = []triage.Account{old} })},
		{name: "account not found", obs: dir(func(d *triage.DirectoryFacts) { d.ServiceAccount, d.ServiceAccountMissing = nil, `CORP\svc_gone` })},
		{name: "account disabled, locked, expired", obs: dir(func(d *triage.DirectoryFacts) {
			d.ServiceAccount.UAC |= triage.UACAccountDisable | triage.UACLockout
			d.ServiceAccount.LockoutTime = now.Add(-time.Hour)
			d.ServiceAccount.AccountExpires = now.Add(-time.Hour)
			d.ServiceAccount.PwdMustChange = true
		})},
		{name: "RC4 only, refused", obs: dir(func(d *triage.DirectoryFacts) {
			d.ServiceAccount.EncTypes = triage.EtypeRC4
			d.Tickets = []triage.TicketResult{{SPN: spn, Code: 14, CodeName: "KDC_ERR_ETYPE_NOSUPP"}}
		})},
		{name: "RC4 by default", obs: dir(func(d *triage.DirectoryFacts) {
			d.ServiceAccount.EncTypes = triage.EncTypesUnset
			d.ServiceAccount.PwdLastSet = time.Date(2005, 1, 1, 0, 0, 0, 0, time.UTC)
		})},
		{name: "clock skew", obs: dir(func(d *triage.DirectoryFacts) {
			d.Clocks = []triage.ClockReading{{Source: "dc1.corp.example (rootDSE currentTime)", Skew: 61 * time.Minute}}
		})},
		{name: "no DC answers", obs: dir(func(d *triage.DirectoryFacts) {
			d.DCs = []triage.DCProbe{{Address: "dc1.corp.example:636", Via: "config", Err: "i/o timeout"}}
		})},
		{name: "KDC refusal", obs: dir(func(d *triage.DirectoryFacts) {
			d.Tickets = []triage.TicketResult{{SPN: spn, Code: 0xc, CodeName: "KDC_ERR_POLICY"}}
		})},
		{name: "DNS mismatch", obs: dir(func(d *triage.DirectoryFacts) {
			d.DNS = &triage.DNSFacts{FQDN: "sqlhost01.corp.example", Addresses: []string{"192.0.2.10"},
				ReverseFor: map[string][]string{"192.0.2.10": {"oldsql.corp.example."}}}
		})},
		{name: "named instance, port unknown", target: named, obs: dir(func(d *triage.DirectoryFacts) {
			d.RequiredSPNs = []string{"MSSQLSvc/sqlhost01.corp.example:SALES"}
			d.SPNs = []triage.SPNOwners{{SPN: "MSSQLSvc/sqlhost01.corp.example:SALES", Owners: []triage.Account{svc}}}
		})},
		{name: "service account mistyped", target: triage.Target{Host: "sqlhost01", FQDN: "sqlhost01.corp.example", ServiceAccount: `CORP\svc_sq01`},
			obs: triage.Observations{Server: &triage.ServerInfo{Check: "errorlog", ServiceAccount: `CORP\svc_sql01`},
				Directory: dir(func(d *triage.DirectoryFacts) { d.ServiceAccount, d.ServiceAccountMissing = nil, `CORP\svc_sq01` }).Directory}},
		{name: "checker's logins", obs: triage.Observations{SQL: []triage.SQLLogin{
			{Instance: "MSSQLSERVER:1433", OK: true, AuthScheme: "NTLM"},
			{Instance: "MSSQLSERVER:1433", Number: 18452, State: 1, Message: "Login failed. The login is from an untrusted domain"},
			{Instance: "MSSQLSERVER:1433", Number: 18456, State: 1, Message: `Login failed for user 'NT AUTHORITY\ANONYMOUS LOGON'.`},
			{Instance: "MSSQLSERVER:1433", OK: true, AuthScheme: "KERBEROS", ServerTime: now.Add(7 * time.Minute), ReadAt: now},
		}}},
		{name: "LSA does not answer", obs: triage.Observations{Host: &triage.HostFacts{LSA: &triage.LSAProbe{Err: "no answer within 5s"}}}},
		{name: "keytab behind", obs: triage.Observations{
			Directory: &triage.DirectoryFacts{ServiceAccount: &svc, RequiredSPNs: []string{spn}},
			Host: &triage.HostFacts{Keytab: &triage.KeytabFacts{Path: "/k",
				Entries: []triage.KeytabEntry{{Principal: spn + "@CORP.EXAMPLE", KVNO: 4, Etype: "arcfour-hmac"}}}}}},
		{name: "agent did not answer", obs: triage.Observations{Agents: []triage.AgentFacts{{Agent: "east", URL: "https://agent-east:8443", Err: "connection refused", Missing: []string{"spn", "sql"}}}}},
		{name: "anonymous with SPN and NTLM evidence", obs: triage.Observations{
			Logs:      []triage.LogEvent{loginEv(11, `NT AUTHORITY\ANONYMOUS LOGON`, "10.0.0.5"), loginEv(-1, "(null)", "10.0.0.6"), loginEv(8, "", "10.0.0.7")},
			Directory: dir(func(d *triage.DirectoryFacts) { d.SPNs[0].Owners = []triage.Account{svc, old} }).Directory,
			SQL:       []triage.SQLLogin{{Instance: "MSSQLSERVER:1433", OK: true, AuthScheme: "NTLM"}},
		}},
	}
	out = append(out, delegationSafetyScenarios()...)
	out = append(out, instanceSafetyScenarios()...)
	out = append(out, listenerSafetyScenarios()...)
	states := []int{-1, 1, 2, 5, 6, 7, 8, 9, 11, 12, 13, 18, 38, 40, 46, 58, 62, 65, 102, 111, 122, 123, 124, 126, 128, 132, 133, 999}
	for _, login := range unsafeLogins {
		for _, s := range states {
			e := loginEv(s, login, "10.0.0.7")
			e.Reason = "Token-based server access validation failed with an infrastructure error. Check for previous errors."
			out = append(out, safetyScenario{name: fmt.Sprintf("18456 state %d for %q", s, login), obs: logs(e), login: login})
			for _, mode := range []string{"MIXED", "WINDOWS-ONLY"} {
				o := logs(e)
				o.Server = &triage.ServerInfo{AuthMode: mode}
				out = append(out, safetyScenario{name: fmt.Sprintf("18456 state %d for %q, %s", s, login, mode), obs: o, login: login})
			}
		}
	}
	for i := range out {
		if out[i].target.Host == "" {
			out[i].target = target
		}
	}
	return out
}

// loginEv returns an 18456 group for login in state, from client.
func loginEv(state int, login, client string) triage.LogEvent {
	e := logEv(18456, "", state, 3, client)
	e.Login = login
	return e
}

// TestBuiltinServiceAccountIsNeverEnabled: a service account that is the domain's
// built-in Guest, Administrator or krbtgt account (by the RID of its SID) is never
// enabled, unlocked or extended by a fix, whatever its state.
func TestBuiltinServiceAccountIsNeverEnabled(t *testing.T) {
	for _, rid := range []string{"500", "501", "502"} {
		a := triage.Account{DN: "CN=Guest,CN=Users,DC=corp,DC=example", SID: "S-1-5-21-1-2-3-" + rid, SAMAccountName: "Guest",
			NetBIOSDomain: "CORP", Class: "user", UAC: triage.UACAccountDisable | triage.UACLockout | 0x200, EncTypes: 24,
			AccountExpires: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}
		obs := triage.Observations{Directory: &triage.DirectoryFacts{ServiceAccount: &a, ReadAt: time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)}}
		fs := accountRule{}.Apply(triage.Target{Host: "sqlhost01", FQDN: "sqlhost01.corp.example", ServiceAccount: `CORP\Guest`}, obs)
		if len(fs) == 0 {
			t.Fatalf("RID %s: no finding for a disabled, locked out, expired account", rid)
		}
		for _, f := range fs {
			for _, s := range f.Remediation {
				if s.Command != "" {
					t.Errorf("RID %s: %s offers %q; want no command for a built-in account", rid, f.Cause, s.Command)
				}
			}
		}
	}
}
