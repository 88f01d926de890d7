package kerberos_test

import (
	"strings"
	"testing"

	"github.com/authtriage/authtriage/sources/kerberos"
)

func TestCheckSPN(t *testing.T) {
	tests := []struct {
		name    string
		spn     string
		wantErr string // "" for a valid SPN
	}{
		{name: "host and port", spn: "MSSQLSvc/sql01.corp.example:1433"},
		{name: "host alone", spn: "MSSQLSvc/sql01.corp.example"},
		{name: "named instance", spn: "MSSQLSvc/sql01.corp.example:SALES"},
		{name: "instance with $ and _", spn: "MSSQLSvc/sql01:SQL_EXPRESS$1"},
		{name: "short host", spn: "MSSQLSvc/sql01:1433"},
		{name: "IPv4 host", spn: "MSSQLSvc/10.0.0.5:1433"},
		{name: "other service class", spn: "HTTP/web.corp.example"},
		{name: "highest port", spn: "MSSQLSvc/sql01.corp.example:65535"},

		{name: "empty", spn: "", wantErr: "empty"},
		{name: "no slash", spn: "MSSQLSvc", wantErr: "no '/'"},
		{name: "empty service", spn: "/sql01.corp.example", wantErr: "empty service class"},
		{name: "empty host", spn: "MSSQLSvc/", wantErr: "empty host"},
		{name: "empty host with port", spn: "MSSQLSvc/:1433", wantErr: "empty host"},
		{name: "three parts", spn: "ldap/dc1.corp.example/corp.example", wantErr: "more than one '/'"},
		{name: "realm", spn: "MSSQLSvc/sql01.corp.example:1433@CORP.EXAMPLE", wantErr: "without a realm"},
		{name: "newline", spn: "MSSQLSvc/sql01\n.corp.example", wantErr: "control character at byte 14"},
		{name: "NUL", spn: "MSSQLSvc/sql01\x00", wantErr: "control character"},
		{name: "DEL", spn: "MSSQLSvc/sql01\x7f", wantErr: "control character"},
		{name: "escape sequence", spn: "MSSQLSvc/\x1b[2Jsql01", wantErr: "control character"},
		{name: "space", spn: "MSSQLSvc/sql 01", wantErr: "space"},
		{name: "non-ASCII host", spn: "MSSQLSvc/sqlü.corp.example", wantErr: "punycode"},
		{name: "backslash", spn: `MSSQLSvc/CORP\sql01`, wantErr: `'\'`},
		{name: "empty label", spn: "MSSQLSvc/sql01..corp.example", wantErr: "empty label"},
		{name: "trailing dot", spn: "MSSQLSvc/sql01.corp.example.", wantErr: "empty label"},
		{name: "port zero", spn: "MSSQLSvc/sql01:0", wantErr: "out of range"},
		{name: "port too high", spn: "MSSQLSvc/sql01:65536", wantErr: "out of range"},
		{name: "huge port", spn: "MSSQLSvc/sql01:99999999999999999999999", wantErr: "out of range"},
		{name: "empty port", spn: "MSSQLSvc/sql01:", wantErr: "empty port or instance"},
		{name: "two colons", spn: "MSSQLSvc/sql01:1433:1", wantErr: "instance name"},
		{name: "long instance", spn: "MSSQLSvc/sql01:ABCDEFGHIJKLMNOPQ", wantErr: "longer than 16"},
		{name: "bad service char", spn: "MS*SQL/sql01", wantErr: "service class"},
		{name: "bad host char", spn: "MSSQLSvc/sql01;rm", wantErr: `has ';'`},
		{name: "long label", spn: "MSSQLSvc/" + strings.Repeat("a", 64) + ".corp", wantErr: "label longer than 63"},
		{name: "too long", spn: "MSSQLSvc/" + strings.Repeat("a.", 200), wantErr: "at most 320"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := kerberos.CheckSPN(tt.spn)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("CheckSPN(%q) = %v; want nil", tt.spn, err)
			case tt.wantErr != "" && err == nil:
				t.Errorf("CheckSPN(%q) = nil; want error containing %q", tt.spn, tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("CheckSPN(%q) = %v; want error containing %q", tt.spn, err, tt.wantErr)
			}
		})
	}
}

func TestCheckSPNErrorIsPrintable(t *testing.T) {
	err := kerberos.CheckSPN("MSSQLSvc/\x1b[2J" + strings.Repeat("x", 400))
	if err == nil {
		t.Fatal("CheckSPN accepted an SPN with an escape sequence")
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\x1b\n") {
		t.Errorf("CheckSPN error %q holds a control character", msg)
	}
	if len(msg) > 200 {
		t.Errorf("CheckSPN error is %d bytes long; want the SPN shortened", len(msg))
	}
}
