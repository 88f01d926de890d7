package agent_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/agent"
	"github.com/authtriage/authtriage/triage"
)

func TestDecodeLine(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		want    agent.Line
		wantErr string
	}{
		{name: "end marker", line: `{"done":true}`, want: agent.Line{Done: true}},
		{name: "check with observations",
			line: `{"check":{"name":"errorlog","status":"pass","duration_ms":12,"detail":"ERRORLOG"},"observations":{"Logs":[{"ID":17806,"Count":2}]}}`,
			want: agent.Line{
				Check:        &triage.CheckResult{Name: "errorlog", Status: triage.CheckPass, Duration: 12 * time.Millisecond, Detail: "ERRORLOG"},
				Observations: &triage.Observations{Logs: []triage.LogEvent{{ID: 17806, Count: 2}}},
			}},
		{name: "fields a newer agent adds are ignored",
			line: `{"check":{"name":"spn","status":"skipped","detail":"no directory","hint":"x"},"trace":"abc"}`,
			want: agent.Line{Check: &triage.CheckResult{Name: "spn", Status: triage.CheckSkipped, Detail: "no directory"}}},
		{name: "trailing whitespace", line: "{\"done\":true}\r\n", want: agent.Line{Done: true}},
		{name: "empty", line: ``, wantErr: "bad line"},
		{name: "not JSON", line: `done`, wantErr: "bad line"},
		{name: "two values", line: `{"done":true}{"done":true}`, wantErr: "bad line"},
		{name: "neither", line: `{}`, wantErr: "neither a check nor the end marker"},
		{name: "both", line: `{"done":true,"check":{"name":"spn","status":"pass"}}`, wantErr: "end marker carries a check"},
		{name: "no name", line: `{"check":{"status":"pass"}}`, wantErr: "without a name"},
		{name: "unknown status", line: `{"check":{"name":"spn","status":"great"}}`, wantErr: `unknown status "great"`},
		{name: "negative duration", line: `{"check":{"name":"spn","status":"pass","duration_ms":-1}}`, wantErr: "duration out of range"},
		{name: "absurd duration", line: `{"check":{"name":"spn","status":"pass","duration_ms":99999999999999}}`, wantErr: "duration out of range"},
		{name: "wrong type", line: `{"check":{"name":"spn","status":"pass"},"observations":{"Logs":7}}`, wantErr: "bad line"},
		{name: "a trend of a day",
			line: `{"check":{"name":"errorlog","status":"pass"},"observations":{"Trend":{"end":"2026-11-24T14:54:03Z","hours":[{"start":"2026-11-24T14:00:00Z","sspi_handshake":63,"untrusted_domain":63,"login_failed":1}]}}}`,
			want: agent.Line{
				Check: &triage.CheckResult{Name: "errorlog", Status: triage.CheckPass},
				Observations: &triage.Observations{Trend: &triage.Trend{End: time.Date(2026, 11, 24, 14, 54, 3, 0, time.UTC),
					Hours: []triage.HourCount{{Start: time.Date(2026, 11, 24, 14, 0, 0, 0, time.UTC), SSPIHandshake: 63, UntrustedDomain: 63, LoginFailed: 1}}}},
			}},
		{name: "a trend longer than a day", line: `{"check":{"name":"errorlog","status":"pass"},"observations":{"Trend":{"hours":[` +
			strings.Repeat(`{},`, triage.TrendHours) + `{}]}}}`, wantErr: "trend: 26 hours; at most 25"},
		{name: "a trend with a negative count", line: `{"check":{"name":"errorlog","status":"pass"},"observations":{"Trend":{"end":"2026-11-24T14:54:03Z","hours":[{"start":"2026-11-24T14:00:00Z","sspi_handshake":-5}]}}}`,
			wantErr: "negative count"},
		{name: "a trend's hours out of order", line: `{"check":{"name":"errorlog","status":"pass"},"observations":{"Trend":{"end":"2026-11-24T14:54:03Z","hours":[{"start":"2026-11-24T14:00:00Z"},{"start":"2026-11-24T13:00:00Z"}]}}}`,
			wantErr: "does not follow"},
		{name: "a trend's hour off the hour", line: `{"check":{"name":"errorlog","status":"pass"},"observations":{"Trend":{"end":"2026-11-24T14:54:03Z","hours":[{"start":"2026-11-24T14:30:00Z"}]}}}`,
			wantErr: "not on the hour"},
		{name: "instances",
			line: `{"check":{"name":"instances","status":"pass"},"observations":{"Instances":{"instances":[{"name":"SALES","ports":[{"source":"browser","port":50177},{"source":"registry","dynamic":true}]},` +
				`{"name":"BAD;rm"}],"listeners":[{"name":"ag` + "\u202e" + `1","fqdn":"ag1.corp.example","port":1433,"replicas":[{"server":"SQL1","fqdn":"sql1 .corp.example","error":"` + strings.Repeat("e", 1200) + `"}]},{"name":"bad;x","port":1433}],` +
				`"names":{"asked":"sqlhost01.corp.example","chain":["a b","sql-a.corp.example"]}}}}`,
			want: agent.Line{
				Check: &triage.CheckResult{Name: "instances", Status: triage.CheckPass},
				Observations: &triage.Observations{Instances: &triage.InstanceFacts{
					Instances: []triage.InstanceView{{Name: "SALES", Ports: []triage.PortClaim{{Source: triage.PortBrowser, Port: 50177}, {Source: triage.PortRegistry, Dynamic: true}}}},
					Listeners: []triage.Listener{{FQDN: "ag1.corp.example", Port: 1433, Replicas: []triage.Replica{{Server: "SQL1", Err: strings.Repeat("e", 1000)}}}},
					Names:     &triage.NameFacts{Asked: "sqlhost01.corp.example", Chain: []string{"sql-a.corp.example"}},
					Notes: []string{`an instance named "BAD;rm" was left out: not a valid instance name`,
						`a listener named "bad;x" was left out: neither its name nor its FQDN is a host name`},
				}},
			}},
		{name: "instances: a port out of range", line: `{"check":{"name":"instances","status":"pass"},"observations":{"Instances":{"instances":[{"name":"SALES","ports":[{"source":"browser","port":70000}]}]}}}`,
			wantErr: "port 70000 is not from 0 to 65535"},
		{name: "instances: a listener's port out of range", line: `{"check":{"name":"instances","status":"pass"},"observations":{"Instances":{"listeners":[{"name":"ag1","port":-1}]}}}`,
			wantErr: "port -1 is not from 0 to 65535"},
		{name: "instances: an unknown source", line: `{"check":{"name":"instances","status":"pass"},"observations":{"Instances":{"instances":[{"name":"SALES","ports":[{"source":"guess","port":1}]}]}}}`,
			wantErr: `unknown port source "guess"`},
		{name: "instances: too many", line: `{"check":{"name":"instances","status":"pass"},"observations":{"Instances":{"instances":[` +
			strings.Repeat(`{"name":"A"},`, 64) + `{"name":"A"}]}}}`, wantErr: "65 instances; at most 64"},
		{name: "instances: a negative count", line: `{"check":{"name":"instances","status":"pass"},"observations":{"Instances":{"connections":[{"instance":"A","auth_scheme":"NTLM","client":"x","count":-2}]}}}`,
			wantErr: "negative count"},
		{name: "a trend ending outside its newest hour", line: `{"check":{"name":"errorlog","status":"pass"},"observations":{"Trend":{"end":"2026-11-24T18:54:03Z","hours":[{"start":"2026-11-24T14:00:00Z"}]}}}`,
			wantErr: "not in the newest hour"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := agent.DecodeLine([]byte(tt.line))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("DecodeLine(%q) = %+v, %v; want an error containing %q", tt.line, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeLine(%q) = %v", tt.line, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DecodeLine(%q) (-want +got):\n%s", tt.line, diff)
			}
		})
	}
}

