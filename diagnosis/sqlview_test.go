package diagnosis

import (
	"testing"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// viewObs returns observations with SQL Server's own view of its logins and, when
// registered, the instance's TCP SPN on the service account.
func viewObs(registered bool, conns []triage.ConnectionGroup, failures ...triage.RingBufferEvent) triage.Observations {
	owners := []triage.Account{agAccount("svc_sql01", "user")}
	if !registered {
		owners = nil
	}
	return triage.Observations{
		Directory: &triage.DirectoryFacts{NetBIOS: "CORP", RequiredSPNs: []string{"MSSQLSvc/sqlhost01.corp.example:1433"},
			SPNs: []triage.SPNOwners{{SPN: "MSSQLSvc/sqlhost01.corp.example:1433", Owners: owners}},
			DNS:  &triage.DNSFacts{FQDN: "sqlhost01.corp.example", Addresses: []string{"10.0.1.11"}}},
		Instances: &triage.InstanceFacts{Connections: conns, Failures: failures},
	}
}

// conn is one row of the grouped sys.dm_exec_connections.
func conn(scheme, client string, n int) triage.ConnectionGroup {
	tr := "TCP"
	if client == "<local machine>" {
		tr = "Shared memory"
	}
	return triage.ConnectionGroup{Instance: "MSSQLSERVER:1433", AuthScheme: scheme, Transport: tr, Client: client, Count: n}
}

// ring is a group of ring-buffer records of the last 41 minutes.
func ring(buffer, api, code string, sspiMillis, n int) triage.RingBufferEvent {
	return triage.RingBufferEvent{Instance: "MSSQLSERVER", Buffer: buffer, API: api, CallingAPI: "SNISecAcceptContext", Code: code,
		SSPIMillis: sspiMillis, Count: n, First: t0, Last: t0.Add(41 * time.Minute)}
}

func TestSQLView(t *testing.T) {
	remote := []triage.ConnectionGroup{
		conn("NTLM", "10.0.0.7", 5), conn("NTLM", "10.0.0.8", 3), conn("NTLM", "<local machine>", 4),
		conn("NTLM", "127.0.0.1", 1), conn("NTLM", "10.0.1.11", 2), conn("KERBEROS", "10.0.0.9", 10), conn("SQL", "10.0.0.10", 7),
	}
	const sec = "RING_BUFFER_SECURITY_ERROR"
	tests := []struct {
		name string
		obs  triage.Observations
		want []want
	}{
		{
			name: "remote NTLM where the SPN is registered: counted like the ERRORLOG, local connections left out",
			obs:  viewObs(true, remote),
			want: []want{{cause: triage.KerberosNTLMFallback, severity: triage.Warning,
				summary:  []string{"8 Windows connections to sqlhost01 from 2 remote clients were authenticated with NTLM", "10 other connections used Kerberos"},
				commands: []string{"setspn -Q MSSQLSvc/sqlhost01.corp.example:1433"}, evidence: 1}},
		},
		{
			name: "only Shared Memory, loopback and the host's own address: NTLM is expected",
			obs:  viewObs(true, []triage.ConnectionGroup{conn("NTLM", "<local machine>", 40), conn("NTLM", "::1", 2), conn("NTLM", "10.0.1.11", 1)}),
		},
		{
			name: "SPN not registered: the SPN finding says why and carries the remote NTLM connections, no second finding",
			obs:  viewObs(false, remote),
			want: []want{{cause: triage.SPNMissing, severity: triage.Critical, evidence: 2}},
		},
		{
			name: "the checker's own NTLM login and the connections: one finding",
			obs: func() triage.Observations {
				o := viewObs(true, remote)
				o.SQL = []triage.SQLLogin{{Instance: "MSSQLSERVER:1433", Address: "sqlhost01.corp.example:1433", OK: true, AuthScheme: "NTLM"}}
				return o
			}(),
			want: []want{{cause: triage.KerberosNTLMFallback, severity: triage.Warning, evidence: 2}},
		},
		{
			name: "ring buffer 0x80090311 after the ERRORLOG cycled: dc.unreachable",
			obs:  viewObs(true, nil, ring(sec, "AcceptSecurityContext", "0x80090311", 0, 4)),
			want: []want{{cause: triage.DCUnreachable, severity: triage.Critical,
				summary: []string{"4 Windows logins to sqlhost01", "0x80090311"}, evidence: 1}},
		},
		{
			name: "ring buffer and ERRORLOG with the same code: one finding, the ring buffer corroborates",
			obs: func() triage.Observations {
				o := viewObs(true, nil, ring(sec, "AcceptSecurityContext", "0x80090311", 0, 4))
				o.Logs = []triage.LogEvent{logEv(17806, "0x80090311", 14, 42, "10.0.0.5")}
				return o
			}(),
			want: []want{{cause: triage.DCUnreachable, severity: triage.Critical, summary: []string{"42 Windows logins"}, evidence: 2}},
		},
		{
			name: "ring buffer SEC_E_LOGON_DENIED, upper-case code",
			obs:  viewObs(true, nil, ring(sec, "AcceptSecurityContext", "0x8009030C", 0, 3)),
			want: []want{{cause: triage.SSPILogonDenied, severity: triage.Warning, summary: []string{"3 Windows logins"}, evidence: 1}},
		},
		{
			name: "ring buffer error that is not an SSPI status: nothing",
			obs:  viewObs(true, nil, ring(sec, "ImpersonateSecurityContext", "0x139f", 0, 3)),
		},
		{
			name: "connectivity ring buffer with slow SSPI: lsa.unresponsive warning",
			obs:  viewObs(true, nil, ring("RING_BUFFER_CONNECTIVITY", "", "", 4200, 6), ring("RING_BUFFER_CONNECTIVITY", "", "", 12, 90)),
			want: []want{{cause: triage.LSAUnresponsive, severity: triage.Warning,
				summary: []string{"6 logins to sqlhost01 spent up to 4200 ms in SSPI processing"}, evidence: 1}},
		},
		{
			name: "slow SSPI in the ring buffer corroborates 17806 0x80090304",
			obs: func() triage.Observations {
				o := viewObs(true, nil, ring("RING_BUFFER_CONNECTIVITY", "", "", 4200, 6))
				o.Logs = []triage.LogEvent{logEv(17806, "0x80090304", 14, 3)}
				return o
			}(),
			want: []want{{cause: triage.LSAUnresponsive, severity: triage.Critical, evidence: 2}},
		},
		{
			name: "ring buffer 0x80090304 and slow 17830: one finding with both",
			obs: func() triage.Observations {
				o := viewObs(true, nil, ring(sec, "AcceptSecurityContext", "0x80090304", 0, 2))
				slow := logEv(17830, "0x2746", -1, 4, "10.0.0.9")
				slow.Millis = 5012
				o.Logs = []triage.LogEvent{slow}
				return o
			}(),
			want: []want{{cause: triage.LSAUnresponsive, severity: triage.Critical, evidence: 2}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := applyRules(target, tt.obs)
			checkFindings(t, got, tt.want)
			if len(got) > 0 && (tt.want[0].cause == triage.KerberosNTLMFallback || tt.want[0].cause == triage.SPNMissing) {
				var ev triage.Evidence
				for _, e := range got[0].Evidence {
					if e.Source == triage.SourceSQL && e.Count > 0 {
						ev = e
					}
				}
				if ev.Count != 8 || len(ev.Clients) != 2 || ev.Clients[0] != "10.0.0.7" {
					t.Errorf("connections evidence %+v; want 8 connections from 10.0.0.7 and 10.0.0.8", ev)
				}
			}
		})
	}
}

// TestSQLViewNames: remote NTLM through a listener or an alias whose SPN is on no
// account is that fault's, not a kerberos.ntlm_fallback pointing at the host's SPN;
// a client on the host that comes through a listener's address is not remote.
func TestSQLViewNames(t *testing.T) {
	remote := []triage.ConnectionGroup{conn("NTLM", "10.0.0.7", 5)}
	probe := func(o triage.Observations, kind triage.ProbeKind, spn, name string, owners ...triage.Account) triage.Observations {
		o.Directory.Probes = append(o.Directory.Probes, triage.SPNProbe{SPNOwners: triage.SPNOwners{SPN: spn, Owners: owners}, Kind: kind, For: name})
		return o
	}
	svc := agAccount("svc_sql01", "user")
	tests := []struct {
		name    string
		target  triage.Target
		obs     triage.Observations
		want    triage.CauseID // a finding that must be there; "" for none
		fallout bool           // whether kerberos.ntlm_fallback must be there
	}{
		{
			name:   "listener SPN on no account: listener.spn_missing alone",
			target: agTarget(`CORP\svc_sql01`, `CORP\svc_sql01`, nil),
			obs:    probe(viewObs(true, remote), triage.ProbeListener, agSPN, "ag1.corp.example"),
			want:   triage.ListenerSPNMissing,
		},
		{
			name:   "alias SPN on no account: no ntlm_fallback naming the host's SPN",
			target: target,
			obs:    probe(viewObs(true, remote), triage.ProbeAlias, "MSSQLSvc/sqlprod.corp.example:1433", "sqlprod.corp.example"),
		},
		{
			name:    "listener SPN on the replicas' account: the NTLM is unexplained, ntlm_fallback",
			target:  agTarget(`CORP\svc_sql01`, `CORP\svc_sql01`, nil),
			obs:     probe(viewObs(true, remote), triage.ProbeListener, agSPN, "ag1.corp.example", svc),
			want:    triage.KerberosNTLMFallback,
			fallout: true,
		},
		{
			name:   "a client on the host through the listener's address (the target's listener) is local",
			target: agTarget(`CORP\svc_sql01`, `CORP\svc_sql01`, nil),
			obs:    viewObs(true, []triage.ConnectionGroup{conn("NTLM", "10.0.1.50", 4)}),
		},
		{
			name:   "a client on the host through the listener's address (discovery's listener) is local",
			target: target,
			obs: func() triage.Observations {
				o := viewObs(true, []triage.ConnectionGroup{conn("NTLM", "10.0.2.50", 4)})
				o.Instances.Listeners = []triage.Listener{{Name: "ag1", IPs: []string{"10.0.1.50", "10.0.2.50"}}}
				return o
			}(),
		},
		{
			name:    "another address is still remote",
			target:  agTarget(`CORP\svc_sql01`, `CORP\svc_sql01`, nil),
			obs:     viewObs(true, []triage.ConnectionGroup{conn("NTLM", "10.0.1.51", 4)}),
			want:    triage.KerberosNTLMFallback,
			fallout: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := applyRules(tt.target, tt.obs)
			has := func(c triage.CauseID) bool {
				for _, f := range got {
					if f.Cause == c {
						return true
					}
				}
				return false
			}
			if tt.want != "" && !has(tt.want) {
				t.Errorf("findings %v lack %s", causes(got), tt.want)
			}
			if has(triage.KerberosNTLMFallback) != tt.fallout {
				t.Errorf("findings %v: kerberos.ntlm_fallback present %v; want %v", causes(got), !tt.fallout, tt.fallout)
			}
		})
	}
}

