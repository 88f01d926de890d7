package triage_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/authtriage/authtriage/triage"
)

func TestValidHostName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"sqlhost01", true},
		{"sqlhost01.corp.example", true},
		{"SQL-01.Corp.Example", true},
		{"", false},
		{"-sql", false},
		{"sql-", false},
		{"sql..corp", false},
		{"sql.corp.", false},
		{"sql01)(cn=*", false},
		{"*", false},
		{"sql01;rm -rf /", false},
		{"sql\x00host", false},
		{"sqlhöst", false},
		{strings.Repeat("a", 64), false},
		{strings.Repeat("a.", 127) + "a", false},
	}
	for _, tt := range tests {
		err := triage.ValidHostName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidHostName(%q) = %v; want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestParseInstance(t *testing.T) {
	tests := []struct {
		in   string
		want triage.Instance
		ok   bool
	}{
		{"SALES", triage.Instance{Name: "SALES"}, true},
		{"SALES:50123", triage.Instance{Name: "SALES", Port: 50123}, true},
		{":1433", triage.Instance{Port: 1433}, true},
		{"MSSQLSERVER:1433", triage.Instance{Name: "MSSQLSERVER", Port: 1433}, true},
		{"", triage.Instance{}, false},
		{"SALES:0", triage.Instance{}, false},
		{"SALES:70000", triage.Instance{}, false},
		{"1SALES", triage.Instance{}, false},
		{"SALES*", triage.Instance{}, false},
		{"AVERYLONGINSTANCENAME", triage.Instance{}, false},
	}
	for _, tt := range tests {
		got, err := triage.ParseInstance(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseInstance(%q) = %+v, %v; want %+v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestRequiredSPNs(t *testing.T) {
	tests := []struct {
		name string
		t    triage.Target
		want []string
	}{
		{"default instance", triage.Target{FQDN: "sql01.corp.example", Instances: []triage.Instance{{Port: 1433}}},
			[]string{"MSSQLSvc/sql01.corp.example:1433", "MSSQLSvc/sql01.corp.example"}},
		{"named instance with port", triage.Target{FQDN: "sql01.corp.example", Instances: []triage.Instance{{Name: "SALES", Port: 50123}}},
			[]string{"MSSQLSvc/sql01.corp.example:50123", "MSSQLSvc/sql01.corp.example:SALES"}},
		{"named instance on a dynamic port", triage.Target{FQDN: "sql01.corp.example", Instances: []triage.Instance{{Name: "SALES"}}},
			[]string{"MSSQLSvc/sql01.corp.example:SALES"}},
		{"default instance without a port is on 1433", triage.Target{FQDN: "sql01.corp.example", Instances: []triage.Instance{{Name: "MSSQLSERVER"}}},
			[]string{"MSSQLSvc/sql01.corp.example:1433", "MSSQLSvc/sql01.corp.example"}},
		{"TCP forms first", triage.Target{FQDN: "sql01.corp.example", Instances: []triage.Instance{{Name: "SALES", Port: 50123}, {Port: 1433}}},
			[]string{"MSSQLSvc/sql01.corp.example:50123", "MSSQLSvc/sql01.corp.example:1433", "MSSQLSvc/sql01.corp.example:SALES", "MSSQLSvc/sql01.corp.example"}},
		{"no instances means the default on 1433", triage.Target{FQDN: "sql01.corp.example"},
			[]string{"MSSQLSvc/sql01.corp.example:1433", "MSSQLSvc/sql01.corp.example"}},
		{"no FQDN", triage.Target{Host: "sql01"}, nil},
	}
	for _, tt := range tests {
		if got := tt.t.RequiredSPNs(); !slices.Equal(got, tt.want) {
			t.Errorf("%s: requiredSPNs = %q; want %q", tt.name, got, tt.want)
		}
	}
}

func TestSPNRequirementsByTransport(t *testing.T) {
	tg := triage.Target{FQDN: "sql01.corp.example", Instances: []triage.Instance{{Name: "SALES", Port: 50123}, {Name: "HR"}}}
	want := []triage.SPNRequirement{
		{SPN: "MSSQLSvc/sql01.corp.example:50123", Transport: triage.TransportTCP, Instance: triage.Instance{Name: "SALES", Port: 50123}},
		{SPN: "MSSQLSvc/sql01.corp.example:SALES", Transport: triage.TransportPipes, Instance: triage.Instance{Name: "SALES", Port: 50123}},
		{SPN: "MSSQLSvc/sql01.corp.example:HR", Transport: triage.TransportPipes, Instance: triage.Instance{Name: "HR"}},
	}
	if got := tg.SPNRequirements(); !slices.Equal(got, want) {
		t.Errorf("SPNRequirements = %+v; want %+v", got, want)
	}
	if got := tg.PortUnknown(); !slices.Equal(got, []triage.Instance{{Name: "HR"}}) {
		t.Errorf("PortUnknown = %+v; want HR", got)
	}
	if got := tg.TransportOf("mssqlsvc/SQL01.corp.example:sales"); got != triage.TransportPipes {
		t.Errorf("TransportOf the instance-name form = %s; want named pipes", got)
	}
	if got := (triage.Target{FQDN: "sql01.corp.example"}).PortUnknown(); got != nil {
		t.Errorf("PortUnknown of the default instance = %+v; want none", got)
	}
}
