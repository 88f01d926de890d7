package triage

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/authtriage/authtriage/internal/shelltest"
)

// Hostile are values an attacker can put into a name authtriage reads from evidence.
var Hostile = []string{
	"& shutdown /s /t 0", "; rm -rf /", "$(calc)", "`calc`", "'", `"`, "%PATH%", "!x!", "|", ">",
	"\r\nformat c: /q", "\nformat c: /q", "\x1b]0;pwned\x07\x1b[2J", "\u202e", "\u2019", "\u2018x\u201b", "\u201c",
	"\x00", "\x7f", "\u00a0", "\u3000", "\u200b", "\ufeff", "\xff\xfe", "-D", "/?", "\u2013Confirm",
	"a,b", "@(1)", "#", "{x}", "x`$y", "svc$sql&calc", "it's", `a\`, "a b\\", strings.Repeat("a", 5000),
	strings.Repeat("x&", 600),
}

// benign holds a valid value for every placeholder, as a rule fills them in.
var benign = map[string]string{
	PHHost: "SQLHOST02", PHFQDN: "sqlhost02.corp.example", PHDomain: "corp.example",
	PHSPN: "MSSQLSvc/sqlhost02.corp.example:1433", PHAccount: `CORP\svc_sql02`, PHWrong: `CORP\svc_old`,
	PHCode: "0x7 KDC_ERR_S_PRINCIPAL_UNKNOWN", PHSam: "svc_sql02", PHSetAD: "Set-ADUser", PHLogin: `CORP\app`,
	PHSPNs:       ListValue("MSSQLSvc/sqlbe02.corp.example:1433", "MSSQLSvc/sqlbe02.corp.example"),
	PHPrincipals: ListValue("S-1-5-21-1-2-3-1105", "svc_web02"), PHBackEndSam: "svc_sqlbe02", PHBackEndSetAD: "Set-ADComputer",
	PHWrongSPN: "MSSQLSvc/sqlhost02.corp.example:49833", PHServerName: `OLDHOST02\SALES`, PHNewServerName: `SQLHOST02\SALES`,
}

// hostileValues returns, for placeholder ph, values made of each hostile string
// alone, after a valid value and before one.
func hostileValues(ph string) []string {
	var out []string
	for _, h := range Hostile {
		out = append(out, h, benign[ph]+h, h+benign[ph])
	}
	return out
}

// TestRender: each shell's quoting, one value at a time, in an argument of a slot
// without a kind of its own (<X>), so that only the shell's rules apply.
func TestRender(t *testing.T) {
	const x = "<X>"
	type test struct {
		sh        Shell
		value     string
		want      string // the rendered argument
		wantError string // part of the reason it is refused
	}
	tests := []test{
		{ShellPowerShell, `CORP\svc_sql01`, `CORP\svc_sql01`, ""},
		{ShellPowerShell, "MSSQLSvc/sqlhost01.corp.example:1433", "MSSQLSvc/sqlhost01.corp.example:1433", ""},
		{ShellPowerShell, `CORP\SQLHOST01$`, `CORP\SQLHOST01$`, ""},
		{ShellPowerShell, `CORP\svc$sql`, `'CORP\svc$sql'`, ""},
		{ShellPowerShell, "svc sql", "'svc sql'", ""},
		{ShellPowerShell, "O'Brien", "'O''Brien'", ""},
		{ShellPowerShell, "O\u2019Brien", "'O\u2019\u2019Brien'", ""},
		{ShellPowerShell, "\u2018a\u201a\u201b", "'\u2018\u2018a\u201a\u201a\u201b\u201b'", ""},
		{ShellPowerShell, "$(calc)", "'$(calc)'", ""},
		{ShellPowerShell, "a`b", "'a`b'", ""},
		{ShellPowerShell, "1kb", "'1kb'", ""},
		{ShellPowerShell, ".5", "'.5'", ""},
		{ShellPowerShell, "a,b", "'a,b'", ""},
		{ShellPowerShell, "a@b", "'a@b'", ""},
		{ShellPowerShell, "a#b", "'a#b'", ""},
		{ShellPowerShell, "a\u201cb", "'a\u201cb'", ""},
		{ShellPowerShell, `CORP\svc_sql02&calc`, `"CORP\svc_sql02&calc"`, ""},
		{ShellPowerShell, "svc$sql&calc", "\"svc`$sql&calc\"", ""},
		{ShellPowerShell, "a`&b", "\"a``&b\"", ""},
		{ShellPowerShell, "x|y>z<w^v", `"x|y>z<w^v"`, ""},
		{ShellPowerShell, "x'&y", `"x'&y"`, ""},
		{ShellPowerShell, "%PATH%", "", "cmd.exe expands"},
		{ShellPowerShell, "!x!", "", "cmd.exe expands"},
		{ShellPowerShell, `a"b`, "", "no quoting keeps"},
		{ShellPowerShell, "a\u201d&b", "", "no quoting keeps"},
		{ShellPowerShell, `a b\`, "", `ends with '\'`},
		{ShellPowerShell, "-Confirm", "", "option"},
		{ShellPowerShell, "\u2013Confirm", "", "option"},
		{ShellPowerShell, "/?", "", "option"},
		{ShellCmd, `CORP\svc_sql01`, `CORP\svc_sql01`, ""},
		{ShellCmd, `CORP\SQLHOST01$`, `CORP\SQLHOST01$`, ""},
		{ShellCmd, "a&b", `"a&b"`, ""},
		{ShellCmd, "a b", `"a b"`, ""},
		{ShellCmd, "it's", `"it's"`, ""},
		{ShellCmd, "a^b(c)", `"a^b(c)"`, ""},
		{ShellCmd, "%PATH%", "", "cmd.exe reads"},
		{ShellCmd, "!x!", "", "cmd.exe reads"},
		{ShellCmd, `a"b`, "", "cmd.exe reads"},
		{ShellCmd, `a b\`, "", `ends with '\'`},
		{ShellCmd, "-x", "", "option"},
		{ShellSh, "svc_sql01", "svc_sql01", ""},
		{ShellSh, "svc@corp.example", "svc@corp.example", ""},
		{ShellSh, `CORP\svc_sql01`, `'CORP\svc_sql01'`, ""},
		{ShellSh, "it's", `'it'\''s'`, ""},
		{ShellSh, "$(calc) `x` ; rm -rf / | > &", "'$(calc) `x` ; rm -rf / | > &'", ""},
		{ShellSh, "~root", "'~root'", ""},
		{ShellSh, "a$", "'a$'", ""},
		{ShellSh, "-rf", "", "option"},
		{ShellTSQL, `CORP\app`, `[CORP\app]`, ""},
		{ShellTSQL, "a]b[c", "[a]]b[c]", ""},
		{ShellTSQL, "x]; DROP TABLE t; --", "[x]]; DROP TABLE t; --]", ""},
		{ShellTSQL, "-x", "[-x]", ""},
	}
	for _, sh := range []Shell{ShellPowerShell, ShellCmd, ShellSh, ShellTSQL} {
		for _, bad := range []struct{ value, reason string }{
			{"a\r\nb", "line break (U+000D)"}, {"a\nb", "line break (U+000A)"}, {"a\u2028b", "line break (U+2028)"},
			{"a\x00b", "control character (U+0000)"}, {"\x1b[2J", "control character (U+001B)"},
			{"a\u202eb", "bidirectional formatting character (U+202E)"}, {"a\u200bb", "invisible formatting character (U+200B)"},
			{"a\u00a0b", "space other than the plain space (U+00A0)"}, {"a\ue000", "cannot be printed (U+E000)"},
			{"a\xffb", "not valid UTF-8"}, {"a\ufffdb", "U+FFFD"}, {strings.Repeat("a", 1025), "longer than 1024 bytes"},
		} {
			tests = append(tests, test{sh, bad.value, "", bad.reason})
		}
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%q", tt.sh, tt.value), func(t *testing.T) {
			c, end := NewCommand(tt.sh, "prog", Slot(x)), ""
			if tt.sh == ShellTSQL {
				c, end = NewCommand(tt.sh, "prog", Suffixed(x, ";")), ";"
			}
			vars := map[string]string{x: tt.value}
			got, err := c.Render(vars)
			if tt.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantError) {
					t.Fatalf("Render = %q, %v; want an error saying %q", got, err, tt.wantError)
				}
				if strings.Contains(err.Error(), tt.value) && len(tt.value) > 2 {
					t.Errorf("the reason %q repeats the value", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if want := "prog " + tt.want + end; got != want {
				t.Errorf("Render = %s; want %s", got, want)
			}
			checkReadBack(t, c, vars, got)
		})
	}
}

