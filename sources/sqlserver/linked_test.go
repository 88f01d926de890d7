package sqlserver_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/authtriage/authtriage/internal/tdsfake"
	"github.com/authtriage/authtriage/sources/sqlserver"
	"github.com/authtriage/authtriage/triage"
)

func TestLinkedServers(t *testing.T) {
	servers := []tdsfake.LinkedServer{
		{Name: "SQLBE", Product: "SQL Server", Provider: "SQLNCLI", DataSource: "SQLBE", SelfAll: true},
		{Name: "ARCHIVE", Product: "", Provider: "MSOLEDBSQL", DataSource: `sqlarch.corp.test\SALES`, SelfSome: true},
		{Name: "REPORTS", Product: "", Provider: "MSOLEDBSQL", DataSource: "tcp:sqlrep.corp.test,1433"},
		{Name: "odbc", Provider: "MSDASQL", Null: []string{"product", "data_source"}},
	}
	tests := []struct {
		name    string
		cfg     tdsfake.LinkedServers
		want    []triage.LinkedServer // Instance is filled in
		wantErr error
	}{
		{
			name: "none, seen by a login that sees all",
		},
		{
			name:    "none, seen by a login that may not see all",
			cfg:     tdsfake.LinkedServers{Partial: true},
			wantErr: sqlserver.ErrLinkedServersHidden,
		},
		{
			name: "four, a NULL product and data source among them",
			cfg:  tdsfake.LinkedServers{Servers: servers},
			want: []triage.LinkedServer{
				{Name: "ARCHIVE", Provider: "MSOLEDBSQL", DataSource: `sqlarch.corp.test\SALES`, SelfCredential: true, Complete: true},
				{Name: "odbc", Provider: "MSDASQL", Complete: true},
				{Name: "REPORTS", Provider: "MSOLEDBSQL", DataSource: "tcp:sqlrep.corp.test,1433", Complete: true},
				{Name: "SQLBE", Product: "SQL Server", Provider: "SQLNCLI", DataSource: "SQLBE", SelfCredential: true, SelfCredentialAll: true, Complete: true},
			},
		},
		{
			name: "the one a login that may not see all sees",
			cfg:  tdsfake.LinkedServers{Servers: servers[:1], Partial: true},
			want: []triage.LinkedServer{
				{Name: "SQLBE", Product: "SQL Server", Provider: "SQLNCLI", DataSource: "SQLBE", SelfCredential: true, SelfCredentialAll: true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := tdsfake.Start(t, tdsfake.Config{LinkedServers: tt.cfg})
			in := triage.Instance{Port: fake.Port()}
			got, err := newChecker(t, time.Second).LinkedServers(t.Context(), target(fake.Port()), in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("LinkedServers error = %v; want %v", err, tt.wantErr)
			}
			for i := range tt.want {
				tt.want[i].Instance = in
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("LinkedServers (-want +got):\n%s", diff)
			}
			// One statement, a SELECT: nothing else runs.
			if q := fake.Queries(); len(q) != 1 || !strings.HasPrefix(q[0], "SELECT ") {
				t.Errorf("queries = %q; want one SELECT", q)
			}
		})
	}
}

func TestLinkedServersErrors(t *testing.T) {
	const timeout = time.Second
	tests := []struct {
		name       string
		cfg        tdsfake.Config
		wantNumber int32    // of the wrapped server error, 0 for none
		wantText   []string // in the error
	}{
		{
			name: "permission denied",
			cfg: tdsfake.Config{Deny: func(q string) *tdsfake.Error {
				if strings.Contains(q, "sys.servers") {
					return &tdsfake.Error{Number: 229, State: 5, Class: 14, Message: "The SELECT permission was denied on the object 'servers', database 'mssqlsystemresource', schema 'sys'."}
				}
				return nil
			}},
			wantNumber: 229,
			wantText:   []string{"read the linked servers of 127.0.0.1:", "SELECT permission was denied"},
		},
		{
			name:       "login refused",
			cfg:        tdsfake.Config{Login: func(tdsfake.Login) *tdsfake.Error { return tdsfake.LoginFailed(`CORP\authtriage_ro`) }},
			wantNumber: 18456,
			wantText:   []string{"log in to 127.0.0.1:", "Login failed"},
		},
		{
			name:     "server never answers the login",
			cfg:      tdsfake.Config{Fault: tdsfake.Silent},
			wantText: []string{"log in to 127.0.0.1:", "no answer within 1s"},
		},
		{
			name:     "server never answers the query",
			cfg:      tdsfake.Config{Fault: tdsfake.SilentQueries},
			wantText: []string{"read the linked servers of 127.0.0.1:", "no answer within 1s"},
		},
		{
			name:     "malformed rows",
			cfg:      tdsfake.Config{Fault: tdsfake.GarbageQueryReply},
			wantText: []string{"read the linked servers of 127.0.0.1:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := tdsfake.Start(t, tt.cfg)
			start := time.Now()
			got, err := newChecker(t, timeout).LinkedServers(t.Context(), target(fake.Port()), triage.Instance{Port: fake.Port()})
			// The login and the query each cost at most the timeout.
			if took, max := time.Since(start), 2*timeout+500*time.Millisecond; took > max {
				t.Errorf("LinkedServers took %v; want at most %v", took, max)
			}
			if err == nil {
				t.Fatalf("LinkedServers = %v, nil; want an error", got)
			}
			t.Logf("error: %v", err)
			for _, want := range tt.wantText {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("LinkedServers error = %v; want one containing %q", err, want)
				}
			}
			var se sqlNumber
			if ok := errors.As(err, &se); ok != (tt.wantNumber != 0) || ok && se.SQLErrorNumber() != tt.wantNumber {
				t.Errorf("LinkedServers error = %v; want server error %d wrapped", err, tt.wantNumber)
			}
			if got != nil {
				t.Errorf("LinkedServers = %v with its error; want none", got)
			}
		})
	}
}

func TestLinkedServersMany(t *testing.T) {
	var servers []tdsfake.LinkedServer
	for i := range 1001 {
		servers = append(servers, tdsfake.LinkedServer{Name: fmt.Sprintf("LS%04d", i), Provider: "SQLNCLI", DataSource: "sqlbe"})
	}
	fake := tdsfake.Start(t, tdsfake.Config{LinkedServers: tdsfake.LinkedServers{Servers: servers}})
	got, err := newChecker(t, time.Second).LinkedServers(t.Context(), target(fake.Port()), triage.Instance{Port: fake.Port()})
	if err == nil || !strings.Contains(err.Error(), "more than 1000 linked servers") {
		t.Errorf("LinkedServers error = %v; want one about more than 1000", err)
	}
	if len(got) != 1000 || got[999].Name != "LS0999" {
		t.Errorf("LinkedServers returned %d servers with its error; want the first 1000", len(got))
	}
}
