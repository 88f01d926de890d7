package diagnosis

import (
	"fmt"
	"strings"
	"time"

	"authtriage/triage"
)

// dcReachRule reports domain controllers that do not answer from where authtriage runs
// (the agent inside the network, or the CLI): none answering is dc.unreachable; some
// failing is a warning, since clients and SQL Server may pick the broken ones.
type dcReachRule struct{}

func (dcReachRule) Name() string { return "dc" }

func (dcReachRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	d := obs.Directory
	if d == nil || len(d.DCs) == 0 {
		return nil
	}
	var down, up []string
	var ev []triage.Evidence
	for _, dc := range d.DCs {
		switch {
		case dc.Err != "":
			down = append(down, dc.Address)
			ev = append(ev, triage.Evidence{Check: "dc", Source: triage.SourceDirectory,
				Text: fmt.Sprintf("%s (%s): LDAP: %s", dc.Address, dc.Via, dc.Err)})
		case dc.KDCError != "":
			down = append(down, dc.Address)
			ev = append(ev, triage.Evidence{Check: "dc", Source: triage.SourceDirectory,
				Text: fmt.Sprintf("%s (%s): Kerberos port: %s", dc.Address, dc.Via, dc.KDCError)})
		default:
			up = append(up, fmt.Sprintf("%s (%s)", dc.Address, dc.Latency.Round(time.Millisecond)))
		}
	}
	if len(down) == 0 {
		return nil
	}
	f := triage.NewFinding(triage.DCUnreachable, namesFor(t, obs).vars)
	f.Evidence = ev
	if len(up) > 0 {
		f.Severity = triage.Warning
		f.Summary = fmt.Sprintf("%d of %d domain controllers do not answer from the checker (%s); these do: %s",
			len(down), len(d.DCs), strings.Join(down, ", "), strings.Join(up, ", "))
	} else {
		f.Summary = fmt.Sprintf("No domain controller answers from the checker: %s", strings.Join(down, ", "))
	}
	return []triage.Finding{f}
}
