package diagnosis

import (
	"slices"
	"strings"
	"testing"

	"github.com/authtriage/authtriage/sources/errorlog"
	"github.com/authtriage/authtriage/triage"
)

// errorlogHead is the start of an ERRORLOG as SQL Server 2019 writes it; the
// authentication mode line is filled in by readErrorlog.
const errorlogHead = `2026-11-24 06:00:00.10 Server      Microsoft SQL Server 2019 (RTM-CU22) (KB5027702) - 15.0.4322.2 (X64) 
	Jul 27 2023 18:11:00 
	Copyright (C) 2019 Microsoft Corporation
	Enterprise Edition: Core-based Licensing (64-bit) on Windows Server 2019 Standard 10.0 <X64> (Build 17763: ) (Hypervisor)

2026-11-24 06:00:00.11 Server      UTC adjustment: -5:00
2026-11-24 06:00:00.11 Server      Server process ID is 4120.
2026-11-24 06:00:00.11 Server      Authentication mode is %MODE%.
2026-11-24 06:00:00.11 Server      The service account is 'CORP\svc_sql01'. This is an informational message; no user action is required.
2026-11-24 06:00:02.00 spid12s     SQL Server is now ready for client connections. This is an informational message; no user action is required.
`

// readErrorlog reads an ERRORLOG made of errorlogHead and entries through the errorlog
// package, as the errorlog check does, and returns what the rules see.
func readErrorlog(t *testing.T, mode, entries string) triage.Observations {
	t.Helper()
	text := strings.Replace(errorlogHead, "%MODE%", mode, 1) + entries
	sum, err := errorlog.Read(t.Context(), strings.NewReader(text), int64(len(text)), "ERRORLOG", errorlog.Options{})
	if err != nil {
		t.Fatalf("read ERRORLOG: %v", err)
	}
	obs := triage.Observations{Server: sum.Server}
	for _, e := range sum.Events {
		e.Check = "errorlog"
		obs.Logs = append(obs.Logs, e)
	}
	return obs
}

// failed returns the two lines SQL Server writes for an 18456.
func failed(at, state, rest string) string {
	return at + " Logon       Error: 18456, Severity: 14, State: " + state + ".\n" +
		at + " Logon       Login failed for user " + rest + "\n"
}

// stepWant describes what a finding's fix must and must not hold.
type stepWant struct {
	commands []string // substrings some command must hold
	texts    []string // substrings some step's text must hold
	never    []string // substrings no command and no text may hold
}

