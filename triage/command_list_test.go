package triage

import (
	"strings"
	"testing"
)

// TestListSlot: a list slot writes each value quoted, as a PowerShell array, inside
// the literal around it; a value that cannot be written leaves the whole command out,
// and a line feed inside a value never splits it into two.
func TestListSlot(t *testing.T) {
	add := delegateToCommand()
	rbcd := resourceBasedCommand()
	tests := []struct {
		name    string
		cmd     Command
		vars    map[string]string
		want    string
		omitted string
	}{
		{"both forms of an SPN", add,
			map[string]string{PHSetAD: "Set-ADUser", PHSam: "svc_web", PHSPNs: ListValue("MSSQLSvc/sqlbe.corp.test:1433", "MSSQLSvc/sqlbe.corp.test")},
			`Set-ADUser -Identity svc_web -Add @{'msDS-AllowedToDelegateTo'='MSSQLSvc/sqlbe.corp.test:1433','MSSQLSvc/sqlbe.corp.test'}`, ""},
		{"one SPN, a computer account", add,
			map[string]string{PHSetAD: "Set-ADComputer", PHSam: "SQLFE$", PHSPNs: ListValue("MSSQLSvc/sqlbe.corp.test:1433")},
			`Set-ADComputer -Identity SQLFE$ -Add @{'msDS-AllowedToDelegateTo'='MSSQLSvc/sqlbe.corp.test:1433'}`, ""},
		{"principals by SID and by a name that needs quoting", rbcd,
			map[string]string{PHBackEndSetAD: "Set-ADUser", PHBackEndSam: "svc_sqlrbcd", PHPrincipals: ListValue("S-1-5-21-1-2-3-1105", "svc&calc", "O'Brien")},
			`Set-ADUser -Identity svc_sqlrbcd -PrincipalsAllowedToDelegateToAccount 'S-1-5-21-1-2-3-1105',"svc&calc",'O''Brien'`, ""},
		{"a line feed inside an SPN is refused, not a second value", add,
			map[string]string{PHSetAD: "Set-ADUser", PHSam: "svc_web", PHSPNs: ListValue("MSSQLSvc/sqlbe.corp.test:1433\nMSSQLSvc/evil.corp.test")},
			"", "one of the SPNs contains a line break (U+2028)"},
		{"a hostile SPN in the middle of the list", add,
			map[string]string{PHSetAD: "Set-ADUser", PHSam: "svc_web", PHSPNs: ListValue("MSSQLSvc/a.corp.test", "MSSQLSvc/b.corp.test:1433'}; calc; @{'x", "MSSQLSvc/c.corp.test")},
			"", "one of the SPNs has a port that is not a number from 1 to 65535"},
		{"a principal that is no SID nor account name", rbcd,
			map[string]string{PHBackEndSetAD: "Set-ADUser", PHBackEndSam: "svc_sqlrbcd", PHPrincipals: ListValue("S-1-5-21-1-2-3-1105", "a,b")},
			"", "one of the principals contains ',', which Active Directory does not allow in an account name"},
		{"an empty principal", rbcd,
			map[string]string{PHBackEndSetAD: "Set-ADUser", PHBackEndSam: "svc_sqlrbcd", PHPrincipals: ListValue("S-1-5-21-1-2-3-1105", "")},
			"", "one of the principals has an empty account name"},
		{"no value: the placeholder, for the reader to fill in", add,
			map[string]string{PHSetAD: "Set-ADUser", PHSam: "svc_web"},
			`Set-ADUser -Identity svc_web -Add @{'msDS-AllowedToDelegateTo'=<SPNS>}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewStep("x", tt.cmd, tt.vars)
			if s.Command != tt.want || s.Omitted != tt.omitted {
				t.Fatalf("step = %q (omitted %q); want %q (omitted %q)", s.Command, s.Omitted, tt.want, tt.omitted)
			}
			if s.Command != "" && !strings.Contains(s.Command, "<") {
				checkReadBack(t, tt.cmd, tt.vars, s.Command)
			}
		})
	}
	// Only PowerShell holds a list.
	cmd := Command{Shell: ShellSh, Program: Lit("echo"), Args: []Arg{ListSlot("", PHSPNs, "")}}
	if _, err := cmd.Render(map[string]string{PHSPNs: ListValue("MSSQLSvc/a.corp.test")}); err == nil || !strings.Contains(err.Error(), "only a PowerShell command") {
		t.Errorf("a list in sh: %v", err)
	}
}

// TestListInText: text shows a list's values separated by commas.
func TestListInText(t *testing.T) {
	f := NewFinding(DelegationPortFormMissing, map[string]string{PHFrontEnd: "sqlfe (CORP\\svc_web)", PHBackEnd: "sqlbe",
		PHSPNs: ListValue("MSSQLSvc/sqlbe.corp.test:1433", "MSSQLSvc/sqlbe.corp.test")})
	if want := `sqlfe (CORP\svc_web) may delegate to sqlbe, but its msDS-AllowedToDelegateTo lacks MSSQLSvc/sqlbe.corp.test:1433, MSSQLSvc/sqlbe.corp.test`; f.Summary != want {
		t.Errorf("summary = %q; want %q", f.Summary, want)
	}
}

func TestIsSID(t *testing.T) {
	for v, want := range map[string]bool{
		"S-1-5-21-1004336348-1177238915-682003330-512": true,
		"S-1-5-18":                              true,
		"S-1-5":                                 false, // no subauthority
		"S-1-5-":                                false,
		"S-1-5-021":                             false, // leading zero
		"S-1-5-12345678901":                     false, // 11 digits
		"S-1-5-21-x":                            false,
		"s-1-5-18":                              false,
		"S-1-5-18 ":                             false,
		"S-1-" + strings.Repeat("1-", 16) + "1": false, // 16 subauthorities
	} {
		if got := isSID(v); got != want {
			t.Errorf("isSID(%q) = %v; want %v", v, got, want)
		}
	}
}
