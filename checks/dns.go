package checks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/authtriage/authtriage/triage"
)

// resolver is the part of *net.Resolver the DNS check uses.
type resolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// accountFinder finds an account by name.
type accountFinder interface {
	Account(ctx context.Context, name string) (triage.Account, error)
}

// DNS compares forward and reverse lookups of the target's FQDN, and the computer
// account's dNSHostName, since clients build the SPN from what DNS tells them.
type DNS struct {
	Resolver resolver      // nil: skipped with NoSource
	Dir      accountFinder // optional: reads the computer account HOST$
	NoSource string
}

// Name returns "dns".
func (DNS) Name() string { return "dns" }

// Run resolves the FQDN and each of its addresses back.
func (c DNS) Run(ctx context.Context, t triage.Target) (triage.Result, error) {
	if c.Resolver == nil {
		return triage.Result{}, triage.SkipLacking(triage.MissingDirectory, "%s", cmp.Or(c.NoSource, "no directory source"))
	}
	if t.FQDN == "" {
		return triage.Result{}, triage.SkipLacking(triage.MissingFQDN, "the host's FQDN is not known")
	}
	facts := &triage.DNSFacts{FQDN: t.FQDN, ReverseFor: map[string][]string{}}
	res := triage.Result{Obs: triage.Observations{Directory: &triage.DirectoryFacts{DNS: facts}}}
	addrs, err := c.Resolver.LookupHost(ctx, t.FQDN)
	if err != nil {
		return res, fmt.Errorf("resolve %s: %w", t.FQDN, err)
	}
	facts.Addresses = addrs
	for _, a := range addrs {
		names, err := c.Resolver.LookupAddr(ctx, a)
		var dnsErr *net.DNSError
		if err != nil && !(errors.As(err, &dnsErr) && dnsErr.IsNotFound) {
			return res, fmt.Errorf("reverse lookup of %s: %w", a, err)
		}
		facts.ReverseFor[a] = names
	}
	if c.Dir != nil {
		// A missing computer account is not this check's concern; the names are.
		if comp, err := c.Dir.Account(ctx, t.ComputerAccount()); err == nil {
			facts.ComputerDNSHostName = comp.DNSHostName
		}
	}
	res.Detail = fmt.Sprintf("%s -> %v", t.FQDN, addrs)
	return res, nil
}
