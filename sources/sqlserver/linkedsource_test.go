package sqlserver_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/authtriage/authtriage/internal/display"
	"github.com/authtriage/authtriage/sources/sqlserver"
	"github.com/authtriage/authtriage/triage"
)

func TestParseDataSource(t *testing.T) {
	tests := []struct {
		source  string
		want    sqlserver.BackEnd
		wantErr string // in the error; "" for none
	}{
		// Host names, instances and ports.
		{source: "sqlbe", want: sqlserver.BackEnd{Host: "sqlbe"}},
		{source: "sqlbe.corp.test", want: sqlserver.BackEnd{Host: "sqlbe.corp.test"}},
		{source: `sqlbe.corp.test\SALES`, want: sqlserver.BackEnd{Host: "sqlbe.corp.test", Instance: triage.Instance{Name: "SALES"}}},
		{source: `sqlbe\MSSQLSERVER`, want: sqlserver.BackEnd{Host: "sqlbe", Instance: triage.Instance{Name: "MSSQLSERVER"}}},
		{source: "sqlbe.corp.test,1433", want: sqlserver.BackEnd{Host: "sqlbe.corp.test", Instance: triage.Instance{Port: 1433}}},
		{source: " sqlbe.corp.test , 50123 ", want: sqlserver.BackEnd{Host: "sqlbe.corp.test", Instance: triage.Instance{Port: 50123}}},
		{source: `sqlbe\SALES,50123`, want: sqlserver.BackEnd{Host: "sqlbe", Instance: triage.Instance{Name: "SALES", Port: 50123}}},
		{source: "tcp:sqlbe.corp.test,1433", want: sqlserver.BackEnd{Host: "sqlbe.corp.test", Instance: triage.Instance{Port: 1433}, Protocol: "tcp"}},
		{source: `TCP:sqlbe\SALES`, want: sqlserver.BackEnd{Host: "sqlbe", Instance: triage.Instance{Name: "SALES"}, Protocol: "tcp"}},
		{source: "10.0.0.5,1433", want: sqlserver.BackEnd{Host: "10.0.0.5", Instance: triage.Instance{Port: 1433}}},
		{source: "tcp:fd00::5,1433", want: sqlserver.BackEnd{Host: "fd00::5", Instance: triage.Instance{Port: 1433}, Protocol: "tcp"}},
		// Named pipes.
		{source: "np:sqlbe", want: sqlserver.BackEnd{Host: "sqlbe", Protocol: "np"}},
		{source: `np:\\sqlbe\pipe\sql\query`, want: sqlserver.BackEnd{Host: "sqlbe", Protocol: "np"}},
		{source: `np:\\sqlbe.corp.test\PIPE\MSSQL$SALES\SQL\query`, want: sqlserver.BackEnd{Host: "sqlbe.corp.test", Instance: triage.Instance{Name: "SALES"}, Protocol: "np"}},
		{source: `np:\\.\pipe\MSSQL$SALES\sql\query`, want: sqlserver.BackEnd{Instance: triage.Instance{Name: "SALES"}, Protocol: "np", Local: true}},
		{source: `np:\\sqlbe\pipe\unit\app`, wantErr: "not the default pipe of an instance"},
		{source: `np:\\sqlbe\pipe\MSSQL$\sql\query`, wantErr: "not the default pipe"},
		{source: `np:\\sqlbe\share\sql\query`, wantErr: `not \\HOST\pipe`},
		{source: "np:sqlbe,1433", wantErr: "a port with named pipes"},
		// The front end itself.
		{source: "", want: sqlserver.BackEnd{Local: true}},
		{source: ".", want: sqlserver.BackEnd{Local: true}},
		{source: "(local)", want: sqlserver.BackEnd{Local: true}},
		{source: `(LOCAL)\SQLEXPRESS`, want: sqlserver.BackEnd{Instance: triage.Instance{Name: "SQLEXPRESS"}, Local: true}},
		{source: "localhost,1433", want: sqlserver.BackEnd{Instance: triage.Instance{Port: 1433}, Local: true}},
		{source: "127.0.0.1", want: sqlserver.BackEnd{Local: true}},
		{source: "::1", want: sqlserver.BackEnd{Local: true}},
		{source: "lpc:.", want: sqlserver.BackEnd{Local: true}},
		{source: `lpc:(local)\SALES`, want: sqlserver.BackEnd{Instance: triage.Instance{Name: "SALES"}, Local: true}},
		{source: "lpc:sqlbe", wantErr: "shared memory (lpc:) reaches the local server only"},
		{source: `(localdb)\MSSQLLocalDB`, wantErr: "LocalDB"},
		// Not a SQL Server's name, or not one.
		{source: "sqlbe,0", wantErr: "port"},
		{source: "sqlbe,65536", wantErr: "port"},
		{source: "sqlbe,1433,1434", wantErr: "port"},
		{source: `sqlbe\SALES:1433`, wantErr: "':' is not allowed"},
		{source: `sqlbe\SALES\X`, wantErr: "not an instance name"},
		{source: `sqlbe\1SALES`, wantErr: "not an instance name"},
		{source: `sqlbe\SALESDEPARTMENT2026`, wantErr: "not an instance name"},
		{source: "0.0.0.0", wantErr: "unspecified address"},
		{source: "fe80::1%eth0", wantErr: "zone"},
		{source: "[fd00::5],1433", wantErr: "neither a host name nor an IP address"},
		{source: "Server=sqlbe;Database=x", wantErr: "neither a host name"},
		{source: "sqlbe.corp.test.", wantErr: "neither a host name"},
		{source: `C:\Data\Northwind.mdb`, wantErr: "neither a host name"},
		// Hostile text: never echoed as it is.
		{source: "sqlbe\x1b]0;owned\x07", wantErr: `"sqlbe\x1b]0;owned\x07"`},
		{source: "sqlbe\nfake line", wantErr: `"sqlbe fake line"`},
		{source: "sql\u202ebe", wantErr: `"sql\u202ebe"`},
		{source: "sqlbe\u200b.corp.test", wantErr: `\u200b`},
		{source: "$(reboot)`id`;|&", wantErr: "neither a host name"},
		{source: "sqlbe\x00", wantErr: `\x00`},
		{source: "sql\xffbe", wantErr: "neither a host name"},
		{source: strings.Repeat("a", 513), wantErr: "longer than 512 bytes"},
		{source: strings.Repeat("a.", 200) + "b", wantErr: "neither a host name"},
	}
	for _, tt := range tests {
		got, err := sqlserver.ParseDataSource(tt.source)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ParseDataSource(%q): %v", tt.source, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ParseDataSource(%q) = %+v, %v; want an error containing %q", tt.source, got, err, tt.wantErr)
		case err == nil && got != tt.want:
			t.Errorf("ParseDataSource(%q) = %+v; want %+v", tt.source, got, tt.want)
		}
		if err != nil {
			checkFit(t, tt.source, err)
		}
	}
}

