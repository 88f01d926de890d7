package diagnosis

import (
	"strings"
	"testing"

	"github.com/authtriage/authtriage/triage"
)

// TestRunAsDiscovered: the account the instances told discovery they run as counts as
// SQL Server's word, as a SQL login's does: after the ERRORLOG's and the sql check's,
// for the instances the target asks about, and only when they agree.
func TestRunAsDiscovered(t *testing.T) {
	facts := &triage.InstanceFacts{Instances: []triage.InstanceView{
		{Name: "SALES", ServiceAccount: `CORP\svc_sales`},
		{Name: "HR", ServiceAccount: `CORP\svc_hr`},
	}}
	sales := triage.Target{Host: "sqlhost01", FQDN: "sqlhost01.corp.example", Instances: []triage.Instance{{Name: "SALES"}}, ServiceAccount: `CORP\svc_old`}
	tests := []struct {
		name     string
		t        triage.Target
		obs      triage.Observations
		reported string
		check    string
	}{
		{"the asked instance's account", sales, triage.Observations{Instances: facts}, `CORP\svc_sales`, "instances"},
		{"instances on two accounts", triage.Target{Host: "sqlhost01", FQDN: "sqlhost01.corp.example"}, triage.Observations{Instances: facts}, "", ""},
		{"a SQL login's first", sales, triage.Observations{Instances: facts,
			SQL: []triage.SQLLogin{{Instance: "SALES", Address: "sqlhost01.corp.example:50177", OK: true, ServiceAccount: `CORP\svc_login`}}}, `CORP\svc_login`, "sql"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runAsOf(tt.t, tt.obs)
			if r.reported != tt.reported || r.evidence.Check != tt.check {
				t.Fatalf("runAsOf: reported %q by %q; want %q by %q", r.reported, r.evidence.Check, tt.reported, tt.check)
			}
			if tt.check == "instances" && (!r.differ || !strings.Contains(r.evidence.Text, "sys.dm_server_services on SALES: service_account CORP\\svc_sales")) {
				t.Errorf("runAsOf = %+v; want it to differ from the configured account, with the instance's word", r)
			}
		})
	}
}
