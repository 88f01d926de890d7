package main

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/authtriage/authtriage/internal/shelltest"
	"github.com/authtriage/authtriage/triage"
)

// TestServiceAccountFlag: --service-account refuses, with exit 3 and the reason, an
// account name Active Directory cannot hold; CORP\svc$sql&calc is one it can ('$' and
// '&' are allowed in a sAMAccountName), so it is taken, and quoted in commands.
func TestServiceAccountFlag(t *testing.T) {
	for _, tt := range []struct{ account, stderr string }{
		{`CORP\svc,sql`, `--service-account: the service account's name contains ',', which Active Directory does not allow in an account name`},
		{`CORP\svc=sql`, `contains '='`},
		{`CORP\svc+sql`, `contains '+'`},
		{`CORP\svc[1]`, `contains '['`},
		{`CORP\svc?`, `contains '?'`},
		{`CORP\svc/x`, `contains '/'`},
		{`CORP\a\b`, `contains '\'`},
		{`CORP\svc.`, `ends with a period`},
		{"CORP\\svc\u202e", `bidirectional formatting character (U+202E)`},
		{"CORP\\svc\u200b", `invisible formatting character (U+200B)`},
		{`CO RP\svc`, `domain part`},
	} {
		t.Run(tt.account, func(t *testing.T) {
			e, _, stderr := testEnv(nil)
			code := e.run(t.Context(), []string{"check", "sqlhost02", "--port", "1433", "--service-account", tt.account, "--output", "json"})
			if code != exitUnknown || !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("exit %d, stderr %q; want 3 and %q", code, stderr, tt.stderr)
			}
		})
	}
}

