package diagnosis

import (
	"fmt"
	"time"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// maxSkew is Kerberos' default tolerance for clock differences.
const maxSkew = 5 * time.Minute

// clockRule reports clocks that differ by more than Kerberos allows. SQL Server's clock
// against the domain controller's (both read by the checker) is the host's own problem:
// critical. A clock read against the checker's (the DC's rootDSE currentTime, SQL Server's
// SYSUTCDATETIME() without a DC reading, or the KDC answering KRB_AP_ERR_SKEW to the
// checker) may be the checker's clock at fault, wherever authtriage runs: a warning that
// says so.
type clockRule struct{}

func (clockRule) Name() string { return "clock" }

func (clockRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	var dc *triage.ClockReading
	var tickets []triage.TicketResult
	if d := obs.Directory; d != nil {
		if len(d.Clocks) > 0 {
			dc = &d.Clocks[0]
		}
		tickets = d.Tickets
	}
	var hostEv, checkerEv []triage.Evidence
	worst := time.Duration(0)
	for _, l := range obs.SQL {
		if !l.OK || l.ServerTime.IsZero() || l.ReadAt.IsZero() {
			continue
		}
		skew := l.ServerTime.Sub(l.ReadAt)
		if dc != nil {
			if d := (skew - dc.Skew).Abs(); d > maxSkew {
				worst = max(worst, d)
				hostEv = append(hostEv, triage.Evidence{Check: "sql", Source: triage.SourceClock,
					Text: fmt.Sprintf("SQL Server %s is %s %s %s", l.Instance, human.Span(d.Round(time.Second)), aheadOrBehind(skew-dc.Skew), dc.Source)})
			}
		} else if skew.Abs() > maxSkew {
			checkerEv = append(checkerEv, triage.Evidence{Check: "sql", Source: triage.SourceClock,
				Text: fmt.Sprintf("SQL Server %s is %s %s this checker's clock", l.Instance, human.Span(skew.Abs().Round(time.Second)), aheadOrBehind(skew))})
		}
	}
	if dc != nil && dc.Skew.Abs() > maxSkew {
		checkerEv = append(checkerEv, triage.Evidence{Check: "clock", Source: triage.SourceClock,
			Text: fmt.Sprintf("%s is %s %s this checker's clock", dc.Source, human.Span(dc.Skew.Abs().Round(time.Second)), aheadOrBehind(dc.Skew))})
	}
	for _, tr := range tickets {
		if !tr.OK && (tr.Code == 0x25 || tr.Code == 0x21) {
			checkerEv = append(checkerEv, triage.Evidence{Check: "kerberos", Source: triage.SourceKerberos,
				Text: fmt.Sprintf("klist get %s: %s", tr.SPN, ticketError(tr))})
		}
	}
	n := namesFor(t, obs)
	var out []triage.Finding
	if len(hostEv) > 0 {
		f := triage.NewFinding(triage.ClockSkew, n.vars)
		f.Evidence = hostEv
		f.Summary = fmt.Sprintf("SQL Server on %s and the domain controller disagree on the time by %s, more than the %s Kerberos allows", t.Host, human.Span(worst.Round(time.Second)), human.Span(maxSkew))
		out = append(out, f)
	}
	if len(checkerEv) > 0 {
		f := triage.NewFinding(triage.ClockSkew, n.vars)
		f.Severity = triage.Warning
		f.Evidence = checkerEv
		f.Summary = fmt.Sprintf("The clock where authtriage runs and the domain's differ by more than the %s Kerberos allows: if this checker's clock is right, the domain controllers or %s are off; if it is wrong, fix it first", human.Span(maxSkew), t.Host)
		out = append(out, f)
	}
	return out
}

func aheadOrBehind(skew time.Duration) string {
	if skew > 0 {
		return "ahead of"
	}
	return "behind"
}
