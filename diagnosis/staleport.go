package diagnosis

import (
	"fmt"
	"strings"

	"github.com/authtriage/authtriage/triage"
)

// stalePortRule reports the TCP SPNs of the host (MSSQLSvc/FQDN:PORT for a port an
// instance listens on now) that no account has, when the forest has the host's SPN for
// another port that none of its instances listens on (DirectoryFacts.HostSPNs, or the
// service account's own SPNs): the SPN was registered for the port before it changed,
// by hand or by SQL Server before it lost the right to, and not moved. It is critical:
// TCP clients ask for the current port's SPN and fall back to NTLM or fail. spnRule
// leaves those SPNs to this rule (one fault, one finding).
//
// Sources: "Register a Service Principal Name for Kerberos Connections", Client
// Connections ("For a TCP connection, an SPN in the format MSSQLSvc/FQDN:[port] is
// used") and Automatic SPN Registration (SQL Server registers and unregisters the
// SPN of the port it listens on at each start and stop, when its account may),
// https://learn.microsoft.com/sql/database-engine/configure-windows/register-a-service-principal-name-for-kerberos-connections;
// "Cannot generate SSPI context" (a missing SPN: NTLM; an SPN on a wrong account:
// remove it with setspn -D, register it with setspn -S),
// https://learn.microsoft.com/troubleshoot/sql/database-engine/connect/cannot-generate-sspi-context-error.
type stalePortRule struct{}

func (stalePortRule) Name() string { return "spn-stale-port" }

func (stalePortRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	s := stalePortsOf(t, obs)
	if len(s.missing) == 0 {
		return nil
	}
	n, want := spnNames(t, obs)
	first := s.stale[0]
	f := triage.NewFinding(triage.SPNStalePort, n.with(triage.PHSPN, s.missing[0], triage.PHAccount, want,
		triage.PHWrongSPN, first.SPN, triage.PHWrong, first.Owners[0].Name()))
	var steps []triage.Step
	var held []string
	for _, so := range s.stale {
		var owners []string
		for _, o := range so.Owners {
			owners = append(owners, o.Name())
			steps = append(steps, triage.NewStep(fmt.Sprintf("Remove %s, the SPN of a port no instance listens on, from %s", so.SPN, o.Name()),
				setspn("-D", triage.PHSPN, triage.PHWrong), map[string]string{triage.PHSPN: so.SPN, triage.PHWrong: o.Name()}))
		}
		held = append(held, fmt.Sprintf("%s on %s", so.SPN, strings.Join(owners, ", ")))
		f.Evidence = append(f.Evidence, triage.Evidence{Check: "spn", Source: triage.SourceDirectory,
			Text: fmt.Sprintf("setspn -Q MSSQLSvc/%s*: %s is registered on %s, but no instance of %s listens on port %s",
				t.FQDN, so.SPN, strings.Join(owners, ", "), t.Host, spnPort(so.SPN))})
	}
	for _, spn := range s.missing {
		f.Evidence = append(f.Evidence, triage.Evidence{Check: "spn", Source: triage.SourceDirectory,
			Text: fmt.Sprintf("setspn -Q %s: no account in the forest has this SPN, for port %s, where clients reach the instance now", spn, spnPort(spn))})
		if d := obs.Directory; d != nil {
			f.Evidence = append(f.Evidence, ticketEvidence(d, spn)...)
		}
		text := fmt.Sprintf("Register %s on the service account (-S checks for duplicates first)", spn)
		if want == "" {
			text = fmt.Sprintf("Register %s on the account SQL Server runs as (-S checks for duplicates first): that account is not known, so give it to have the exact command", spn)
		}
		steps = append(steps, triage.NewStep(text, setspn("-S", triage.PHSPN, triage.PHAccount), map[string]string{triage.PHSPN: spn, triage.PHAccount: want}))
	}
	// The catalog's last step (a static port, or self-registration) is prose.
	steps = append(steps, f.Remediation[len(f.Remediation)-1])
	f.Remediation = steps
	f.Summary = fmt.Sprintf("%s %s registered on no account, but %s, for a port no instance of %s listens on: the SPN was left at the port before it changed",
		strings.Join(s.missing, " and "), isAre(len(s.missing)), strings.Join(held, "; "), t.Host)
	return []triage.Finding{f}
}