// TestRenderForms: prefixes and suffixes join the value in one argument; T-SQL
// strings; a program slot; pipelines; placeholders without a value.
func TestRenderForms(t *testing.T) {
	vars := map[string]string{PHDomain: "corp.example", PHLogin: "O'Neil]", PHSetAD: "Set-ADComputer", PHSam: "SQLHOST01$", PHSPN: "MSSQLSvc/h.corp.example:1433"}
	tests := []struct {
		c    Command
		want string
	}{
		{NewCommand(ShellPowerShell, "nltest", Prefixed("/dsgetdc:", PHDomain), Lit("/force")), "nltest /dsgetdc:corp.example /force"},
		{NewCommand(ShellTSQL, "GRANT CONNECT SQL TO", Suffixed(PHLogin, ";")), "GRANT CONNECT SQL TO [O'Neil]]];"},
		{NewCommand(ShellTSQL, "SELECT", SQLString(PHLogin), Lit(";")), "SELECT N'O''Neil]' ;"},
		{Command{Shell: ShellPowerShell, Program: Slot(PHSetAD), Args: []Arg{Lit("-Identity"), Slot(PHSam)}}, "Set-ADComputer -Identity SQLHOST01$"},
		{pipe(ps("Get-Process", Lit("lsass")), ps("Format-List", Lit("CPU,WorkingSet64"))), "Get-Process lsass | Format-List CPU,WorkingSet64"},
		{ps("setspn", Lit("-S"), Slot(PHSPN), Slot(PHAccount)), "setspn -S MSSQLSvc/h.corp.example:1433 <ACCOUNT>"},
		{ps("nltest", Prefixed("/sc_query:", PHFQDN)), "nltest /sc_query:<FQDN>"},
	}
	for _, tt := range tests {
		got, err := tt.c.Render(vars)
		if err != nil || got != tt.want {
			t.Errorf("Render = %q, %v; want %q", got, err, tt.want)
		}
	}
	// A program slot is never quoted: what is not a cmdlet name is refused.
	c := Command{Shell: ShellPowerShell, Program: Slot(PHSetAD)}
	if got, err := c.Render(map[string]string{PHSetAD: "Set-ADUser;calc"}); err == nil {
		t.Errorf("Render with a bad cmdlet = %q; want an error", got)
	}
}

