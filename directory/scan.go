package directory

import (
	"context"
	"fmt"
	"time"

	"github.com/go-ldap/ldap/v3"

	"authtriage/triage"
)

// scanPageSize is the page size of a duplicate scan: AD's default MaxPageSize.
const scanPageSize = 1000

// scanAttributes are all a duplicate scan reads of each object.
var scanAttributes = []string{"servicePrincipalName", "objectSid", "sAMAccountName"}

// ScanDuplicateSPNs finds the SPNs held by more than one object in the forest, as
// "setspn -X" does, searching a global catalog in pages of 1000 for the objects
// holding an SPN that starts with prefix (case-insensitively; "" means every SPN).
// It calls fn once per duplicated SPN, in SPN order, after the scan; the owners
// carry DN, SID, sAMAccountName and Domain. It returns how many objects it
// scanned. Memory grows with the number of distinct SPNs, not with the objects
// read. ctx is checked between pages and closes the connection when done. If fn
// returns an error, ScanDuplicateSPNs stops and returns it.
func (c *Client) ScanDuplicateSPNs(ctx context.Context, prefix string, fn func(triage.SPNOwners) error) (scanned int, err error) {
	if err := validateSPNPrefix(prefix); err != nil {
		return 0, err
	}
	start := time.Now()
	var (
		dups    *dupFinder
		url     string
		netbios map[string]string
	)
	err = c.do(ctx, c.gc, func(s *session) error {
		names, err := c.netbiosNames(s)
		if err != nil {
			return err
		}
		netbios = names
		scanned, dups, url = 0, newDupFinder(prefix), s.ep.url // afresh if retried
		paging := ldap.NewControlPaging(scanPageSize)
		req := ldap.NewSearchRequest("", ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, c.timeLimit(), false,
			spnPrefixFilter(prefix), scanAttributes, []ldap.Control{paging})
		for page := 1; ; page++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			res, err := s.conn.Search(req)
			if err != nil {
				return fmt.Errorf("search %s, page %d: %w", req.Filter, page, err)
			}
			for _, e := range res.Entries {
				h, spns, err := c.holderOf(s, e)
				if err != nil {
					return err
				}
				scanned++
				dups.add(h, spns)
			}
			next, _ := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
			if next == nil || len(next.Cookie) == 0 {
				return nil
			}
			paging.SetCookie(next.Cookie)
		}
	})
	if err != nil {
		return scanned, fmt.Errorf("scan SPNs on the global catalog: %w", err)
	}
	c.log.InfoContext(ctx, "ldap spn scan finished", "ldap.url", url, "spn.prefix", prefix,
		"scanned", scanned, "duplicates", dups.duplicates(), "took", time.Since(start))
	return scanned, dups.report(func(h *holder) triage.Account {
		domain, _ := domainOfDN(h.dn)
		return triage.Account{
			DN:             h.dn,
			SID:            h.sid,
			SAMAccountName: h.sam,
			Domain:         domain,
			NetBIOSDomain:  netbios[domain],
			EncTypes:       triage.EncTypesUnset,
		}
	}, fn)
}

// holderOf returns the holder of an entry of a duplicate scan and its SPNs.
func (c *Client) holderOf(s *session, e *ldap.Entry) (*holder, []string, error) {
	if err := c.completeRanges(s, e); err != nil {
		return nil, nil, err
	}
	a := attrsOf(e)
	h := &holder{dn: e.DN, sam: a.first(atSAMAccountName)}
	if v := a.first(atObjectSid); v != "" {
		sid, err := decodeSID(v)
		if err != nil {
			return nil, nil, fmt.Errorf("decode objectSid of %q: %w", e.DN, err)
		}
		h.sid = sid
	}
	return h, a[atSPN], nil
}