// TestLineRoundTrip: observations of every kind survive the wire.
func TestLineRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 24, 9, 14, 2, 0, time.FixedZone("", -5*3600))
	obs := &triage.Observations{
		Logs:   logResult("x", 17806).Obs.Logs,
		Server: &triage.ServerInfo{StartedAt: at, Version: "16.0", ServiceAccount: `CORP\svc_sql`, AuthMode: "MIXED", Instance: "MSSQLSERVER"},
		Directory: &triage.DirectoryFacts{
			ReadAt: at, NetBIOS: "CORP", RequiredSPNs: []string{"MSSQLSvc/sql01.corp.example:1433"},
			SPNs:           []triage.SPNOwners{{SPN: "MSSQLSvc/sql01.corp.example:1433", Owners: []triage.Account{{DN: "CN=svc", SID: "S-1-5-21-1", UAC: 0x200, EncTypes: triage.EncTypesUnset, AccountExpires: at}}}},
			ServiceAccount: &triage.Account{DN: "CN=svc", SPNs: []string{"MSSQLSvc/x"}}, MaxPwdAge: 42 * 24 * time.Hour,
			DCs:     []triage.DCProbe{{Address: "dc1:389", Via: "config", Latency: 3 * time.Millisecond, KDCError: "refused"}},
			Clocks:  []triage.ClockReading{{Source: "dc1", Skew: -7 * time.Minute}},
			Tickets: []triage.TicketResult{{SPN: "MSSQLSvc/x", Code: 7, CodeName: "KDC_ERR_S_PRINCIPAL_UNKNOWN"}},
			DNS:     &triage.DNSFacts{FQDN: "sql01.corp.example", Addresses: []string{"10.0.0.5"}, ReverseFor: map[string][]string{"10.0.0.5": {"sql01.corp.example."}}},
		},
		SQL:    []triage.SQLLogin{{Instance: "MSSQLSERVER:1433", Number: 18456, State: 8, ServerTime: at, ReadAt: at}},
		Agents: []triage.AgentFacts{{Agent: "east", URL: "https://east:8443", Err: "refused", Missing: []string{"sql"}}},
		Instances: &triage.InstanceFacts{
			Instances: []triage.InstanceView{{Name: "SALES", Ports: []triage.PortClaim{{Source: triage.PortListening, Port: 50177}}, ServiceAccount: `CORP\svc_sql`}},
			Listeners: []triage.Listener{{Name: "ag1", FQDN: "ag1.corp.example", Port: 1433, Source: "inventory, sql",
				Replicas: []triage.Replica{{Server: `SQL1\SALES`, FQDN: "sql1.corp.example", ServiceAccount: `CORP\svc_sql`, Addresses: []string{"10.0.0.1"}}}}},
			Names:       &triage.NameFacts{Asked: "sql01.corp.example", Chain: []string{"sql-a.corp.example"}, Addresses: []string{"10.0.0.5"}},
			Connections: []triage.ConnectionGroup{{Instance: "SALES", AuthScheme: "NTLM", Client: "10.0.0.9", Count: 3}},
			Failures:    []triage.RingBufferEvent{{Instance: "SALES", Buffer: "RING_BUFFER_SECURITY_ERROR", Code: "0x8009030c", Count: 2, First: at.UTC(), Last: at.UTC()}},
			Notes:       []string{"VIEW SERVER STATE permission was denied on SALES"},
		},
		Trend: &triage.Trend{End: at.UTC(), Hours: []triage.HourCount{
			{Start: at.UTC().Truncate(time.Hour).Add(-time.Hour), LoginFailed: 2},
			{Start: at.UTC().Truncate(time.Hour), SSPIHandshake: 47, UntrustedDomain: 47},
		}},
	}
	want := agent.Line{Check: &triage.CheckResult{Name: "all", Status: triage.CheckPass, Duration: 1500 * time.Millisecond, Detail: "everything"}, Observations: obs}
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	got, err := agent.DecodeLine(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// FuzzDecodeLine: DecodeLine never panics, and a line it accepts encodes to one it
// decodes to the same value.
func FuzzDecodeLine(f *testing.F) {
	for _, s := range []string{
		`{"done":true}`,
		`{"check":{"name":"errorlog","status":"pass","duration_ms":12,"detail":"ERRORLOG"},"observations":{"Logs":[{"ID":17806,"Count":2,"First":"2026-11-24T09:14:02-05:00"}]}}`,
		`{"check":{"name":"dns","status":"error","detail":"x"},"observations":{"Directory":{"DNS":{"ReverseFor":{"10.0.0.5":null}}}}}`,
		`{"check":{"name":"spn","status":"skipped","detail":"no directory"}}`,
		`{"check":{"name":"errorlog","status":"pass"},"observations":{"Trend":{"end":"2026-11-24T14:54:03Z","hours":[{"start":"2026-11-24T14:00:00Z","login_failed":1}]}}}`,
		`{"check":{"name":"a","status":"pass"},"observations":{"Server":{"StartedAt":"0001-01-01T00:00:00Z"},"Agents":[{"Missing":[]}]}}`,
		`{"check":{"name":"instances","status":"pass"},"observations":{"Instances":{"instances":[{"name":"SALES","ports":[{"source":"browser","port":50177}],"nodes":["n1","x y"]}],"listeners":[{"name":"ag","replicas":[{"server":"S","error":"e"}]}],"names":{"asked":"h.example","chain":["a.example"]},"notes":["n"]}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := agent.DecodeLine(b)
		if err != nil {
			return
		}
		enc, err := json.Marshal(l)
		if err != nil {
			t.Fatalf("Marshal(%+v) = %v", l, err)
		}
		again, err := agent.DecodeLine(enc)
		if err != nil {
			t.Fatalf("DecodeLine(%s) = %v; it decoded before encoding", enc, err)
		}
		if diff := cmp.Diff(l, again); diff != "" {
			t.Errorf("round trip of %q (-first +second):\n%s", b, diff)
		}
	})
}
