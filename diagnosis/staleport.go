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
// An old port's SPN is removed by a setspn -D command only when discovery knows every
// instance of the host (instancesComplete); otherwise another instance that discovery
// missed may listen there, and the step asks for that to be confirmed first, without a
// command, and the evidence says only that no instance discovery found listens there.
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
	// nobody says who listens on none of the old ports: every instance of the host
	// (s.complete), or every instance discovery found.
	nobody := fmt.Sprintf("no instance of %s", t.Host)
	if !s.complete {
		nobody = fmt.Sprintf("no instance of %s that discovery found", t.Host)
	}
	var steps []triage.Step
	var held []string
	for _, so := range s.stale {
		var owners []string
		for _, o := range so.Owners {
			owners = append(owners, o.Name())
			if s.complete {
				steps = append(steps, triage.NewStep(fmt.Sprintf("Remove %s, the SPN of a port no instance listens on, from %s", so.SPN, o.Name()),
					setspn("-D", triage.PHSPN, triage.PHWrong), map[string]string{triage.PHSPN: so.SPN, triage.PHWrong: o.Name()}))
			}
		}
		if !s.complete {
			// Discovery may have missed an instance that listens on the port (the
			// Browser did not answer, a login failed, the instance is stopped): the
			// removal is for a person to confirm, not a command to paste.
			steps = append(steps, triage.Step{Text: fmt.Sprintf("Confirm that no instance of %s uses port %s (SQL Server Configuration Manager on the host lists every instance's TCP/IP settings), then remove %s from %s with setspn -D",
				t.Host, spnPort(so.SPN), so.SPN, strings.Join(owners, " and "))})
		}
		held = append(held, fmt.Sprintf("%s on %s", so.SPN, strings.Join(owners, ", ")))
		text := fmt.Sprintf("setspn -Q MSSQLSvc/%s*: %s is registered on %s, but %s listens on port %s", t.FQDN, so.SPN, strings.Join(owners, ", "), nobody, spnPort(so.SPN))
		if !s.complete {
			text = fmt.Sprintf("setspn -Q MSSQLSvc/%s*: %s is registered on %s, but no instance discovery found listens on port %s", t.FQDN, so.SPN, strings.Join(owners, ", "), spnPort(so.SPN))
		}
		f.Evidence = append(f.Evidence, triage.Evidence{Check: "spn", Source: triage.SourceDirectory, Text: text})
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
	f.Summary = fmt.Sprintf("%s %s registered on no account, but %s, for a port %s listens on: the SPN was left at the port before it changed",
		strings.Join(s.missing, " and "), isAre(len(s.missing)), strings.Join(held, "; "), nobody)
	if !s.complete {
		f.Summary += ". Discovery may not have found every instance of the host (" + s.why + "): confirm the old port is unused before removing its SPN"
	}
	return []triage.Finding{f}
}

// stalePorts are the host's current TCP SPNs that no account has, and the host's SPNs
// for ports none of its known instances listens on that some account has. complete
// says the list of the host's instances is known to be whole (instancesComplete), so
// that an old port's SPN may be removed by command; why says, when it is not, what
// discovery lacked.
type stalePorts struct {
	missing  []string
	stale    []triage.SPNOwners
	complete bool
	why      string
}

// stalePortsOf finds the stale-port fault; missing is nil when there is none (no
// current TCP SPN is missing, or no SPN of an old port is registered). A port is
// current when the target (the inventory, or the request) or any source of discovery
// names it for an instance: listened on, reported by the Browser, or configured (a
// port set but not yet listened on is about to be).
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
			for _, c := range v.Ports {
				if c.Port != 0 {
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
	s.complete, s.why = instancesComplete(obs)
	return s
}

// instancesComplete reports whether discovery knows every instance of the host, and
// when it does not, says why: SQL Server Browser answered (its answer to CLNT_UCAST_EX
// lists every instance: some view has a PortBrowser claim or the Browser's server
// name), or the agent read the host's own configuration (a PortRegistry or
// PortMssqlConf claim). A SQL login sees only its own instance, and the inventory
// names only what it was told.
//
// Source: [MC-SQLR] 3.1.5.2 Waiting For Request From Client: for CLNT_UCAST_EX "the
// server returns information about all available instances",
// https://learn.microsoft.com/openspecs/windows_protocols/mc-sqlr/4eea5b65-a848-4deb-99ca-280ebd4e3dc8.
func instancesComplete(obs triage.Observations) (bool, string) {
	const why = "neither SQL Server Browser's answer, which lists every instance, nor the host's own configuration was read"
	if obs.Instances == nil {
		return false, why
	}
	for _, v := range obs.Instances.Instances {
		if v.BrowserServer != "" {
			return true, ""
		}
		for _, c := range v.Ports {
			switch c.Source {
			case triage.PortBrowser, triage.PortRegistry, triage.PortMssqlConf:
				return true, ""
			}
		}
	}
	return false, why
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
