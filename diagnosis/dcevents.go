package diagnosis

import (
	"fmt"

	"authtriage/errorlog"
	"authtriage/triage"
)

// dcEventsRule reports domain-controller and LSA trouble that only the Windows event
// logs show (NETLOGON 5719, Kerberos 200, LsaSrv 40960, Kerberos errors with
// 0x80090311 or 0x80090304) when no 17806 of the same cause was logged; with one,
// sspiRule attaches these events to its finding. Without SQL Server failures beside
// them the events are a warning: the host lost its domain controller, but the
// evidence does not show SQL Server logins failing (5719 also appears at every boot
// before the network is up).
type dcEventsRule struct{}

func (dcEventsRule) Name() string { return "dc-events" }

func (dcEventsRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	explained := map[triage.CauseID]bool{}
	for _, e := range sqlEvents(obs, errorlog.MsgSSPIHandshake) {
		explained[sspiCause(e.Code)] = true
	}
	n := namesFor(t, obs)
	var out []triage.Finding
	for _, cause := range []triage.CauseID{triage.DCUnreachable, triage.LSAUnresponsive} {
		if explained[cause] {
			continue
		}
		ev := corroboration(cause, triage.Observations{Logs: eventLogOnly(obs.Logs)})
		if len(ev) == 0 {
			continue
		}
		f := triage.NewFinding(cause, n.vars)
		f.Severity = triage.Warning
		f.Evidence = ev
		total := 0
		for _, e := range ev {
			total += e.Count
		}
		what := "could not reach a domain controller"
		if cause == triage.LSAUnresponsive {
			what = "reported Local Security Authority errors"
		}
		f.Summary = fmt.Sprintf("%s %s (%s in the event logs), but no SQL Server SSPI failure was seen in the window", t.Host, what, plural(total, "event"))
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
