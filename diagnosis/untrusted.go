package diagnosis

import (
	"fmt"

	"github.com/authtriage/authtriage/internal/human"
	"github.com/authtriage/authtriage/triage"
)

// untrustedDomainRule reports 18452 "login is from an untrusted domain" on its own,
// when no 17806 explains it. With a 17806 beside it, sspiRule shows the 18452s as the
// symptom of that cause instead.
type untrustedDomainRule struct{}

func (untrustedDomainRule) Name() string { return "untrusted-domain" }

func (untrustedDomainRule) Apply(t triage.Target, obs triage.Observations) []triage.Finding {
	events := sqlEvents(obs, triage.Msg18452)
	if len(events) == 0 || len(sspiFailures(obs)) > 0 {
		return nil
	}
	f := triage.NewFinding(triage.LoginUntrustedDomain, namesFor(t, obs).vars)
	total, clients := 0, 0
	for _, e := range events {
		total += e.Count
		clients += clientCount(e)
		f.Evidence = append(f.Evidence, e.Evidence("18452 Login failed: the login is from an untrusted domain and cannot be used with Windows authentication"))
	}
	f.Summary = fmt.Sprintf("SQL Server on %s rejected %s as from an untrusted domain (18452)", t.Host, human.Count(total, "Windows login", "Windows logins"))
	if clients > 0 {
		f.Summary += " from " + human.Count(clients, "client", "clients")
	}
	f.Summary += "; no SSPI failure (17806) was logged beside them, so look at the clients' domain and trust"
	return []triage.Finding{f}
}
