package directory

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"authtriage/triage"
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
// object holding an SPN, the domain objects' maxPwdAge and the crossRefs' NetBIOS
// names, and ignores everything else. Syntax errors and malformed values are
// *triage.InputError values naming the line. To bound memory it keeps at most
// 1,048,576 objects and reads lines of at most 1 MiB and entries of at most 16 MiB.
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
	return nil
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
	return triage.SPNOwners{SPN: spn, Owners: distinct(owners)}, nil
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
	return one("computer", fqdn, found)
}

// MaxPwdAge returns maxPwdAge of the first domain object in the export (the
// domain an ldifde export is of); 0 means passwords never expire.
func (l *LDIF) MaxPwdAge(ctx context.Context) (time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if len(l.maxPwdAge) == 0 {
		return 0, fmt.Errorf("read maximum password age: %s has no domain object with maxPwdAge", l.name)
	}
	return l.maxPwdAge[0], nil
}

// ScanDuplicateSPNs finds the SPNs starting with prefix held by more than one
// object of the export, as Client.ScanDuplicateSPNs does, and returns how many
// objects holding such an SPN it scanned. The owners passed to fn are complete
// accounts.
func (l *LDIF) ScanDuplicateSPNs(ctx context.Context, prefix string, fn func(triage.SPNOwners) error) (scanned int, err error) {
	if err := validateSPNPrefix(prefix); err != nil {
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
