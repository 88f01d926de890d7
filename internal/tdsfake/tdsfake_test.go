package tdsfake_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jcmturner/gokrb5/v8/keytab"
	mssql "github.com/microsoft/go-mssqldb"

	"github.com/authtriage/authtriage/internal/tdsfake"
)

// open connects go-mssqldb to the fake: no TLS, NTLM as CORP\x unless user says
// otherwise (a SQL login without a domain).
func open(t *testing.T, s *tdsfake.Server, user string) *sql.DB {
	t.Helper()
	q := url.Values{"encrypt": {"disable"}, "database": {"master"}}
	if user == "" {
		user = `CORP\x`
		q.Set("authenticator", "ntlm")
	}
	u := url.URL{Scheme: "sqlserver", User: url.UserPassword(user, "pw"), Host: s.Addr(), RawQuery: q.Encode()}
	db, err := sql.Open("sqlserver", u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestQueries(t *testing.T) {
	now := time.Date(2026, 11, 25, 15, 4, 5, 123456700, time.UTC)
	logDate := time.Date(2026, 11, 25, 9, 15, 10, 120_000_000, time.FixedZone("", -5*3600))
	s := tdsfake.Start(t, tdsfake.Config{
		AuthScheme: "KERBEROS", ServiceAccount: `CORP\svc_sql01`, UTCOffset: -300,
		Now:       func() time.Time { return now },
		ErrorLogs: [][]tdsfake.LogRow{{{Date: logDate, Process: "Logon", Text: "Error: 18456, Severity: 14, State: 8."}}},
	})
	db := open(t, s, "")
	ctx := t.Context()

	var scheme, account string
	var utc time.Time
	var offset int
	for _, q := range []struct {
		query string
		dest  []any
	}{
		{"SELECT auth_scheme FROM sys.dm_exec_connections WHERE session_id = @@SPID", []any{&scheme}},
		{"SELECT service_account FROM sys.dm_server_services WHERE servicename LIKE 'SQL Server (%'", []any{&account}},
		{"select sysutcdatetime(),  DATEPART(TZOFFSET, SYSDATETIMEOFFSET());", []any{&utc, &offset}},
	} {
		if err := db.QueryRowContext(ctx, q.query).Scan(q.dest...); err != nil {
			t.Fatalf("%s: %v", q.query, err)
		}
	}
	if scheme != "KERBEROS" || account != `CORP\svc_sql01` || !utc.Equal(now) || offset != -300 {
		t.Errorf("answers: %q %q %v %d; want KERBEROS, CORP\\svc_sql01, %v, -300", scheme, account, utc, offset, now)
	}

	// sp_readerrorlog as a procedure, through sp_executesql, and in a batch.
	calls := []struct {
		query string
		args  []any
	}{
		{"sp_readerrorlog", []any{int32(0), int32(1)}},
		{"EXEC sp_readerrorlog @p1, 1", []any{int64(0)}},
		{"EXEC sp_readerrorlog 0, 1", nil},
	}
	for _, c := range calls {
		var date time.Time
		var proc, text string
		if err := db.QueryRowContext(ctx, c.query, c.args...).Scan(&date, &proc, &text); err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		wall := time.Date(2026, 11, 25, 9, 15, 10, 120_000_000, time.UTC)
		if !date.Equal(wall) || proc != "Logon" || text != "Error: 18456, Severity: 14, State: 8." {
			t.Errorf("%s = %v %q %q; want the canned row, its wall clock as UTC", c.query, date, proc, text)
		}
	}

	var missing time.Time
	err := db.QueryRowContext(ctx, "sp_readerrorlog", int32(1), int32(1)).Scan(&missing, new(string), new(string))
	var me mssql.Error
	if !errors.As(err, &me) || me.Number != 22004 {
		t.Errorf("sp_readerrorlog 1 = %v; want error 22004 for a missing log", err)
	}
	err = db.QueryRowContext(ctx, "SELECT name FROM sys.databases").Scan(new(string))
	if !errors.As(err, &me) || me.Number != 50000 || !strings.Contains(me.Message, "no canned answer") {
		t.Errorf("unknown query = %v; want error 50000", err)
	}

	want := []string{
		"SELECT auth_scheme FROM sys.dm_exec_connections WHERE session_id = @@SPID",
		"SELECT service_account FROM sys.dm_server_services WHERE servicename LIKE 'SQL Server (%'",
		"select sysutcdatetime(),  DATEPART(TZOFFSET, SYSDATETIMEOFFSET());",
		"sp_readerrorlog 0, 1",
		"EXEC sp_readerrorlog @p1, 1 [0]",
		"EXEC sp_readerrorlog 0, 1",
		"sp_readerrorlog 1, 1",
		"SELECT name FROM sys.databases",
	}
	if diff := cmp.Diff(want, s.Queries()); diff != "" {
		t.Errorf("Queries (-want +got):\n%s", diff)
	}
}

func TestLogins(t *testing.T) {
	tests := []struct {
		name       string
		cfg        tdsfake.Config
		user       string // "" for NTLM
		wantNumber int32  // 0 for a login accepted
		wantScheme string
		check      func(t *testing.T, l tdsfake.Login)
	}{
		{
			name: "integrated login", wantScheme: "NTLM",
			check: func(t *testing.T, l tdsfake.Login) {
				if !l.IntegratedSecurity || !strings.HasPrefix(string(l.SSPI), "NTLMSSP\x00") || l.UserName != "" {
					t.Errorf("login = %+v; want integrated, with an NTLM token", l)
				}
			},
		},
		{
			name: "SQL login", user: "sa", wantScheme: "SQL",
			check: func(t *testing.T, l tdsfake.Login) {
				if l.IntegratedSecurity || l.UserName != "sa" {
					t.Errorf("login = %+v; want user sa without integrated security", l)
				}
			},
		},
		{
			name:       "refused",
			cfg:        tdsfake.Config{Login: func(tdsfake.Login) *tdsfake.Error { return tdsfake.LoginFailed(`CORP\x`) }},
			wantNumber: 18456,
		},
		{
			name:       "kerberos acceptor refuses an NTLM token",
			cfg:        tdsfake.Config{Kerberos: &tdsfake.Kerberos{Keytab: keytab.New()}},
			wantNumber: 18452,
			check: func(t *testing.T, l tdsfake.Login) {
				if l.KerberosError == "" || l.KerberosClient != "" {
					t.Errorf("login KerberosError=%q KerberosClient=%q; want an error and no client", l.KerberosError, l.KerberosClient)
				}
			},
		},
		{
			name:       "kerberos acceptor refuses a SQL login",
			cfg:        tdsfake.Config{Kerberos: &tdsfake.Kerberos{Keytab: keytab.New()}},
			user:       "sa",
			wantNumber: 18452,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := tdsfake.Start(t, tt.cfg)
			var scheme string
			err := open(t, s, tt.user).QueryRowContext(t.Context(), "SELECT auth_scheme FROM sys.dm_exec_connections WHERE session_id = @@SPID").Scan(&scheme)
			var me mssql.Error
			switch {
			case tt.wantNumber == 0 && err != nil:
				t.Fatalf("query: %v", err)
			case tt.wantNumber != 0 && (!errors.As(err, &me) || me.Number != tt.wantNumber):
				t.Fatalf("query: %v; want error %d", err, tt.wantNumber)
			}
			if scheme != tt.wantScheme {
				t.Errorf("auth_scheme = %q; want %q", scheme, tt.wantScheme)
			}
			logins := s.Logins()
			if len(logins) == 0 {
				t.Fatal("the fake saw no login")
			}
			if tt.check != nil {
				tt.check(t, logins[0])
			}
		})
	}
}

// TestCloseEndsConnections checks that Close does not wait for a client that stays.
func TestCloseEndsConnections(t *testing.T) {
	s := tdsfake.Start(t, tdsfake.Config{Fault: tdsfake.Silent})
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "hello")
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := s.WaitConns(ctx, 1); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	s.Close()
	if took := time.Since(start); took > time.Second {
		t.Errorf("Close took %v", took)
	}
	c.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("connection still open after Close")
	}
}

// TestOversizedMessage checks that the fake hangs up on a message over its cap
// instead of reading it all.
func TestOversizedMessage(t *testing.T) {
	s := tdsfake.Start(t, tdsfake.Config{})
	c, err := net.Dial("tcp", s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	packet := make([]byte, 32*1024)
	copy(packet, []byte{0x12, 0x00, 0x80, 0x00}) // PRELOGIN, not the last packet, 32 KiB
	c.SetDeadline(time.Now().Add(5 * time.Second))
	for range 64 { // 2 MiB in all
		if _, err := c.Write(packet); err != nil {
			return // the fake hung up
		}
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("the fake answered a 2 MiB message")
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Error("the fake kept the connection open after a 2 MiB message")
	}
}
