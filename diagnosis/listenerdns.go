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
// an address that is not one of its own configured IP addresses
// (listener.dns_mismatch).
//
// A virtual network name (VNN) listener's addresses are virtual IP addresses of its
// own, cluster resources beside its network name: "What is an availability group
// listener?" describes a listener as "a Domain Name System (DNS) listener name,
// listener port designation, and one or more IP addresses", a cluster resource "with
// an associated virtual network name (VNN), virtual IP (VIP)", and "A client uses DNS
// to resolve the VNN into multiple IP addresses and then tries to connect to each
// address".
// https://learn.microsoft.com/sql/database-engine/availability-groups/windows/availability-group-listener-overview
// With RegisterAllProvidersIP at 1 (what SQL Server sets) DNS holds every one of
// them, at 0 only the online one ("Configure a listener for an Always On availability
// group").
//
// A distributed network name (DNN) listener has no address of its own: "The DNS
// entry for the listener name should resolve to the addresses of all replicas in the
// availability group" ("Configure a DNN listener for an availability group", Port
// considerations,
// https://learn.microsoft.com/azure/azure-sql/virtual-machines/windows/availability-group-distributed-network-name-dnn-listener-configure).
// So a name resolving to a replica host's address is no fault by itself, and the rule
// judges a listener only when its configured addresses are known (Listener.IPs, from
// sys.availability_group_listener_ip_addresses): any other address its name resolves
// to is a stale or foreign record. Without them nothing is told. The replicas'
// subnets are not known to discovery (it reads no subnet masks), so an address is
// never judged by its subnet either.
type listenerDNSRule struct{}

func (listenerDNSRule) Name() string { return "listener-dns" }

func (listenerDNSRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	n := namesFor(t, obs)
	var out []triage.Finding
	for _, l := range t.Listeners {
		if len(l.IPs) == 0 || len(l.Addresses) == 0 || firstNonEmptyString(l.FQDN, l.Name) == "" {
			continue
		}
		var foreign []string
		for _, a := range l.Addresses {
			if !containsIP(l.IPs, a) {
				foreign = append(foreign, a)
			}
		}
		if len(foreign) == 0 {
			continue
		}
		name := firstNonEmptyString(l.FQDN, l.Name)
		f := triage.NewFinding(triage.ListenerDNSMismatch, n.with(triage.PHFQDN, name))
		f.Summary = fmt.Sprintf("The availability-group listener %s resolves to %s, not among its own IP addresses (%s): a stale or foreign DNS record, so clients may not reach the primary replica through the listener",
			listenerName(l), human.List(foreign), strings.Join(l.IPs, ", "))
		f.Evidence = append(f.Evidence, triage.Evidence{Check: checkInstances, Source: triage.SourceDNS,
			Text: fmt.Sprintf("%s resolves to %s", name, strings.Join(l.Addresses, ", "))})
		f.Evidence = append(f.Evidence, triage.Evidence{Check: checkInstances, Source: triage.SourceSQL,
			Text: fmt.Sprintf("the listener's IP addresses (sys.availability_group_listener_ip_addresses): %s", strings.Join(l.IPs, ", "))})
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
