package checks

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/authtriage/authtriage/triage"
)

// ticketer requests service tickets, as klist get does.
type ticketer interface {
	Tickets(ctx context.Context, spns []string) ([]triage.TicketResult, error)
}

// Kerberos asks the KDC for a service ticket for each SPN the target's clients use:
// what proves or disproves the KDC side of a failure.
type Kerberos struct {
	KDC      ticketer // nil: skipped with NoSource
	NoSource string
}

// Name returns "kerberos".
func (Kerberos) Name() string { return "kerberos" }

// Run requests the tickets; per-SPN refusals are facts, an error is the checker's own
// failure to log on.
func (c Kerberos) Run(ctx context.Context, t triage.Target) (triage.Result, error) {
	if c.KDC == nil {
		return triage.Result{}, triage.SkipLacking(triage.MissingKerberos, "%s", cmp.Or(c.NoSource, "no Kerberos settings for the checker"))
	}
	spns := t.RequiredSPNs()
	if len(spns) == 0 {
		return triage.Result{}, triage.SkipLacking(triage.MissingFQDN, "the host's FQDN is not known")
	}
	results, err := c.KDC.Tickets(ctx, spns)
	res := triage.Result{Obs: triage.Observations{Directory: &triage.DirectoryFacts{Tickets: results}}}
	ok := 0
	for _, r := range results {
		if r.OK {
			ok++
		}
	}
	res.Detail = withPortUnknown(fmt.Sprintf("%d of %d service tickets issued", ok, len(spns)), t)
	var refused interface{ KDCCode() int }
	if errors.As(err, &refused) && isClockCode(refused.KDCCode()) {
		// The KDC refused the checker's own logon because the clocks differ: not a
		// failure of the check but the finding itself.
		res.Obs.Directory.Tickets = append(res.Obs.Directory.Tickets, triage.TicketResult{
			SPN: CheckerLogon, Code: refused.KDCCode(), Err: err.Error()})
		res.Detail = "the KDC refused the checker's logon: " + err.Error()
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("request tickets: %w", err)
	}
	return res, nil
}

// CheckerLogon stands for the checker's own logon (its TGT request) in a TicketResult.
const CheckerLogon = "krbtgt (the checker's own logon)"

// isClockCode reports whether a KRB-ERROR code says the clocks differ:
// KRB_AP_ERR_SKEW (37) or KRB_AP_ERR_TKT_NYV (33).
func isClockCode(code int) bool { return code == 0x25 || code == 0x21 }
