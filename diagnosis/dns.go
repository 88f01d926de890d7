package diagnosis

import (
	"fmt"
	"strings"

	"github.com/authtriage/authtriage/triage"
)

// dnsRule reports names that would make clients ask for a different SPN than the one
// registered: an address of the FQDN whose reverse lookup names another host, or a
// computer account whose dNSHostName differs from the FQDN in the inventory. A missing
// PTR record alone is not reported: it does not change the SPN clients build.
type dnsRule struct{}

func (dnsRule) Name() string { return "dns" }

func (dnsRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	d := obs.Directory
	if d == nil || d.DNS == nil || d.DNS.FQDN == "" {
		return nil
	}
	facts := d.DNS
	var ev []triage.Evidence
	for _, addr := range facts.Addresses {
		names := facts.ReverseFor[addr]
		if len(names) == 0 {
			continue // no PTR record: clients that canonicalise fall back to the name they were given
		}
		match := false
		for _, name := range names {
			if strings.EqualFold(strings.TrimSuffix(name, "."), facts.FQDN) {
				match = true
			}
		}
		if !match {
			ev = append(ev, triage.Evidence{Check: "dns", Source: triage.SourceDNS,
				Text: fmt.Sprintf("%s resolves to %s, whose reverse lookup is %s", facts.FQDN, addr, strings.Join(names, ", "))})
		}
	}
	if h := facts.ComputerDNSHostName; h != "" && !strings.EqualFold(h, facts.FQDN) {
		ev = append(ev, triage.Evidence{Check: "dns", Source: triage.SourceDirectory,
			Text: fmt.Sprintf("the computer account's dNSHostName is %s, not %s", h, facts.FQDN)})
	}
	if len(ev) == 0 {
		return nil
	}
	f := triage.NewFinding(triage.DNSMismatch, namesFor(t, obs).vars)
	f.Evidence = ev
	return []triage.Finding{f}
}