// TestSQLViewRingWhen: a finding resting on the ring buffer alone says when its
// failures happened, as one resting on the ERRORLOG does; a group without a time is
// not a current failure.
func TestSQLViewRingWhen(t *testing.T) {
	const sec = "RING_BUFFER_SECURITY_ERROR"
	untimed := func(r triage.RingBufferEvent) triage.RingBufferEvent {
		r.First, r.Last = time.Time{}, time.Time{}
		return r
	}
	tests := []struct {
		name string
		obs  triage.Observations
		want []want
	}{
		{
			name: "security errors alone: the summary gives first and last",
			obs:  viewObs(true, nil, ring(sec, "AcceptSecurityContext", "0x80090311", 0, 4)),
			want: []want{{cause: triage.DCUnreachable, severity: triage.Critical,
				summary: []string{"from 2026-11-24 09:00:00", "to 09:41:00"}, evidence: 1}},
		},
		{
			name: "security errors without a time: nothing",
			obs:  viewObs(true, nil, untimed(ring(sec, "AcceptSecurityContext", "0x80090311", 0, 4))),
		},
		{
			name: "slow SSPI logins without a time: nothing",
			obs:  viewObs(true, nil, untimed(ring("RING_BUFFER_CONNECTIVITY", "", "", 4200, 6))),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkFindings(t, applyRules(target, tt.obs), tt.want)
		})
	}
}