// TestHostileNamesInCommands runs the reproductions of issue 15 end to end: an LDIF
// whose sAMAccountNames carry "& shutdown /s /t 0" and a CR LF with "format c: /q",
// an ERRORLOG 26067 whose SPN carries "& net user evil P@ss /add", and the service
// account CORP\svc$sql&calc. No command carries any of it; the account's commands
// quote it; every command reads back as one command in its shell.
func TestHostileNamesInCommands(t *testing.T) {
	dir := t.TempDir()
	spn := "MSSQLSvc/sqlhost02.corp.example:1433"
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	ldif := `dn: DC=corp,DC=example
objectClass: domain
objectClass: domainDNS
name: corp
maxPwdAge: -36288000000000

dn: CN=CORP,CN=Partitions,CN=Configuration,DC=corp,DC=example
objectClass: crossRef
cn: CORP
nCName: DC=corp,DC=example
dnsRoot: corp.example
nETBIOSName: CORP

dn: CN=svc,OU=Service Accounts,DC=corp,DC=example
objectClass: user
sAMAccountName: svc$sql&calc
userAccountControl: 66050
objectSid:: AQUAAAAAAAUVAAAAx/f+13x3VciUWs4BUwQAAA==
accountExpires: 9223372036854775807
servicePrincipalName: ` + spn + `

dn: CN=old,OU=Service Accounts,DC=corp,DC=example
objectClass: user
sAMAccountName:: ` + b64("svc_old & shutdown /s /t 0") + `
userAccountControl: 66048
objectSid:: AQUAAAAAAAUVAAAAx/f+13x3VciUWs4BEgQAAA==
servicePrincipalName: ` + spn + `

dn: CN=crlf,OU=Service Accounts,DC=corp,DC=example
objectClass: user
sAMAccountName:: ` + b64("svc_crlf\r\nformat c: /q") + `
userAccountControl: 66048
objectSid:: AQUAAAAAAAUVAAAAx/f+13x3VciUWs4BEwQAAA==
servicePrincipalName: ` + spn + `
`
	errorlog := `2026-11-25 09:00:00.10 Server      Microsoft SQL Server 2022 (RTM-CU14) (KB5038325) - 16.0.4135.4 (X64) 
	Jul 10 2024 14:09:09 
	Copyright (C) 2022 Microsoft Corporation
	Enterprise Edition (64-bit) on Windows Server 2022 Datacenter 10.0 <X64> (Build 20348: ) (Hypervisor)
2026-11-25 09:00:00.11 Server      UTC adjustment: 0:00
2026-11-25 09:00:00.12 Server      Server process ID is 404.
2026-11-25 09:00:01.50 Server      The SQL Server Network Interface library could not register the Service Principal Name (SPN) [ ` + spn + ` & net user evil P@ss /add ] for the SQL Server service. Windows return code: 0x2098, state: 15. Failure to register a SPN might cause integrated authentication to use NTLM instead of Kerberos. This is an informational message. Further action is only required if Kerberos authentication is required by authentication policies and if the SPN has not been manually registered.
`
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	args := []string{"check", "sqlhost02", "--fqdn", "sqlhost02.corp.example", "--port", "1433",
		"--service-account", `CORP\svc$sql&calc`, "--ldif", write("export.ldf", ldif), "--errorlog", write("ERRORLOG", errorlog)}

	e, stdout, stderr := testEnv(nil)
	if code := e.run(t.Context(), append(args, "--output", "json")); code != exitCritical {
		t.Fatalf("exit %d; want 2; stderr:\n%s", code, stderr)
	}
	var rep triage.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatal(err)
	}
	var commands []string
	omitted := map[string]bool{}
	for _, f := range rep.Findings {
		for _, s := range f.Remediation {
			if s.Omitted != "" {
				omitted[s.Omitted] = true
			}
			if s.Command == "" {
				continue
			}
			commands = append(commands, s.Command)
			for _, bad := range []string{"shutdown", "format", "net user", "\r", "\n"} {
				if strings.Contains(s.Command, bad) {
					t.Errorf("%s: command %q carries %q", f.Cause, s.Command, bad)
				}
			}
			if s.Shell != triage.ShellPowerShell {
				t.Errorf("%s: command %q for shell %q; want powershell", f.Cause, s.Command, s.Shell)
				continue
			}
			if cmds, err := shelltest.PowerShell(s.Command); err != nil || len(cmds) != 1 {
				t.Errorf("%s: %q does not read back as one PowerShell command: %v", f.Cause, s.Command, err)
			}
			if ops, err := shelltest.CmdInert(s.Command); err != nil || len(ops) > 0 {
				t.Errorf("%s: %q pasted into cmd.exe runs %q (%v)", f.Cause, s.Command, ops, err)
			}
		}
	}
	for _, want := range []string{
		"Enable-ADAccount -Identity \"svc`$sql&calc\"",
		"setspn -S MSSQLSvc/sqlhost02.corp.example \"CORP\\svc`$sql&calc\"",
	} {
		if !contains(commands, want) {
			t.Errorf("no command %s in %q", want, commands)
		}
	}
	for _, want := range []string{
		"the name of the account that holds the SPN contains '/', which Active Directory does not allow in an account name",
		"the name of the account that holds the SPN contains a line break (U+000D)",
		"the SPN has a port that is not a number from 1 to 65535",
	} {
		if !omitted[want] {
			t.Errorf("no step left out because %s; reasons: %v", want, omitted)
		}
	}

	// The text report shows each command on one line of its own, as it is, and every
	// line of its Fix sections is a step or one of those commands.
	e, stdout, _ = testEnv(nil)
	e.run(t.Context(), append(args, "--output", "text"))
	lines := strings.Split(stdout.String(), "\n")
	for _, c := range commands {
		if !contains(lines, "      "+c) {
			t.Errorf("text report lacks the line %q", c)
		}
	}
	inFix := false
	for _, l := range lines {
		switch {
		case l == "   Fix:":
			inFix = true
		case !strings.HasPrefix(l, "   ") || strings.HasPrefix(l, "   Read: "):
			inFix = false
		case inFix && strings.HasPrefix(l, "      "):
			if !contains(commands, strings.TrimPrefix(l, "      ")) {
				t.Errorf("text report Fix line %q is no command of the report", l)
			}
		case inFix && !stepLine.MatchString(l):
			t.Errorf("text report Fix line %q is neither a step nor a command", l)
		}
	}
}

// stepLine matches a step of the text report's Fix section: "   2) Register ...".
var stepLine = regexp.MustCompile(`^   [0-9]+\) \S`)

func contains(list []string, s string) bool {
	for _, l := range list {
		if l == s {
			return true
		}
	}
	return false
}
