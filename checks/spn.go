package checks

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/authtriage/authtriage/triage"
)

// spnFinder answers setspn -Q across the forest.
type spnFinder interface {
	FindSPN(ctx context.Context, spn string) (triage.SPNOwners, error)
}

// hostSPNFinder answers setspn -F -Q MSSQLSvc/FQDN*: every MSSQLSvc SPN of a host
// registered in the forest, with its owners ("setspn", Windows Commands: -Q, -F and
// the example "setspn -T contoso -F -Q */MyServer",
// https://learn.microsoft.com/windows-server/administration/windows-commands/setspn).
// A directory source may implement it; the spn check uses it when it does.
type hostSPNFinder interface {
	FindHostSPNs(ctx context.Context, fqdn string) ([]triage.SPNOwners, error)
}

// maxProbes bounds the SPNs the spn check looks up beyond the required ones.
const maxProbes = 64

// maxHostSPNsShown bounds the host's other SPNs the detail names.
const maxHostSPNsShown = 8

// SPN looks up who owns each MSSQLSvc SPN the target's clients ask for, in the global
// catalog (or an LDIF export of the directory), then the SPNs around them:
//   - each availability-group listener's (Target.ListenerSPNs), Kind ProbeListener;
//   - the forms of the instances' SPNs with each cluster node's FQDN in place of the
//     host's (Target.SPNFormsFor), which must not be registered, Kind ProbeNode;
//   - the same forms for each DNS alias of the host, Kind ProbeAlias;
//   - every MSSQLSvc SPN of the host's FQDN (DirectoryFacts.HostSPNs), when Dir
//     implements FindHostSPNs.
//
// At most 64 probes are looked up; the detail says how many were not. A listener,
// node or alias that is not a DNS host name is not looked up, and the detail says so.
type SPN struct {
	Dir      spnFinder // nil: skipped with NoSource
	NoSource string
}

// Name returns "spn".
func (SPN) Name() string { return "spn" }

// Run looks up every required SPN, then the probes, then the host's SPNs. It stops at
// the first lookup that fails and returns its error, naming the lookup; the owners
// found before it are kept in the result.
func (c SPN) Run(ctx context.Context, t triage.Target) (triage.Result, error) {
	if c.Dir == nil {
		return triage.Result{}, triage.SkipLacking(triage.MissingDirectory, "%s", cmp.Or(c.NoSource, "no directory source"))
	}
	spns := t.RequiredSPNs()
	if len(spns) == 0 {
		return triage.Result{}, triage.SkipLacking(triage.MissingFQDN, "the host's FQDN is not known")
	}
	facts := &triage.DirectoryFacts{RequiredSPNs: spns}
	res := triage.Result{Obs: triage.Observations{Directory: facts}}
	var parts []string
	detail := func(notes ...string) string { return strings.Join(slices.Concat(parts, notes), "; ") }
	for _, spn := range spns {
		so, err := c.Dir.FindSPN(ctx, spn)
		if err != nil {
			res.Detail = detail()
			return res, fmt.Errorf("look up %s: %w", spn, err)
		}
		so.SPN = spn
		facts.SPNs = append(facts.SPNs, so)
		parts = append(parts, fmt.Sprintf("%s: %s", spn, owners(so)))
	}
	res.Detail = withPortUnknown(detail(), t)

	probes, notes := probesOf(t)
	for _, p := range probes {
		so, err := c.Dir.FindSPN(ctx, p.SPN)
		if err != nil {
			res.Detail = withPortUnknown(detail(notes...), t)
			return res, fmt.Errorf("look up %s %s's SPN %s: %w", p.Kind, p.For, p.SPN, err)
		}
		so.SPN = p.SPN
		p.Owners = so.Owners
		facts.Probes = append(facts.Probes, p)
		parts = append(parts, fmt.Sprintf("%s %s: %s: %s", p.Kind, p.For, p.SPN, owners(so)))
	}
	res.Detail = withPortUnknown(detail(notes...), t)

	hf, ok := c.Dir.(hostSPNFinder)
	if !ok {
		return res, nil
	}
	host, err := hf.FindHostSPNs(ctx, t.FQDN)
	if err != nil {
		return res, fmt.Errorf("look up the MSSQLSvc SPNs of %s: %w", t.FQDN, err)
	}
	if host == nil {
		host = []triage.SPNOwners{} // looked up: nil would say it was not
	}
	facts.HostSPNs = host
	res.Detail = withPortUnknown(detail(append(notes, otherHostSPNs(t.FQDN, spns, host))...), t)
	return res, nil
}

