package config

import (
	"fmt"
	"net"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/authtriage/authtriage/triage"
)

// Kerberos says how the checker requests service tickets: its realm, the KDCs, and
// its own identity with a keytab or a password. A nil *Kerberos means the section is
// absent and the ticket check is skipped.
type Kerberos struct {
	Realm     string        // CORP.EXAMPLE
	KDCs      []string      // host:port; empty means from krb5_conf or DNS
	Krb5Conf  string        // optional krb5.conf to load (encryption types, KDCs)
	Principal string        // the checker's user name, without the realm
	Keytab    string        // path of the checker's keytab, or
	Password  Secret        // its password (or password_file)
	Timeout   time.Duration // per KDC exchange; default 10s
}

func decodeKerberos(d *decoder, n *yaml.Node, path string) *Kerberos {
	k := &Kerberos{Timeout: DefaultDirectoryTimeout}
	d.mapping(n, path, fields{
		"realm":     d.str(&k.Realm),
		"kdcs":      d.strs(&k.KDCs),
		"krb5_conf": d.str(&k.Krb5Conf),
		"principal": d.str(&k.Principal),
		"keytab":    d.str(&k.Keytab),
		"password":  d.secret(&k.Password),
		"timeout":   d.duration(&k.Timeout),
	})
	return k
}

func validateKerberos(r *reporter, path string, k *Kerberos) {
	if k == nil {
		return
	}
	if k.Realm == "" {
		r.add(field(path, "realm"), "is required, e.g. CORP.EXAMPLE")
	} else if triage.ValidHostName(k.Realm) != nil {
		r.add(field(path, "realm"), "%s is not a valid realm", quote(k.Realm))
	}
	for i, kdc := range k.KDCs {
		host, _, err := net.SplitHostPort(kdc)
		if err != nil || (triage.ValidHostName(host) != nil && net.ParseIP(host) == nil) {
			r.add(index(field(path, "kdcs"), i), "%s is not host:port", quote(kdc))
		}
	}
	if k.Krb5Conf != "" {
		if err := validAbsPath(k.Krb5Conf); err != nil {
			r.add(field(path, "krb5_conf"), "%v", err)
		}
	}
	if k.Principal == "" || strings.ContainsAny(k.Principal, "\x00\r\n@/\\") {
		r.add(field(path, "principal"), "is required: the checker's user name, without realm or domain")
	}
	switch {
	case k.Keytab == "" && k.Password == "":
		r.add(path, "give keytab or password (or password_file)")
	case k.Keytab != "" && k.Password != "":
		r.add(field(path, "password"), "give keytab or password, not both")
	case k.Keytab != "":
		if err := validAbsPath(k.Keytab); err != nil {
			r.add(field(path, "keytab"), "%v", err)
		}
	}
	if k.Timeout <= 0 {
		r.add(field(path, "timeout"), "must be longer than 0")
	}
}

// Format prints k as fmt prints a pointer to a struct at the top level, with any
// verb, wherever k is, so its password stays redacted; see Slack.Format.
func (k *Kerberos) Format(f fmt.State, verb rune) { formatPointer(f, verb, k) }
