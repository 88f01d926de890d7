package directory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/authtriage/authtriage/triage"
)

// FindSPN returns every object in the forest that holds spn, as "setspn -Q spn"
// does: an exact, case-insensitive match, searched on a global catalog. The owners
// carry what the global catalog holds (DN, SID, sAMAccountName, class, UPN,
// dNSHostName, userAccountControl, SPNs) and their domain's DNS and NetBIOS names;
// their EncTypes is triage.EncTypesUnset and their times are zero, since those
// attributes are not in the global catalog: read them with Account. No owner is
// not an error.
func (c *Client) FindSPN(ctx context.Context, spn string) (triage.SPNOwners, error) {
	if err := validateSPN(spn); err != nil {
		return triage.SPNOwners{}, err
	}
	var owners []triage.Account
	err := c.do(ctx, c.gc, func(s *session) error {
		names, err := c.netbiosNames(s)
		if err != nil {
			return err
		}
		owners, err = c.accounts(s, "", spnFilter(spn), gcAccountAttributes, names, maxMatches,
			func(a triage.Account) bool { return holdsSPN(a, spn) })
		return err
	})
	if err != nil {
		return triage.SPNOwners{}, fmt.Errorf("look up SPN %q: %w", spn, err)
	}
	return triage.SPNOwners{SPN: spn, Owners: distinct(owners)}, nil
}

// holdsSPN reports whether a holds spn, compared as AD compares SPNs.
func holdsSPN(a triage.Account, spn string) bool {
	for _, s := range a.SPNs {
		if strings.EqualFold(s, spn) {
			return true
		}
	}
	return false
}

// Account returns the user, computer or managed service account name names:
// DOMAIN\sam, sam@dns.domain (matched as sAMAccountName in that domain or as a
// userPrincipalName), sam, or "NAME$" for a computer or managed service account. It
// reads a domain controller, not a global catalog, because some attributes
// (msDS-SupportedEncryptionTypes among them) are not in the global catalog. The
// error wraps ErrNotFound when there is no such account and ErrAmbiguous when the
// name matches several. A DOMAIN\ prefix naming another domain than the one the
// Client reads is an error of its own.
func (c *Client) Account(ctx context.Context, name string) (triage.Account, error) {
	n, err := parseAccountName(name)
	if err != nil {
		return triage.Account{}, err
	}
	vet := func(nc naming, names map[string]string) error {
		if n.domain != "" && !n.dns {
			domain, _ := domainOfDN(nc.base)
			if netbios := names[domain]; !domainIsNetBIOS(domain, netbios, n.domain) {
				return fmt.Errorf("domain %s is not %s (%s), the domain this client reads",
					n.domain, domain, cmp.Or(netbios, "NetBIOS name unknown"))
			}
		}
		return nil
	}
	found, err := c.domainAccounts(ctx, accountFilter(n), vet, func(a triage.Account) bool { return matchesName(a, n) })
	if err != nil {
		return triage.Account{}, fmt.Errorf("look up account %q: %w", name, err)
	}
	return one("account", name, found)
}

// ComputerByDNSName returns the computer account whose dNSHostName is fqdn, read
// from a domain controller. The error wraps ErrNotFound when there is none (the
// host may still have an account whose dNSHostName differs: look it up as
// "HOST$") and ErrAmbiguous when there are several.
func (c *Client) ComputerByDNSName(ctx context.Context, fqdn string) (triage.Account, error) {
	name, err := validateFQDN(fqdn)
	if err != nil {
		return triage.Account{}, err
	}
	found, err := c.domainAccounts(ctx, computerFilter(name), nil,
		func(a triage.Account) bool { return strings.EqualFold(a.DNSHostName, name) })
	if err != nil {
		return triage.Account{}, fmt.Errorf("look up computer %q: %w", fqdn, err)
	}
	return one("computer", fqdn, found)
}

// domainAccounts searches the domain this client reads, on a domain controller, for
// the accounts filter selects and keep accepts (at most maxMatches). vet, if set,
// checks the request against the domain's naming contexts and NetBIOS names first.
func (c *Client) domainAccounts(ctx context.Context, filter string, vet func(naming, map[string]string) error,
	keep func(triage.Account) bool) ([]triage.Account, error) {
	var found []triage.Account
	err := c.do(ctx, c.dc, func(s *session) error {
		nc, err := c.namingContexts(s)
		if err != nil {
			return err
		}
		names, err := c.netbiosNames(s)
		if err != nil {
			return err
		}
		if vet != nil {
			if err := vet(nc, names); err != nil {
				return err
			}
		}
		found, err = c.accounts(s, nc.base, filter, accountAttributes, names, maxMatches, keep)
		return err
	})
	return found, err
}

