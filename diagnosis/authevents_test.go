package diagnosis

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/authtriage/authtriage/sources/errorlog"
	"github.com/authtriage/authtriage/sources/eventlog"
	"github.com/authtriage/authtriage/triage"
)

// Windows events as `wevtutil qe System /f:RenderedXml` writes them on the SQL Server
// host sqlhost01 (see sources/eventlog/testdata/system-secure-channel.xml).
const (
	evNS   = "http://schemas.microsoft.com/win/2004/08/events/event"
	evCRLF = "&#xD;&#xA;"
)

// winEvent returns one rendered <Event>: provider, ID, time of day (on 2026-11-24,
// UTC), channel, the inside of <EventData> and the message.
func winEvent(provider string, id int, clock, channel, data, message string) string {
	render := ""
	if message != "" {
		render = "<RenderingInfo Culture='en-US'><Message>" + message + "</Message><Level>Error</Level><Task></Task><Opcode>Info</Opcode>" +
			"<Channel>" + channel + "</Channel><Provider>" + provider + "</Provider><Keywords><Keyword>Classic</Keyword></Keywords></RenderingInfo>"
	}
	return fmt.Sprintf("<Event xmlns='%s'><System><Provider Name='%s'/><EventID>%d</EventID><Version>0</Version><Level>2</Level>"+
		"<Task>0</Task><Opcode>0</Opcode><Keywords>0x80000000000000</Keywords><TimeCreated SystemTime='2026-11-24T%sZ'/>"+
		"<EventRecordID>1</EventRecordID><Correlation/><Execution ProcessID='812' ThreadID='0'/><Channel>%s</Channel>"+
		"<Computer>sqlhost01.corp.example</Computer><Security/></System><EventData>%s</EventData>%s</Event>\r\n",
		evNS, provider, id, clock, channel, data, render)
}

func lsa40960(clock, server, status, code string) string {
	return winEvent("LsaSrv", 40960, clock, "System",
		"<Data>"+server+"</Data><Data>Kerberos</Data><Data>"+status+evCRLF+" ("+code+")</Data>",
		"The Security System detected an authentication error for the server "+server+". The failure code from authentication protocol Kerberos was \""+status+" "+evCRLF+" ("+code+")\".")
}

func lsa40961(clock, server string) string {
	return winEvent("LsaSrv", 40961, clock, "System", "<Data>"+server+"</Data>",
		"The Security System could not establish a secured connection with the server "+server+". No authentication protocol was available.")
}

func netlogon5719(clock, binary, reason string) string {
	return winEvent("NETLOGON", 5719, clock, "System", "<Data>CORP</Data><Data>%%1311</Data><Binary>"+binary+"</Binary>",
		"This computer was not able to set up a secure session with a domain controller in domain CORP due to the following: "+evCRLF+reason)
}

func netlogon5721(clock string) string {
	return winEvent("NETLOGON", 5721, clock, "System", "<Data>\\\\dc01</Data><Data>CORP</Data><Data>SQLHOST01</Data><Data>SQLHOST01$</Data><Binary>220000C0</Binary>",
		"The session setup to the Windows NT or Windows 2000 Domain Controller \\\\dc01 for the domain CORP failed because the Domain Controller did not have an account SQLHOST01$ needed to set up the session by this computer SQLHOST01.")
}

func netlogon3210(clock string) string {
	return winEvent("NETLOGON", 3210, clock, "System", "<Data>CORP</Data><Data>\\\\dc01.corp.example</Data><Binary>220000C0</Binary>",
		"This computer could not authenticate with \\\\dc01.corp.example, a Windows domain controller for domain CORP, and therefore this computer might deny logon requests. "+
			"This inability to authenticate might be caused by another computer on the same network using the same name or the password for this computer account is not recognized. If this message appears again, contact your system administrator.")
}

