//go:build !windows

package sqlserver_test

import (
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/authtriage/authtriage/internal/tdsfake"
	"github.com/authtriage/authtriage/internal/testdomain"
	"github.com/authtriage/authtriage/sources/sqlserver"
	"github.com/authtriage/authtriage/triage"
)

// TestLoginsKerberos logs in with a real ticket from the test domain's KDC (Samba) to
// the fake in its Kerberos variant, which validates the ticket with svc_sqlok's keys.
// Inside the domain's network namespace sqlok.corp.test is 127.0.0.1, where the fake
// listens on a port of its own, so the SPN is given: MSSQLSvc/sqlok.corp.test:1433.
func TestLoginsKerberos(t *testing.T) {
	d := testdomain.Load(t)
	if d.Skewed {
		t.Skip("the test domain's KDC runs with a skewed clock: no ticket can be had")
	}
	if d.SQLOKKeytab == "" {
		t.Fatalf("%s is not set: the test domain has no service keytab for svc_sqlok", testdomain.EnvSQLOKKeytab)
	}
	ok := d.Host(t, testdomain.HostOK)
	missing := d.Host(t, testdomain.HostMissing)
	serviceKeys := loadKeytab(t, d.SQLOKKeytab)
	otherKeys := loadKeytab(t, d.Keytab) // authtriage_ro's keys: not the service's

	tests := []struct {
		name     string
		host     testdomain.Host
		kerberos *tdsfake.Kerberos
		// want: the login accepted with KERBEROS, refused with Number, or failed
		// before the server with Err containing wantErr.
		wantNumber int
		wantErr    string
	}{
		{name: "valid ticket", host: ok, kerberos: &tdsfake.Kerberos{Keytab: serviceKeys, Principal: ok.ServiceAccount}},
		{name: "SPN's key wrong", host: ok, kerberos: &tdsfake.Kerberos{Keytab: otherKeys, Principal: d.Principal}, wantNumber: 18452},
		{name: "SPN's key missing", host: ok, kerberos: &tdsfake.Kerberos{Keytab: keytab.New()}, wantNumber: 18452},
		{name: "SPN not in the directory", host: missing, kerberos: &tdsfake.Kerberos{Keytab: serviceKeys}, wantErr: "KDC_ERR_S_PRINCIPAL_UNKNOWN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := tdsfake.Start(t, tdsfake.Config{Kerberos: tt.kerberos})
			c, err := sqlserver.New(sqlserver.Config{
				Krb5Conf: d.Krb5Conf, Realm: d.Realm, Keytab: d.Keytab, Principal: d.Principal,
				Encrypt: "disable", Timeout: 10 * time.Second,
				ServerSPN: func(string, triage.Instance) string { return tt.host.SPN() },
			}, nil)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			tg := triage.Target{Host: tt.host.Name, FQDN: tt.host.FQDN, Instances: []triage.Instance{{Port: fake.Port()}}}
			got := c.Logins(t.Context(), tg)[0]
			logins := fake.Logins()

			switch {
			case tt.wantErr != "":
				if got.OK || got.Number != 0 || !strings.Contains(got.Err, tt.wantErr) {
					t.Errorf("Logins = %+v; want Err containing %s", got, tt.wantErr)
				}
				if len(logins) != 0 {
					t.Errorf("the fake saw %d logins; want none: the client has no ticket to send", len(logins))
				}
				return
			case tt.wantNumber != 0:
				if got.OK || got.Number != tt.wantNumber || got.State != 1 {
					t.Errorf("Logins = %+v; want refused with %d state 1", got, tt.wantNumber)
				}
			default:
				if !got.OK || got.AuthScheme != "KERBEROS" || got.Err != "" {
					t.Errorf("Logins = %+v; want OK with KERBEROS", got)
				}
			}
			if len(logins) != 1 {
				t.Fatalf("the fake saw %d logins; want 1", len(logins))
			}
			l := logins[0]
			if !l.IntegratedSecurity || len(l.SSPI) == 0 {
				t.Errorf("login IntegratedSecurity=%v with %d bytes of SSPI; want a Kerberos token", l.IntegratedSecurity, len(l.SSPI))
			}
			if tt.wantNumber == 0 && l.KerberosClient != d.PrincipalName() {
				t.Errorf("ticket client = %q (%s); want %s", l.KerberosClient, l.KerberosError, d.PrincipalName())
			}
			if tt.wantNumber != 0 && l.KerberosError == "" {
				t.Error("the acceptor refused the token without saying why")
			}
			t.Logf("acceptor: client=%q error=%q", l.KerberosClient, l.KerberosError)
		})
	}
}

func loadKeytab(t *testing.T, path string) *keytab.Keytab {
	t.Helper()
	kt, err := keytab.Load(path)
	if err != nil {
		t.Fatalf("keytab %s: %v", path, err)
	}
	return kt
}