// TestKinds: values Active Directory and SQL Server cannot hold are refused for their
// slot, with the reason; values they can hold are written, quoted as needed.
func TestKinds(t *testing.T) {
	tests := []struct {
		ph, value, wantError string
	}{
		{PHSam, "svc_sql01", ""},
		{PHSam, "svc&calc", ""},
		{PHSam, "O'Brien", ""},
		{PHSam, "svc$sql&calc", ""},
		{PHSam, "svc(1) `x` ~!#", ""},
		{PHSam, "svc_old & shutdown /s /t 0", "'/', which Active Directory does not allow"},
		{PHSam, "a;b", "';'"},
		{PHSam, "a|b", "'|'"},
		{PHSam, "a=b", "'='"},
		{PHSam, "a,b", "','"},
		{PHSam, "a+b", "'+'"},
		{PHSam, "a*", "'*'"},
		{PHSam, "a?", "'?'"},
		{PHSam, "a<b>", "'<'"},
		{PHSam, "a[1]", "'['"},
		{PHSam, "a:b", "':'"},
		{PHSam, `a"b`, `'"'`},
		{PHSam, "svc.", "ends with a period"},
		{PHSam, strings.Repeat("a", 257), "longer than 256 characters"},
		{PHAccount, `CORP\svc_sql02&calc`, ""},
		{PHAccount, `CORP\svc$sql&calc`, ""},
		{PHAccount, `corp.example\svc`, ""},
		{PHAccount, `NT SERVICE\MSSQLSERVER`, ""},
		{PHAccount, "svc@corp.example", ""},
		{PHAccount, `<DOMAIN>\SQLHOST01$`, ""},
		{PHAccount, `CORP\svc_old & shutdown /s /t 0`, "'/'"},
		{PHAccount, `CORP\a\b`, `'\'`},
		{PHAccount, `C O\svc`, "domain part"},
		{PHAccount, `\svc`, "no domain"},
		{PHAccount, "svc@corp..example", "empty label"},
		{PHWrong, `CORP\svc;x`, "';'"},
		{PHSPN, "MSSQLSvc/sqlhost01.corp.example:1433", ""},
		{PHSPN, "MSSQLSvc/sqlhost01.corp.example", ""},
		{PHSPN, "MSSQLSvc/DESKTOP-8M1JA4S:MSSQLSERVER03", ""},
		{PHSPN, "MSSQLSvc/h:SQL$2_x", ""},
		{PHSPN, "MSSQLSvc/sqlhost02.corp.example:1433 & net user evil P@ss /add", "port that is not a number"},
		{PHSPN, "MSSQLSvc/h:1433@CORP.EXAMPLE", "port that is not a number"},
		{PHSPN, "MSSQLSvc/h:0", "port that is not"},
		{PHSPN, "MSSQLSvc/h:01433", "port that is not"},
		{PHSPN, "MSSQLSvc/h:70000", "port that is not"},
		{PHSPN, "MSSQLSvc/h:SQL 1", "instance name with a space"},
		{PHSPN, "MSSQLSvc/h:_SQL", "instance name with '_'"},
		{PHSPN, "MSSQLSvc/h:" + strings.Repeat("S", 17), "longer than 16"},
		{PHSPN, "MSSQLSvc/h x:1433", "host part that contains a space"},
		{PHSPN, "MSSQLSvc/h/x", "'/'"},
		{PHSPN, "MSSQLSvc", "not a service principal name"},
		{PHSPN, "MSS;QLSvc/h", "not a service principal name"},
		{PHDomain, "corp.example", ""},
		{PHDomain, "CORP", ""},
		{PHDomain, "CORP&CO", ""},
		{PHDomain, "corp example", "a space"},
		{PHFQDN, "sqlhost01.corp.example", ""},
		{PHFQDN, "sql host", "a space"},
		{PHFQDN, "-h.example", "start with a letter or digit"},
		{PHFQDN, strings.Repeat("a", 64) + ".example", "63 bytes"},
		{PHSetAD, "Set-ADServiceAccount", ""},
		{PHSetAD, "Remove-ADUser", "is not Set-ADUser"},
		{PHLogin, strings.Repeat("l", 128), ""},
		{PHLogin, strings.Repeat("l", 129), "longer than 128"},
	}
	for _, tt := range tests {
		got := checkValue(tt.ph, tt.value)
		if tt.wantError == "" && got != "" || tt.wantError != "" && !strings.Contains(got, tt.wantError) {
			t.Errorf("checkValue(%s, %q) = %q; want %q", tt.ph, tt.value, got, tt.wantError)
		}
	}
}

