//go:build windows

package sqlserver

import (
	// Registers go-mssqldb's "winsspi" authenticator: SSPI's Negotiate package.
	_ "github.com/microsoft/go-mssqldb/integratedauth/winsspi"
)

// authParams returns the connection-string keys that make go-mssqldb log in with SSPI
// as the process's own identity. The Kerberos settings of cfg are for other systems
// and are ignored here.
func authParams(cfg Config) (map[string]string, []string, error) {
	var ignored []string
	for _, f := range []struct{ name, v string }{
		{"krb5conf", cfg.Krb5Conf}, {"realm", cfg.Realm}, {"keytab", cfg.Keytab},
		{"principal", cfg.Principal}, {"password", cfg.Password},
	} {
		if f.v != "" {
			ignored = append(ignored, f.name)
		}
	}
	return map[string]string{"authenticator": "winsspi"}, ignored, nil
}
