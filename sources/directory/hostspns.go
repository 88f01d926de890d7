package directory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/authtriage/authtriage/triage"
)

// FindHostSPNs returns every MSSQLSvc SPN of the host fqdn registered in the forest,
// with its owners, as "setspn -F -Q MSSQLSvc/FQDN*" lists them: the SPNs of ports and
// instances the host serves now and of those it no longer serves. It searches a global
// catalog for (servicePrincipalName=MSSQLSvc/FQDN*), a substring filter whose fixed
// part is escaped as RFC 4515 section 3 requires, then keeps only the SPNs whose host
// part is fqdn (compared case-insensitively), so that sql01.corp.example does not
// pick up sql01.corp.example.org. There is one SPNOwners per distinct SPN, sorted by
// SPN, spelled as its first owner spells it, owners distinct and sorted by DN, with
// what the global catalog holds of them (see FindSPN). More than 100 objects matching
// the filter, or more than 100 distinct SPNs, is an error. No SPN is an empty,
// non-nil slice.
//
// Sources: "setspn", Windows Commands: -Q "Queries for any existing SPNs", -F
// "Performs queries at the forest, rather than domain level", and the example
// "setspn -T contoso -F -Q */MyServer", a query with a wildcard; "SPNs aren't case
// sensitive when used by Microsoft Windows-based computers".
// https://learn.microsoft.com/windows-server/administration/windows-commands/setspn
// RFC 4515, "LDAP: String Representation of Search Filters", section 3 (substring
// filters and the escaping of '*', '(', ')', '\' and NUL in values).
// https://www.rfc-editor.org/rfc/rfc4515#section-3
func (c *Client) FindHostSPNs(ctx context.Context, fqdn string) ([]triage.SPNOwners, error) {
	if err := validateSPNHost(fqdn); err != nil {
		return nil, err
	}
	var owners []triage.Account
	err := c.do(ctx, c.gc, func(s *session) error {
		names, err := c.netbiosNames(s)
		if err != nil {
			return err
		}
		owners, err = c.accounts(s, "", spnPrefixFilter(hostSPNPrefix(fqdn)), gcAccountAttributes, names, maxMatches,
			func(a triage.Account) bool { return slices.ContainsFunc(a.SPNs, isHostSPN(fqdn)) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("look up the MSSQLSvc SPNs of %q: %w", fqdn, err)
	}
	return groupHostSPNs(fqdn, owners)
}

// FindHostSPNs returns every MSSQLSvc SPN of the host fqdn held by an object of the
// export, with its owners, as Client.FindHostSPNs does; the owners are complete
// accounts. An export that cannot show the host has no such SPN (see LoadLDIF) is an
// error when none is found.
func (l *LDIF) FindHostSPNs(ctx context.Context, fqdn string) ([]triage.SPNOwners, error) {
	if err := validateSPNHost(fqdn); err != nil {
		return nil, err
	}
	match := isHostSPN(fqdn)
	var owners []triage.Account
	for i, a := range l.accounts {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if !slices.ContainsFunc(a.SPNs, match) {
			continue
		}
		if len(owners) == maxMatches {
			return nil, fmt.Errorf("look up the MSSQLSvc SPNs of %q: more than %d objects hold one", fqdn, maxMatches)
		}
		owners = append(owners, a.account())
	}
	if len(owners) == 0 {
		if err := l.cannotTell(domainOfHost(fqdn), true); err != nil {
			return nil, fmt.Errorf("look up the MSSQLSvc SPNs of %q: %w", fqdn, err)
		}
	}
	return groupHostSPNs(fqdn, owners)
}

// validateSPNHost checks a host name given for FindHostSPNs: a DNS host name
// (triage.ValidHostName), which keeps '*', filter syntax and control characters out.
func validateSPNHost(fqdn string) error {
	if err := checkText("host name", fqdn, maxDomainLen); err != nil {
		return err
	}
	if err := triage.ValidHostName(fqdn); err != nil {
		return invalidInput("host name", fqdn, "%v", err)
	}
	return nil
}

// hostSPNPrefix is the fixed part of the substring filter for the MSSQLSvc SPNs of
// fqdn: "MSSQLSvc/FQDN", every SPN of the host and some of others.
func hostSPNPrefix(fqdn string) string { return "MSSQLSvc/" + fqdn }

// isHostSPN returns a test for the MSSQLSvc SPNs whose host part
// (MSSQLSvc/HOST[:port|:instance][/...]) is fqdn, compared as AD compares SPNs.
func isHostSPN(fqdn string) func(spn string) bool {
	return func(spn string) bool {
		class, _, ok := strings.Cut(spn, "/")
		return ok && strings.EqualFold(class, "MSSQLSvc") && strings.EqualFold(spnHost(spn), fqdn)
	}
}

// groupHostSPNs turns the objects holding an MSSQLSvc SPN of fqdn into one SPNOwners
// per distinct SPN (case-insensitively), sorted by SPN, each spelled as its first
// owner (in DN order) spells it, owners distinct and in DN order. More than
// maxMatches distinct SPNs is an error. It never returns nil without an error.
func groupHostSPNs(fqdn string, owners []triage.Account) ([]triage.SPNOwners, error) {
	match := isHostSPN(fqdn)
	byKey := map[string]*triage.SPNOwners{}
	for _, a := range distinct(owners) {
		seen := map[string]bool{} // an SPN the object holds twice counts once
		for _, spn := range a.SPNs {
			key := strings.ToLower(spn)
			if !match(spn) || seen[key] {
				continue
			}
			seen[key] = true
			so := byKey[key]
			if so == nil {
				if len(byKey) == maxMatches {
					return nil, fmt.Errorf("look up the MSSQLSvc SPNs of %q: more than %d distinct SPNs", fqdn, maxMatches)
				}
				so = &triage.SPNOwners{SPN: spn}
				byKey[key] = so
			}
			so.Owners = append(so.Owners, a)
		}
	}
	out := make([]triage.SPNOwners, 0, len(byKey))
	for _, so := range byKey {
		out = append(out, *so)
	}
	slices.SortFunc(out, func(a, b triage.SPNOwners) int {
		return cmp.Compare(strings.ToLower(a.SPN), strings.ToLower(b.SPN))
	})
	return out, nil
}
