package diagnosis

import (
	"fmt"
	"time"

	"authtriage/triage"
)

// maxSkew is Kerberos' default tolerance for clock differences.
const maxSkew = 5 * time.Minute

// clockRule reports clocks that differ by more than Kerberos allows: the domain
// controller's rootDSE currentTime (and SQL Server's time, once read) against the
// checker's, or a KDC that answered KRB_AP_ERR_SKEW.
type clockRule struct{}

func (clockRule) Name() string { return "clock" }

func (clockRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	type reading struct {
		triage.ClockReading
		check string
	}
	var clocks []reading
	var tickets []triage.TicketResult
	if d := obs.Directory; d != nil {
		for _, c := range d.Clocks {
			clocks = append(clocks, reading{c, "clock"})
		}
		tickets = d.Tickets
	}
	for _, l := range obs.SQL {
		if l.OK && !l.ServerTime.IsZero() && !l.ReadAt.IsZero() {
			clocks = append(clocks, reading{triage.ClockReading{Source: "SQL Server " + l.Instance + " SYSUTCDATETIME()", Skew: l.ServerTime.Sub(l.ReadAt)}, "sql"})
		}
	}
	var ev []triage.Evidence
	worst := time.Duration(0)
	for _, c := range clocks {
		skew := c.Skew.Abs()
		if skew > maxSkew {
			worst = max(worst, skew)
			ev = append(ev, triage.Evidence{Check: c.check, Source: triage.SourceClock,
				Text: fmt.Sprintf("%s is %s %s this checker's clock", c.Source, skew.Round(time.Second), aheadOrBehind(c.Skew))})
		}
	}
	for _, tr := range tickets {
		if !tr.OK && (tr.Code == 0x25 || tr.Code == 0x21) {
			ev = append(ev, triage.Evidence{Check: "kerberos", Source: triage.SourceKerberos,
				Text: fmt.Sprintf("klist get %s: %s", tr.SPN, ticketError(tr))})
		}
	}
	if len(ev) == 0 {
		return nil
	}
	f := triage.NewFinding(triage.ClockSkew, namesFor(t, obs).vars)
	f.Evidence = ev
	if worst > 0 {
		f.Summary = fmt.Sprintf("Clocks differ by %s, more than the %s Kerberos allows", worst.Round(time.Second), maxSkew)
	} else {
		f.Summary = fmt.Sprintf("The KDC answered KRB_AP_ERR_SKEW: its clock and the requester's differ by more than the %s Kerberos allows; check the clocks of the domain controllers, %s and its clients", maxSkew, t.Host)
	}
	return []triage.Finding{f}
}

func aheadOrBehind(skew time.Duration) string {
	if skew > 0 {
		return "ahead of"
	}
	return "behind"
}