// MaxPwdAge returns the domain's maximum password age (maxPwdAge of the domain
// object); 0 means passwords never expire. Fine-grained password policies can
// override it per account; Account's PasswordExpiry accounts for them.
func (c *Client) MaxPwdAge(ctx context.Context) (time.Duration, error) {
	var age time.Duration
	err := c.do(ctx, c.dc, func(s *session) error {
		nc, err := c.namingContexts(s)
		if err != nil {
			return err
		}
		entries, err := c.search(s, nc.base, ldap.ScopeBaseObject, "(objectClass=*)", []string{"maxPwdAge"}, 1)
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			return fmt.Errorf("domain object %s: %w", nc.base, ErrNotFound)
		}
		v := attrsOf(entries[0]).first(atMaxPwdAge)
		if v == "" {
			return fmt.Errorf("domain object %s has no maxPwdAge", nc.base)
		}
		age, err = decodeInterval(v)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("read maximum password age: %w", err)
	}
	return age, nil
}

// CurrentTime compares a domain controller's clock (rootDSE currentTime) with the
// local one, taken halfway through the request. currentTime has whole seconds, so
// the skew is accurate to about half a second plus the network delay.
func (c *Client) CurrentTime(ctx context.Context) (triage.ClockReading, error) {
	var r triage.ClockReading
	err := c.do(ctx, c.dc, func(s *session) error {
		start := time.Now()
		entries, err := c.search(s, "", ldap.ScopeBaseObject, "(objectClass=*)", []string{"currentTime", "dnsHostName"}, 1)
		end := time.Now()
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			return errors.New("no rootDSE")
		}
		a := attrsOf(entries[0])
		dc, err := decodeGeneralizedTime(a.first(atCurrentTime))
		if err != nil {
			return fmt.Errorf("rootDSE currentTime: %w", err)
		}
		if dc.Nanosecond() == 0 {
			dc = dc.Add(500 * time.Millisecond) // the middle of the second it names
		}
		local := start.Add(end.Sub(start) / 2)
		r = triage.ClockReading{
			Source: cmp.Or(a.first(atRootDNSHostName), s.ep.host) + " (rootDSE currentTime)",
			Skew:   dc.Sub(local.Round(0)),
		}
		return nil
	})
	if err != nil {
		return triage.ClockReading{}, fmt.Errorf("read domain controller time: %w", err)
	}
	return r, nil
}

// accounts searches base for filter and decodes the objects found, keeping those
// keep accepts. netbios maps DNS domains to NetBIOS names. More than limit objects
// (0: the server's limit) is an error.
func (c *Client) accounts(s *session, base, filter string, attributes []string, netbios map[string]string, limit int, keep func(triage.Account) bool) ([]triage.Account, error) {
	entries, err := c.search(s, base, ldap.ScopeWholeSubtree, filter, attributes, limit)
	if err != nil {
		return nil, err
	}
	var out []triage.Account
	for _, e := range entries {
		if err := c.completeRanges(s, e); err != nil {
			return nil, err
		}
		a, err := decodeAccount(e.DN, attrsOf(e))
		if err != nil {
			return nil, err
		}
		a.NetBIOSDomain = netbios[a.Domain]
		if keep(a) {
			out = append(out, a)
		}
	}
	return out, nil
}

// search runs one unpaged search and returns its entries; continuation references
// are ignored. More than sizeLimit entries (0: the server's limit) is an error.
func (c *Client) search(s *session, base string, scope int, filter string, attributes []string, sizeLimit int) ([]*ldap.Entry, error) {
	req := ldap.NewSearchRequest(base, scope, ldap.NeverDerefAliases, sizeLimit, c.timeLimit(), false, filter, attributes, nil)
	res, err := s.conn.Search(req)
	s.note(err)
	if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return nil, fmt.Errorf("search %s under %q: more than %d objects match", filter, base, sizeLimit)
	}
	if err != nil {
		return nil, fmt.Errorf("search %s under %q: %w", filter, base, err)
	}
	return res.Entries, nil
}

// timeLimit is the server-side time limit of a search in whole seconds, the
// Timeout rounded up.
func (c *Client) timeLimit() int {
	return int(math.Ceil(c.timeout.Seconds()))
}

// namingContexts returns the domain and configuration naming contexts, reading the
// rootDSE the first time.
func (c *Client) namingContexts(s *session) (naming, error) {
	c.mu.Lock()
	n := c.naming
	c.mu.Unlock()
	if n.base != "" && n.config != "" {
		return n, nil
	}
	entries, err := c.search(s, "", ldap.ScopeBaseObject, "(objectClass=*)",
		[]string{"defaultNamingContext", "configurationNamingContext"}, 1)
	if err != nil {
		return naming{}, fmt.Errorf("read rootDSE: %w", err)
	}
	if len(entries) == 0 {
		return naming{}, errors.New("read rootDSE: no entry")
	}
	a := attrsOf(entries[0])
	if n.base == "" {
		n.base = a.first(atDefaultNC)
	}
	n.config = a.first(atConfigNC)
	if n.base == "" {
		return naming{}, errors.New("rootDSE has no defaultNamingContext; set the base DN")
	}
	c.mu.Lock()
	c.naming = n
	c.mu.Unlock()
	return n, nil
}

