package diagnosis

import (
	"fmt"
	"strings"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// ticketRule reports service-ticket requests the KDC refused for reasons no other rule
// explains (the SPN, account, encryption-type and clock rules attach the refusals they
// explain to their own findings).
type ticketRule struct{}

func (ticketRule) Name() string { return "ticket" }

func (ticketRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	d := obs.Directory
	if d == nil {
		return nil
	}
	n := namesFor(t, obs)
	var out []triage.Finding
	for _, tr := range d.Tickets {
		if tr.OK || explainedTicket(tr, d) {
			continue
		}
		f := triage.NewFinding(triage.KerberosTicketFailed, n.with(triage.PHSPN, tr.SPN, triage.PHCode, ticketError(tr)))
		f.Evidence = []triage.Evidence{{Check: "kerberos", Source: triage.SourceKerberos,
			Text: fmt.Sprintf("klist get %s: %s", tr.SPN, ticketError(tr))}}
		out = append(out, f)
	}
	return out
}

// explainedTicket reports whether another rule accounts for a refused ticket.
func explainedTicket(tr triage.TicketResult, d *triage.DirectoryFacts) bool {
	switch tr.Code {
	case 0xe, 0x25, 0x21: // etypeRule, clockRule
		return true
	case 0x7, 0x8: // spnRule, when the directory shows the SPN missing or duplicated
		for _, so := range d.SPNs {
			if strings.EqualFold(so.SPN, tr.SPN) && len(so.Owners) != 1 {
				return true
			}
		}
	case 0x12, 0x13, 0x17: // accountRule, when the account state explains it
		if a := d.ServiceAccount; a != nil && unusable(*a, d.MaxPwdAge, readAt(d)) {
			return true
		}
	}
	return false
}

// readAt is when the directory was read, or now when the facts do not say.
func readAt(d *triage.DirectoryFacts) time.Time {
	if d.ReadAt.IsZero() {
		return time.Now()
	}
	return d.ReadAt
}
