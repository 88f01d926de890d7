package diagnosis

import (
	"fmt"
	"strings"

	"github.com/authtriage/authtriage/triage"
)

// aliasRule reports each DNS alias (CNAME) of the host whose SPN forms are not
// registered as the canonical name's are (DirectoryFacts.Probes of kind ProbeAlias,
// compared with the required SPNs built on the FQDN): the alias's form missing while
// the canonical one is registered (a warning: clients that build the SPN from the alias
// fall back to NTLM), or the alias's form registered while the canonical one is
// missing (critical: clients that build it from the canonical name, and every client
// that connects by the FQDN, fall back or fail; spnRule leaves that SPN to this rule).
//
// Which name a client builds the SPN from Microsoft's pages do not settle, so the
// finding says so rather than choose, and its fix registers both forms, right either
// way:
//   - "Register a Service Principal Name for Kerberos Connections", The Role of the
//     SPN: "If the connection does not pass an SPN, a default SPN is constructed based
//     on the protocol used, server name, and the instance name"; Client Connections:
//     "For a TCP connection, an SPN in the format MSSQLSvc/FQDN:[port] is used". It
//     does not say whether the server name is resolved through DNS first, and does not
//     mention aliases,
//     https://learn.microsoft.com/sql/database-engine/configure-windows/register-a-service-principal-name-for-kerberos-connections.
//   - "Cannot generate SSPI context", Why doesn't the connection fail over to NTLM:
//     the driver "calls the gethostbyname and gethostbyaddr WinSock APIs" to resolve
//     the server's fully qualified DNS, and "the corresponding DNS is used to form the
//     SPN for the server" (the name DNS answers with: the canonical name, or the
//     reverse lookup's),
//     https://learn.microsoft.com/troubleshoot/sql/database-engine/connect/cannot-generate-sspi-context-error.
//   - "Troubleshoot Kerberos failures in Internet Explorer", Does Internet Explorer use
//     the expected SPN: "If a website is accessed by using an alias name (CNAME),
//     Internet Explorer first uses DNS resolution to resolve the alias name to a
//     computer name (ANAME). The computer name is then used to build the SPN", unless
//     FEATURE_USE_CNAME_FOR_SPN_KB911149 is set; a browser, not a SQL Server driver,
//     https://learn.microsoft.com/troubleshoot/developer/webapps/iis/www-authentication-authorization/troubleshoot-kerberos-failures-ie.
type aliasRule struct{}

func (aliasRule) Name() string { return "name-alias" }

// aliasDisagreement is what the findings say of the sources.
const aliasDisagreement = " Microsoft's pages do not settle which name a client builds the SPN from: the SQL Server SPN page says only that the default SPN is constructed from the \"server name\", without saying whether that name is resolved through DNS first; the \"Cannot generate SSPI context\" page says the driver resolves the server's fully qualified name through DNS and forms the SPN from the name it gets back (the canonical name); the Internet Explorer page says the browser uses the canonical name. Registering both forms works either way."

func (aliasRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	d := obs.Directory
	if d == nil || t.FQDN == "" {
		return nil
	}
	n, want := spnNames(t, obs)
	chain := aliasChain(obs)
	var out []triage.Finding
	for _, p := range d.Probes {
		if p.Kind != triage.ProbeAlias {
			continue
		}
		canonical := onHost(p.SPN, p.For, t.FQDN)
		owners, required := ownersOf(d, canonical)
		if !required {
			continue
		}
		var f triage.Finding
		switch {
		case len(p.Owners) == 0 && len(owners) > 0:
			account := want
			if account == "" && len(owners) == 1 {
				account = owners[0].Name()
			}
			f = triage.NewFinding(triage.NameAlias, n.with(triage.PHSPN, p.SPN, triage.PHAccount, account))
			f.Evidence = append(f.Evidence,
				triage.Evidence{Check: "spn", Source: triage.SourceDirectory, Text: fmt.Sprintf("setspn -Q %s: no account in the forest has this SPN, the alias %s's form", p.SPN, p.For)},
				triage.Evidence{Check: "spn", Source: triage.SourceDirectory, Text: fmt.Sprintf("setspn -Q %s: registered on %s, the canonical name's form", canonical, accountNames(owners))})
			f.Summary = fmt.Sprintf("Clients that connect through the alias %s and build the SPN from it ask for %s, which is registered on no account; the canonical name's %s is on %s: those clients fall back to NTLM.%s",
				p.For, p.SPN, canonical, accountNames(owners), aliasDisagreement)
		case len(p.Owners) > 0 && len(owners) == 0:
			f = triage.NewFinding(triage.NameAlias, n.with(triage.PHSPN, canonical, triage.PHAccount, want))
			f.Severity = triage.Critical
			f.Evidence = append(f.Evidence,
				triage.Evidence{Check: "spn", Source: triage.SourceDirectory, Text: fmt.Sprintf("setspn -Q %s: no account in the forest has this SPN, the canonical name's form", canonical)},
				triage.Evidence{Check: "spn", Source: triage.SourceDirectory, Text: fmt.Sprintf("setspn -Q %s: registered on %s, the alias %s's form", p.SPN, accountNames(p.Owners), p.For)})
			f.Evidence = append(f.Evidence, ticketEvidence(d, canonical)...)
			f.Summary = fmt.Sprintf("%s, the canonical name's SPN, is registered on no account, while the alias %s's %s is on %s: clients that connect by %s, or that build the SPN from the canonical name, fall back to NTLM or fail.%s",
				canonical, p.For, p.SPN, accountNames(p.Owners), t.FQDN, aliasDisagreement)
			f.Remediation[0].Text = "Register the canonical name's form on the service account too, next to the alias's (-S checks for duplicates first): with both, Kerberos works whichever name a client builds its SPN from"
		default:
			continue
		}
		f.Evidence = append(f.Evidence, chain...)
		out = append(out, f)
	}
	return out
}

// aliasReported reports whether aliasRule reports spn, a required SPN that no account
// has: an alias's form of it is registered.
func aliasReported(t triage.Target, obs triage.Observations, so triage.SPNOwners) bool {
	d := obs.Directory
	if d == nil || t.FQDN == "" || len(so.Owners) != 0 {
		return false
	}
	for _, p := range d.Probes {
		if p.Kind == triage.ProbeAlias && len(p.Owners) > 0 && strings.EqualFold(onHost(p.SPN, p.For, t.FQDN), so.SPN) {
			return true
		}
	}
	return false
}

// aliasChain returns the CNAME chain discovery followed, as evidence.
func aliasChain(obs triage.Observations) []triage.Evidence {
	if obs.Instances == nil || obs.Instances.Names == nil || len(obs.Instances.Names.Chain) == 0 {
		return nil
	}
	nf := obs.Instances.Names
	return []triage.Evidence{{Check: instancesCheck, Source: triage.SourceDNS,
		Text: fmt.Sprintf("DNS: %s is an alias (CNAME): %s", nf.Asked, strings.Join(append([]string{nf.Asked}, nf.Chain...), " -> "))}}
}

// accountNames lists accounts as setspn writes them.
func accountNames(as []triage.Account) string {
	var names []string
	for _, a := range as {
		names = append(names, a.Name())
	}
	return strings.Join(names, ", ")
}
