package checks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// delegationReader reads what the directory says of one account of a delegation
// path, in its role ("front end", "back end" or "user"). Its failures are in the
// result's Err.
type delegationReader interface {
	Delegation(ctx context.Context, name, role string) triage.DelegationAccount
}

// delegationProver asks the KDC, as a front end's account, for a ticket to the front
// end for user (S4U2self) and then one to each of spns on the user's behalf
// (S4U2proxy), returning one proof per SPN in their order; resourceBased says the back
// end's account allows the front end (msDS-AllowedToActOnBehalfOfOtherIdentity). Its
// failures are in the proofs' Err.
type delegationProver interface {
	ProveDelegations(ctx context.Context, path triage.DelegationPath, user string, spns []string, resourceBased bool) []triage.DelegationProof
}

// linkedServerLister lists the linked servers defined on an instance of a host.
type linkedServerLister interface {
	LinkedServers(ctx context.Context, t triage.Target, in triage.Instance) ([]triage.LinkedServer, error)
}

// A DelegationRoute is one second hop the inventory names, with what the check needs
// to examine it.
type DelegationRoute struct {
	Path triage.DelegationPath
	// BackEnd is the back end as a target: its FQDN and instances give the SPNs its
	// clients ask for, its service account the account that holds them.
	BackEnd triage.Target
	// Users are the users whose delegation the entry asks to check.
	Users []string
	// Prover asks the KDC as the front end's account; nil when the front end's
	// credentials are not configured: the path is read from the directory only.
	Prover delegationProver
}

// Delegation examines the second hops of the triaged host, as front end or back end:
// what the directory says of each path's accounts (the front end's constrained
// delegation and protocol transition, the back end's resource-based delegation, the
// users' "sensitive" flag and Protected Users membership) and, when the front end's
// credentials are configured, what the KDC answers when asked for each user's ticket
// to each SPN of the back end through the front end.
type Delegation struct {
	Dir      delegationReader // nil: skipped with NoSource
	NoSource string
	// Routes are the host's paths in the inventory: those whose back end it is and
	// those whose front end it is.
	Routes []DelegationRoute
	// Users are users to check on every path of the host (check --as), beyond each
	// route's own.
	Users []string
	// Linked lists the linked servers of the host's instances, nil when the checker
	// has no SQL Server login; LinkedBackEnd says which back end a linked server's
	// data source names, as a target (the inventory's, when it lists it), or why it is
	// no second hop to examine (not a SQL Server, the host itself, unreadable).
	Linked        linkedServerLister
	LinkedBackEnd func(triage.LinkedServer) (triage.Target, string)
}

// Name returns "delegation".
func (Delegation) Name() string { return "delegation" }

// Run examines each path. Accounts are read once each, by role and name. An account
// or a proof that could not be read makes the check's error; what was read is kept.
// Linked servers that could not be listed are said in the detail.
func (c Delegation) Run(ctx context.Context, t triage.Target) (triage.Result, error) {
	if len(c.Routes) == 0 && c.Linked == nil {
		return triage.Result{}, triage.Skip("no delegation paths: the inventory names none to or from %s, and linked servers are not read without a SQL Server login", t.Host)
	}
	if c.Dir == nil {
		return triage.Result{}, triage.SkipLacking(triage.MissingDirectory, "%s", cmp.Or(c.NoSource, "no directory source"))
	}
	facts := &triage.DelegationFacts{}
	res := triage.Result{Obs: triage.Observations{Delegation: facts}}
	var errs []error
	routes := slices.Clone(c.Routes)
	var notes []string
	if c.Linked != nil {
		var linked []DelegationRoute
		var unread []string
		linked, notes, unread = c.linkedRoutes(ctx, t, facts)
		if err := ctx.Err(); err != nil {
			return res, err
		}
		routes = append(routes, linked...)
		if len(routes) == 0 {
			return res, triage.Skip("no delegation paths: the inventory names none to or from %s, and %s", t.Host, linkedNone(facts, unread))
		}
		notes = append(notes, unread...)
	}
	res.Detail = strings.Join(notes, "; ")

	e := examiner{dir: c.Dir, facts: facts, read: map[string]*triage.DelegationAccount{}}
	var parts []string
	for _, r := range routes {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		part, err := e.examine(ctx, r, union(r.Users, c.Users))
		parts = append(parts, part)
		if err != nil {
			errs = append(errs, err)
		}
	}
	res.Detail = strings.Join(slices.DeleteFunc(append(parts, res.Detail), func(s string) bool { return s == "" }), "; ")
	return res, errors.Join(errs...)
}

// linkedRoutes lists the linked servers of t's instances and returns the routes of
// those that forward their callers' credentials to a SQL Server, notes on those that
// are not examined, and why the linked servers of an instance could not be listed. A
// listing that fails is no error of the check: the sql check reports a login that
// fails, and the inventory's paths are examined all the same.
func (c Delegation) linkedRoutes(ctx context.Context, t triage.Target, facts *triage.DelegationFacts) (routes []DelegationRoute, notes, unread []string) {
	account := t.SPNOwner("")
	for _, in := range instancesOf(t) {
		servers, err := c.Linked.LinkedServers(ctx, t, in)
		facts.LinkedServers = append(facts.LinkedServers, servers...)
		if err != nil {
			unread = append(unread, fmt.Sprintf("the linked servers of %s could not be read: %v", in, err))
		}
		for _, ls := range servers {
			if !ls.SelfCredential {
				continue // it logs in as a fixed login, or not at all: no second hop of the caller
			}
			var back triage.Target
			why := "no way to tell its back end"
			if c.LinkedBackEnd != nil {
				back, why = c.LinkedBackEnd(ls)
			}
			switch {
			case why != "":
				notes = append(notes, fmt.Sprintf("linked server %s not examined: %s", ls.Name, why))
				continue
			case account == "":
				notes = append(notes, fmt.Sprintf("linked server %s not examined: the service account of %s is not known", ls.Name, t.Host))
				continue
			}
			var bin triage.Instance
			if len(back.Instances) > 0 {
				bin = back.Instances[0]
			}
			routes = append(routes, DelegationRoute{
				Path: triage.DelegationPath{FrontEnd: t.Host, Account: account, BackEnd: back.Host, Instance: bin,
					Via: "linked server " + ls.Name, SelfCredential: true},
				BackEnd: back,
				Prover:  c.proverFor(account),
			})
		}
	}
	return routes, notes, unread
}