// TestCatalogCommandsReadBack: every command of every cause, filled with hostile
// values one slot at a time and all at once, is either one line that reads back, in
// its shell, as exactly the program and arguments meant, or left out with the reason
// said in the step's text. Values Active Directory allows are never left out.
func TestCatalogCommandsReadBack(t *testing.T) {
	placeholders := []string{PHHost, PHFQDN, PHDomain, PHSPN, PHAccount, PHWrong, PHCode, PHSam, PHSetAD, PHLogin,
		PHSPNs, PHPrincipals, PHBackEndSam, PHBackEndSetAD, PHWrongSPN, PHServerName, PHNewServerName}
	var cases []map[string]string
	cases = append(cases, benign)
	for _, ph := range placeholders {
		for _, v := range hostileValues(ph) {
			vars := maps(benign)
			vars[ph] = v
			cases = append(cases, vars)
		}
	}
	for _, h := range Hostile {
		vars := map[string]string{}
		for _, ph := range placeholders {
			vars[ph] = h
		}
		cases = append(cases, vars)
	}
	commands, omitted := 0, 0
	for _, c := range Causes() {
		for _, vars := range cases {
			f := NewFinding(c.ID, vars)
			if len(f.Remediation) != len(c.Fix) {
				t.Fatalf("%s: %d steps; want %d", c.ID, len(f.Remediation), len(c.Fix))
			}
			for i, s := range f.Remediation {
				cmd := c.Fix[i].Command
				if cmd == nil {
					if s.Command != "" {
						t.Errorf("%s step %d has command %q without one in the catalog", c.ID, i, s.Command)
					}
					continue
				}
				if s.Command == "" {
					omitted++
					checkOmitted(t, s, vars)
					continue
				}
				commands++
				if s.Shell != cmd.Shell {
					t.Errorf("%s step %d: shell %q; want %q", c.ID, i, s.Shell, cmd.Shell)
				}
				checkReadBack(t, *cmd, vars, s.Command)
			}
		}
	}
	if commands == 0 || omitted == 0 {
		t.Fatalf("%d commands written, %d left out; want both", commands, omitted)
	}

	// Names Active Directory allows are written, quoted, never left out.
	for _, v := range []string{"svc&calc", "O'Brien", "svc$x", "svc(1)", "svc sql", "svc`x", "svc\u2019x", "svc$sql&calc", "a^b"} {
		f := NewFinding(AccountDisabled, map[string]string{PHSam: v})
		if s := f.Remediation[0]; s.Command == "" {
			t.Errorf("Enable-ADAccount for sAMAccountName %q left out: %s", v, s.Omitted)
		}
	}
	for _, v := range []string{`CORP\svc_sql02&calc`, `CORP\svc$sql&calc`, `CORP\O'Brien`} {
		f := NewFinding(SPNMissing, map[string]string{PHSPN: benign[PHSPN], PHAccount: v})
		if s := f.Remediation[0]; s.Command == "" {
			t.Errorf("setspn -S for account %q left out: %s", v, s.Omitted)
		}
	}
}