// stalePorts are the host's current TCP SPNs that no account has, and the host's SPNs
// for ports none of its instances listens on that some account has.
type stalePorts struct {
	missing []string
	stale   []triage.SPNOwners
}

// stalePortsOf finds the stale-port fault; missing is nil when there is none (no
// current TCP SPN is missing, or no SPN of an old port is registered).
func stalePortsOf(t triage.Target, obs triage.Observations) stalePorts {
	d := obs.Directory
	if d == nil || t.FQDN == "" {
		return stalePorts{}
	}
	current := map[int]bool{}
	for _, r := range t.SPNRequirements() {
		if p, ok := tcpPortOf(r.SPN, t.FQDN); ok {
			current[p] = true
		}
	}
	if obs.Instances != nil {
		for _, v := range obs.Instances.Instances {
			if p, _ := v.Port(); p != 0 {
				current[p] = true
			}
			for _, c := range v.Ports {
				if c.Port != 0 && (c.Source == triage.PortListening || c.Source == triage.PortBrowser) {
					current[c.Port] = true
				}
			}
		}
	}
	var s stalePorts
	for _, so := range d.SPNs {
		if _, ok := tcpPortOf(so.SPN, t.FQDN); ok && len(so.Owners) == 0 {
			s.missing = append(s.missing, so.SPN)
		}
	}
	if len(s.missing) == 0 {
		return stalePorts{}
	}
	add := func(so triage.SPNOwners) {
		p, ok := tcpPortOf(so.SPN, t.FQDN)
		if !ok || current[p] || len(so.Owners) == 0 {
			return
		}
		for i, have := range s.stale {
			if strings.EqualFold(have.SPN, so.SPN) {
				for _, o := range so.Owners {
					if !containsAccount(have.Owners, o) {
						s.stale[i].Owners = append(s.stale[i].Owners, o)
					}
				}
				return
			}
		}
		s.stale = append(s.stale, triage.SPNOwners{SPN: so.SPN, Owners: append([]triage.Account(nil), so.Owners...)})
	}
	for _, so := range d.HostSPNs {
		add(so)
	}
	if a := d.ServiceAccount; a != nil {
		for _, spn := range a.SPNs {
			add(triage.SPNOwners{SPN: spn, Owners: []triage.Account{*a}})
		}
	}
	if len(s.stale) == 0 {
		return stalePorts{}
	}
	return s
}

// staleReported reports whether stalePortRule reports spn, a required SPN.
func staleReported(t triage.Target, obs triage.Observations, spn string) bool {
	for _, m := range stalePortsOf(t, obs).missing {
		if strings.EqualFold(m, spn) {
			return true
		}
	}
	return false
}

// tcpPortOf returns the port of spn when it is MSSQLSvc/FQDN:PORT for the host fqdn.
func tcpPortOf(spn, fqdn string) (int, bool) {
	rest, ok := cutPrefixFold(spn, "MSSQLSvc/"+fqdn+":")
	if !ok {
		return 0, false
	}
	p, err := triage.ParsePort(rest)
	return p, err == nil
}

// spnPort returns what follows the host in an SPN: its port or instance name.
func spnPort(spn string) string {
	rest, _ := cutPrefixFold(spn, "MSSQLSvc/")
	_, port, _ := strings.Cut(rest, ":")
	return port
}

// containsAccount reports whether as holds the directory object a.
func containsAccount(as []triage.Account, a triage.Account) bool {
	for _, b := range as {
		if b.SameAs(a) || (b.DN == "" && a.DN == "" && strings.EqualFold(b.Name(), a.Name())) {
			return true
		}
	}
	return false
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}