// proverFor returns the prover of an inventory route whose front end runs as
// account, nil when none has the front end's credentials.
func (c Delegation) proverFor(account string) delegationProver {
	for _, r := range c.Routes {
		if r.Prover != nil && strings.EqualFold(r.Path.Account, account) {
			return r.Prover
		}
	}
	return nil
}

// linkedNone says why linked servers gave no path.
func linkedNone(facts *triage.DelegationFacts, unread []string) string {
	if len(unread) > 0 {
		return strings.Join(unread, "; ")
	}
	switch n := len(facts.LinkedServers); n {
	case 0:
		return "it has no linked servers"
	case 1:
		return "its linked server does not forward the caller's credentials"
	default:
		return fmt.Sprintf("none of its %d linked servers forwards the caller's credentials", n)
	}
}

// instancesOf returns t's instances, the default instance for none.
func instancesOf(t triage.Target) []triage.Instance {
	if len(t.Instances) == 0 {
		return []triage.Instance{{Port: 1433}}
	}
	return t.Instances
}

// An examiner reads the accounts of paths, each once, into facts.
type examiner struct {
	dir   delegationReader
	facts *triage.DelegationFacts
	read  map[string]*triage.DelegationAccount // by role and lower-case name
}

// account returns what the directory says of name in role, reading it the first time.
func (e *examiner) account(ctx context.Context, name, role string) (triage.DelegationAccount, error) {
	key := role + "|" + strings.ToLower(name)
	if a, ok := e.read[key]; ok {
		return *a, nil
	}
	a := e.dir.Delegation(ctx, name, role)
	a.Role, a.Name = role, name
	e.facts.Accounts = append(e.facts.Accounts, a)
	e.read[key] = &a
	if a.Err != "" {
		return a, fmt.Errorf("read %s %s: %s", role, name, a.Err)
	}
	return a, nil
}

// examine reads the accounts of route r and, with the front end's credentials, asks
// the KDC for each user's ticket to each SPN of the back end; it returns one line of
// detail.
func (e *examiner) examine(ctx context.Context, r DelegationRoute, users []string) (string, error) {
	r.Path.BackEndFQDN = cmp.Or(r.Path.BackEndFQDN, r.BackEnd.FQDN)
	r.Path.BackEndAccount = cmp.Or(r.Path.BackEndAccount, r.BackEnd.SPNOwner(""))
	e.facts.Paths = append(e.facts.Paths, r.Path)
	var errs []error
	front, err := e.account(ctx, r.Path.Account, triage.RoleFrontEnd)
	if err != nil {
		errs = append(errs, err)
	}
	var back triage.DelegationAccount
	if owner := r.Path.BackEndAccount; owner != "" {
		if back, err = e.account(ctx, owner, triage.RoleBackEnd); err != nil {
			errs = append(errs, err)
		}
	}
	for _, u := range users {
		if _, err := e.account(ctx, u, triage.RoleUser); err != nil {
			errs = append(errs, err)
		}
	}

	detail := r.Path.String()
	spns := r.BackEnd.RequiredSPNs()
	switch {
	case r.Prover == nil:
		detail += ": read from the directory; no credentials of the front end to ask the KDC"
	case len(users) == 0:
		detail += ": read from the directory; no user to ask the KDC for"
	case len(spns) == 0:
		detail += ": read from the directory; the back end's FQDN is not known, so neither are its SPNs"
	default:
		rbcd := allows(back, front)
		issued, asked, unprovable := 0, 0, 0
		for _, u := range users {
			if ctx.Err() != nil {
				return detail, errors.Join(append(errs, ctx.Err())...)
			}
			for i, p := range r.Prover.ProveDelegations(ctx, r.Path, u, spns, rbcd) {
				e.facts.Proofs = append(e.facts.Proofs, p)
				asked++
				if p.ProxyIssued {
					issued++
				}
				if p.Unprovable != "" {
					unprovable++
				}
				if p.Err != "" {
					errs = append(errs, fmt.Errorf("prove %s for %s to %s: %s", r.Path, u, spns[i], p.Err))
				}
			}
		}
		detail += fmt.Sprintf(": %d of %s issued through the front end", issued, human.Count(asked, "ticket", "tickets"))
		if rbcd {
			detail += " (resource-based delegation)"
		}
		if unprovable > 0 {
			detail += fmt.Sprintf("; the KDC's answer cannot prove or disprove %d", unprovable)
		}
	}
	return detail, errors.Join(errs...)
}

// allows reports whether back's msDS-AllowedToActOnBehalfOfOtherIdentity allows
// front (resource-based constrained delegation), comparing SIDs.
func allows(back, front triage.DelegationAccount) bool {
	if front.Account == nil || front.Account.SID == "" {
		return false
	}
	return slices.ContainsFunc(back.AllowedToActOnBehalf, func(p triage.Principal) bool {
		return strings.EqualFold(p.SID, front.Account.SID)
	})
}

// union returns the names of a and then those of b not in a, ignoring case.
func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, s) }) {
			out = append(out, s)
		}
	}
	return out
}