// TestRegressions: the commands of issue 15's reproductions.
func TestRegressions(t *testing.T) {
	// An LDIF sAMAccountName "svc_old & shutdown /s /t 0" on the account holding a
	// duplicate SPN.
	f := NewFinding(SPNWrongAccount, map[string]string{PHSPN: "MSSQLSvc/sqlhost01.corp.example:1433",
		PHAccount: `CORP\svc_sql01`, PHWrong: `CORP\svc_old & shutdown /s /t 0`})
	if s := f.Remediation[0]; s.Command != "" || !strings.Contains(s.Text, "left out: the name of the account that holds the SPN contains '/'") {
		t.Errorf("setspn -D for a hostile account: %+v", s)
	}
	if s := f.Remediation[1]; s.Command != `setspn -S MSSQLSvc/sqlhost01.corp.example:1433 CORP\svc_sql01` {
		t.Errorf("setspn -S for the service account: %+v", s)
	}
	// A CR LF in a name never starts a second line.
	f = NewFinding(AccountDisabled, map[string]string{PHSam: "svc\r\nformat c: /q"})
	if s := f.Remediation[0]; s.Command != "" || s.Omitted != "the account's sAMAccountName contains a line break (U+000D)" {
		t.Errorf("Enable-ADAccount for a name with CR LF: %+v", s)
	}
	// ERRORLOG 26067 with an SPN carrying "& net user", and the inventory's
	// CORP\svc_sql02&calc: no command for that SPN; the account is quoted.
	f = NewFinding(SPNRegistrationFailed, map[string]string{PHSPN: "MSSQLSvc/sqlhost02.corp.example:1433 & net user evil P@ss /add", PHAccount: `CORP\svc_sql02&calc`})
	if s := f.Remediation[0]; s.Command != "" || s.Omitted != "the SPN has a port that is not a number from 1 to 65535" {
		t.Errorf("setspn -S for a hostile SPN: %+v", s)
	}
	f = NewFinding(SPNRegistrationFailed, map[string]string{PHSPN: "MSSQLSvc/sqlhost02.corp.example:1433", PHAccount: `CORP\svc_sql02&calc`})
	if s := f.Remediation[0]; s.Command != `setspn -S MSSQLSvc/sqlhost02.corp.example:1433 "CORP\svc_sql02&calc"` {
		t.Errorf("setspn -S for CORP\\svc_sql02&calc: %+v", s)
	}
	// --service-account 'CORP\svc$sql&calc', found in the directory as svc$sql&calc:
	// a name Active Directory allows, so the command is written, quoted.
	f = NewFinding(AccountDisabled, map[string]string{PHSam: "svc$sql&calc"})
	if s := f.Remediation[0]; s.Command != "Enable-ADAccount -Identity \"svc`$sql&calc\"" {
		t.Errorf("Enable-ADAccount for svc$sql&calc: %+v", s)
	}
}

