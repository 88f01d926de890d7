package directory

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/authtriage/authtriage/triage"
)

// scanPageSize is the page size of a duplicate scan: AD's default MaxPageSize.
const scanPageSize = 1000

// scanAttributes are all a duplicate scan reads of each object, besides its DN.
var scanAttributes = []string{"servicePrincipalName"}

// ScanDuplicateSPNs finds the SPNs held by more than one object in the forest, as
// "setspn -X" does, searching a global catalog in pages of 1000 for the objects
// holding an SPN that starts with prefix (case-insensitively; "" means every SPN).
// It reads only the SPNs of each object and keeps, for each distinct SPN, only its
// first holder's DN, so memory grows with the number of SPNs, not with the
// objects read. When the pages are done it reads each duplicated SPN's holders
// again (as FindSPN does: the owners carry what the global catalog holds), so a
// duplicate removed in the meantime is not reported. Then it calls fn once per
// duplicated SPN, in SPN order, with the owners in DN order. It returns how many
// objects it scanned. ctx is checked between pages and closes the connection when
// done. If fn returns an error, ScanDuplicateSPNs stops and returns it.
func (c *Client) ScanDuplicateSPNs(ctx context.Context, prefix string, fn func(triage.SPNOwners) error) (scanned int, err error) {
	if err := validateSPNPrefix(prefix); err != nil {
		return 0, err
	}
	start := time.Now()
	var found []triage.SPNOwners
	err = c.do(ctx, c.gc, func(s *session) error {
		scanned, found = 0, nil // afresh if retried
		dups := newDupFinder(prefix)
		paging := ldap.NewControlPaging(scanPageSize)
		req := ldap.NewSearchRequest("", ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, c.timeLimit(), false,
			spnPrefixFilter(prefix), scanAttributes, []ldap.Control{paging})
		for page := 1; ; page++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			res, err := s.conn.Search(req)
			if s.note(err) != nil {
				return fmt.Errorf("search %s, page %d: %w", req.Filter, page, err)
			}
			for _, e := range res.Entries {
				if err := c.completeRanges(s, e); err != nil {
					return err
				}
				scanned++
				dups.add(&holder{dn: e.DN}, e.GetEqualFoldAttributeValues("servicePrincipalName"))
			}
			next, _ := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
			if next == nil || len(next.Cookie) == 0 {
				break
			}
			paging.SetCookie(next.Cookie)
		}
		c.log.InfoContext(ctx, "ldap spn scan read", "ldap.url", s.ep.url, "spn.prefix", prefix,
			"scanned", scanned, "duplicates", dups.count(), "took", time.Since(start))
		names, err := c.netbiosNames(s)
		if err != nil {
			return err
		}
		return dups.each(func(spn string, _ []*holder) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			owners, err := c.accounts(s, "", spnFilter(spn), gcAccountAttributes, names, 0,
				func(a triage.Account) bool { return holdsSPN(a, spn) })
			if err != nil {
				return fmt.Errorf("read the holders of %s: %w", spn, err)
			}
			if owners = distinct(owners); len(owners) > 1 {
				found = append(found, triage.SPNOwners{SPN: spelling(spn, owners[0]), Owners: owners})
			}
			return nil
		})
	})
	if err != nil {
		return scanned, fmt.Errorf("scan SPNs on the global catalog: %w", err)
	}
	for _, o := range found {
		if err := fn(o); err != nil {
			return scanned, err
		}
	}
	return scanned, nil
}

// spelling returns spn as a spells it (SPNs compare case-insensitively), or spn if
// a does not hold it.
func spelling(spn string, a triage.Account) string {
	for _, s := range a.SPNs {
		if strings.EqualFold(s, spn) {
			return s
		}
	}
	return spn
}
