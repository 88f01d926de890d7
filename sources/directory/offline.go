package directory

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// LDIF is a directory read from an LDIF export, for offline triage. It answers the
// questions a Client answers, with the same semantics, from the objects in the
// export; where a Client reads only what the global catalog holds (FindSPN,
// ScanDuplicateSPNs), LDIF returns the complete accounts. An LDIF is immutable and
// safe for concurrent use.
type LDIF struct {
	name      string
	accounts  []ldifAccount
	bySAM     map[string][]int // lower-case sAMAccountName -> accounts index
	byUPN     map[string][]int
	byHost    map[string][]int  // lower-case dNSHostName
	bySPN     map[string][]int  // lower-case SPN
	maxPwdAge []time.Duration   // of the domain objects, in file order
	netbios   map[string]string // DNS domain -> NetBIOS name, from crossRefs
	domains   map[string]string // DNS domain -> NetBIOS name ("" if unknown) of every account
	entries   int               // entries read (the root DSE aside), kept or not
	// principals are the accounts and groups with what Delegation reads of them
	// (delegation_ldif.go).
	principals ldifPrincipals
}

// An ldifAccount is an object of the export that is an account or holds SPNs.
type ldifAccount struct {
	triage.Account
	user, computer bool // objectClass holds user, computer (as LDAP filters test it)
}

// account returns the account, sharing nothing with l: an LDIF is immutable.
func (a ldifAccount) account() triage.Account {
	acct := a.Account
	acct.SPNs = slices.Clone(acct.SPNs)
	return acct
}

// LoadLDIF reads an LDIF export of Active Directory, as written by
// "ldifde -f export.ldf" (UTF-8, or UTF-16 with -u) or "ldapsearch -LLL"; name
// names the input in errors ("export.ldf:12: ..."). It keeps the accounts (objects
// of class user, which includes computers and managed service accounts), any other
// object holding an SPN, the groups (for Delegation), the domain objects' maxPwdAge
// and the crossRefs' NetBIOS names, and ignores everything else. Syntax errors and
// malformed values are *triage.InputError values naming the line. To bound memory it
// keeps at most 1,048,576 accounts and 2,097,152 accounts and groups together, and
// reads lines of at most 1 MiB and entries of at most 16 MiB.
//
// An export may hold nothing about what is asked: it may be empty, hold no accounts,
// have been made without servicePrincipalName, or be of another domain. An LDIF then
// answers with an error that says so where a directory would answer that nothing was
// found (an SPN without owner, an account or computer not found, no duplicate SPNs),
// since what an export does not hold proves nothing.
//
// Constructed attributes (msDS-UserPasswordExpiryTimeComputed,
// msDS-User-Account-Control-Computed, msDS-KeyVersionNumber) are in an export only
// when asked for by name: ldifde -l "*,msDS-UserPasswordExpiryTimeComputed,...".
func LoadLDIF(r io.Reader, name string) (*LDIF, error) {
	l := &LDIF{
		name:    name,
		bySAM:   map[string][]int{},
		byUPN:   map[string][]int{},
		byHost:  map[string][]int{},
		bySPN:   map[string][]int{},
		netbios: map[string]string{},
		domains: map[string]string{},
	}
	seen := map[string]int{} // lower-case DN -> line, of the objects kept
	lr := newLDIFReader(r, name)
	for {
		rec, err := lr.next()
		if err != nil {
			return nil, err
		}
		if rec == nil {
			for i := range l.accounts {
				a := &l.accounts[i].Account
				a.NetBIOSDomain = l.netbios[a.Domain]
				l.domains[a.Domain] = a.NetBIOSDomain
			}
			return l, nil
		}
		if err := l.add(lr, rec, seen); err != nil {
			return nil, err
		}
	}
}