// TestShells: Windows commands are PowerShell, mssql-conf and klist -kte are sh, and
// the keytab command names the account as mssql-conf takes it.
func TestShells(t *testing.T) {
	for _, c := range Causes() {
		for _, s := range c.Fix {
			want := ShellPowerShell
			if c.ID == KeytabStale {
				want = ShellSh
			}
			if c.ID == NameServerNameChanged { // sp_dropserver and sp_addserver
				want = ShellTSQL
			}
			if c.ID == ListenerAccountsDiffer && s.Command != nil && s.Command.Program.Text == "CREATE LOGIN" { // the endpoint's login
				want = ShellTSQL
			}
			if s.Command != nil && s.Command.Shell != want {
				t.Errorf("%s: %q is for %q; want %q", c.ID, s.Command.Template(), s.Command.Shell, want)
			}
		}
	}
	// mssql-conf takes the account's user name alone ("Rotate keytabs for SQL Server on Linux").
	f := NewFinding(KeytabStale, map[string]string{PHAccount: `CORP\svc_sql01`, PHSam: "svc_sql01"})
	if s := f.Remediation[0]; s.Command != `/opt/mssql/bin/mssql-conf setup-ad-keytab /var/opt/mssql/secrets/mssql.keytab svc_sql01 --use-next-kvno` || s.Shell != ShellSh {
		t.Errorf("keytab step %+v", s)
	}
}