// checkFit fails t unless err's text is fit for one line, as display.Line leaves it.
func checkFit(t *testing.T, source string, err error) {
	t.Helper()
	if msg := err.Error(); display.Line(msg) != msg {
		t.Errorf("ParseDataSource(%q) error %q holds characters unfit to show", source, msg)
	}
}

func TestLinkedBackEnd(t *testing.T) {
	tests := []struct {
		name    string
		ls      triage.LinkedServer
		want    sqlserver.BackEnd
		wantErr error // errors.Is; ErrNotSQLServer or errAny
	}{
		{
			name: "product SQL Server: the name is the network name",
			ls:   triage.LinkedServer{Name: `SQLBE\SALES`, Product: "SQL Server", Provider: "SQLNCLI"},
			want: sqlserver.BackEnd{Host: "SQLBE", Instance: triage.Instance{Name: "SALES"}},
		},
		{
			name: "product SQL Server with a data source set",
			ls:   triage.LinkedServer{Name: "SQLBE", Product: "sql server", Provider: "SQLNCLI", DataSource: "sqlbe.corp.test"},
			want: sqlserver.BackEnd{Host: "sqlbe.corp.test"},
		},
		{
			name: "MSOLEDBSQL and a port",
			ls:   triage.LinkedServer{Name: "REPORTS", Provider: "MSOLEDBSQL", DataSource: "tcp:sqlrep.corp.test,1433"},
			want: sqlserver.BackEnd{Host: "sqlrep.corp.test", Instance: triage.Instance{Port: 1433}, Protocol: "tcp"},
		},
		{
			name: "a versioned provider",
			ls:   triage.LinkedServer{Name: "X", Provider: "MSOLEDBSQL19", DataSource: `sqlbe\SALES`},
			want: sqlserver.BackEnd{Host: "sqlbe", Instance: triage.Instance{Name: "SALES"}},
		},
		{
			name: "SQLNCLI11 without a data source: the local server",
			ls:   triage.LinkedServer{Name: "LOOP", Provider: "SQLNCLI11"},
			want: sqlserver.BackEnd{Local: true},
		},
		{
			name:    "ODBC",
			ls:      triage.LinkedServer{Name: "odbc", Provider: "MSDASQL", DataSource: "sqlbe"},
			wantErr: sqlserver.ErrNotSQLServer,
		},
		{
			name:    "a provider that only starts like SQL Server's",
			ls:      triage.LinkedServer{Name: "x", Provider: "SQLNCLIx", DataSource: "sqlbe"},
			wantErr: sqlserver.ErrNotSQLServer,
		},
		{
			name:    "a hostile provider and name",
			ls:      triage.LinkedServer{Name: "x\x1b[2J", Provider: "Ora\u202eOLEDB"},
			wantErr: sqlserver.ErrNotSQLServer,
		},
		{
			name:    "a data source that names no server",
			ls:      triage.LinkedServer{Name: "bad\r\nname", Provider: "SQLNCLI", DataSource: "sqlbe;x"},
			wantErr: errAny,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := sqlserver.LinkedBackEnd(tt.ls)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("LinkedBackEnd: %v", err)
			case tt.wantErr == errAny && err == nil, tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("LinkedBackEnd = %+v, %v; want error %v", got, err, tt.wantErr)
			case err == nil && got != tt.want:
				t.Errorf("LinkedBackEnd = %+v; want %+v", got, tt.want)
			}
			if err != nil {
				checkFit(t, tt.ls.DataSource, err)
			}
		})
	}
}