// add keeps what LoadLDIF keeps of rec.
func (l *LDIF) add(lr *ldifReader, rec *ldifRecord, seen map[string]int) error {
	if rec.dn == "" {
		return nil // the root DSE, as "ldapsearch -s base -b ''" writes it
	}
	l.entries++
	classes := rec.attrs[atObjectClass]
	has := func(class string) bool {
		return slices.ContainsFunc(classes, func(c string) bool { return strings.EqualFold(c, class) })
	}
	switch {
	case has("domainDNS"):
		if v := rec.attrs.first(atMaxPwdAge); v != "" {
			age, err := decodeInterval(v)
			if err != nil {
				return lr.errorf(rec.line, "maxPwdAge of %q: %v", rec.dn, err)
			}
			l.maxPwdAge = append(l.maxPwdAge, age)
		}
		return nil
	case has("crossRef"):
		nb, nc := rec.attrs.first(atNetBIOSName), rec.attrs.first(atNCName)
		if nb != "" && nc != "" {
			if domain, err := domainOfDN(nc); err == nil && domain != "" {
				l.netbios[domain] = nb
			}
		}
		return nil
	case has("group"):
		return l.principals.add(lr, rec)
	}
	user := has("user")
	if !user && len(rec.attrs[atSPN]) == 0 {
		return nil
	}
	key := strings.ToLower(rec.dn)
	if line, dup := seen[key]; dup {
		return lr.errorf(rec.line, "dn %q repeats the entry of line %d", rec.dn, line)
	}
	if len(l.accounts) >= maxLDIFEntries {
		return lr.errorf(rec.line, "more than %d accounts and SPN holders", maxLDIFEntries)
	}
	acct, err := decodeAccount(rec.dn, rec.attrs)
	if err != nil {
		return lr.errorf(rec.line, "%v", err)
	}
	seen[key] = rec.line
	i := len(l.accounts)
	l.accounts = append(l.accounts, ldifAccount{Account: acct, user: user, computer: has("computer")})
	index := func(m map[string][]int, k string) {
		if k != "" {
			k = strings.ToLower(k)
			m[k] = append(m[k], i)
		}
	}
	index(l.bySAM, acct.SAMAccountName)
	index(l.byUPN, acct.UPN)
	index(l.byHost, acct.DNSHostName)
	for _, spn := range acct.SPNs {
		index(l.bySPN, spn)
	}
	return l.principals.add(lr, rec)
}

// FindSPN returns every object in the export that holds spn (exact,
// case-insensitive), as Client.FindSPN does.
func (l *LDIF) FindSPN(ctx context.Context, spn string) (triage.SPNOwners, error) {
	if err := validateSPN(spn); err != nil {
		return triage.SPNOwners{}, err
	}
	if err := ctx.Err(); err != nil {
		return triage.SPNOwners{}, err
	}
	var owners []triage.Account
	for _, i := range l.bySPN[strings.ToLower(spn)] {
		owners = append(owners, l.accounts[i].account())
	}
	if len(owners) == 0 {
		if err := l.cannotTell(domainOfHost(spnHost(spn)), true); err != nil {
			return triage.SPNOwners{}, err
		}
	}
	return triage.SPNOwners{SPN: spn, Owners: distinct(owners)}, nil
}

// cannotTell returns nil when the export can show that an object of domain (a DNS
// domain; "" for any) is not in the directory, else an error that says why it cannot:
// it holds no entries, no accounts, no SPNs at all (when spns), or nothing of domain.
func (l *LDIF) cannotTell(domain string, spns bool) error {
	switch {
	case l.entries == 0:
		return fmt.Errorf("the LDIF %s holds no entries, so it shows nothing about the directory", l.name)
	case len(l.accounts) == 0:
		return fmt.Errorf("the LDIF %s holds no accounts (objects of class user), so it shows nothing about them", l.name)
	case spns && len(l.bySPN) == 0:
		return fmt.Errorf("the LDIF %s holds no servicePrincipalName values (was it exported without them?), so it shows nothing about SPNs", l.name)
	case domain != "" && !l.holdsDomain(domain):
		return fmt.Errorf("the LDIF %s holds nothing about the domain %s (its accounts are of %s)", l.name, domain, l.domainList())
	}
	return nil
}

// holdsDomain reports whether the export has accounts of domain, of a domain above it
// or of one below it.
func (l *LDIF) holdsDomain(domain string) bool {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	for d := range l.domains {
		if d == domain || strings.HasSuffix(domain, "."+d) || strings.HasSuffix(d, "."+domain) {
			return true
		}
	}
	return false
}

// domainList names the domains of the export's accounts, sorted, at most three.
func (l *LDIF) domainList() string {
	ds := slices.Sorted(maps.Keys(l.domains))
	if len(ds) > 3 {
		return strings.Join(ds[:3], ", ") + fmt.Sprintf(" and %d more", len(ds)-3)
	}
	return strings.Join(ds, ", ")
}

