package diagnosis

import (
	"fmt"
	"net"
	"strings"

	"github.com/authtriage/authtriage/triage"
)

// portUnknownRule reports each named instance whose TCP port is not known when the SPN
// or Kerberos check ran: TCP clients ask for MSSQLSvc/FQDN:PORT, which those checks could
// not name, so their clean answer covers the Named Pipes and Shared Memory form only.
// The finding's severity is unknown: nothing is known to be wrong, but the verdict is
// incomplete. When SQL Browser (the sql check) or SQL Server's own start-up messages
// (26059 registered, 26067 could not register, MSSQLSvc/FQDN:PORT) give the port, the
// summary says which port to give.
//
// Source: "Register a Service Principal Name for Kerberos Connections", Client
// Connections: "For a TCP connection, an SPN in the format MSSQLSvc/FQDN:[port] is used
// for both the named and default instances. For named pipes and shared memory
// connections, an SPN in the format MSSQLSvc/<FQDN>:<instancename> is used for a named
// instance".
// https://learn.microsoft.com/sql/database-engine/configure-windows/register-a-service-principal-name-for-kerberos-connections
type portUnknownRule struct{}

func (portUnknownRule) Name() string { return "port-unknown" }

func (portUnknownRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	d := obs.Directory
	if t.FQDN == "" || d == nil {
		return nil
	}
	// The checks that asked about the target's SPNs: the others say nothing either way.
	type asker struct {
		check string
		src   triage.Source
		how   string
	}
	var asked []asker
	if len(d.RequiredSPNs) > 0 {
		asked = append(asked, asker{"spn", triage.SourceDirectory, "setspn -Q"})
	}
	if len(d.Tickets) > 0 {
		asked = append(asked, asker{"kerberos", triage.SourceKerberos, "klist get"})
	}
	if len(asked) == 0 {
		return nil
	}
	n := namesFor(t, obs)
	var out []triage.Finding
	for _, in := range t.PortUnknown() {
		pipes := "MSSQLSvc/" + t.FQDN + ":" + in.Name
		f := triage.NewFinding(triage.InstancePortUnknown, n.with(triage.PHInstance, in.Name))
		for _, a := range asked {
			f.Evidence = append(f.Evidence, triage.Evidence{Check: a.check, Source: a.src,
				Text: fmt.Sprintf("%s was run for %s (Named Pipes and Shared Memory) only: %s has no TCP port in the inventory or the flags, so MSSQLSvc/%s:PORT was not checked",
					a.how, pipes, in.Name, t.FQDN)})
		}
		if port, where := knownPort(t, in, obs); port != 0 {
			f.Summary += fmt.Sprintf("; %s gives port %d: give the instance as %s:%d to check MSSQLSvc/%s:%d",
				where, port, in.Name, port, t.FQDN, port)
		} else {
			f.Summary += "; give the instance as NAME:PORT (--instance, or port in the inventory)"
		}
		out = append(out, f)
	}
	return out
}

// knownPort returns a TCP port of the named instance in that the evidence gives, and
// where it comes from: the port SQL Browser answered for the sql check's login, else a
// MSSQLSvc/FQDN:PORT SPN SQL Server registered or tried to register at start-up, from
// the ERRORLOG of that instance (the log names its instance, or the target has no
// other). It returns 0 when neither says.
func knownPort(t triage.Target, in triage.Instance, obs triage.Observations) (int, string) {
	for _, l := range obs.SQL {
		if !strings.EqualFold(l.Instance, in.String()) {
			continue
		}
		if _, p, err := net.SplitHostPort(l.Address); err == nil {
			if port, err := triage.ParsePort(p); err == nil {
				return port, "SQL Browser"
			}
		}
	}
	s := obs.Server
	sameLog := (s != nil && strings.EqualFold(s.Instance, in.Name)) || ((s == nil || s.Instance == "") && len(t.Instances) == 1)
	if !sameLog {
		return 0, ""
	}
	prefix := "MSSQLSvc/" + t.FQDN + ":"
	for _, id := range []int{triage.Msg26059, triage.Msg26067} {
		for _, e := range sqlEvents(obs, id) {
			rest, ok := cutPrefixFold(e.SPN, prefix)
			if !ok {
				continue
			}
			if port, err := triage.ParsePort(rest); err == nil {
				return port, fmt.Sprintf("SQL Server's start-up (%d %s)", e.ID, e.SPN)
			}
		}
	}
	return 0, ""
}
