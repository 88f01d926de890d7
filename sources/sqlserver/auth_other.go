//go:build !windows

package sqlserver

import (
	"errors"
	"fmt"
	"os"

	// Registers go-mssqldb's "krb5" authenticator, gokrb5 underneath.
	_ "github.com/microsoft/go-mssqldb/integratedauth/krb5"
)

// authParams returns the connection-string keys that make go-mssqldb log in with
// Kerberos through integratedauth/krb5 (feasibility.md 1.3): krb5-configfile,
// krb5-realm, krb5-keytabfile, and the principal and password as user id and password.
// The files must exist; go-mssqldb would otherwise fail each login with the same error.
// No setting is ignored on these systems.
func authParams(cfg Config) (map[string]string, []string, error) {
	var errs []error
	switch {
	case cfg.Keytab != "" && cfg.Password != "":
		errs = append(errs, errors.New("both a keytab and a password: set one"))
	case cfg.Principal == "" && (cfg.Keytab != "" || cfg.Password != ""):
		errs = append(errs, errors.New("a keytab or password needs a principal"))
	case cfg.Principal != "" && cfg.Keytab == "" && cfg.Password == "":
		errs = append(errs, fmt.Errorf("principal %q has neither a keytab nor a password", cfg.Principal))
	}
	for _, f := range []struct{ what, path string }{{"krb5.conf", cfg.Krb5Conf}, {"keytab", cfg.Keytab}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.what, err))
		}
	}
	p := map[string]string{"authenticator": "krb5"}
	for k, v := range map[string]string{
		"krb5-configfile": cfg.Krb5Conf,
		"krb5-realm":      cfg.Realm,
		"krb5-keytabfile": cfg.Keytab,
		"user id":         cfg.Principal,
		"password":        cfg.Password,
	} {
		if v != "" {
			p[k] = v
		}
	}
	return p, nil, errors.Join(errs...)
}
