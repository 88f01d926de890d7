package diagnosis

import (
	"fmt"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// slowSSPIMillis is the "negotiating SSPI" time in a 17830 from which authtriage calls
// the Local Security Authority slow. A healthy negotiation takes a few milliseconds;
// a second means LSASS or the domain controller behind it is struggling.
const slowSSPIMillis = 1000

// slowSSPIRule reports logins that timed out while negotiating SSPI (17830 with a
// large "negotiating SSPI" time), a sign of a slow LSASS or domain controller, when no
// 17806 0x80090304 already says the LSA failed. The connectivity ring buffer's logins
// that spent as long in SSPI processing count alike (slowRingLogins).
type slowSSPIRule struct{}

func (slowSSPIRule) Name() string { return "slow-sspi" }

func (slowSSPIRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	for _, e := range sspiFailures(obs) {
		if sspiCause(e.Code) == triage.LSAUnresponsive {
			return nil // sspiRule attaches the slow logins to that finding
		}
	}
	var slow []triage.LogEvent
	total, worst := 0, 0
	for _, e := range sqlEvents(obs, triage.Msg17830) {
		if e.Millis >= slowSSPIMillis {
			slow = append(slow, e)
			total += e.Count
			worst = max(worst, e.Millis)
		}
	}
	ring, ringTotal, ringWorst := slowRingLogins(obs)
	if len(slow) == 0 && len(ring) == 0 {
		return nil
	}
	f := triage.NewFinding(triage.LSAUnresponsive, namesFor(t, obs).vars)
	f.Severity = triage.Warning // slow, not failing: logins time out only some of the time
	for _, e := range slow {
		f.Evidence = append(f.Evidence, e.Evidence(slowSSPIText(e)))
	}
	f.Evidence = append(f.Evidence, ring...)
	if len(slow) > 0 {
		f.Summary = fmt.Sprintf("%s to %s timed out while negotiating SSPI (up to %d ms): the Local Security Authority or its domain controller is slow",
			human.Count(total, "login", "logins"), t.Host, worst)
		if len(ring) > 0 {
			f.Summary += fmt.Sprintf("; SQL Server's connectivity ring buffer also holds %s that spent up to %d ms in SSPI processing", human.Count(ringTotal, "login", "logins"), ringWorst)
		}
	} else {
		f.Summary = fmt.Sprintf("%s to %s spent up to %d ms in SSPI processing (SQL Server's connectivity ring buffer): the Local Security Authority or its domain controller is slow",
			human.Count(ringTotal, "login", "logins"), t.Host, ringWorst)
	}
	return []triage.Finding{f}
}

func slowSSPIText(e triage.LogEvent) string {
	return fmt.Sprintf("17830 login closed with network error %s after negotiating SSPI for up to %d ms", e.Code, e.Millis)
}