func kerberos3(clock, code, name, server string) string {
	return winEvent("Microsoft-Windows-Security-Kerberos", 3, clock, "System",
		"<Data Name='LogonSession'>CORP\\svc_app</Data><Data Name='ErrorCode'>"+code+"</Data><Data Name='ErrorMessage'>"+name+"</Data>"+
			"<Data Name='ServerRealm'>CORP.EXAMPLE</Data><Data Name='ServerName'>"+server+"</Data><Data Name='TargetName'>"+server+"@CORP.EXAMPLE</Data>",
		"A Kerberos error message was received:"+evCRLF+" on logon session CORP\\svc_app"+evCRLF+" Error Code: "+code+" "+name+evCRLF+" Server Name: "+server+evCRLF)
}

func kerberos4(clock, target string) string {
	return winEvent("Microsoft-Windows-Security-Kerberos", 4, clock, "System",
		"<Data Name='Server'>sqlhost02$</Data><Data Name='TargetRealm'>CORP.EXAMPLE</Data><Data Name='Targetname'>"+target+"</Data><Data Name='ClientRealm'>CORP.EXAMPLE</Data>",
		"The Kerberos client received a KRB_AP_ERR_MODIFIED error from the server sqlhost02$. The target name used was "+target+". This indicates that the target server failed to decrypt the ticket provided by the client.")
}

// operational is an event of the Kerberos Operational log, exported with /f:xml (no
// message): Microsoft documents no 100 or 101; the fields are the manifest's.
func operational(id int, clock, spn, code string) string {
	return winEvent("Microsoft-Windows-Security-Kerberos", id, clock, "Microsoft-Windows-Kerberos/Operational",
		"<Data Name='SPN'>"+spn+"</Data><Data Name='ErrorCode'>"+code+"</Data>", "")
}

// sspiLines returns the ERRORLOG lines of a 17806 with code and the 18452 SQL Server
// writes after it, at a time of day on 2026-11-24 (the log's zone is UTC).
func sspiLines(clock, code, reason, client string, untrusted bool) string {
	at := "2026-11-24 " + clock
	s := at + " Logon       Error: 17806, Severity: 20, State: 14.\n" +
		at + " Logon       SSPI handshake failed with error code " + code + ", state 14 while establishing a connection with integrated security; the connection has been closed. " +
		"Reason: AcceptSecurityContext failed. The Windows error code indicates the cause of failure. " + reason + "  [CLIENT: " + client + "]\n"
	if untrusted {
		s += at + " Logon       Error: 18452, Severity: 14, State: 1.\n" +
			at + " Logon       Login failed. The login is from an untrusted domain and cannot be used with Windows authentication. [CLIENT: " + client + "]\n"
	}
	return s
}

// authObservations reads an ERRORLOG ("" for none) and a System or Operational log
// export (events, "" for none) as the errorlog and eventlog checks do.
func authObservations(t *testing.T, errorlogLines, events string) triage.Observations {
	t.Helper()
	var obs triage.Observations
	if errorlogLines != "" {
		text := "2026-11-24 06:00:00.11 Server      Authentication mode is WINDOWS-ONLY.\n" + errorlogLines
		sum, err := errorlog.Read(t.Context(), strings.NewReader(text), int64(len(text)), "ERRORLOG", errorlog.Options{})
		if err != nil {
			t.Fatalf("read ERRORLOG: %v", err)
		}
		for _, e := range sum.Events {
			e.Check = "errorlog"
			obs.Logs = append(obs.Logs, e)
		}
	}
	if events != "" {
		sum, err := eventlog.Read(t.Context(), strings.NewReader(events), "System.xml", eventlog.Options{})
		if err != nil {
			t.Fatalf("read events: %v", err)
		}
		for _, e := range sum.Events {
			e.Check = "eventlog"
			obs.Logs = append(obs.Logs, e)
		}
	}
	return obs
}

// authWant is what one finding of TestAuthEvents must show.
type authWant struct {
	cause    triage.CauseID
	severity triage.Severity
	summary  []string // substrings of the summary
	evidence []string // substrings, each of some evidence text
	count    int      // evidence items
	steps    []string // substrings, each of some remediation step's text or command
	links    []string // links the finding must carry
}