func TestAnonymousLogins(t *testing.T) {
	const tokenReason = "Reason: Token-based server access validation failed with an infrastructure error. Check for previous errors."
	anonymous := failed("2026-11-24 09:00:01.20", "11", `'NT AUTHORITY\ANONYMOUS LOGON'. `+tokenReason+" [CLIENT: 10.0.0.5]") +
		failed("2026-11-24 09:05:07.81", "11", `'NT AUTHORITY\ANONYMOUS LOGON'. `+tokenReason+" [CLIENT: 10.0.0.6]") +
		failed("2026-11-24 09:41:13.02", "11", `'NT AUTHORITY\ANONYMOUS LOGON'. `+tokenReason+" [CLIENT: 10.0.0.5]")
	svc := triage.Account{DN: "CN=svc_sql01,CN=Users,DC=corp,DC=example", SID: "S-1-5-21-1-2-3-1105", SAMAccountName: "svc_sql01",
		Domain: "corp.example", NetBIOSDomain: "CORP", UAC: triage.UACNormalAccount | triage.UACDontExpirePassword, EncTypes: triage.EtypeAESAll}
	web := triage.Account{DN: "CN=svc_web01,CN=Users,DC=corp,DC=example", SID: "S-1-5-21-1-2-3-1200", SAMAccountName: "svc_web01",
		Domain: "corp.example", NetBIOSDomain: "CORP", UAC: triage.UACNormalAccount}
	spn := "MSSQLSvc/sqlhost01.corp.example:1433"

	tests := []struct {
		name    string
		mode    string
		entries string
		more    func(*triage.Observations) // evidence from other checks
		want    []want
		steps   map[triage.CauseID]stepWant
	}{
		{
			name: "ANONYMOUS LOGON state 11 from two clients is login.anonymous: a second hop, never a login to grant",
			mode: "MIXED", entries: anonymous,
			want: []want{{cause: triage.LoginAnonymous, severity: triage.Critical,
				summary: []string{`refused 3 Windows logins as NT AUTHORITY\ANONYMOUS LOGON (18456, state 11)`, "from 2 clients (10.0.0.5, 10.0.0.6)",
					"If 10.0.0.5 or 10.0.0.6 is a linked server or a front end", "second hop", "Kerberos with delegation"},
				commands: []string{"setspn -Q " + spn}, evidence: 1}},
			steps: map[triage.CauseID]stepWant{triage.LoginAnonymous: {
				texts: []string{"constrained delegation", "Never grant the ANONYMOUS LOGON login access"},
				never: []string{"GRANT CONNECT", "CREATE LOGIN", "FROM WINDOWS"}}},
		},
		{
			name: "ANONYMOUS LOGON from the host itself is a service there passing NTLM credentials on",
			mode: "MIXED",
			entries: failed("2026-11-24 09:00:01.20", "11", `'NT AUTHORITY\ANONYMOUS LOGON'. `+tokenReason+" [CLIENT: <local machine>]") +
				failed("2026-11-24 09:00:02.20", "11", `'NT AUTHORITY\ANONYMOUS LOGON'. `+tokenReason+" [CLIENT: 127.0.0.1]"),
			want: []want{{cause: triage.LoginAnonymous, severity: triage.Critical,
				summary: []string{"on the SQL Server host itself", "NTLM credentials", "loopback protection"}, evidence: 1}},
		},
		{
			name: "ANONYMOUS LOGON with a duplicate SPN and the checker's NTLM login: both corroborate",
			mode: "MIXED", entries: anonymous,
			more: func(o *triage.Observations) {
				o.Directory = &triage.DirectoryFacts{NetBIOS: "CORP", ServiceAccount: &svc, RequiredSPNs: []string{spn},
					SPNs: []triage.SPNOwners{{SPN: spn, Owners: []triage.Account{svc, web}}}}
				o.SQL = []triage.SQLLogin{{Instance: "MSSQLSERVER:1433", Address: "sqlhost01.corp.example:1433", OK: true, AuthScheme: "NTLM"}}
			},
			want: []want{
				{cause: triage.LoginAnonymous, severity: triage.Critical,
					summary:  []string{"the evidence also shows " + spn + " registered on 2 accounts (spn.duplicate)", "the checker's own login to MSSQLSERVER:1433 used NTLM"},
					evidence: 3},
				{cause: triage.SPNDuplicate, severity: triage.Critical, commands: []string{`setspn -D ` + spn + ` CORP\svc_web01`}, evidence: 1},
			},
		},
		{
			name: "(null) is login.null_user; a KRB_AP_ERR_MODIFIED event for the SPN corroborates",
			mode: "WINDOWS-ONLY",
			entries: failed("2026-11-24 09:10:00.00", "5", "'(null)'. Reason: Could not find a login matching the name provided. [CLIENT: 10.0.0.9]") +
				failed("2026-11-24 09:12:00.00", "5", "'(null)'. Reason: Could not find a login matching the name provided. [CLIENT: 10.0.0.9]"),
			more: func(o *triage.Observations) {
				o.Logs = append(o.Logs, winEv("System", "Microsoft-Windows-Security-Kerberos", 4, "", spn))
			},
			want: []want{
				{cause: triage.LoginNullUser, severity: triage.Critical,
					summary:  []string{"refused 2 Windows logins as '(null)' (18456, state 5)", "from 1 client (10.0.0.9)", "SPN being on the wrong account", "2 Kerberos events about the SPNs of sqlhost01"},
					commands: []string{"setspn -Q " + spn, `setspn -L CORP\svc_sql01`}, evidence: 2},
				{cause: triage.SPNWrongAccount, severity: triage.Critical, evidence: 1},
			},
			steps: map[triage.CauseID]stepWant{triage.LoginNullUser: {never: []string{"CREATE LOGIN", "GRANT"}}},
		},
		{
			name: "an empty login is login.empty_user; 17806 0x80090311 and NETLOGON 5719 corroborate",
			mode: "MIXED",
			entries: "2026-11-24 09:20:00.10 Logon       Error: 17806, Severity: 20, State: 14.\n" +
				"2026-11-24 09:20:00.10 Logon       SSPI handshake failed with error code 0x80090311, state 14 while establishing a connection with integrated security; the connection has been closed. Reason: AcceptSecurityContext failed. The Windows error code indicates the cause of failure. No authority could be contacted for authentication.  [CLIENT: 10.0.0.7]\n" +
				failed("2026-11-24 09:20:00.20", "8", "''. [CLIENT: 10.0.0.7]"),
			more: func(o *triage.Observations) {
				o.Logs = append(o.Logs, winEv("System", "NETLOGON", 5719, "", ""))
			},
			want: []want{
				{cause: triage.DCUnreachable, severity: triage.Critical, evidence: 2},
				{cause: triage.LoginEmptyUser, severity: triage.Critical,
					summary:  []string{"refused 1 Windows login with an empty user name (18456, state 8)", "17806 0x80090311 once (no domain controller could be contacted)", "NETLOGON 5719 2 times"},
					commands: []string{"nltest /sc_query:corp.example", "nltest /sc_reset:corp.example"}, evidence: 3},
			},
			steps: map[triage.CauseID]stepWant{triage.LoginEmptyUser: {never: []string{"CREATE LOGIN", "GRANT"}}},
		},
		{
			name:    "an empty user name in states 122-124 is the state table's empty SQL Server login, login.failed",
			mode:    "MIXED",
			entries: failed("2026-11-24 09:30:00.00", "123", "''. [CLIENT: 10.0.0.8]"),
			want: []want{{cause: triage.LoginFailed, severity: triage.Warning,
				summary: []string{"state 123, " + loginState(123)}, evidence: 1}},
			steps: map[triage.CauseID]stepWant{triage.LoginFailed: {texts: []string{"empty user name or password"}, never: []string{"CREATE LOGIN", "GRANT"}}},
		},
		{
			name: "a Windows user beside ANONYMOUS LOGON: only the Windows user gets a login to create",
			mode: "MIXED",
			entries: anonymous +
				failed("2026-11-24 09:50:00.00", "5", `'CORP\jdoe'. Reason: Could not find a login matching the name provided. [CLIENT: 10.0.0.12]`),
			want: []want{
				{cause: triage.LoginAnonymous, severity: triage.Critical, evidence: 1},
				{cause: triage.LoginFailed, severity: triage.Warning, summary: []string{"refused 1 login (18456): state 5"},
					commands: []string{`CREATE LOGIN [CORP\jdoe] FROM WINDOWS;`}, evidence: 1},
			},
			steps: map[triage.CauseID]stepWant{triage.LoginFailed: {never: []string{"ANONYMOUS"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := readErrorlog(t, tt.mode, tt.entries)
			if tt.more != nil {
				tt.more(&obs)
			}
			got := applyRules(target, obs)
			slices.SortStableFunc(got, func(a, b triage.Finding) int { return int(b.Severity) - int(a.Severity) })
			checkFindings(t, got, tt.want)
			for _, f := range got {
				if w, ok := tt.steps[f.Cause]; ok {
					checkSteps(t, f, w)
				}
			}
		})
	}
}

func checkSteps(t *testing.T, f triage.Finding, w stepWant) {
	t.Helper()
	has := func(sub string, field func(triage.Step) string) bool {
		for _, s := range f.Remediation {
			if strings.Contains(field(s), sub) {
				return true
			}
		}
		return false
	}
	command := func(s triage.Step) string { return s.Command }
	text := func(s triage.Step) string { return s.Text }
	for _, c := range w.commands {
		if !has(c, command) {
			t.Errorf("%s: no command holds %q: %+v", f.Cause, c, f.Remediation)
		}
	}
	for _, c := range w.texts {
		if !has(c, text) {
			t.Errorf("%s: no step's text holds %q: %+v", f.Cause, c, f.Remediation)
		}
	}
	for _, c := range w.never {
		if has(c, command) || has(c, text) {
			t.Errorf("%s: a step holds %q: %+v", f.Cause, c, f.Remediation)
		}
	}
}

// TestLoginStateFixes: each 18456 state's fix, from real-format ERRORLOG lines, for SQL
// Server and Windows logins, built-in and shared principals.
func TestLoginStateFixes(t *testing.T) {
	tests := []struct {
		name  string
		mode  string
		state string
		rest  string
		want  stepWant
		none  bool // no step at all: the catalog's generic one stays
	}{
		{name: "state 5, a SQL Server login: prose, no command with a password", mode: "MIXED", state: "5",
			rest: "'app_user'. Reason: Could not find a login matching the name provided. [CLIENT: 10.0.0.7]",
			want: stepWant{texts: []string{"No login matches app_user", "CREATE LOGIN ... WITH PASSWORD"}, never: []string{"FROM WINDOWS"}}},
		{name: "state 2, a Windows login: CREATE LOGIN FROM WINDOWS", mode: "MIXED", state: "2",
			rest: `'CORP\jdoe'. Reason: Could not find a login matching the name provided. [CLIENT: 10.0.0.7]`,
			want: stepWant{commands: []string{`CREATE LOGIN [CORP\jdoe] FROM WINDOWS;`}, texts: []string{"xp_logininfo"}}},
		{name: "state 5, an NT SERVICE account: no FROM WINDOWS suggested", mode: "MIXED", state: "5",
			rest: `'NT SERVICE\SQLTELEMETRY'. Reason: Could not find a login matching the name provided. [CLIENT: <local machine>]`,
			want: stepWant{never: []string{"FROM WINDOWS"}}},
		{name: "state 5, BUILTIN\\Users: no login is to be created", mode: "MIXED", state: "5",
			rest: `'BUILTIN\Users'. Reason: Could not find a login matching the name provided. [CLIENT: 10.0.0.7]`,
			want: stepWant{texts: []string{"stands for anyone or for many users: create no login for it"}, never: []string{"CREATE LOGIN [", "GRANT"}}},
		{name: "state 7, sa: never enabled", mode: "MIXED", state: "7",
			rest: "'sa'. Reason: An error occurred while evaluating the password. [CLIENT: 10.0.0.7]",
			want: stepWant{texts: []string{"The sa login is disabled"}, never: []string{"ENABLE;"}}},
		{name: "state 7, another login: ALTER LOGIN ENABLE", mode: "MIXED", state: "7",
			rest: "'report_reader'. Reason: Login is disabled. [CLIENT: 10.0.0.7]",
			want: stepWant{commands: []string{"ALTER LOGIN [report_reader] ENABLE;"}}},
		{name: "state 11, a Windows user: GRANT CONNECT SQL", mode: "MIXED", state: "11",
			rest: `'CORP\bob'. Reason: Token-based server access validation failed with an infrastructure error. Check for previous errors. [CLIENT: 10.0.0.7]`,
			want: stepWant{commands: []string{`GRANT CONNECT SQL TO [CORP\bob];`}, texts: []string{"Run as administrator", "no DENY"}}},
		{name: "state 12, Everyone: never granted", mode: "MIXED", state: "12",
			rest: "'Everyone'. [CLIENT: 10.0.0.7]",
			want: stepWant{texts: []string{"give it no access"}, never: []string{"GRANT CONNECT"}}},
		{name: "state 38, the explicit database: correct the connection string", mode: "MIXED", state: "38",
			rest: "'app_user'. Reason: Failed to open the explicitly specified database 'Sales'. [CLIENT: 10.0.0.7]",
			want: stepWant{texts: []string{"Correct the database name in the connection string"}, never: []string{"DEFAULT_DATABASE"}}},
		{name: "state 46, the default database: change it", mode: "MIXED", state: "46",
			rest: "'app_user'. Reason: Failed to open the database 'Sales' specified in the login properties. [CLIENT: 10.0.0.7]",
			want: stepWant{commands: []string{"ALTER LOGIN [app_user] WITH DEFAULT_DATABASE = [master];"}}},
		{name: "state 40 is not on Microsoft's page: no fix is claimed", mode: "MIXED", state: "40",
			rest: "'app_user'. Reason: Failed to open the database 'Sales' specified in the login properties. [CLIENT: 10.0.0.7]",
			none: true},
		{name: "state 58 on a Windows-only server: Windows authentication or mixed mode", mode: "WINDOWS-ONLY", state: "58",
			rest: "'app_user'. Reason: An attempt to login using SQL authentication failed. Server is configured for Windows authentication only. [CLIENT: 10.0.0.7]",
			want: stepWant{texts: []string{"accepts Windows authentication only", "Trusted_Connection=yes"}}},
		{name: "state 58 on a mixed-mode server: mismatched SIDs or an ODBC connection", mode: "MIXED", state: "58",
			rest: "'app_user'. Reason: An attempt to login using SQL authentication failed. Server is configured for Windows authentication only. [CLIENT: 10.0.0.7]",
			want: stepWant{texts: []string{"SID of the login app_user may not match", "ODBC"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := readErrorlog(t, tt.mode, failed("2026-11-24 09:00:00.00", tt.state, tt.rest))
			fs := loginFailedRule{}.Apply(target, obs)
			if len(fs) != 1 {
				t.Fatalf("got %d findings %v; want one login.failed", len(fs), causes(fs))
			}
			f := fs[0]
			if tt.none {
				cause, _ := triage.LookupCause(triage.LoginFailed)
				if len(f.Remediation) != len(cause.Fix) || f.Remediation[0].Text != cause.Fix[0].Text {
					t.Errorf("state %s has fixes %+v; want the catalog's generic step only", tt.state, f.Remediation)
				}
				if !strings.Contains(f.Summary, "state 40, which Microsoft does not describe (1)") {
					t.Errorf("summary %q does not say Microsoft does not describe state 40", f.Summary)
				}
				if m := triage.LoginStateFor(40); m.Documented || !strings.Contains(f.Evidence[0].Text, m.Meaning) {
					t.Errorf("evidence %q does not say what the table says of state 40 (%q)", f.Evidence[0].Text, m.Meaning)
				}
				return
			}
			checkSteps(t, f, tt.want)
		})
	}
}

// TestWindowsLoginAndSharedPrincipal: which logins a fix may create FROM WINDOWS, and
// which stand for anyone.
func TestWindowsLoginAndSharedPrincipal(t *testing.T) {
	tests := []struct {
		login           string
		windows, shared bool
	}{
		{`CORP\jdoe`, true, false},
		{`SQLHOST01\localuser`, true, false},
		{"app_user", false, false},
		{"sa", false, false},
		{`NT AUTHORITY\SYSTEM`, false, false},
		{`NT SERVICE\MSSQLSERVER`, false, false},
		{`BUILTIN\Administrators`, false, false},
		{`.\jdoe`, false, false},
		{`\jdoe`, false, false},
		{`CORP\`, false, true},
		{`CORP\a\b`, false, false},
		{`NT AUTHORITY\ANONYMOUS LOGON`, false, true},
		{`nt authority\anonymous logon`, false, true},
		{"(null)", false, true},
		{"", false, true},
		{"   ", false, true},
		{"Guest", false, true},
		{`CORP\Guest`, false, true},
		{"Everyone ", false, true},
		{`NT AUTHORITY\Authenticated Users`, false, true},
		{`BUILTIN\Users`, false, true},
		{`CORP\Domain Users`, false, true},
		{"public", false, true},
	}
	for _, tt := range tests {
		if got := windowsLogin(tt.login); got != tt.windows {
			t.Errorf("windowsLogin(%q) = %v; want %v", tt.login, got, tt.windows)
		}
		if got := sharedPrincipal(tt.login); got != tt.shared {
			t.Errorf("sharedPrincipal(%q) = %v; want %v", tt.login, got, tt.shared)
		}
	}
}

func TestAnonymousCause(t *testing.T) {
	tests := []struct {
		login string
		state int
		want  triage.CauseID
	}{
		{`NT AUTHORITY\ANONYMOUS LOGON`, 11, triage.LoginAnonymous},
		{`NT AUTHORITY\ANONYMOUS LOGON`, 5, triage.LoginAnonymous},
		{`ANONYMOUS LOGON`, 12, triage.LoginAnonymous},
		{"(null)", 8, triage.LoginNullUser},
		{"(NULL)", -1, triage.LoginNullUser},
		{"", 8, triage.LoginEmptyUser},
		{"", -1, triage.LoginEmptyUser},
		{"", 122, ""},
		{"", 124, ""},
		{`CORP\jdoe`, 11, ""},
		{"Guest", 11, ""},
		{"null", 8, ""},
	}
	for _, tt := range tests {
		got, ok := anonymousCause(tt.login, tt.state)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("anonymousCause(%q, %d) = %q, %v; want %q", tt.login, tt.state, got, ok, tt.want)
		}
	}
}
