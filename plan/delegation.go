package plan

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"

	"github.com/authtriage/authtriage/checks"
	"github.com/authtriage/authtriage/config"
	"github.com/authtriage/authtriage/sources/sqlserver"
	"github.com/authtriage/authtriage/triage"
)

// delegation builds the check of the host's second hops: the inventory's paths to and
// from it, and, where the checker logs in to SQL Server, its linked servers. The
// directory is the live one or the request's export; the KDC is asked as each front end
// whose credentials the inventory gives, but not offline.
func (b *builder) delegation() (triage.Check, error) {
	c := checks.Delegation{Users: b.o.Users, Routes: b.delegationRoutes()}
	switch d, err := b.directory(); {
	case b.ldif != nil:
		c.Dir = b.ldif
	case err != nil:
		return nil, err
	case d == nil:
		c.NoSource = noDirectory
	default:
		c.Dir = d
	}
	if b.p.sqlLogins() {
		s, err := b.p.ad.SQL()
		if err != nil {
			return nil, err
		}
		c.Linked, c.LinkedBackEnd = s, b.linkedBackEnd
	}
	return c, nil
}

// delegationRoutes returns the inventory's delegation paths whose front end or back
// end is the host, one per back-end instance the inventory lists.
func (b *builder) delegationRoutes() []checks.DelegationRoute {
	cfg := b.p.cfg
	if cfg == nil || !b.inInventory {
		return nil
	}
	var routes []checks.DelegationRoute
	for i, d := range cfg.Delegation {
		front := ""
		if h, ok := cfg.Host(d.FrontEnd); ok && d.FrontEnd != "" {
			front = h.Name
		}
		var prover *FrontEnd
		if b.ldif == nil {
			prover = b.p.ad.FrontEnd(i)
		}
		for _, be := range d.BackEnds {
			t, ok := cfg.BackEndTarget(be)
			if !ok || (!strings.EqualFold(front, b.h.Name) && !strings.EqualFold(t.Host, b.h.Name)) {
				continue
			}
			for _, in := range instancesOf(t) {
				one := t
				if in != (triage.Instance{}) {
					one.Instances = []triage.Instance{in}
				}
				r := checks.DelegationRoute{
					Path: triage.DelegationPath{FrontEnd: front, Account: cfg.FrontEndAccount(d), BackEnd: t.Host,
						Instance: in, Via: "inventory", SelfCredential: true},
					BackEnd: one,
					Users:   d.Users,
				}
				if prover != nil {
					r.Prover = prover
				}
				routes = append(routes, r)
			}
		}
	}
	return routes
}

// instancesOf returns t's instances, one zero Instance (the default one) for none.
func instancesOf(t triage.Target) []triage.Instance {
	if len(t.Instances) == 0 {
		return []triage.Instance{{}}
	}
	return t.Instances
}

// linkedBackEnd returns the back end linked server ls connects to, as a target: the
// inventory's host, narrowed to the instance the data source names, when the inventory
// lists it; else the host the data source names, its FQDN when the name has a dot. It
// returns why ls is no path to examine instead: not a SQL Server, the front end itself,
// or a data source that cannot be read.
func (b *builder) linkedBackEnd(ls triage.LinkedServer) (triage.Target, string) {
	be, err := sqlserver.LinkedBackEnd(ls)
	switch {
	case errors.Is(err, sqlserver.ErrNotSQLServer):
		return triage.Target{}, "not a SQL Server (provider " + quoteEvidence(ls.Provider) + ")"
	case err != nil:
		return triage.Target{}, err.Error()
	case be.Local:
		return triage.Target{}, "it connects to the front end itself"
	}
	if cfg := b.p.cfg; cfg != nil {
		if t, ok := cfg.BackEndTarget(config.BackEnd{Host: be.Host, Instance: be.Instance}); ok {
			return t, ""
		}
	}
	t := triage.Target{Host: be.Host}
	if _, err := netip.ParseAddr(be.Host); err != nil && strings.Contains(be.Host, ".") {
		t.FQDN = be.Host
	}
	if be.Instance != (triage.Instance{}) {
		t.Instances = []triage.Instance{be.Instance}
	}
	return t, ""
}

// quoteEvidence quotes a value SQL Server gave for a detail, control characters
// escaped and cut to 64 bytes.
func quoteEvidence(s string) string {
	if len(s) > 64 {
		s = strings.ToValidUTF8(s[:64], "") + "..."
	}
	return strconv.Quote(s)
}