// probesOf returns the SPNs the spn check looks up beyond the required ones, in
// order (listeners, nodes, aliases), each once and none of the required ones, at most
// maxProbes; and notes for the detail: names not looked up and why, probes cut.
func probesOf(t triage.Target) ([]triage.SPNProbe, []string) {
	seen := map[string]bool{}
	for _, spn := range t.RequiredSPNs() {
		seen[strings.ToLower(spn)] = true
	}
	var out []triage.SPNProbe
	var notes []string
	cut := 0
	add := func(kind triage.ProbeKind, name string, reqs []triage.SPNRequirement) {
		for _, r := range reqs {
			k := strings.ToLower(r.SPN)
			if seen[k] {
				continue
			}
			seen[k] = true
			if len(out) == maxProbes {
				cut++
				continue
			}
			out = append(out, triage.SPNProbe{SPNOwners: triage.SPNOwners{SPN: r.SPN}, Kind: kind, For: name})
		}
	}
	// valid reports whether name (a trailing dot aside) is a host name to build SPNs
	// from, noting it when not: it came from the inventory, SQL Server or DNS.
	valid := func(kind triage.ProbeKind, name string) (string, bool) {
		host := strings.TrimSuffix(name, ".")
		if err := triage.ValidHostName(host); err != nil {
			notes = append(notes, fmt.Sprintf("not looked up: %s %q is not a DNS host name", kind, name))
			return "", false
		}
		return host, true
	}
	for _, r := range t.ListenerSPNs() {
		if host, ok := valid(triage.ProbeListener, r.Listener); ok {
			r.SPN = strings.Replace(r.SPN, r.Listener, host, 1) // without a trailing dot
			add(triage.ProbeListener, r.Listener, []triage.SPNRequirement{r})
		}
	}
	for _, n := range t.Nodes {
		if host, ok := valid(triage.ProbeNode, n); ok && !strings.EqualFold(host, t.FQDN) {
			add(triage.ProbeNode, n, t.SPNFormsFor(host))
		}
	}
	for _, a := range t.Aliases {
		if host, ok := valid(triage.ProbeAlias, a); ok && !strings.EqualFold(host, t.FQDN) {
			add(triage.ProbeAlias, a, t.SPNFormsFor(host))
		}
	}
	if cut > 0 {
		notes = append(notes, fmt.Sprintf("not looked up: %d more SPNs of listeners, nodes and aliases (at most %d)", cut, maxProbes))
	}
	return out, notes
}

// otherHostSPNs describes the MSSQLSvc SPNs of fqdn that are registered but not
// required: those of ports and instances the host may no longer serve.
func otherHostSPNs(fqdn string, required []string, host []triage.SPNOwners) string {
	var other []string
	for _, so := range host {
		if !containsFold(required, so.SPN) {
			other = append(other, fmt.Sprintf("%s (%s)", so.SPN, owners(so)))
		}
	}
	switch {
	case len(other) == 0:
		return fmt.Sprintf("no other MSSQLSvc SPN of %s is registered", fqdn)
	case len(other) > maxHostSPNsShown:
		other = append(other[:maxHostSPNsShown], fmt.Sprintf("and %d more", len(other)-maxHostSPNsShown))
	}
	return fmt.Sprintf("other MSSQLSvc SPNs of %s: %s", fqdn, strings.Join(other, ", "))
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(v string) bool { return strings.EqualFold(v, s) })
}

// withPortUnknown appends to a check's detail that the TCP SPN of each named instance
// whose port is not known was not checked: TCP clients ask for MSSQLSvc/FQDN:PORT
// ("Register a Service Principal Name for Kerberos Connections", Client Connections,
// https://learn.microsoft.com/sql/database-engine/configure-windows/register-a-service-principal-name-for-kerberos-connections).
func withPortUnknown(detail string, t triage.Target) string {
	for _, in := range t.PortUnknown() {
		detail += fmt.Sprintf("; not checked: the TCP SPN of %s (MSSQLSvc/%s:PORT), whose port is not known", in.Name, t.FQDN)
	}
	return detail
}

func owners(so triage.SPNOwners) string {
	if len(so.Owners) == 0 {
		return "no owner"
	}
	names := make([]string, len(so.Owners))
	for i, o := range so.Owners {
		names[i] = o.Name()
	}
	return strings.Join(names, ", ")
}
