package sqlserver_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/microsoft/go-mssqldb/msdsn"

	"github.com/authtriage/authtriage/sources/sqlserver"
	"github.com/authtriage/authtriage/triage"
)

// Environment of the real-server test.
const (
	// envDSN names a real SQL Server: a go-mssqldb connection string whose login may
	// read the DMVs and run sp_readerrorlog.
	envDSN = "AUTHTRIAGE_TEST_MSSQL_DSN"
	// envRequireMSSQL=1 makes a missing DSN a failure rather than a skip.
	envRequireMSSQL = "AUTHTRIAGE_REQUIRE_MSSQL"
)

const realServerAdvice = envDSN + ` is not set. To test against a real SQL Server, start one, e.g.
  a SQL Server 2022 container from Microsoft's image, with ACCEPT_EULA=Y, the sa password Str0ng!Passw0rd, port 1433
and set
  ` + envDSN + `='sqlserver://sa:Str0ng%21Passw0rd@localhost:1433?encrypt=true&TrustServerCertificate=true'
(a SQL login), or a Windows login: authenticator=krb5 and its krb5-* keys on Linux, no user id on Windows.`

// realServer returns a checker that logs in to the server AUTHTRIAGE_TEST_MSSQL_DSN
// names as that DSN says (SQL authentication, or integrated with its authenticator),
// the DSN parsed, and the instance it names. It skips the test when the variable is not
// set, or fails it with AUTHTRIAGE_REQUIRE_MSSQL=1.
func realServer(t *testing.T) (*sqlserver.Checker, msdsn.Config, triage.Instance) {
	t.Helper()
	dsn := os.Getenv(envDSN)
	if dsn == "" {
		if os.Getenv(envRequireMSSQL) == "1" {
			t.Fatal(realServerAdvice)
		}
		t.Skip(realServerAdvice)
	}
	p, err := msdsn.Parse(dsn)
	if err != nil {
		t.Fatalf("%s: %v", envDSN, err)
	}
	encrypt := map[msdsn.Encryption]string{
		msdsn.EncryptionOff: "false", msdsn.EncryptionRequired: "true",
		msdsn.EncryptionDisabled: "disable", msdsn.EncryptionStrict: "strict",
	}[p.Encryption]
	c, err := sqlserver.New(sqlserver.Config{
		Encrypt: encrypt, TrustServerCertificate: p.TrustServerCertificate, Timeout: 30 * time.Second,
		ServerSPN: func(string, triage.Instance) string { return p.ServerSPN },
	}, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	auth := map[string]string{}
	for k, v := range p.Parameters {
		if k == "authenticator" || strings.HasPrefix(k, "krb5-") {
			auth[k] = v
		}
	}
	if p.User != "" {
		auth["user id"] = p.User
	}
	if p.Password != "" {
		auth["password"] = p.Password
	}
	sqlserver.SetAuth(c, auth)
	return c, p, triage.Instance{Name: p.Instance, Port: int(p.Port)}
}

// TestRealServer logs in to the server AUTHTRIAGE_TEST_MSSQL_DSN names as that DSN says
// (SQL authentication, or integrated with its authenticator), runs the fixed queries
// and reads the error log: the fake's canned answers are checked against the real ones.
func TestRealServer(t *testing.T) {
	c, p, in := realServer(t)
	tg := triage.Target{Host: p.Host, Instances: []triage.Instance{in}}

	got := c.Logins(t.Context(), tg)
	if len(got) != 1 {
		t.Fatalf("Logins returned %d results; want 1", len(got))
	}
	l := got[0]
	t.Logf("login: %+v", l)
	if !l.OK {
		t.Fatalf("login to %s failed: %d state %d %q %s", l.Address, l.Number, l.State, l.Message, l.Err)
	}
	switch l.AuthScheme {
	case "SQL", "NTLM", "KERBEROS":
	default:
		t.Errorf("auth_scheme = %q; want SQL, NTLM or KERBEROS (does the login have VIEW SERVER STATE?)", l.AuthScheme)
	}
	if l.ServerTime.IsZero() || l.ReadAt.IsZero() {
		t.Errorf("ServerTime = %v, ReadAt = %v; want both read", l.ServerTime, l.ReadAt)
	}

	events, trend, err := c.ErrorLog(t.Context(), tg, in, 7*24*time.Hour)
	if err != nil {
		t.Fatalf("ErrorLog: %v", err)
	}
	for _, ev := range events {
		t.Logf("errorlog: %d state %d x%d %s", ev.ID, ev.State, ev.Count, ev.Text)
	}
	if trend != nil {
		if err := trend.Validate(); err != nil {
			t.Errorf("ErrorLog trend: %v", err)
		}
	}

	// A SQL login with a wrong password is told 18456, state 1.
	if p.Parameters["authenticator"] == "" && p.User != "" {
		sqlserver.SetAuth(c, map[string]string{"user id": p.User, "password": p.Password + "-wrong"})
		bad := c.Logins(t.Context(), tg)[0]
		if bad.OK || bad.Number != 18456 || bad.State != 1 {
			t.Errorf("login with a wrong password = %+v; want 18456 state 1", bad)
		}
	}
}
