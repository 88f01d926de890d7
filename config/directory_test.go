package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDirectoryAndKerberosSections(t *testing.T) {
	env := map[string]string{"BIND_PW": "s3cret-Pw"}
	getenv := func(k string) string { return env[k] }
	good := `
directory:
  urls: [ldaps://dc1.corp.example:636, ldap://dc2.corp.example:389]
  netbios: CORP
  bind_dn: authtriage_ro@corp.example
  bind_password: ${BIND_PW}
  ca_path: /etc/authtriage/ca.pem
kerberos:
  realm: CORP.EXAMPLE
  kdcs: [dc1.corp.example:88]
  principal: authtriage_ro
  keytab: /etc/authtriage/authtriage_ro.keytab
`
	c, err := Parse([]byte(good), "t.yaml", getenv, nil)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if c.Directory == nil || len(c.Directory.URLs) != 2 || c.Directory.BindPassword.Reveal() != "s3cret-Pw" || c.Directory.Timeout != 10*time.Second {
		t.Errorf("directory = %+v", c.Directory)
	}
	if c.Kerberos == nil || c.Kerberos.Realm != "CORP.EXAMPLE" || c.Kerberos.Keytab == "" {
		t.Errorf("kerberos = %+v", c.Kerberos)
	}

	bad := `
directory:
  urls: [http://dc1, "ldaps://dc1.corp.example:636/?x"]
  bind_password: ${BIND_PW}
kerberos:
  realm: "CORP EXAMPLE"
  kdcs: [dc1]
  principal: a/b
  keytab: /k
  password: pw
`
	_, err = Parse([]byte(bad), "t.yaml", getenv, nil)
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("Parse(bad) = %v; want *Error", err)
	}
	msg := err.Error()
	for _, want := range []string{
		"t.yaml:3: directory.urls[0]: \"http://dc1\" is not an ldap:// or ldaps:// URL",
		"directory.urls[1]",
		"directory.bind_dn: is required",
		"kerberos.realm",
		"kerberos.kdcs[0]",
		"kerberos.principal",
		"kerberos.password: give keytab or password, not both",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("problems lack %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "s3cret-Pw") || strings.Contains(msg, "pw\n") {
		t.Errorf("problems echo a secret:\n%s", msg)
	}
}
