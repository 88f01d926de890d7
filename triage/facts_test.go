package triage

import (
	stdmaps "maps"
	"testing"
)

func TestNewFindingFacts(t *testing.T) {
	tests := []struct {
		name string
		vars map[string]string
		want map[string]string
	}{
		{
			name: "the placeholders that name things, without brackets, lower case",
			vars: map[string]string{PHHost: "SQLHOST01", PHAccount: `CORP\svc_sql`, PHSam: "svc_sql", PHWrong: `CORP\svc_old`, PHDC: "dc2.corp.example",
				PHSetAD: "Set-ADUser", PHFrontEnd: "web01 (CORP\\svc_web)", PHSPNs: "MSSQLSvc/a:1433"},
			want: map[string]string{"host": "SQLHOST01", "account": `CORP\svc_sql`, "sam": "svc_sql", "wrong": `CORP\svc_old`, "dc": "dc2.corp.example"},
		},
		{name: "empty values are no facts", vars: map[string]string{PHHost: "", PHDomain: ""}, want: nil},
		{name: "no vars, no facts", vars: nil, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFinding(AccountLockedOut, tt.vars)
			if !stdmaps.Equal(f.Facts, tt.want) || (tt.want == nil) != (f.Facts == nil) {
				t.Errorf("Facts = %v; want %v", f.Facts, tt.want)
			}
		})
	}
}
