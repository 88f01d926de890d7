package diagnosis

import (
	"testing"

	"github.com/authtriage/authtriage/triage"
)

func TestNamedDC(t *testing.T) {
	netlogon := func(id int, text string) triage.LogEvent {
		e := winEv("System", "NETLOGON", id, "0xc0000022", "")
		e.Text = text
		return e
	}
	probes := &triage.DirectoryFacts{DCs: []triage.DCProbe{
		{Address: "DC2.corp.example:389", Err: "i/o timeout"},
		{Address: "dc1.corp.example:389"},
		{Address: "dc3.corp.example:636", KDCError: "connection refused"},
		{Address: "dc4.corp.example:636", Err: "x509", Cert: "expired"},
	}}
	tests := []struct {
		name  string
		cause triage.CauseID
		obs   triage.Observations
		want  string
	}{
		{"the DCs that did not answer the checker", triage.DCUnreachable, triage.Observations{Directory: probes}, "dc2.corp.example, dc3.corp.example"},
		{"the DCs whose certificate failed", triage.DCCertificate, triage.Observations{Directory: probes}, "dc4.corp.example"},
		{"no directory, no DC", triage.DCUnreachable, triage.Observations{}, ""},
		{"a name holding the separator is not taken", triage.DCUnreachable, triage.Observations{Directory: &triage.DirectoryFacts{DCs: []triage.DCProbe{
			{Address: "dc5.corp.example, dc6.corp.example:389", Err: "i/o timeout"},
			{Address: "dc7.corp.example:389", Err: "i/o timeout"},
		}}}, "dc7.corp.example"},
		{"NETLOGON 3210 names the DC", triage.SecureChannelBroken, triage.Observations{Logs: []triage.LogEvent{
			netlogon(3210, `This computer could not authenticate with \\dc01.corp.example, a Windows domain controller for domain CORP, and therefore this computer might deny logon requests.`)}}, "dc01.corp.example"},
		{"a hostile name is not taken", triage.SecureChannelBroken, triage.Observations{Logs: []triage.LogEvent{
			netlogon(3210, "This computer could not authenticate with \\\\dc01$(reboot)\u202e.corp, a Windows domain controller")}}, ""},
		{"NETLOGON 5719 names only the domain", triage.DCUnreachable, triage.Observations{Logs: []triage.LogEvent{
			netlogon(5719, "This computer was not able to set up a secure session with a domain controller in domain CORP")}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := namedDC(tt.cause, target, tt.obs); got != tt.want {
				t.Errorf("namedDC = %q; want %q", got, tt.want)
			}
		})
	}
}
