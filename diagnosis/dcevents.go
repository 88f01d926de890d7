package diagnosis

import (
	"fmt"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// dcEventsRule reports domain-controller, secure-channel and LSA trouble that only
// the Windows event logs show (NETLOGON 5719, 5721 and 3210, Kerberos 200, LsaSrv
// 40960 with STATUS_NO_LOGON_SERVERS, Kerberos errors with 0x80090311 or
// 0x80090304; see eventCause) when no 17806 of the same cause was logged; with one,
// sspiRule attaches these events to its finding. An event that only supports what
// others show (LsaSrv 40961) makes no finding by itself. Without SQL Server failures
// beside them the events are a warning: the host lost its domain controller or its
// secure channel, but the evidence does not show SQL Server logins failing (5719 also
// appears at every boot before the network is up).
type dcEventsRule struct{}

func (dcEventsRule) Name() string { return "dc-events" }

func (dcEventsRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	explained := map[triage.CauseID]bool{}
	for _, e := range sspiFailures(obs) {
		explained[sspiCauseIn(e.Code, t, obs)] = true
	}
	n := namesFor(t, obs)
	events := triage.Observations{Logs: eventLogOnly(obs.Logs)}
	var out []triage.Finding
	for _, cause := range []triage.CauseID{triage.SecureChannelBroken, triage.DCUnreachable, triage.LSAUnresponsive} {
		if explained[cause] {
			continue
		}
		ev, shown := eventEvidence(cause, t, events)
		if !shown {
			continue
		}
		vars := n.vars
		if cause == triage.SecureChannelBroken {
			vars = n.with(triage.PHDC, namedDC(cause, t, events)) // NETLOGON 3210 and 5721 name it
		}
		f := triage.NewFinding(cause, vars)
		f.Severity = triage.Warning
		f.Evidence = ev
		total := 0
		for _, e := range ev {
			total += e.Count
		}
		var what string
		switch cause {
		case triage.SecureChannelBroken:
			what = "could not set up its secure channel: a domain controller refused it"
		case triage.DCUnreachable:
			what = "could not reach a domain controller"
		case triage.LSAUnresponsive:
			what = "reported Local Security Authority errors"
		}
		f.Summary = fmt.Sprintf("%s %s (%s in the event logs), but no SQL Server SSPI failure was seen in the window", t.Host, what, human.Count(total, "event", "events"))
		out = append(out, f)
	}
	return out
}

func eventLogOnly(logs []triage.LogEvent) []triage.LogEvent {
	var out []triage.LogEvent
	for _, e := range logs {
		if e.Source == triage.SourceEventlog {
			out = append(out, e)
		}
	}
	return out
}
