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
	d := obs.Directory
	if d == nil {
		return nil
	}
	var ev []triage.Evidence
	worst := time.Duration(0)
	for _, c := range d.Clocks {
		skew := c.Skew.Abs()
		if skew > maxSkew {
			worst = max(worst, skew)
			ev = append(ev, triage.Evidence{Check: "clock", Source: triage.SourceClock,
				Text: fmt.Sprintf("%s is %s %s this checker's clock", c.Source, skew.Round(time.Second), aheadOrBehind(c.Skew))})
		}
	}
	for _, tr := range d.Tickets {
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
	}
	return []triage.Finding{f}
}

func aheadOrBehind(skew time.Duration) string {
	if skew > 0 {
		return "ahead of"
	}
	return "behind"
}
