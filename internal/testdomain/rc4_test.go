package testdomain

import (
	"strings"
	"testing"
)

// TestFromEnvRC4Hosts: the hosts without msDS-SupportedEncryptionTypes are read when the
// domain lists them, with the answers of the KDC's default as seeded, and stay out of
// Hosts.
func TestFromEnvRC4Hosts(t *testing.T) {
	env := sampleEnv()
	d, err := FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if len(d.RC4Hosts) != 0 {
		t.Errorf("RC4Hosts = %v for a domain that does not list them", d.RC4Hosts)
	}

	env[EnvHosts] += "," + HostNoEtype + "," + HostRC4Keys
	env[EnvPasswordStart+"SVC_SQLNOETYPE"] = "pw-noetype"
	env[EnvPasswordStart+"SVC_SQLRC4KEYS"] = "pw-rc4keys"
	for _, aes := range []string{"0", "1"} {
		env[EnvAESDefault] = aes
		d, err := FromEnv(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		no, keys := d.RC4Hosts[HostNoEtype], d.RC4Hosts[HostRC4Keys]
		wantNo := "kerberos.rc4_default"
		if aes == "1" {
			wantNo = "" // an AES ticket proves AES keys
		}
		if d.AESDefault != (aes == "1") || no.Cause != wantNo || keys.Cause != "kerberos.rc4_default" ||
			no.SPN() != "MSSQLSvc/sqlnoetype.corp.test:1433" || no.Password != "pw-noetype" || keys.AS != KDCErrEtypeNoSupp {
			t.Errorf("AES default %s: %+v, %+v", aes, no, keys)
		}
		if _, ok := d.Hosts[HostNoEtype]; ok {
			t.Errorf("Hosts holds %s", HostNoEtype)
		}
	}

	delete(env, EnvPasswordStart+"SVC_SQLRC4KEYS")
	if _, err := FromEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "SVC_SQLRC4KEYS") {
		t.Errorf("FromEnv without svc_sqlrc4keys's password: %v", err)
	}
}