// TestStepJSON: a step keeps "text" and "command" and adds "shell" and
// "command_omitted"; the catalog's command itself is not serialised.
func TestStepJSON(t *testing.T) {
	f := NewFinding(SPNMissing, map[string]string{PHSPN: benign[PHSPN], PHAccount: `CORP\svc_sql02&calc`})
	b, err := json.Marshal(f.Remediation)
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"text":"Register the SPN on the service account (-S checks for duplicates first)","command":"setspn -S MSSQLSvc/sqlhost02.corp.example:1433 \"CORP\\svc_sql02\u0026calc\"","shell":"powershell"}]`; string(b) != want {
		t.Errorf("JSON = %s\nwant   %s", b, want)
	}
	f = NewFinding(SPNMissing, map[string]string{PHSPN: "x\ny"})
	b, _ = json.Marshal(f.Remediation)
	if want := `"command_omitted":"the SPN contains a line break (U+000A)"`; !strings.Contains(string(b), want) || strings.Contains(string(b), `"command"`) {
		t.Errorf("JSON = %s; want %s and no command", b, want)
	}
}

// FuzzCommand: whatever the value, a command either reads back, in its shell, as
// exactly the program and arguments meant, on one line, or is refused with a reason
// that is itself safe to print.
func FuzzCommand(f *testing.F) {
	for i, h := range Hostile {
		f.Add(h, uint8(i), uint8(i/4))
		f.Add(benign[PHAccount]+h, uint8(i), uint8(i))
	}
	for _, v := range []string{`CORP\svc_sql01`, "O'Brien", "svc$sql&calc", "a`&b", "\u2019\u2019", "MSSQLSvc/h:1433", "x]y"} {
		f.Add(v, uint8(0), uint8(0))
	}
	slots := []string{"<X>", PHSam, PHAccount, PHSPN, PHDomain, PHLogin}
	f.Fuzz(func(t *testing.T, value string, shell, form uint8) {
		ph := slots[int(form)%len(slots)]
		if value == "" || isAccountSlot(ph) && strings.HasPrefix(value, PHDomain+`\`) {
			t.Skip("no value, or one that starts with <DOMAIN>: written as a placeholder for the reader to fill in")
		}
		var c Command
		switch sh := []Shell{ShellPowerShell, ShellCmd, ShellSh, ShellTSQL}[int(shell)%4]; {
		case sh == ShellTSQL && form&0x80 != 0:
			c = NewCommand(sh, "SELECT", Arg{Slot: ph, SQLString: true, Suffix: ";"})
		case sh == ShellTSQL:
			c = NewCommand(sh, "ALTER LOGIN", Slot(ph), Lit("ENABLE;"))
		case form&0x80 != 0:
			c = NewCommand(sh, "prog", Lit("-x"), Prefixed("/p:", ph), Lit("/y"))
		default:
			c = NewCommand(sh, "prog", Lit("-x"), Slot(ph), Lit("/y"))
		}
		vars := map[string]string{ph: value}
		s := NewStep("Do it", c, vars)
		if s.Command == "" {
			checkOmitted(t, s, vars)
			return
		}
		checkReadBack(t, c, vars, s.Command)
	})
}

// checkOmitted checks a step left without its command: it says why, in its text and
// in Omitted, and the reason is printable, on one line.
func checkOmitted(t testing.TB, s Step, vars map[string]string) {
	t.Helper()
	if s.Omitted == "" || s.Shell != "" || !strings.HasSuffix(s.Text, ". The command is left out: "+s.Omitted) {
		t.Errorf("step left without a command does not say why: %+v", s)
	}
	for _, r := range s.Omitted {
		if !unicode.IsPrint(r) {
			t.Fatalf("the reason %q holds U+%04X", s.Omitted, r)
		}
	}
}

// checkReadBack reads line back in c's shell and compares it with what c and vars
// mean. A PowerShell line must also be inert in cmd.exe: no operator its template
// lacks, nothing cmd.exe expands.
func checkReadBack(t testing.TB, c Command, vars map[string]string, line string) {
	t.Helper()
	got := readBack(t, c, line)
	want := intended(c, vars)
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("%s line %q reads back as %q; want %q", c.Shell, line, got, want)
	}
	if c.Shell == ShellPowerShell {
		ops, err := shelltest.CmdInert(line)
		if err != nil {
			t.Fatalf("PowerShell line %q pasted into cmd.exe: %v", line, err)
		}
		tops, _ := shelltest.CmdInert(placeholder.ReplaceAllString(c.Template(), "x"))
		if string(ops) != string(tops) {
			t.Fatalf("PowerShell line %q has cmd.exe operators %q; its template %q", line, ops, tops)
		}
	}
}

// placeholder matches a placeholder such as <SPN> in a template.
var placeholder = regexp.MustCompile(`<[A-Z-]+>`)

// readBack returns line's commands and their words as c's shell reads them.
func readBack(t testing.TB, c Command, line string) [][]string {
	t.Helper()
	switch c.Shell {
	case ShellPowerShell:
		cmds, err := shelltest.PowerShell(line)
		if err != nil {
			t.Fatalf("PowerShell line %q: %v", line, err)
		}
		var out [][]string
		for i, words := range cmds {
			var texts []string
			for j, w := range words {
				texts = append(texts, w.Text)
				// A word from a value is never a bare array.
				if w.Bare && strings.Contains(w.Text, ",") && isSlotWord(c, i, j) {
					t.Fatalf("PowerShell line %q: a value written bare with ','", line)
				}
			}
			out = append(out, texts)
		}
		return out
	case ShellCmd:
		words, err := shelltest.Cmd(line)
		if err != nil {
			t.Fatalf("cmd line %q: %v", line, err)
		}
		return [][]string{words}
	case ShellSh:
		words, err := shelltest.Sh(line)
		if err != nil {
			t.Fatalf("sh line %q: %v", line, err)
		}
		return [][]string{words}
	case ShellTSQL:
		toks, err := shelltest.TSQL(line)
		if err != nil {
			t.Fatalf("T-SQL line %q: %v", line, err)
		}
		return [][]string{tsqlStrings(toks)}
	}
	t.Fatalf("no reader for shell %q", c.Shell)
	return nil
}

// isSlotWord reports whether word j of pipeline command i comes from a slot.
func isSlotWord(c Command, i, j int) bool {
	for ; i > 0 && c.Pipe != nil; i-- {
		c = *c.Pipe
	}
	if j == 0 {
		return c.Program.Slot != ""
	}
	return j-1 < len(c.Args) && c.Args[j-1].Slot != ""
}

// intended returns the words c means with vars: literals as written, each slot's
// value (or placeholder) with its prefix and suffix as one word. For T-SQL, the
// tokens: literal pieces as the T-SQL reader splits them, a slot as one identifier or
// string.
func intended(c Command, vars map[string]string) [][]string {
	value := func(a Arg) string {
		if a.Slot == "" {
			return a.Text
		}
		v := vars[a.Slot]
		if v == "" {
			v = a.Slot
		}
		return a.Text + v + a.Suffix
	}
	if c.Shell == ShellTSQL {
		var toks []string
		lit := func(s string) {
			if s == "" {
				return
			}
			end := strings.HasSuffix(s, ";")
			t, err := shelltest.TSQL(strings.TrimSuffix(s, ";") + ";")
			if err != nil {
				panic(fmt.Sprintf("catalog T-SQL %q: %v", s, err))
			}
			if !end {
				t = t[:len(t)-1]
			}
			toks = append(toks, tsqlStrings(t)...)
		}
		for _, a := range append([]Arg{c.Program}, c.Args...) {
			if a.Slot == "" {
				lit(a.Text)
				continue
			}
			kind := "i:"
			if a.SQLString {
				kind = "s:"
			}
			toks = append(toks, kind+vars[a.Slot])
			lit(a.Suffix)
		}
		return [][]string{toks}
	}
	var out [][]string
	for cmd := &c; cmd != nil; cmd = cmd.Pipe {
		words := []string{value(cmd.Program)}
		for _, a := range cmd.Args {
			words = append(words, value(a))
		}
		out = append(out, words)
	}
	return out
}

func tsqlStrings(toks []shelltest.Token) []string {
	var out []string
	for _, t := range toks {
		out = append(out, string(t.Kind)+":"+t.Text)
	}
	return out
}

func maps(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
