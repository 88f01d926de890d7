package diagnosis

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authtriage/authtriage/internal/shelltest"
	"github.com/authtriage/authtriage/triage"
)

// hostile are values an attacker can put into a name read from evidence.
var hostile = []string{
	"& shutdown /s /t 0", "; rm -rf /", "$(calc)", "`calc`", "'", `"`, "%PATH%", "!x!", "|", ">",
	"\r\nformat c: /q", "\x1b]0;pwned\x07\x1b[2J", "\u202e", "\u2019", "\x00", "-D", "/?",
	"svc&calc", "svc$sql&calc", "O'Brien", "x]; DROP LOGIN sa; --", strings.Repeat("a", 3000),
}

// TestRuleCommandsReadBack: every command a rule builds itself (setspn -D/-S/-Q for
// the accounts and SPNs it found, T-SQL for 18456 logins) and the catalog commands it
// fills, given a hostile name, is one command that reads back as exactly the program
// and arguments meant, or is left out with the reason in the step.
func TestRuleCommandsReadBack(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	spn := "MSSQLSvc/sqlhost01.corp.example:1433"
	instance := "MSSQLSvc/sqlhost01.corp.example:"
	account := func(sam string) triage.Account {
		return triage.Account{DN: "CN=" + sam + ",DC=corp,DC=example", SID: "S-1-5-21-1-2-3-" + sam, SAMAccountName: sam,
			Domain: "corp.example", NetBIOSDomain: "CORP", UAC: triage.UACNormalAccount | triage.UACDontExpirePassword, EncTypes: triage.EncTypesUnset}
	}
	directory := func(svc triage.Account, owners ...triage.Account) triage.Observations {
		return triage.Observations{Directory: &triage.DirectoryFacts{ReadAt: now, NetBIOS: "CORP", ServiceAccount: &svc,
			SPNs: []triage.SPNOwners{{SPN: spn, Owners: owners}}}}
	}
	loginFailed := func(state int, login string) triage.Observations {
		e := logEv(18456, "", state, 3, "10.0.0.7")
		e.Login = login
		return triage.Observations{Logs: []triage.LogEvent{e}}
	}
	// The second hop's: a front end's account, a back end's account or FQDN named h.
	delegation := func(frontSam, backSam, fqdn string) triage.Observations {
		p := pathFrom("x")
		p.Account, p.BackEndAccount, p.BackEndFQDN = `CORP\`+frontSam, `CORP\`+backSam, fqdn
		be := backEnd()
		be.Name, be.Account.SAMAccountName = p.BackEndAccount, backSam
		return triage.Observations{Delegation: &triage.DelegationFacts{Paths: []triage.DelegationPath{p},
			Accounts: []triage.DelegationAccount{front(frontSam, 1104, 0), be}}}
	}
	spns := func(fqdn string) string {
		return "@{'msDS-AllowedToDelegateTo'=MSSQLSvc/" + fqdn + ":1433\nMSSQLSvc/" + fqdn + "}"
	}
	tests := []struct {
		name  string
		obs   func(h string) triage.Observations
		cause triage.CauseID
		step  int
		shell triage.Shell
		want  func(h string) []string // words, or T-SQL tokens kind:text
	}{
		{"setspn -D for a duplicate's other owner",
			func(h string) triage.Observations {
				return directory(account("svc_sql01"), account("svc_sql01"), account(h))
			},
			triage.SPNDuplicate, 0, triage.ShellPowerShell, func(h string) []string { return []string{"setspn", "-D", spn, `CORP\` + h} }},
		{"setspn -S for a service account that holds none of the copies",
			func(h string) triage.Observations { return directory(account(h), account("svc_a"), account("svc_b")) },
			triage.SPNDuplicate, 2, triage.ShellPowerShell, func(h string) []string { return []string{"setspn", "-S", spn, `CORP\` + h} }},
		{"setspn -D for the wrong account",
			func(h string) triage.Observations { return directory(account("svc_sql01"), account(h)) },
			triage.SPNWrongAccount, 0, triage.ShellPowerShell, func(h string) []string { return []string{"setspn", "-D", spn, `CORP\` + h} }},
		{"setspn -Q for a Kerberos event's SPN",
			func(h string) triage.Observations {
				return triage.Observations{Logs: []triage.LogEvent{winEv("System", "Microsoft-Windows-Security-Kerberos", 4, "", instance+h)}}
			},
			triage.SPNWrongAccount, 0, triage.ShellPowerShell, func(h string) []string { return []string{"setspn", "-Q", instance + h} }},
		{"setspn -S for an LsaSrv 40960 0xc000018b SPN",
			func(h string) triage.Observations {
				return triage.Observations{Logs: []triage.LogEvent{winEv("System", "LsaSrv", 40960, "0xc000018b", instance+h)}}
			},
			triage.SPNMissing, 0, triage.ShellPowerShell, func(h string) []string { return []string{"setspn", "-S", instance + h, `CORP\svc_sql01`} }},
		{"setspn -S for ERRORLOG 26067's SPN",
			func(h string) triage.Observations {
				e := logEv(26067, "0x2098", 1, 1)
				e.SPN = instance + h
				return triage.Observations{Logs: []triage.LogEvent{e}}
			},
			triage.SPNRegistrationFailed, 0, triage.ShellPowerShell, func(h string) []string { return []string{"setspn", "-S", instance + h, `CORP\svc_sql01`} }},
		{"Enable-ADAccount for a disabled account",
			func(h string) triage.Observations {
				a := account(h)
				a.UAC |= triage.UACAccountDisable
				return directory(a, a)
			},
			triage.AccountDisabled, 0, triage.ShellPowerShell, func(h string) []string { return []string{"Enable-ADAccount", "-Identity", h} }},
		{"Set-ADComputer for an RC4-only computer account",
			func(h string) triage.Observations {
				a := account(h)
				a.Class, a.EncTypes = "computer", triage.EtypeRC4
				return directory(a, a)
			},
			triage.KerberosEtypeMismatch, 0, triage.ShellPowerShell, func(h string) []string {
				return []string{"Set-ADComputer", "-Identity", h, "-KerberosEncryptionType", "AES128,AES256"}
			}},
		{"CREATE LOGIN for 18456 state 5 of a Windows login",
			func(h string) triage.Observations { return loginFailed(5, `CORP\`+h) },
			triage.LoginFailed, 0, triage.ShellTSQL, func(h string) []string {
				return []string{"w:CREATE", "w:LOGIN", "i:CORP\\" + h, "w:FROM", "w:WINDOWS", "p:;"}
			}},
		{"ALTER LOGIN ENABLE for 18456 state 7",
			func(h string) triage.Observations { return loginFailed(7, h) },
			triage.LoginFailed, 0, triage.ShellTSQL, func(h string) []string { return []string{"w:ALTER", "w:LOGIN", "i:" + h, "w:ENABLE", "p:;"} }},
		{"GRANT CONNECT SQL for 18456 state 12",
			func(h string) triage.Observations { return loginFailed(12, h) },
			triage.LoginFailed, 0, triage.ShellTSQL, func(h string) []string {
				return []string{"w:GRANT", "w:CONNECT", "w:SQL", "w:TO", "i:" + h, "p:;"}
			}},
		{"msDS-AllowedToDelegateTo -Add for a front end's account",
			func(h string) triage.Observations { return delegation(h, "svc_sqlbe", "sqlbe.corp.test") },
			triage.DelegationNotTrusted, 0, triage.ShellPowerShell, func(h string) []string {
				return []string{"Set-ADUser", "-Identity", h, "-Add", spns("sqlbe.corp.test")}
			}},
		{"Set-ADAccountControl -TrustedToAuthForDelegation for a front end's account",
			func(h string) triage.Observations { return delegation(h, "svc_sqlbe", "sqlbe.corp.test") },
			triage.DelegationNotTrusted, 2, triage.ShellPowerShell, func(h string) []string {
				return []string{"Set-ADAccountControl", "-Identity", h, "-TrustedToAuthForDelegation", "$true"}
			}},
		{"-PrincipalsAllowedToDelegateToAccount for a back end's account",
			func(h string) triage.Observations { return delegation("svc_webnone", h, "sqlbe.corp.test") },
			triage.DelegationNotTrusted, 3, triage.ShellPowerShell, func(h string) []string {
				return []string{"Set-ADUser", "-Identity", h, "-PrincipalsAllowedToDelegateToAccount", "S-1-5-21-1-2-3-1104"}
			}},
		{"setspn -S for a back end's account the KDC found no SPN for",
			func(h string) triage.Observations {
				o := delegation("svc_webnone", h, "sqlbe.corp.test")
				o.Delegation.Proofs = []triage.DelegationProof{proof(o.Delegation.Paths[0], "alice", beTCP, true, false, 7)}
				return o
			},
			triage.DelegationBackendSPNMissing, 0, triage.ShellPowerShell, func(h string) []string { return []string{"setspn", "-S", beTCP, `CORP\` + h} }},
		{"msDS-AllowedToDelegateTo -Add for a back end's SPN",
			func(h string) triage.Observations { return delegation("svc_webnone", "svc_sqlbe", "sqlbe.corp.test"+h) },
			triage.DelegationNotTrusted, 0, triage.ShellPowerShell, func(h string) []string {
				return []string{"Set-ADUser", "-Identity", "svc_webnone", "-Add", spns("sqlbe.corp.test" + h)}
			}},
		{"ALTER LOGIN DEFAULT_DATABASE for 18456 state 38",
			func(h string) triage.Observations { return loginFailed(38, h) },
			triage.LoginFailed, 0, triage.ShellTSQL, func(h string) []string {
				return []string{"w:ALTER", "w:LOGIN", "i:" + h, "w:WITH", "w:DEFAULT_DATABASE", "p:=", "i:master", "p:;"}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			written := 0
			for _, h := range append([]string{"svc_ok"}, hostile...) {
				var f *triage.Finding
				for _, g := range applyRules(target, tt.obs(h)) {
					if g.Cause == tt.cause {
						f = &g
						break
					}
				}
				if f == nil || len(f.Remediation) <= tt.step {
					t.Fatalf("value %q: no %s finding with step %d", h, tt.cause, tt.step)
				}
				s := f.Remediation[tt.step]
				if s.Command == "" {
					if s.Omitted == "" || !strings.Contains(s.Text, "The command is left out: "+s.Omitted) {
						t.Errorf("value %q: step without a command does not say why: %+v", h, s)
					}
					continue
				}
				written++
				if s.Shell != tt.shell {
					t.Errorf("value %q: shell %q; want %q", h, s.Shell, tt.shell)
				}
				if got, want := readBack(t, s), tt.want(h); !slices.Equal(got, want) {
					t.Errorf("value %q: %s reads back as %q; want %q", h, s.Command, got, want)
				}
			}
			// In an SPN the value is an instance name, which few values make valid.
			if min := 3; strings.HasSuffix(tt.name, "SPN") && written < 1 || !strings.HasSuffix(tt.name, "SPN") && written < min {
				t.Errorf("only %d of the values gave a command; names Active Directory allows must", written)
			}
		})
	}
}

// TestDuplicateWithoutServiceAccountShowsTheCommandsForm: with no service account
// known, the step's text shows the form of setspn -D with the SPN quoted as the
// command would have it, and leaves the example out for an SPN no command can hold.
func TestDuplicateWithoutServiceAccountShowsTheCommandsForm(t *testing.T) {
	dup := func(spn string) triage.Step {
		old := triage.Account{DN: "CN=a,DC=corp,DC=example", SID: "S-1", SAMAccountName: "a", NetBIOSDomain: "CORP"}
		other := triage.Account{DN: "CN=b,DC=corp,DC=example", SID: "S-2", SAMAccountName: "b", NetBIOSDomain: "CORP"}
		obs := triage.Observations{Directory: &triage.DirectoryFacts{SPNs: []triage.SPNOwners{{SPN: spn, Owners: []triage.Account{old, other}}}}}
		fs := spnRule{}.Apply(triage.Target{Host: "sqlhost01"}, obs)
		if len(fs) != 1 || len(fs[0].Remediation) != 1 {
			t.Fatalf("findings %+v", fs)
		}
		return fs[0].Remediation[0]
	}
	if s := dup("MSSQLSvc/sqlhost01.corp.example:1433"); !strings.Contains(s.Text, `(setspn -D MSSQLSvc/sqlhost01.corp.example:1433 DOMAIN\account)`) || s.Command != "" {
		t.Errorf("step %+v", s)
	}
	if s := dup("MSSQLSvc/sqlhost01.corp.example:1433\r\nformat c: /q"); strings.Contains(s.Text, "setspn -D") {
		t.Errorf("step %+v shows a command with a hostile SPN", s)
	}
}

// readBack returns a step's command as its shell reads it: words, or for T-SQL
// tokens written kind:text.
func readBack(t *testing.T, s triage.Step) []string {
	t.Helper()
	var out []string
	switch s.Shell {
	case triage.ShellPowerShell:
		cmds, err := shelltest.PowerShell(s.Command)
		if err != nil || len(cmds) != 1 {
			t.Fatalf("PowerShell %q: %d commands, %v", s.Command, len(cmds), err)
		}
		for _, w := range cmds[0] {
			out = append(out, w.Text)
		}
		if _, err := shelltest.CmdInert(s.Command); err != nil {
			t.Fatalf("PowerShell %q pasted into cmd.exe: %v", s.Command, err)
		}
		if ops, _ := shelltest.CmdInert(s.Command); len(ops) > 0 {
			t.Fatalf("PowerShell %q pasted into cmd.exe runs operators %q", s.Command, ops)
		}
	case triage.ShellTSQL:
		toks, err := shelltest.TSQL(s.Command)
		if err != nil {
			t.Fatalf("T-SQL %q: %v", s.Command, err)
		}
		for _, tok := range toks {
			out = append(out, string(tok.Kind)+":"+tok.Text)
		}
	default:
		t.Fatalf("no reader for shell %q of %q", s.Shell, s.Command)
	}
	return out
}