func TestAuthEvents(t *testing.T) {
	const (
		spn      = "MSSQLSvc/sqlhost01.corp.example:1433"
		other    = "MSSQLSvc/sqlhost02.corp.example:1433"
		noLogon  = "There are currently no logon servers available to service the logon request."
		noSAM    = "The SAM database on the Windows Server does not have a computer account for this workstation trust relationship."
		noAuth   = "No authority could be contacted for authentication."
		denied   = "The logon attempt failed"
		downgrad = "The system detected a possible attempt to compromise security. Please ensure that you can contact the server that authenticated you."
	)
	tests := []struct {
		name     string
		errorlog string
		events   string
		want     []authWant
	}{
		{
			name:   "LsaSrv 40960 with STATUS_NO_LOGON_SERVERS for the domain's krbtgt: the host reached no DC",
			events: lsa40960("08:01:00", "krbtgt/CORP.EXAMPLE", noLogon, "0xc000005e"),
			want: []authWant{{cause: triage.DCUnreachable, severity: triage.Warning, count: 1,
				summary:  []string{"could not reach a domain controller", "no SQL Server SSPI failure"},
				evidence: []string{"System log (LsaSrv 40960): authentication to krbtgt/CORP.EXAMPLE failed with 0xc000005e: there are currently no logon servers available"}}},
		},
		{
			name:   "LsaSrv 40960 with STATUS_NO_LOGON_SERVERS for another server: still this host's DC path",
			events: lsa40960("08:01:00", "cifs/files01.corp.example", noLogon, "0xc000005e"),
			want: []authWant{{cause: triage.DCUnreachable, severity: triage.Warning, count: 1,
				evidence: []string{"authentication to cifs/files01.corp.example failed with 0xc000005e"}}},
		},
		{
			name:   "LsaSrv 40960 with 0xc000018b for this host's SPN is spn.missing, said to be read as klist's status",
			events: lsa40960("08:02:00", spn, noSAM, "0xc000018b"),
			want: []authWant{{cause: triage.SPNMissing, severity: triage.Critical, count: 1,
				evidence: []string{"failed with 0xc000018b, the status klist get reports when no account has the SPN", "Microsoft publishes no page for LsaSrv 40960"},
				steps:    []string{"setspn -S " + spn + ` CORP\svc_sql01`}}},
		},
		{
			name:   "LsaSrv 40960 about another host's SPN is ignored, as is one with a status nobody documents",
			events: lsa40960("08:02:30", other, noSAM, "0xc000018b") + lsa40960("08:02:40", spn, "Insufficient system resources exist to complete the API.", "0xc000009a"),
		},
		{
			name:   "LsaSrv 40961 alone shows nothing",
			events: lsa40961("08:03:00", "ldap/dc01.corp.example"),
		},
		{
			name:   "LsaSrv 40961 is attached to the DC finding another event shows, not lsa.unresponsive",
			events: netlogon5719("08:00:00", "5E0000C0", "There are currently no logon servers available to service the logon request.") + lsa40961("08:03:00", "ldap/dc01.corp.example"),
			want: []authWant{{cause: triage.DCUnreachable, severity: triage.Warning, count: 2,
				evidence: []string{"NETLOGON 5719): the computer could not set up a secure session with a domain controller (0xc000005e: there are currently no logon servers",
					"no authentication protocol was available to reach ldap/dc01.corp.example (the event's own words; Microsoft publishes no page for LsaSrv 40961)"}}},
		},
		{
			name:   "NETLOGON 5719 with 0xC00000E5 at a NetLogon restart is not a fault",
			events: netlogon5719("08:00:07.3", "E50000C0", "An internal error occurred."),
		},
		{
			name:   "NETLOGON 5721 and 3210 are one broken secure channel, not dc.unreachable",
			events: netlogon3210("08:00:05.1") + netlogon5721("08:00:06.2"),
			want: []authWant{{cause: triage.SecureChannelBroken, severity: triage.Warning, count: 2,
				summary: []string{"could not set up its secure channel: a domain controller refused it (2 events"},
				evidence: []string{"NETLOGON 3210): this computer could not authenticate with a domain controller",
					"NETLOGON 5721): the session setup failed because the domain controller did not have the account"},
				steps: []string{"nltest /sc_query:corp.example", "Test-ComputerSecureChannel -Repair", "nltest /sc_reset:corp.example"},
				links: []string{"https://learn.microsoft.com/troubleshoot/windows-server/windows-security/broken-trust-relationship-domain-joined-device-its-domain-secure-channel-issues"}}},
		},
		{
			name:     "17806 0x80090311 beside NETLOGON 3210 is the broken secure channel, with 18452 as its symptom",
			errorlog: sspiLines("08:15:01.11", "0x80090311", noAuth, "10.20.30.41", true) + sspiLines("08:15:03.40", "0x80090311", noAuth, "10.20.30.42", true),
			events:   netlogon3210("08:00:05.1"),
			want: []authWant{{cause: triage.SecureChannelBroken, severity: triage.Critical, count: 3,
				summary:  []string{"2 Windows logins to sqlhost01 failed because a domain controller refused the host's secure channel", "untrusted domain\" (18452) 2 times"},
				evidence: []string{"17806 SSPI handshake failed with 0x80090311", "NETLOGON 3210", "18452 Login failed"}}},
		},
		{
			name:   "Kerberos 4 and 3 for this host's SPN: wrong account, and 0x24 with its name and meaning; 0x19 is no failure",
			events: kerberos4("08:04:00", spn) + kerberos3("08:05:00", "0x24", "KRB_AP_ERR_BADMATCH", spn) + kerberos3("08:05:30", "0x19", "KDC_ERR_PREAUTH_REQUIRED", spn),
			want: []authWant{
				{cause: triage.SPNWrongAccount, severity: triage.Critical, count: 1,
					evidence: []string{"0x29 KRB_AP_ERR_MODIFIED: the server could not decrypt the ticket"}, steps: []string{"setspn -Q " + spn}},
				{cause: triage.KerberosTicketFailed, severity: triage.Critical, count: 1,
					summary:  []string{"0x24 KRB_AP_ERR_BADMATCH: the ticket and the authenticator do not match"},
					evidence: []string{"the KDC answered 0x24 KRB_AP_ERR_BADMATCH"}},
			},
		},
		{
			name:   "Kerberos Operational 100 is classified by its Kerberos code alone and says Microsoft does not document it; a non-Kerberos code is left out",
			events: operational(100, "09:00:00", spn, "7") + operational(101, "09:01:00", spn, "2148074242") + operational(100, "09:02:00", "HTTP/web01.corp.example", "7"),
			want: []authWant{{cause: triage.SPNMissing, severity: triage.Critical, count: 1,
				evidence: []string{"Microsoft-Windows-Kerberos/Operational log (Security-Kerberos 100): Kerberos error 0x7 KDC_ERR_S_PRINCIPAL_UNKNOWN", "event 100 is not documented by Microsoft"}}},
		},
		{
			name:   "LsaSrv 40961 for this host's SPN is context of the Kerberos finding",
			events: kerberos3("08:05:00", "0x7", "KDC_ERR_S_PRINCIPAL_UNKNOWN", spn) + lsa40961("08:05:01", spn),
			want: []authWant{{cause: triage.SPNMissing, severity: triage.Critical, count: 2,
				evidence: []string{"no authentication protocol was available to reach " + spn}}},
		},
		{
			name:     "17806 0x8009030C is sspi.logon_denied with the 18452 beside it as its symptom, and says what Microsoft does not",
			errorlog: sspiLines("08:15:01.11", "0x8009030c", denied, "10.20.30.41", true) + sspiLines("08:15:03.40", "0x8009030c", denied, "10.20.30.42", true),
			want: []authWant{{cause: triage.SSPILogonDenied, severity: triage.Warning, count: 2,
				summary: []string{"2 Windows logins to sqlhost01 failed because Windows on the host refused the clients' logon", "0x8009030c SEC_E_LOGON_DENIED (the logon failed)",
					"the SSPI Status Codes page calls the code obsolete", "event 4625", "(18452) 2 times"},
				evidence: []string{"18452 Login failed"},
				steps:    []string{"event ID 4625", "0xC000015B", "Access this computer from the network", "Deny access to this computer from the network"},
				links: []string{"https://learn.microsoft.com/previous-versions/windows/it-pro/windows-10/security/threat-protection/auditing/event-4625",
					"https://learn.microsoft.com/previous-versions/windows/it-pro/windows-10/security/threat-protection/security-policy-settings/access-this-computer-from-the-network"}}},
		},
		{
			name:     "17806 0x80090350 shows the SSPI page's meaning and its note, and says no DC reachability evidence was seen",
			errorlog: sspiLines("08:15:01.11", "0x80090350", downgrad, "10.20.30.41", false),
			want: []authWant{{cause: triage.SSPIHandshakeFailed, severity: triage.Warning, count: 1,
				summary: []string{"0x80090350 SEC_E_DOWNGRADE_DETECTED (the system detected a possible attempt to compromise security",
					"may simply mean no domain controller could be reached", "nothing in the evidence shows a domain controller not reached"}}},
		},
		{
			name:     "17806 0x80090350 beside LsaSrv 40960 STATUS_NO_LOGON_SERVERS carries it as corroboration",
			errorlog: sspiLines("08:15:01.11", "0x80090350", downgrad, "10.20.30.41", false),
			events:   lsa40960("08:14:00", "krbtgt/CORP.EXAMPLE", noLogon, "0xc000005e"),
			want: []authWant{
				{cause: triage.SSPIHandshakeFailed, severity: triage.Warning, count: 2,
					summary:  []string{"here the evidence does show domain controllers not reached (1 item below)"},
					evidence: []string{"LsaSrv 40960): authentication to krbtgt/CORP.EXAMPLE failed with 0xc000005e"}},
				{cause: triage.DCUnreachable, severity: triage.Warning, count: 1},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := authObservations(t, tt.errorlog, tt.events)
			got := applyRules(target, obs)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d findings %v; want %d", len(got), causes(got), len(tt.want))
			}
			for i, w := range tt.want {
				f := got[i]
				if f.Cause != w.cause || f.Severity != w.severity {
					t.Errorf("finding %d = %s/%s; want %s/%s", i, f.Cause, f.Severity, w.cause, w.severity)
				}
				for _, s := range w.summary {
					if !strings.Contains(f.Summary, s) {
						t.Errorf("finding %d summary %q lacks %q", i, f.Summary, s)
					}
				}
				if len(f.Evidence) != w.count {
					t.Errorf("finding %d has %d evidence items; want %d:\n%s", i, len(f.Evidence), w.count, evidenceTexts(f))
				}
				for _, s := range w.evidence {
					if !strings.Contains(evidenceTexts(f), s) {
						t.Errorf("finding %d evidence lacks %q:\n%s", i, s, evidenceTexts(f))
					}
				}
				for _, s := range w.steps {
					if !slices.ContainsFunc(f.Remediation, func(st triage.Step) bool {
						return strings.Contains(st.Text, s) || strings.Contains(st.Command, s)
					}) {
						t.Errorf("finding %d remediation %+v lacks %q", i, f.Remediation, s)
					}
				}
				for _, l := range w.links {
					if !slices.Contains(f.Links, l) {
						t.Errorf("finding %d links %v lack %s", i, f.Links, l)
					}
				}
			}
		})
	}
}

func evidenceTexts(f triage.Finding) string {
	var b strings.Builder
	for _, e := range f.Evidence {
		b.WriteString(e.Text + "\n")
	}
	return b.String()
}
