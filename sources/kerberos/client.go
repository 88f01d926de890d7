package kerberos

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/authtriage/authtriage/internal/safefile"
)

// Size limits for the files a Config names.
const (
	maxKrb5ConfSize = 1 << 20
	maxKeytabSize   = 1 << 20
)

// client returns a gokrb5 client for one Tickets call.
func (t *Tester) client(ctx context.Context) (*client.Client, error) {
	conf, err := t.krb5()
	if err != nil {
		return nil, err
	}
	opts := []func(*client.Settings){
		// Active Directory does not answer gokrb5's FAST padata as gokrb5 expects
		// (gokrb5 USAGE.md, "Active Directory KDC and FAST negotiation").
		client.DisablePAFXFAST(true),
		client.Logger(slog.NewLogLogger(t.log.Handler(), slog.LevelDebug)),
	}
	if t.keytab != "" {
		kt, err := loadKeytab(ctx, t.keytab, t.principal, t.realm)
		if err != nil {
			return nil, err
		}
		return client.NewWithKeytab(t.principal, t.realm, kt, conf, opts...), nil
	}
	return client.NewWithPassword(t.principal, t.realm, t.password, conf, opts...), nil
}

// krb5 returns a gokrb5 configuration for one Tickets call. Each call needs its own:
// gokrb5 shuffles a realm's KDC list in place on every exchange, so a shared
// configuration would be written by calls that overlap.
func (t *Tester) krb5() (*config.Config, error) {
	var c *config.Config
	if t.krb5conf != nil {
		var err error
		if c, err = parseKrb5Conf(t.krb5conf, t.confName); err != nil {
			return nil, err
		}
	} else {
		c = config.New()
		c.LibDefaults.DefaultRealm = t.realm
		c.LibDefaults.DNSLookupRealm = false
		c.LibDefaults.DNSLookupKDC = len(t.kdcs) == 0
		// TCP only: a ticket with Active Directory's PAC seldom fits a UDP datagram, and
		// one transport halves the time a silent KDC can hold an exchange.
		c.LibDefaults.UDPPreferenceLimit = 1
	}
	if len(t.kdcs) > 0 {
		setKDCs(c, t.realm, slices.Clone(t.kdcs))
	}
	if !c.LibDefaults.DNSLookupKDC && !hasKDC(c, t.realm) {
		if t.confName != "" {
			return nil, fmt.Errorf("no KDC for realm %s: set KDCs, list one in %s or set dns_lookup_kdc there", t.realm, t.confName)
		}
		return nil, fmt.Errorf("no KDC for realm %s", t.realm)
	}
	return c, nil
}

// setKDCs makes kdcs the KDCs of realm in c.
func setKDCs(c *config.Config, realm string, kdcs []string) {
	for i := range c.Realms {
		if c.Realms[i].Realm == realm {
			c.Realms[i].KDC = kdcs
			return
		}
	}
	c.Realms = append(c.Realms, config.Realm{Realm: realm, KDC: kdcs})
}

func hasKDC(c *config.Config, realm string) bool {
	for _, r := range c.Realms {
		if r.Realm == realm && len(r.KDC) > 0 {
			return true
		}
	}
	return false
}

// loadKrb5Conf reads and parses the krb5.conf file name.
func loadKrb5Conf(ctx context.Context, name string) ([]byte, *config.Config, error) {
	data, err := safefile.ReadFile(ctx, name, maxKrb5ConfSize)
	if err != nil {
		return nil, nil, fmt.Errorf("read krb5.conf: %w", err)
	}
	c, err := parseKrb5Conf(data, name)
	if err != nil {
		return nil, nil, err
	}
	return data, c, nil
}

// parseKrb5Conf parses a krb5.conf file's content. Directives gokrb5 does not implement
// are ignored, as MIT Kerberos ignores unknown ones.
func parseKrb5Conf(data []byte, name string) (*config.Config, error) {
	c, err := config.NewFromString(string(data))
	var unsupported config.UnsupportedDirective
	if err != nil && !errors.As(err, &unsupported) {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	return c, nil
}

// loadKeytab reads the keytab file name and checks that it has keys for
// principal@realm.
func loadKeytab(ctx context.Context, name, principal, realm string) (*keytab.Keytab, error) {
	data, err := safefile.ReadFile(ctx, name, maxKeytabSize)
	if err != nil {
		return nil, fmt.Errorf("read keytab: %w", err)
	}
	kt := new(keytab.Keytab)
	if err := kt.Unmarshal(data); err != nil {
		return nil, fmt.Errorf("parse keytab %s: %w", name, err)
	}
	var others []string
	for _, e := range kt.Entries {
		p := strings.Join(e.Principal.Components, "/")
		if p == principal && e.Principal.Realm == realm {
			return kt, nil
		}
		if o := p + "@" + e.Principal.Realm; !slices.Contains(others, o) && len(others) < 5 {
			others = append(others, o)
		}
	}
	if len(others) == 0 {
		return nil, fmt.Errorf("keytab %s has no keys", name)
	}
	return nil, fmt.Errorf("keytab %s has no key for %s@%s, only for %s", name, principal, realm, strings.Join(others, ", "))
}

// kdcAddr checks a KDC address and gives it a port, 88 unless it has one.
func kdcAddr(s string) (string, error) {
	if s == "" {
		return "", errors.New("empty KDC address")
	}
	if strings.IndexFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
		return "", fmt.Errorf("KDC address %q has a space or control character", s)
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		// A host alone, or an IPv6 address alone.
		host, port = strings.Trim(s, "[]"), "88"
		if strings.ContainsAny(host, "[]") {
			return "", fmt.Errorf("KDC address %q: want host or host:port", s)
		}
	}
	if host == "" {
		return "", fmt.Errorf("KDC address %q has no host", s)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return "", fmt.Errorf("KDC address %q: port not in 1-65535", s)
	}
	return net.JoinHostPort(host, port), nil
}

// checkRealm accepts a realm written as a DNS name.
func checkRealm(realm string) error {
	if realm == "" {
		return errors.New("no realm: set Realm, or default_realm in krb5.conf")
	}
	if len(realm) > maxHostLen {
		return fmt.Errorf("realm longer than %d bytes", maxHostLen)
	}
	for i := 0; i < len(realm); i++ {
		if c := realm[i]; !isAlnum(c) && c != '.' && c != '-' && c != '_' {
			return fmt.Errorf("realm %q has %q", realm, c)
		}
	}
	return nil
}

// checkPrincipal accepts a user principal name without realm.
func checkPrincipal(p string) error {
	switch {
	case p == "":
		return errors.New("no principal")
	case len(p) > 256:
		return errors.New("principal longer than 256 bytes")
	case strings.Contains(p, "@"):
		return fmt.Errorf("principal %q: give the name without @realm (Config.Realm is the realm)", p)
	case strings.IndexFunc(p, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0:
		return fmt.Errorf("principal %q has a control character", p)
	case slices.Contains(strings.Split(p, "/"), ""):
		return fmt.Errorf("principal %q has an empty component", p)
	}
	return nil
}
