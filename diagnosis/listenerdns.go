package diagnosis

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// listenerDNSRule reports an availability-group listener whose DNS name resolves to
// addresses that are not its own (listener.dns_mismatch).
//
// A listener's addresses are virtual IP addresses of its own, cluster resources
// beside its network name, never a replica host's address: "What is an availability
// group listener?" describes a listener as "a Domain Name System (DNS) listener name,
// listener port designation, and one or more IP addresses", a cluster resource "with
// an associated virtual network name (VNN), virtual IP (VIP)", and "A client uses DNS
// to resolve the VNN into multiple IP addresses and then tries to connect to each
// address"; its example configures the listener IP 192.168.20.15 beside the
// 192.168.20.2 SQL Server listens on.
// https://learn.microsoft.com/sql/database-engine/availability-groups/windows/availability-group-listener-overview
// With RegisterAllProvidersIP at 1 (what SQL Server sets) DNS holds every one of
// them, at 0 only the online one ("Configure a listener for an Always On availability
// group"): either way every address the name resolves to is one of the listener's.
//
// So:
//   - with the listener's configured addresses known (Listener.IPs, from
//     sys.availability_group_listener_ip_addresses), any other address the name
//     resolves to is a stale or foreign record;
//   - without them, an address that is a replica host's own is wrong, and nothing
//     else can be told. The replicas' subnets are not known to discovery (it reads no
//     subnet masks), so an address is never judged by its subnet.
type listenerDNSRule struct{}

func (listenerDNSRule) Name() string { return "listener-dns" }

func (listenerDNSRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	n := namesFor(t, obs)
	var out []triage.Finding
	for _, l := range t.Listeners {
		if len(l.Addresses) == 0 || firstNonEmptyString(l.FQDN, l.Name) == "" {
			continue
		}
		replicaOf := map[netip.Addr]string{}
		for _, r := range l.Replicas {
			for _, a := range r.Addresses {
				if ip, ok := parseIP(a); ok {
					replicaOf[ip] = r.Server
				}
			}
		}
		var foreign []string
		for _, a := range l.Addresses {
			ip, ok := parseIP(a)
			switch {
			case len(l.IPs) > 0 && !containsIP(l.IPs, a):
				desc := a
				if r, isReplica := replicaOf[ip]; ok && isReplica {
					desc += " (the address of the replica " + r + ")"
				}
				foreign = append(foreign, desc)
			case len(l.IPs) == 0 && ok && replicaOf[ip] != "":
				foreign = append(foreign, a+" (the address of the replica "+replicaOf[ip]+")")
			}
		}
		if len(foreign) == 0 {
			continue
		}
		name := firstNonEmptyString(l.FQDN, l.Name)
		f := triage.NewFinding(triage.ListenerDNSMismatch, n.with(triage.PHFQDN, name))
		if len(l.IPs) > 0 {
			f.Summary = fmt.Sprintf("The availability-group listener %s resolves to %s, not among its own IP addresses (%s): a stale or foreign DNS record, so clients may not reach the primary replica through the listener",
				listenerName(l), human.List(foreign), strings.Join(l.IPs, ", "))
		} else {
			f.Summary = fmt.Sprintf("The availability-group listener %s resolves to %s: a listener's name resolves to IP addresses of its own, never to a replica host's, so the record is stale or the name is used by a host too",
				listenerName(l), human.List(foreign))
		}
		f.Evidence = append(f.Evidence, triage.Evidence{Check: checkInstances, Source: triage.SourceDNS,
			Text: fmt.Sprintf("%s resolves to %s", name, strings.Join(l.Addresses, ", "))})
		if len(l.IPs) > 0 {
			f.Evidence = append(f.Evidence, triage.Evidence{Check: checkInstances, Source: triage.SourceSQL,
				Text: fmt.Sprintf("the listener's IP addresses (sys.availability_group_listener_ip_addresses): %s", strings.Join(l.IPs, ", "))})
		}
		for _, r := range l.Replicas {
			if len(r.Addresses) > 0 {
				f.Evidence = append(f.Evidence, triage.Evidence{Check: checkInstances, Source: triage.SourceDNS,
					Text: fmt.Sprintf("the replica %s's host resolves to %s", r.Server, strings.Join(r.Addresses, ", "))})
			}
		}
		out = append(out, f)
	}
	return out
}

// parseIP parses an address as DNS or SQL Server writes it, without a zone.
func parseIP(s string) (netip.Addr, bool) {
	ip, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Addr{}, false
	}
	return ip.Unmap().WithZone(""), true
}

// containsIP reports whether addr is among list, as addresses when both parse, else
// as text.
func containsIP(list []string, addr string) bool {
	ip, ok := parseIP(addr)
	return slices.ContainsFunc(list, func(s string) bool {
		if other, okOther := parseIP(s); ok && okOther {
			return other == ip
		}
		return strings.EqualFold(strings.TrimSpace(s), strings.TrimSpace(addr))
	})
}
