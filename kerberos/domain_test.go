package kerberos_test

// TEMPORARY stand-in for internal/testdomain until it lands.

import (
	"os"
	"testing"
)

type testDomain struct {
	Realm, KDC, Krb5Conf, Krb5ConfRC4, Principal, Keytab, Password, SQLOKKeytab string
	Skewed                                                                      bool
}

func (d testDomain) AccountPassword(name string) string {
	return os.Getenv("AUTHTRIAGE_TEST_PASSWORD_" + upper(name))
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func loadDomain(t *testing.T) testDomain {
	t.Helper()
	if os.Getenv("AUTHTRIAGE_TEST_REALM") == "" {
		if os.Getenv("AUTHTRIAGE_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("no test domain")
		}
		t.Skip("no test domain")
	}
	return testDomain{
		Realm:       os.Getenv("AUTHTRIAGE_TEST_REALM"),
		KDC:         os.Getenv("AUTHTRIAGE_TEST_KDC"),
		Krb5Conf:    os.Getenv("AUTHTRIAGE_TEST_KRB5_CONF"),
		Krb5ConfRC4: os.Getenv("AUTHTRIAGE_TEST_KRB5_CONF_RC4"),
		Principal:   os.Getenv("AUTHTRIAGE_TEST_PRINCIPAL"),
		Keytab:      os.Getenv("AUTHTRIAGE_TEST_KEYTAB"),
		Password:    os.Getenv("AUTHTRIAGE_TEST_BIND_PASSWORD"),
		SQLOKKeytab: os.Getenv("AUTHTRIAGE_TEST_SQLOK_KEYTAB"),
		Skewed:      os.Getenv("AUTHTRIAGE_TEST_SKEWED") == "1",
	}
}
