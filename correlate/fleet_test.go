package correlate_test

import (
	"fmt"
	"time"

	"github.com/authtriage/authtriage/diagnosis"
	"github.com/authtriage/authtriage/triage"
)

// t0 is when the fleets' trouble starts, in the zone the hosts log in.
var t0 = time.Date(2026, 11, 24, 9, 14, 0, 0, time.FixedZone("", 4*3600))

// host returns the target of fleet host n of a group ("sqlprod07").
func host(group string, n int) triage.Target {
	name := fmt.Sprintf("%s%02d", group, n)
	return triage.Target{
		Host: name, FQDN: name + ".corp.example",
		Instances:      []triage.Instance{{Port: 1433}},
		ServiceAccount: `CORP\svc_` + name,
	}
}

// report runs every diagnosis rule over obs, as the Runner does, and returns t's
// report of a triage started at start.
func report(t triage.Target, obs triage.Observations, start time.Time) triage.Report {
	var fs []triage.Finding
	for _, r := range diagnosis.Rules() {
		fs = append(fs, r.Apply(t, obs)...)
	}
	return triage.Report{ID: "r-" + t.Host, Host: t.Host, StartedAt: start, Findings: fs}
}

// dcOutage is what a host whose domain controller went away at at logs: SQL Server's
// 17806 with SEC_E_NO_AUTHENTICATING_AUTHORITY and the 18452 written with them, and
// NETLOGON 5719; the checker's probe of the domain's DCs finds dc2 not answering.
func dcOutage(at time.Time, clients ...string) triage.Observations {
	return triage.Observations{
		Logs: []triage.LogEvent{
			{Check: "errorlog", Source: triage.SourceErrorlog, Log: "ERRORLOG", ID: 17806, Code: "0x80090311", State: 14,
				Count: 42, First: at, Last: at.Add(6 * time.Minute), Clients: clients,
				Text: "SSPI handshake failed with error code 0x80090311, state 14 while establishing a connection with integrated security; the connection has been closed. Reason: AcceptSecurityContext failed. The operating system error code indicates the cause of failure. No authority could be contacted for authentication."},
			{Check: "errorlog", Source: triage.SourceErrorlog, Log: "ERRORLOG", ID: 18452, State: 1,
				Count: 42, First: at, Last: at.Add(6 * time.Minute), Clients: clients,
				Text: "Login failed. The login is from an untrusted domain and cannot be used with Integrated authentication."},
			{Check: "eventlog", Source: triage.SourceEventlog, Log: "System", Provider: "NETLOGON", ID: 5719, Code: "0xc000005e", State: -1,
				Count: 3, First: at.Add(2 * time.Second), Last: at.Add(5 * time.Minute),
				Text: "This computer was not able to set up a secure session with a domain controller in domain CORP due to the following: There are currently no logon servers available to service the logon request."},
		},
		Directory: &triage.DirectoryFacts{
			NetBIOS: "CORP", ReadAt: at.Add(7 * time.Minute),
			DCs: []triage.DCProbe{
				{Address: "dc1.corp.example:389", Via: "SRV _ldap._tcp.dc._msdcs.corp.example", Latency: 3 * time.Millisecond},
				{Address: "dc2.corp.example:389", Via: "SRV _ldap._tcp.dc._msdcs.corp.example", Err: "dial tcp 10.0.0.2:389: i/o timeout", KDCError: "dial tcp 10.0.0.2:88: i/o timeout"},
			},
		},
	}
}

// lockedOut is what the directory shows of a service account locked out at at.
func lockedOut(sam string, at time.Time) triage.Observations {
	return triage.Observations{
		Directory: &triage.DirectoryFacts{
			NetBIOS: "CORP", ReadAt: at.Add(2 * time.Minute),
			ServiceAccount: &triage.Account{
				DN: "CN=" + sam + ",OU=Service Accounts,DC=corp,DC=example", SID: "S-1-5-21-1004336348-1177238915-682003330-" + fmt.Sprint(len(sam)*1000),
				SAMAccountName: sam, Domain: "corp.example", NetBIOSDomain: "CORP", Class: "user",
				UAC: triage.UACNormalAccount | triage.UACLockout, LockoutTime: at, EncTypes: 0x18,
			},
		},
	}
}