// spnHost returns the host of an SPN (service/host[:port][/name]).
func spnHost(spn string) string {
	_, rest, _ := strings.Cut(spn, "/")
	if i := strings.IndexAny(rest, ":/"); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

// domainOfHost returns the DNS domain of a host's FQDN, "" for a name of one label.
func domainOfHost(host string) string {
	_, domain, _ := strings.Cut(strings.TrimSuffix(host, "."), ".")
	return domain
}

// Account returns the account name names, as Client.Account does. A DOMAIN\ prefix
// is matched against the NetBIOS names of the export's crossRef objects, or the
// first label of the account's DNS domain when the export has none; one that names
// no domain of the export is an error, not ErrNotFound.
func (l *LDIF) Account(ctx context.Context, name string) (triage.Account, error) {
	n, err := parseAccountName(name)
	if err != nil {
		return triage.Account{}, err
	}
	if err := ctx.Err(); err != nil {
		return triage.Account{}, err
	}
	candidates := l.bySAM[strings.ToLower(n.sam)]
	if n.dns {
		candidates = append(slices.Clip(candidates), l.byUPN[strings.ToLower(n.upn())]...)
	}
	if err := l.cannotTell("", false); err != nil {
		return triage.Account{}, fmt.Errorf("look up account %q: %w", name, err)
	}
	if n.domain != "" && !n.dns && !l.hasNetBIOS(n.domain) {
		return triage.Account{}, fmt.Errorf("look up account %q: domain %s is not a domain of %s", name, n.domain, l.name)
	}
	var found []triage.Account
	for _, i := range candidates {
		a := l.accounts[i]
		if a.user && matchesName(a.Account, n) {
			found = append(found, a.account())
		}
	}
	if len(found) == 0 && n.dns {
		if err := l.cannotTell(n.domain, false); err != nil {
			return triage.Account{}, fmt.Errorf("look up account %q: %w", name, err)
		}
	}
	return one("account", name, found)
}

// hasNetBIOS reports whether the NetBIOS domain name given by a user names a domain
// of one of the export's accounts.
func (l *LDIF) hasNetBIOS(given string) bool {
	for dns, netbios := range l.domains {
		if domainIsNetBIOS(dns, netbios, given) {
			return true
		}
	}
	return false
}

// ComputerByDNSName returns the computer account whose dNSHostName is fqdn, as
// Client.ComputerByDNSName does.
func (l *LDIF) ComputerByDNSName(ctx context.Context, fqdn string) (triage.Account, error) {
	host, err := validateFQDN(fqdn)
	if err != nil {
		return triage.Account{}, err
	}
	if err := ctx.Err(); err != nil {
		return triage.Account{}, err
	}
	var found []triage.Account
	for _, i := range l.byHost[strings.ToLower(host)] {
		if a := l.accounts[i]; a.computer {
			found = append(found, a.account())
		}
	}
	if len(found) == 0 {
		if err := l.cannotTell(domainOfHost(host), false); err != nil {
			return triage.Account{}, fmt.Errorf("look up computer %q: %w", fqdn, err)
		}
	}
	return one("computer", fqdn, found)
}

// MaxPwdAge returns maxPwdAge of the first domain object in the export (the
// domain an ldifde export is of); 0 means passwords never expire.
func (l *LDIF) MaxPwdAge(ctx context.Context) (time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if l.entries == 0 {
		return 0, fmt.Errorf("read maximum password age: %w", l.cannotTell("", false))
	}
	if len(l.maxPwdAge) == 0 {
		return 0, fmt.Errorf("read maximum password age: %s has no domain object with maxPwdAge", l.name)
	}
	return l.maxPwdAge[0], nil
}

// ScanDuplicateSPNs finds the SPNs starting with prefix held by more than one
// object of the export, as Client.ScanDuplicateSPNs does, and returns how many
// objects holding such an SPN it scanned. An export with no SPN at all is an error. The owners passed to fn are complete
// accounts.
func (l *LDIF) ScanDuplicateSPNs(ctx context.Context, prefix string, fn func(triage.SPNOwners) error) (scanned int, err error) {
	if err := validateSPNPrefix(prefix); err != nil {
		return 0, err
	}
	if err := l.cannotTell("", true); err != nil {
		return 0, err
	}
	d := newDupFinder(prefix)
	for i, a := range l.accounts {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return scanned, err
			}
		}
		if !slices.ContainsFunc(a.SPNs, func(s string) bool { return hasPrefixFold(s, prefix) }) {
			continue
		}
		scanned++
		d.add(&holder{dn: a.DN, index: i}, a.SPNs)
	}
	return scanned, d.each(func(spn string, holders []*holder) error {
		owners := make([]triage.Account, len(holders))
		for i, h := range holders {
			owners[i] = l.accounts[h.index].account()
		}
		return fn(triage.SPNOwners{SPN: spelling(spn, owners[0]), Owners: owners})
	})
}

// hasPrefixFold reports whether s starts with prefix, ignoring case as the
// duplicate scan does.
func hasPrefixFold(s, prefix string) bool {
	return strings.HasPrefix(strings.ToLower(s), strings.ToLower(prefix))
}