// errAny stands for any error in TestLinkedBackEnd.
var errAny = errors.New("any error")

// FuzzParseDataSource checks that any data source gives a back end whose host is a
// host name or address, or an error fit to show: never a panic.
func FuzzParseDataSource(f *testing.F) {
	for _, s := range []string{
		"sqlbe", `sqlbe\SALES,50123`, "tcp:sqlbe.corp.test,1433", `np:\\sqlbe\pipe\MSSQL$SALES\sql\query`,
		"(local)", "lpc:.", "fd00::5", "sqlbe\x1b[2J", "sql\u202ebe", `\\`, "np:", ",", `\`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := sqlserver.ParseDataSource(s)
		if err != nil {
			checkFit(t, s, err)
			return
		}
		switch {
		case b.Local && b.Host != "":
			t.Errorf("ParseDataSource(%q) = %+v: local with a host", s, b)
		case !b.Local && b.Host == "":
			t.Errorf("ParseDataSource(%q) = %+v: no host", s, b)
		case display.Line(b.Host) != b.Host || strings.ContainsAny(b.Host, `\,;"' `):
			t.Errorf("ParseDataSource(%q) = %+v: a host unfit to use", s, b)
		}
		if b.Instance.Name != "" {
			if _, err := triage.ParseInstance(b.Instance.Name); err != nil {
				t.Errorf("ParseDataSource(%q) = %+v: %v", s, b, err)
			}
		}
	})
}