// netbiosNames returns the NetBIOS names of the forest's domains, keyed by DNS
// domain, from the crossRef objects of the configuration partition (read once), with
// the configured NetBIOS name for the client's own domain. A partition the bind
// identity cannot read leaves the map empty: names then fall back to the first
// label of the DNS domain.
func (c *Client) netbiosNames(s *session) (map[string]string, error) {
	c.mu.Lock()
	names := c.netbios
	c.mu.Unlock()
	if names != nil {
		return names, nil
	}
	nc, err := c.namingContexts(s)
	if err != nil {
		return nil, err
	}
	names = map[string]string{}
	if nc.config != "" {
		entries, err := c.search(s, "CN=Partitions,"+nc.config, ldap.ScopeSingleLevel,
			"(&(objectClass=crossRef)(nETBIOSName=*))", []string{"nCName", "nETBIOSName"}, maxMatches)
		switch {
		case ldap.IsErrorAnyOf(err, ldap.LDAPResultNoSuchObject, ldap.LDAPResultInsufficientAccessRights):
			c.log.Debug("ldap cannot read crossRefs; NetBIOS names unknown", "ldap.url", s.ep.url, "err", err)
		case err != nil:
			return nil, fmt.Errorf("read NetBIOS domain names: %w", err)
		}
		for _, e := range entries {
			a := attrsOf(e)
			if domain, err := domainOfDN(a.first(atNCName)); err == nil && domain != "" {
				names[domain] = a.first(atNetBIOSName)
			}
		}
	}
	if c.cfg.NetBIOS != "" {
		if domain, err := domainOfDN(nc.base); err == nil && domain != "" {
			names[domain] = c.cfg.NetBIOS
		}
	}
	c.mu.Lock()
	c.netbios = names
	c.mu.Unlock()
	return names, nil
}

// completeRanges fetches the values the server held back. AD returns at most
// MaxValRange values (1500 by default) of a multi-valued attribute, named
// "servicePrincipalName;range=0-1499"; the rest comes from base searches for
// "servicePrincipalName;range=1500-*". On return every attribute has all its values
// under its plain name.
func (c *Client) completeRanges(s *session, e *ldap.Entry) error {
	for _, at := range e.Attributes {
		name, _, hi, ok := parseRange(at.Name)
		if !ok {
			continue
		}
		for hi >= 0 {
			if len(at.Values) > maxRangedValues {
				return fmt.Errorf("%s of %q: more than %d values", name, e.DN, maxRangedValues)
			}
			want := name + ";range=" + strconv.Itoa(hi+1) + "-*"
			entries, err := c.search(s, e.DN, ldap.ScopeBaseObject, "(objectClass=*)", []string{want}, 1)
			if err != nil {
				return fmt.Errorf("read %s of %q: %w", want, e.DN, err)
			}
			next := -1
			found := false
			for _, e2 := range entries {
				for _, at2 := range e2.Attributes {
					n2, lo2, hi2, ok := parseRange(at2.Name)
					if !ok || !strings.EqualFold(n2, name) {
						continue
					}
					if lo2 != hi+1 {
						return fmt.Errorf("read %s of %q: server returned range starting at %d", want, e.DN, lo2)
					}
					at.Values = append(at.Values, at2.Values...)
					next, found = hi2, true
				}
			}
			if !found {
				break
			}
			hi = next
		}
		at.Name = name
	}
	return nil
}

// maxRangedValues bounds the values read for one attribute through range retrieval.
const maxRangedValues = 1 << 20

// parseRange splits an attribute description with a range option,
// "name;range=lo-hi", into its parts; hi is -1 for "*". ok is false when desc has
// no range option.
func parseRange(desc string) (name string, lo, hi int, ok bool) {
	name, opts, found := strings.Cut(desc, ";")
	if !found {
		return desc, 0, 0, false
	}
	for opt := range strings.SplitSeq(opts, ";") {
		r, isRange := strings.CutPrefix(strings.ToLower(opt), "range=")
		if !isRange {
			continue
		}
		l, h, found := strings.Cut(r, "-")
		if !found {
			return name, 0, 0, false
		}
		var err error
		if lo, err = strconv.Atoi(l); err != nil || lo < 0 {
			return name, 0, 0, false
		}
		if h == "*" {
			return name, lo, -1, true
		}
		if hi, err = strconv.Atoi(h); err != nil || hi < lo {
			return name, 0, 0, false
		}
		return name, lo, hi, true
	}
	return name, 0, 0, false
}
