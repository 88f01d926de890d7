package config

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/authtriage/authtriage/triage"
)

// Directory says how to reach Active Directory: the domain controllers (or the DNS
// domain to discover them by SRV records), a read-only identity to bind as, and the CA
// that signed the DCs' certificates. A nil *Directory means the section is absent and
// directory checks are skipped.
type Directory struct {
	URLs         []string      // ldaps://dc1.corp.example:636 or ldap://dc1.corp.example:389 (StartTLS)
	GCURLs       []string      // global catalog URLs; default: the URLs' hosts on 3269
	Domain       string        // DNS domain for SRV discovery when URLs is empty
	DNSServer    string        // host:port of the DNS server for discovery; default: the system's
	BaseDN       string        // default: the rootDSE's defaultNamingContext
	NetBIOS      string        // the domain's NetBIOS name, for DOMAIN\account names
	BindDN       string        // DN or UPN of a read-only account
	BindPassword Secret        // or bind_password_file
	CAPath       string        // PEM CA bundle; empty means the system's roots
	Timeout      time.Duration // per LDAP operation; default 10s
}

// DefaultDirectoryTimeout is Directory.Timeout when the file does not set it.
const DefaultDirectoryTimeout = 10 * time.Second

func decodeDirectory(d *decoder, n *yaml.Node, path string) *Directory {
	dir := &Directory{Timeout: DefaultDirectoryTimeout}
	d.mapping(n, path, fields{
		"urls":          d.strs(&dir.URLs),
		"gc_urls":       d.strs(&dir.GCURLs),
		"domain":        d.str(&dir.Domain),
		"dns_server":    d.str(&dir.DNSServer),
		"base_dn":       d.str(&dir.BaseDN),
		"netbios":       d.str(&dir.NetBIOS),
		"bind_dn":       d.str(&dir.BindDN),
		"bind_password": d.secret(&dir.BindPassword),
		"ca_path":       d.str(&dir.CAPath),
		"timeout":       d.duration(&dir.Timeout),
	})
	return dir
}

func validateDirectory(r *reporter, path string, dir *Directory) {
	if dir == nil {
		return
	}
	if len(dir.URLs) == 0 && dir.Domain == "" {
		r.add(path, "give urls (the domain controllers) or domain (to discover them through DNS)")
	}
	for i, u := range dir.URLs {
		if err := ldapURL(u); err != "" {
			r.add(index(field(path, "urls"), i), "%s", err)
		}
	}
	for i, u := range dir.GCURLs {
		if err := ldapURL(u); err != "" {
			r.add(index(field(path, "gc_urls"), i), "%s", err)
		}
	}
	if dir.Domain != "" && triage.ValidHostName(dir.Domain) != nil {
		r.add(field(path, "domain"), "%s is not a valid DNS domain", quote(dir.Domain))
	}
	if dir.DNSServer != "" {
		if _, _, err := net.SplitHostPort(dir.DNSServer); err != nil {
			r.add(field(path, "dns_server"), "%s is not host:port", quote(dir.DNSServer))
		}
	}
	if dir.BindDN == "" {
		r.add(field(path, "bind_dn"), "is required: Active Directory answers anonymous binds with almost nothing")
	} else if strings.ContainsAny(dir.BindDN, "\x00\r\n") {
		r.add(field(path, "bind_dn"), "has a control character")
	}
	if dir.BindPassword == "" {
		r.add(field(path, "bind_password"), "is required (or bind_password_file)")
	}
	if dir.CAPath != "" {
		if err := validAbsPath(dir.CAPath); err != nil {
			r.add(field(path, "ca_path"), "%v", err)
		}
	}
	if dir.Timeout <= 0 {
		r.add(field(path, "timeout"), "must be longer than 0")
	}
}

// ldapURL returns a problem with an LDAP URL, or "".
func ldapURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return quote(s) + " is not a URL"
	case u.Scheme != "ldap" && u.Scheme != "ldaps":
		return quote(s) + " is not an ldap:// or ldaps:// URL"
	case u.Hostname() == "" || triage.ValidHostName(u.Hostname()) != nil && net.ParseIP(u.Hostname()) == nil:
		return quote(s) + " has no valid host name"
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.User != nil:
		return quote(s) + " must be only scheme, host and port"
	}
	return ""
}

// Format prints d as fmt prints a pointer to a struct at the top level, with any
// verb, wherever d is, so its bind password stays redacted; see Slack.Format.
func (d *Directory) Format(f fmt.State, verb rune) { formatPointer(f, verb, d) }
