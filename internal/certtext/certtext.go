// Package certtext words what is wrong with an X.509 certificate, the same way wherever
// authtriage judges one: a domain controller's LDAPS certificate (sources/directory)
// and the agent's and the bot's certificates and CAs (config's Check). Each context
// builds its own sentence from these parts: when a certificate is valid, which names
// it is for, which extended key usage it lacks.
//
// Text taken from a certificate is hostile (a name may hold a line break or a
// bidirectional override): every function here that returns some passes it through
// Clean.
package certtext

import (
	"crypto/x509"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Time writes a certificate's time in UTC, to the minute: "2026-11-24 12:00 UTC".
func Time(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// Validity says why c is not valid at now, "expired on 2026-11-24 12:00 UTC" or "is not
// valid before 2026-11-24 12:00 UTC", or returns "" when it is.
func Validity(c *x509.Certificate, now time.Time) string {
	switch {
	case now.After(c.NotAfter):
		return "expired on " + Time(c.NotAfter)
	case now.Before(c.NotBefore):
		return "is not valid before " + Time(c.NotBefore)
	}
	return ""
}

// maxNames is how many names Names lists before it counts the rest.
const maxNames = 5

// Names lists the names TLS matches c against, its DNS names and then its IP
// addresses, the first five and a count of the rest: "dc1.corp.example, 10.0.0.5",
// "a, b, c, d, e and 3 more". It returns "" for a certificate with neither (one that
// names its host in the subject CN only).
func Names(c *x509.Certificate) string {
	names := make([]string, 0, len(c.DNSNames)+len(c.IPAddresses))
	for _, n := range c.DNSNames {
		names = append(names, Clean(n))
	}
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) > maxNames {
		return strings.Join(names[:maxNames], ", ") + " and " + strconv.Itoa(len(names)-maxNames) + " more"
	}
	return strings.Join(names, ", ")
}

// Usage names an extended key usage as Windows shows it, as OpenSSL's configuration
// and RFC 5280 spell it, and by its OID: "Server Authentication (serverAuth,
// 1.3.6.1.5.5.7.3.1)". Only the two usages of TLS have names here.
//
// "Enable LDAP over SSL with a third-party certification authority": "Server
// Authentication (1.3.6.1.5.5.7.3.1)",
// https://learn.microsoft.com/troubleshoot/windows-server/active-directory/enable-ldap-over-ssl-3rd-certification-authority;
// "about_Certificate_Provider": "Client Authentication (1.3.6.1.5.5.7.3.2)",
// https://learn.microsoft.com/powershell/module/microsoft.powershell.security/about/about_certificate_provider;
// RFC 5280, 4.2.1.12: id-kp-serverAuth { id-kp 1 } and id-kp-clientAuth { id-kp 2 },
// https://www.rfc-editor.org/rfc/rfc5280#section-4.2.1.12.
func Usage(u x509.ExtKeyUsage) string {
	switch u {
	case x509.ExtKeyUsageServerAuth:
		return "Server Authentication (serverAuth, 1.3.6.1.5.5.7.3.1)"
	case x509.ExtKeyUsageClientAuth:
		return "Client Authentication (clientAuth, 1.3.6.1.5.5.7.3.2)"
	}
	return "extended key usage " + strconv.Itoa(int(u))
}

// maxClean is the most bytes Clean keeps.
const maxClean = 200

// Clean makes text from a certificate (a name, an issuer, an error of crypto/x509
// that quotes one) fit for a one-line message: control and format characters (line
// breaks, bidirectional overrides) and invalid UTF-8 become '?', and it is cut to
// about 200 bytes, with "..." when it was longer.
func Clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	if len(s) <= maxClean {
		return s
	}
	return strings.ToValidUTF8(s[:maxClean], "") + "..."
}
